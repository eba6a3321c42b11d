"""Secrets (AFAS token, Xelion password, trigger secret): OS keychain, or a 0600 file.

keyring picks the platform's keychain (Windows Credential Locker, macOS Keychain, Secret
Service). Headless Linux and CI have none; then secrets go to a file only the user can read, and
`doctor` says so. ``AFAS_TRAY_SECRETS=file`` forces the file (tests, portable installs).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os

from afas_tray.config.model import SECRET_KEYS
from afas_tray.i18n import T, Text
from afas_tray.system.paths import HOME_ENV, AppPaths

log = logging.getLogger(__name__)

SERVICE = "afas-tray"
_PROBE = "__afas_tray_probe__"


class SecretStore:
    def __init__(self, paths: AppPaths) -> None:
        self._file = paths.secrets_file
        # Separate keychain entries per profile (AFAS_TRAY_HOME), so portable profiles never mix.
        self._service = SERVICE
        if os.environ.get(HOME_ENV):
            digest = hashlib.sha256(str(paths.data_dir).encode()).hexdigest()[:10]
            self._service = f"{SERVICE}-{digest}"
        self._keyring = None if os.environ.get("AFAS_TRAY_SECRETS") == "file" else _usable_keyring()

    @property
    def uses_keychain(self) -> bool:
        return self._keyring is not None

    def describe(self) -> Text:
        if self._keyring is not None:
            name = type(self._keyring).__name__
            return T(f"Secrets are kept in the system keychain ({name}).",
                     f"Geheimen staan in de sleutelhanger van het systeem ({name}).")
        return T(
            f"No system keychain found; secrets are kept in {self._file.name}, readable only by you.",
            f"Geen sleutelhanger van het systeem gevonden; geheimen staan in {self._file.name}, "
            "alleen leesbaar voor u.",
        )

    def get(self, key: str) -> str:
        if self._keyring is not None:
            try:
                return self._keyring.get_password(self._service, key) or ""
            except Exception as exc:  # keychain locked or gone: say so, without the secret
                log.warning("keychain read failed for %s: %s", key, type(exc).__name__)
                return ""
        return self._read_file().get(key, "")

    def set(self, key: str, value: str) -> None:
        if self._keyring is not None:
            if value:
                self._keyring.set_password(self._service, key, value)
            else:
                with contextlib.suppress(Exception):
                    self._keyring.delete_password(self._service, key)
            return
        data = self._read_file()
        if value:
            data[key] = value
        else:
            data.pop(key, None)
        self._write_file(data)

    def _read_file(self) -> dict[str, str]:
        try:
            raw = json.loads(self._file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}

    def _write_file(self, data: dict[str, str]) -> None:
        self._file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._file.with_name(self._file.name + ".tmp")
        # Created 0600 from the start: never a moment where others could read it.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self._file)
        with contextlib.suppress(OSError):
            os.chmod(self._file, 0o600)


def _usable_keyring():  # type: ignore[no-untyped-def]
    """The platform keychain if one really works here, else None."""
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 0) < 1:
            return None
        if type(backend).__name__ == "ChainerBackend" and not backend.backends:  # type: ignore[attr-defined]
            return None
        backend.get_password(SERVICE, _PROBE)  # Secret Service without D-Bus fails here
        return backend
    except Exception:
        return None


# dotted key -> (section, field), from the one list in the settings model
SECRET_FIELDS = {key: (key.split(".")[0], key.split(".")[1]) for key in SECRET_KEYS}


def load_into(store: SecretStore, settings: object) -> None:
    """Fill the secret fields of a Settings object from the store."""
    for key, (section, name) in SECRET_FIELDS.items():
        setattr(getattr(settings, section), name, store.get(key))


def save_from(store: SecretStore, settings: object) -> None:
    for key, (section, name) in SECRET_FIELDS.items():
        value = getattr(getattr(settings, section), name)
        if value != store.get(key):
            store.set(key, value)
