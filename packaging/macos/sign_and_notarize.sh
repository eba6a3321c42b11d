#!/usr/bin/env bash
# Sign (hardened runtime) and notarise AFAS Tray.app or its .dmg, then staple the ticket.
#
#   packaging/macos/sign_and_notarize.sh "dist/AFAS Tray.app"
#   packaging/macos/sign_and_notarize.sh dist/afas-tray-0.1.0.dmg
#
# Driven by environment variables; each missing piece skips its step with a message, so local
# and fork builds still produce an (unsigned) app:
#   MACOS_SIGN_IDENTITY      "Developer ID Application: <Name> (<TEAMID>)"     -> codesign
#   MACOS_CERT_P12_BASE64    the Developer ID certificate (.p12, base64) and
#   MACOS_CERT_PASSWORD      its password: imported into a throw-away keychain (CI runners)
# Notarisation, one of:
#   NOTARY_KEYCHAIN_PROFILE  a profile stored with `xcrun notarytool store-credentials`
#   APPLE_ID, APPLE_TEAM_ID, APPLE_APP_PASSWORD   (an app-specific password)
#   NOTARY_API_KEY_PATH, NOTARY_API_KEY_ID, NOTARY_API_ISSUER   (App Store Connect API key)
set -euo pipefail

target="${1:?usage: sign_and_notarize.sh APP_OR_DMG}"
here="$(cd "$(dirname "$0")" && pwd)"
entitlements="$here/entitlements.plist"

if [ "$(uname -s)" != Darwin ]; then
  echo "sign_and_notarize.sh: codesign and notarytool exist only on macOS" >&2
  exit 2
fi
[ -e "$target" ] || { echo "sign_and_notarize.sh: nothing at $target" >&2; exit 2; }

if [ -z "${MACOS_SIGN_IDENTITY:-}" ]; then
  echo "Signing skipped: MACOS_SIGN_IDENTITY is not set. The build is only ad-hoc signed;"
  echo "Gatekeeper will refuse a double-click (right-click > Open works). Notarisation skipped too."
  exit 0
fi

keychain=""
cleanup() {
  if [ -n "$keychain" ]; then security delete-keychain "$keychain" || true; fi
}
trap cleanup EXIT

if [ -n "${MACOS_CERT_P12_BASE64:-}" ]; then
  # CI: put the certificate in a keychain of its own, searched first, deleted afterwards.
  keychain="$(mktemp -d)/afas-tray-signing.keychain-db"
  kc_password="$(uuidgen)"
  p12="$(mktemp)"
  printf '%s' "$MACOS_CERT_P12_BASE64" | base64 --decode > "$p12"
  security create-keychain -p "$kc_password" "$keychain"
  security set-keychain-settings -lut 3600 "$keychain"
  security unlock-keychain -p "$kc_password" "$keychain"
  security import "$p12" -k "$keychain" -P "${MACOS_CERT_PASSWORD:-}" -T /usr/bin/codesign
  rm -f "$p12"
  security set-key-partition-list -S apple-tool:,apple: -s -k "$kc_password" "$keychain" >/dev/null
  # shellcheck disable=SC2046  # the list of keychains is meant to split into words
  security list-keychains -d user -s "$keychain" $(security list-keychains -d user | tr -d '"')
fi

sign() {
  codesign --force --timestamp --options runtime --sign "$MACOS_SIGN_IDENTITY" "$@"
}

case "$target" in
  *.app)
    # Inside out, as Apple asks (no --deep): every Mach-O file, then the Qt frameworks (deepest
    # first, so each seals signed contents), then the app with its hardened-runtime exceptions.
    while IFS= read -r -d '' f; do
      if file -b "$f" | grep -q 'Mach-O'; then sign "$f"; fi
    done < <(find "$target/Contents" -type f \( -name '*.so' -o -name '*.dylib' -o -perm -u+x \) -print0)
    while IFS= read -r fw; do
      sign "$fw"
    done < <(find "$target/Contents" -type d -name '*.framework' | awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2-)
    sign --entitlements "$entitlements" "$target"
    codesign --verify --deep --strict --verbose=2 "$target"
    ;;
  *.dmg)
    sign "$target"
    codesign --verify --verbose=2 "$target"
    ;;
  *)
    echo "sign_and_notarize.sh: expected a .app or a .dmg, got $target" >&2
    exit 2
    ;;
esac
echo "Signed $target as $MACOS_SIGN_IDENTITY"

notary_auth=()
if [ -n "${NOTARY_KEYCHAIN_PROFILE:-}" ]; then
  notary_auth=(--keychain-profile "$NOTARY_KEYCHAIN_PROFILE")
elif [ -n "${APPLE_ID:-}" ] && [ -n "${APPLE_TEAM_ID:-}" ] && [ -n "${APPLE_APP_PASSWORD:-}" ]; then
  notary_auth=(--apple-id "$APPLE_ID" --team-id "$APPLE_TEAM_ID" --password "$APPLE_APP_PASSWORD")
elif [ -n "${NOTARY_API_KEY_PATH:-}" ] && [ -n "${NOTARY_API_KEY_ID:-}" ] && [ -n "${NOTARY_API_ISSUER:-}" ]; then
  notary_auth=(--key "$NOTARY_API_KEY_PATH" --key-id "$NOTARY_API_KEY_ID" --issuer "$NOTARY_API_ISSUER")
else
  echo "Notarisation skipped: set NOTARY_KEYCHAIN_PROFILE, or APPLE_ID + APPLE_TEAM_ID +"
  echo "APPLE_APP_PASSWORD, or NOTARY_API_KEY_PATH + NOTARY_API_KEY_ID + NOTARY_API_ISSUER."
  exit 0
fi

upload="$target"
if [ -d "$target" ]; then
  # notarytool takes a zip, a dmg or a pkg; an .app goes up zipped.
  upload="$(mktemp -d)/$(basename "$target" .app).zip"
  ditto -c -k --keepParent "$target" "$upload"
fi
xcrun notarytool submit "$upload" "${notary_auth[@]}" --wait
xcrun stapler staple "$target"
xcrun stapler validate "$target"
if [ -d "$target" ]; then
  spctl --assess --type execute --verbose=2 "$target"
fi
echo "Notarised and stapled $target"
