#!/usr/bin/env bash
# Wrap "AFAS Tray.app" in a compressed disk image with an Applications link (drag to install).
#
#   packaging/macos/build_dmg.sh "dist/AFAS Tray.app" dist/afas-tray-0.1.0.dmg
#
# Signs and notarises the image too when the signing variables are set (sign_and_notarize.sh).
set -euo pipefail

app="${1:?usage: build_dmg.sh APP DMG}"
dmg="${2:?usage: build_dmg.sh APP DMG}"
here="$(cd "$(dirname "$0")" && pwd)"

if [ "$(uname -s)" != Darwin ]; then
  echo "build_dmg.sh: hdiutil exists only on macOS" >&2
  exit 2
fi
[ -d "$app" ] || { echo "build_dmg.sh: no app bundle at $app" >&2; exit 2; }

staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT
# ditto keeps the signatures, extended attributes and symlinks of the bundle intact.
ditto "$app" "$staging/$(basename "$app")"
ln -s /Applications "$staging/Applications"

rm -f "$dmg"
hdiutil create -volname "AFAS Tray" -srcfolder "$staging" -fs HFS+ -format UDZO -ov "$dmg"
hdiutil verify "$dmg"

bash "$here/sign_and_notarize.sh" "$dmg"
echo "disk image: $dmg"
