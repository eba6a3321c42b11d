"""The local phone book: numbers, column detection, the SQLite book, the sync engine, search, and
the push into Xelion's address book.

Other packages import from here. Inside: ``numbers`` (match keys), ``columns`` (which connector
column is what), ``rows`` (connector rows to table tuples), ``book`` (the SQLite book),
``refresh`` (a full refresh into a new book), ``marks`` (the sync's high-water marks),
``engine`` (the schedule), ``search`` (by name). ``xelion_push`` (the push into Xelion's
address book) is imported on its own, where it is used, so the book does not load the Xelion
client.

The names are loaded on first use: a process that only needs ``normalise`` (a hand-off, the
``dial`` command) does not import the book, the engine and the AFAS client with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from afas_tray.phonebook.book import (
        BookEntry,
        ChangeSet,
        CycleCounts,
        PhoneBook,
        RefreshBuilder,
        RefreshInfo,
    )
    from afas_tray.phonebook.columns import (
        ROLE_TEXT,
        ColumnError,
        DetectedMapping,
        FieldInfo,
        FieldLike,
        PhoneBookError,
        detect_columns,
        fields_from_metainfo,
    )
    from afas_tray.phonebook.engine import (
        BACKGROUND_IN_FLIGHT,
        ClientFactory,
        CycleResult,
        SyncClock,
        SyncEngine,
        SyncPolicy,
        SyncStats,
        default_client,
        sync_mode,
    )
    from afas_tray.phonebook.refresh import (
        ROLE_NAMES,
        RefreshResult,
        SyncError,
        detect_mapping,
        full_refresh,
    )
    from afas_tray.phonebook.search import search_by_name

_EXPORTS = {
    "BookEntry": "book",
    "ChangeSet": "book",
    "CycleCounts": "book",
    "PhoneBook": "book",
    "RefreshBuilder": "book",
    "RefreshInfo": "book",
    "ROLE_TEXT": "columns",
    "ColumnError": "columns",
    "DetectedMapping": "columns",
    "FieldInfo": "columns",
    "FieldLike": "columns",
    "PhoneBookError": "columns",
    "detect_columns": "columns",
    "fields_from_metainfo": "columns",
    "BACKGROUND_IN_FLIGHT": "engine",
    "ClientFactory": "engine",
    "CycleResult": "engine",
    "SyncClock": "engine",
    "SyncEngine": "engine",
    "SyncPolicy": "engine",
    "SyncStats": "engine",
    "default_client": "engine",
    "sync_mode": "engine",
    "ROLE_NAMES": "refresh",
    "RefreshResult": "refresh",
    "SyncError": "refresh",
    "detect_mapping": "refresh",
    "full_refresh": "refresh",
    "search_by_name": "search",
}


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "BACKGROUND_IN_FLIGHT",
    "ROLE_NAMES",
    "ROLE_TEXT",
    "BookEntry",
    "ChangeSet",
    "ClientFactory",
    "ColumnError",
    "CycleCounts",
    "CycleResult",
    "DetectedMapping",
    "FieldInfo",
    "FieldLike",
    "PhoneBook",
    "PhoneBookError",
    "RefreshBuilder",
    "RefreshInfo",
    "RefreshResult",
    "SyncClock",
    "SyncEngine",
    "SyncError",
    "SyncPolicy",
    "SyncStats",
    "default_client",
    "detect_columns",
    "detect_mapping",
    "fields_from_metainfo",
    "full_refresh",
    "search_by_name",
    "sync_mode",
]
