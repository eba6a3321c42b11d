"""Dotted keys (``afas.host``, ``pop.on`` …) for the command line and the JSON import: each key's
parser, and reading/writing one setting by its key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from afas_tray.config.model import SECRET_KEYS, Settings, SettingsError
from afas_tray.i18n import T


def _parse_bool(value: str) -> bool:
    v = value.strip().lower()
    if v in ("1", "true", "yes", "on", "ja", "aan"):
        return True
    if v in ("0", "false", "no", "off", "nee", "uit"):
        return False
    raise ValueError(value)


def _parse_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _parse_optional_int(value: str) -> int | None:
    v = value.strip()
    return None if v == "" else int(v)


@dataclass(frozen=True)
class Key:
    path: str
    parse: Callable[[str], Any]

    @property
    def secret(self) -> bool:
        """Shown only as set / not set; kept in the keychain (``SECRET_KEYS``)."""
        return self.path in SECRET_KEYS


KEYS: dict[str, Key] = {
    k.path: k
    for k in [
        Key("afas.token", str),
        Key("afas.host", str),
        Key("afas.sync_active", _parse_bool),
        Key("afas.dossier_item_type", _parse_optional_int),
        Key("afas.insite_url_template", str),
        Key("afas.sync_mp3", _parse_bool),
        Key("afas.always_sync", _parse_bool),
        Key("afas.empty_subject_text", str),
        Key("afas.connectors.organisations", str),
        Key("afas.connectors.persons", str),
        Key("afas.connectors.contacts", str),
        Key("afas.connectors.dossier_items", str),
        Key("afas.connectors.dossier_columns.id", str),
        Key("afas.connectors.dossier_columns.type", str),
        Key("afas.connectors.dossier_columns.text", str),
        Key("afas.connectors.dossier_columns.date", str),
        Key("afas.connectors.dossier_columns.relation", str),
        Key("afas.connectors.link_by", lambda v: v.strip().lower()),
        Key("afas.integration_id", str),
        Key("xelion.host", str),
        Key("xelion.tenant", str),
        Key("xelion.username", str),
        Key("xelion.password", str),
        Key("xelion.user_space", str),
        Key("xelion.addressbook_sync", _parse_bool),
        Key("sync.interval_minutes", int),
        Key("phone.default_region", lambda v: v.strip().upper()),
        Key("pop.on", lambda v: v.strip().lower()),
        Key("pop.dedupe_seconds", int),
        Key("pop.internal_max_digits", int),
        Key("pop.own_numbers", _parse_list),
        Key("pop.unknown_url_template", str),
        Key("afas.recording_wait_minutes", int),
        Key("trigger.http_enabled", _parse_bool),
        Key("trigger.http_port", int),
        Key("trigger.secret", str),
        Key("ui.language", lambda v: v.strip().lower()),
        Key("pop.follow_do_not_disturb", _parse_bool),
        Key("card.open_browser", _parse_bool),
        Key("card.show", _parse_bool),
        Key("card.position", lambda v: v.strip().lower()),
        Key("card.seconds", int),
        Key("card.stay_until_closed", _parse_bool),
        Key("reports.min_duration_seconds", int),
        Key("reports.log_outgoing", _parse_bool),
        Key("reports.never_log_numbers", _parse_list),
        Key("dial.prefer_softphone", _parse_bool),
        Key("dial.device_number", str),
        Key("dial.missed_to_dossier", _parse_bool),
        Key("dial.hotkey", str),
    ]
}


def _owner(settings: Settings, path: str) -> tuple[Any, str]:
    parts = path.split(".")
    obj: Any = settings
    for p in parts[:-1]:
        obj = getattr(obj, p)
    return obj, parts[-1]


def get_value(settings: Settings, path: str) -> Any:
    if path not in KEYS:
        raise SettingsError(T(f"Unknown setting '{path}'.", f"Onbekende instelling '{path}'."))
    obj, name = _owner(settings, path)
    return getattr(obj, name)


def set_value(settings: Settings, path: str, raw: Any) -> None:
    """Set one dotted key from text (or an already typed JSON value); raises SettingsError."""
    key = KEYS.get(path)
    if key is None:
        raise SettingsError(T(f"Unknown setting '{path}'.", f"Onbekende instelling '{path}'."))
    try:
        value = key.parse(raw) if isinstance(raw, str) else _coerce(key, raw)
    except (ValueError, TypeError):
        raise SettingsError(
            T(f"Invalid value for '{path}'.", f"Ongeldige waarde voor '{path}'.")
        ) from None
    obj, name = _owner(settings, path)
    setattr(obj, name, value)


def _coerce(key: Key, raw: Any) -> Any:
    """JSON import gives typed values; check they fit the field."""
    if raw is None and key.parse is _parse_optional_int:
        return None
    if isinstance(raw, bool):
        if key.parse is not _parse_bool:
            raise TypeError(key.path)
        return raw
    if isinstance(raw, int) and key.parse in (int, _parse_optional_int):
        return raw
    if isinstance(raw, list) and key.parse is _parse_list:
        return [str(v) for v in raw]
    if isinstance(raw, str | int):
        return key.parse(str(raw))
    raise TypeError(key.path)


def flatten(raw: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"afas": {"host": …}}`` → ``{"afas.host": …}`` (mapping kept as one value)."""
    out: dict[str, Any] = {}
    for k, v in raw.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict) and path != "afas.connectors.mapping":
            out.update(flatten(v, path + "."))
        else:
            out[path] = v
    return out
