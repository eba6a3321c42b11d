"""Settings: the typed model, dotted keys for the command line, validation, the JSON file.

``model`` (the Settings dataclasses, ROLES, SECRET_KEYS), ``keys`` (dotted keys and their
parsers), ``validation`` (``validate``, host checks), ``store`` (the versioned JSON file and the
plain-dict form). Import from here; the submodules are the layout, not the face.
"""

from afas_tray.config.keys import KEYS, Key, flatten, get_value, set_value
from afas_tray.config.model import (
    CARD_POSITIONS,
    ROLE_TEXT,
    ROLES,
    SCHEMA_VERSION,
    SECRET_KEYS,
    AfasSettings,
    CardSettings,
    ColumnMapping,
    ConnectorSettings,
    DialSettings,
    DossierColumns,
    PhoneSettings,
    PopSettings,
    ReportFilterSettings,
    Settings,
    SettingsError,
    SyncSettings,
    TriggerSettings,
    UiSettings,
    XelionSettings,
    new_trigger_secret,
)
from afas_tray.config.store import LoadResult, from_dict, load, mapping_from_json, save, to_dict
from afas_tray.config.validation import is_loopback_host, validate

__all__ = [
    "CARD_POSITIONS",
    "KEYS",
    "ROLES",
    "ROLE_TEXT",
    "SCHEMA_VERSION",
    "SECRET_KEYS",
    "AfasSettings",
    "CardSettings",
    "ColumnMapping",
    "ConnectorSettings",
    "DialSettings",
    "DossierColumns",
    "Key",
    "LoadResult",
    "PhoneSettings",
    "PopSettings",
    "ReportFilterSettings",
    "Settings",
    "SettingsError",
    "SyncSettings",
    "TriggerSettings",
    "UiSettings",
    "XelionSettings",
    "flatten",
    "from_dict",
    "get_value",
    "is_loopback_host",
    "load",
    "mapping_from_json",
    "new_trigger_secret",
    "save",
    "set_value",
    "to_dict",
    "validate",
]
