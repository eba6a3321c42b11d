"""The local phone book: numbers, column detection, the SQLite book, the sync engine, search, and
the push into Xelion's address book.

Other packages import from here. Inside: ``numbers`` (match keys), ``columns`` (which connector
column is what), ``rows`` (connector rows to table tuples), ``book`` (the SQLite book),
``refresh`` (a full refresh into a new book), ``marks`` (the sync's high-water marks),
``engine`` (the schedule), ``search`` (by name). ``xelion_push`` (the push into Xelion's
address book) is imported on its own, where it is used, so the book does not load the Xelion
client.
"""

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
from afas_tray.phonebook.numbers import (
    display,
    extension_of,
    is_anonymous,
    is_internal,
    normalise,
)
from afas_tray.phonebook.refresh import (
    ROLE_NAMES,
    RefreshResult,
    SyncError,
    detect_mapping,
    full_refresh,
)
from afas_tray.phonebook.search import search_by_name

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
    "display",
    "extension_of",
    "fields_from_metainfo",
    "full_refresh",
    "is_anonymous",
    "is_internal",
    "normalise",
    "search_by_name",
    "sync_mode",
]
