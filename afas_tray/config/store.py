"""The settings file: versioned JSON under the config dir, and the plain-dict (de)serialisation.

Atomic writes; a corrupt file is kept aside as ``.bak`` and reported. Secrets never go into the
file (``to_dict`` leaves them out unless asked for).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import tempfile
from dataclasses import dataclass
from typing import Any

from afas_tray.config.model import (
    ROLES,
    SCHEMA_VERSION,
    SECRET_KEYS,
    ColumnMapping,
    Settings,
    SettingsError,
)
from afas_tray.i18n import T, Text
from afas_tray.system.paths import AppPaths


def to_dict(settings: Settings, *, with_secrets: bool = False) -> dict[str, Any]:
    """Plain dict of the settings; secrets left out unless asked for (never for disk)."""
    data = dataclasses.asdict(settings)
    if not with_secrets:
        for key in SECRET_KEYS:
            section, name = key.split(".")
            data[section].pop(name, None)
    return data


def _fill(cls: Any, raw: Any) -> Any:
    """Build dataclass ``cls`` from ``raw``, ignoring unknown keys and keeping defaults."""
    obj = cls()
    if not isinstance(raw, dict):
        return obj
    for f in dataclasses.fields(cls):
        if f.name not in raw:
            continue
        value = raw[f.name]
        current = getattr(obj, f.name)
        if dataclasses.is_dataclass(current):
            value = _fill(type(current), value)
        elif f.name == "mapping" and isinstance(value, dict):
            value = {r: _fill(ColumnMapping, m) for r, m in value.items() if r in ROLES}
        setattr(obj, f.name, value)
    return obj


def from_dict(raw: dict[str, Any]) -> Settings:
    with contextlib.suppress(AttributeError, TypeError, KeyError):
        conns = raw["afas"]["connectors"]
        if "subjects" in conns and "dossier_items" not in conns:  # before issue 12
            conns = {**conns, "dossier_items": conns["subjects"]}
            raw = {**raw, "afas": {**raw["afas"], "connectors": conns}}
    settings: Settings = _fill(Settings, raw)
    settings.version = SCHEMA_VERSION
    return settings


def mapping_from_json(raw: Any) -> dict[str, ColumnMapping]:
    """Column mapping from JSON (``{"contacts": {"phones": [...]}}``); raises SettingsError."""
    ok = isinstance(raw, dict) and all(
        r in ROLES and isinstance(m, dict)
        and all(isinstance(v, str) for k, v in m.items() if k != "phones")
        and isinstance(m.get("phones", []), list)
        for r, m in raw.items()
    )
    if not ok:
        raise SettingsError(T("Invalid value for 'afas.connectors.mapping'.",
                              "Ongeldige waarde voor 'afas.connectors.mapping'."))
    return {r: _fill(ColumnMapping, m) for r, m in raw.items()}


@dataclass
class LoadResult:
    settings: Settings
    problem: Text | None = None  # set when the file was corrupt and kept aside
    first_run: bool = False


def load(paths: AppPaths) -> LoadResult:
    """Read settings JSON (secrets not included; see secrets.load_into)."""
    path = paths.settings_file
    if not path.exists():
        return LoadResult(Settings(), first_run=True)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ValueError("not an object")
        version = raw.get("version", 1)
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise ValueError(f"unsupported version {version!r}")
        return LoadResult(from_dict(raw))
    except (OSError, ValueError, UnicodeDecodeError):
        backup = path.with_name(path.name + ".bak")
        with contextlib.suppress(OSError):
            os.replace(path, backup)
        return LoadResult(
            Settings(),
            problem=T(
                f"The settings file was damaged; it was kept as {backup.name} and defaults are used.",
                f"Het instellingenbestand was beschadigd; het is bewaard als {backup.name} "
                "en de standaardwaarden worden gebruikt.",
            ),
        )


def save(paths: AppPaths, settings: Settings) -> None:
    """Write settings JSON atomically (temp file + rename); secrets never go here."""
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(to_dict(settings), indent=2, ensure_ascii=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".tmp", dir=paths.config_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, paths.settings_file)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
