"""The local phone book: AFAS relations by E.164 number, in SQLite.

Tables (module ``phonebook``): ``pb_relations`` (one row per organisation, person or contact
person: role, own key, BcId, name, and for a contact the owning organisation/person),
``pb_numbers`` (match key, relation row, column, number as written) and, made from these two,
``pb_lookup``: what a lookup returns for each match key, a contact person's organisation (or
person) resolved. An incremental change writes the lookup rows it affects in its own
transaction (those of the contacts of a changed organisation too), so it shows at once.

Atomic full refresh — staging tables and a rename. ``begin_refresh`` creates empty
``pb_stage_*`` tables; each ``add_rows`` appends a page in its own short transaction (no
indexes yet, so appends are cheap and other writers to the same file are never held up for
long); ``commit`` builds the indexes and the lookup table and then, in one transaction, renames the
live tables away and the staging tables in. SQLite (WAL) gives every read transaction one snapshot, and a lookup
is one statement (one snapshot), so it sees the old book or the new one, never a mix; the old
tables are dropped when the next refresh begins. ``abort`` (or a crash) only ever leaves staging tables behind,
which the next refresh drops: the live book is untouched.

Threads: lookups use a connection per calling thread (the file mapped into memory, the lookup
statement kept prepared, its pages read in once at start by ``warm_lookups``); a refresh uses its own connection and may
run in a worker thread (``asyncio.to_thread``); incremental changes go through a third one.
Incremental changes (``apply_changes``/``remove_missing``) edit the live tables in place, one
transaction per call; any applied while a full refresh is being built are superseded when that
refresh commits (it read the connectors itself).
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from afas_tray.config import ROLES, ColumnMapping
from afas_tray.i18n import T
from afas_tray.models import Match, RelationKind
from afas_tray.numbers import normalise
from afas_tray.phonebook.columns import PhoneBookError
from afas_tray.phonebook.rows import (
    ROLE_CODE,
    Prepared,
    cell_text,
    keys_stamp,
    prepare_rows,
    row_keys,
)
from afas_tray.store import ensure_schema, open_db, transaction

MODULE = "phonebook"
log = logging.getLogger(__name__)

_ROLE_KIND = {
    0: RelationKind.ORGANISATION,
    1: RelationKind.PERSON,
    2: RelationKind.CONTACT,
}
# A contact's own number ranks after every organisation/person whose own field holds the number.
_CONTACT_RANK = 100
# Raw numbers a refresh remembers the key of before it starts afresh (some 150 bytes each).
_KNOWN_CAP = 1 << 16
# Bytes of the book file a reading connection maps into memory (address space, not RAM).
_READER_MMAP = 1 << 30
_BUILD_CACHE_KIB = 32 * 1024
# Helper threads SQLite may use for the sort of a refresh's last step (pragma "threads").
_COMMIT_SORT_THREADS = 1
# Lookup rows a warm-up statement reads (some 5 ms here).
_WARM_STEP = 100_000
# A lookup reads one table, ``pb_lookup``: a row per number of a relation (the pair is its key,
# so a lookup's rows are side by side on one page) holding what its ``Match`` shows, a
# contact's owner already found: its organisation by BcId, else by number; else its person the
# same way (the first such relation, as a ``LIMIT 1`` query on the same index finds it). A
# contact whose owner is not in the book keeps its own name and the owner's BcId as written on
# it. Issue 18: a hit used to read the numbers' index, its relation's row and, for a contact,
# two to four pages more to find the owner, all spread over the file; one page of this table
# instead takes a lookup from ~19 to ~14 µs and its p99 to about half (bench/lookup_latency.py,
# a million numbers). The price: some 3 s more per million numbers at the end of a refresh,
# and 60 MB more on disk. The table is derived from ``pb_relations`` and
# ``pb_numbers``: a refresh builds it with its staging tables, an incremental change rewrites
# the rows of the relations it replaces and of the contacts whose owner it may have changed.
_LOOKUP_FIELDS = (
    "bcid TEXT NOT NULL, owner_number TEXT NOT NULL, name TEXT NOT NULL, role INTEGER NOT NULL,"
    " raw TEXT NOT NULL, col TEXT NOT NULL, contact_key TEXT NOT NULL,"
    " contact_name TEXT NOT NULL, rank INTEGER NOT NULL"
)
_LOOKUP_SQL = (
    "SELECT bcid, owner_number, name, role, raw, col, contact_key, contact_name, rank"
    " FROM pb_lookup WHERE number = ?"
)


# What the lookup table was last written with: the book's last full refresh and last
# incremental change as ``pb_refresh`` records them (every write of relations records itself
# there). An older version of the app writes the book without the table; on the next open the
# marker differs and the table is made again.
_LOOKUP_MARK = (  # times as integers: SQLite builds differ in how they print a float
    "SELECT COALESCE(group_concat(kind || '@' || CAST(at * 1e6 AS INTEGER), ' '), '')"
    " FROM (SELECT kind, at FROM pb_refresh ORDER BY kind)"
)
_LOOKUP_MARK_SQL = f"INSERT OR REPLACE INTO pb_state(k, v) SELECT 'lookup', ({_LOOKUP_MARK})"


def _lookup_table_sql(prefix: str) -> str:
    return (f"CREATE TABLE {prefix}lookup (number TEXT NOT NULL, rel INTEGER NOT NULL,"
            f" {_LOOKUP_FIELDS}, PRIMARY KEY (number, rel)) WITHOUT ROWID")


def _lookup_fill_sql(prefix: str, where: str = "1") -> str:
    """Writes the lookup rows of the numbers ``where`` picks (``n``: the numbers row), in key
    order: appended, not inserted all over the b-tree. A relation has each key once."""
    rel = f"{prefix}relations"
    return (
        f"INSERT OR IGNORE INTO {prefix}lookup SELECT n.number, n.rel,"
        " CASE r.role WHEN 2 THEN COALESCE(o.bcid, NULLIF(r.org, ''), r.person) ELSE r.bcid END,"
        " CASE r.role WHEN 2 THEN COALESCE(o.number, '') ELSE r.number END,"
        " CASE r.role WHEN 2 THEN COALESCE(NULLIF(o.name, ''), r.name) ELSE r.name END,"
        " r.role, n.raw, n.col,"
        " CASE r.role WHEN 2 THEN r.key ELSE '' END, CASE r.role WHEN 2 THEN r.name ELSE '' END,"
        f" n.pos + CASE r.role WHEN 2 THEN {_CONTACT_RANK} ELSE 0 END"
        f" FROM {prefix}numbers n JOIN {rel} r ON r.id = n.rel"
        f" LEFT JOIN {rel} o ON r.role = 2 AND o.id = COALESCE("
        f"(SELECT id FROM {rel} WHERE r.org != '' AND role = 0 AND bcid = r.org LIMIT 1),"
        f" (SELECT id FROM {rel} WHERE r.org != '' AND role = 0 AND key = r.org LIMIT 1),"
        f" (SELECT id FROM {rel} WHERE r.person != '' AND role = 1 AND bcid = r.person LIMIT 1),"
        f" (SELECT id FROM {rel} WHERE r.person != '' AND role = 1 AND key = r.person LIMIT 1))"
        f" WHERE {where} ORDER BY n.number, n.rel, n.pos"
    )


_new_match = object.__new__
# A lookup row: bcid, number, name, role code, phone, column, contact id, contact name, rank.
_Hit = tuple[str, str, str, int, str, str, str, str, int]


def _best_first(hit: _Hit) -> tuple[int, str, str, str]:
    """The order of a lookup's matches: rank, then name (case aside), BcId, contact."""
    return hit[8], hit[2].lower(), hit[0], hit[6]


def _match(hit: _Hit, connectors: Mapping[int, str]) -> Match:
    """A ``Match`` from one lookup row. Filled in directly: the frozen dataclass's ``__init__``
    sets each of its ten fields through ``object.__setattr__`` (2.2 µs here, most of a
    lookup's own Python time); a test holds this equal to ``Match(...)``."""
    bcid, number, name, code, phone, column, contact_id, contact_name, rank = hit
    match: Match = _new_match(Match)
    match.__dict__.update(
        bcid=bcid, name=name, kind=_ROLE_KIND[code], phone=phone, column=column,
        contact_id=contact_id, contact_name=contact_name, connector=connectors.get(code, ""),
        rank=rank, number=number,
    )
    return match


def _tables_sql(prefix: str, gen: int, *, first: bool = False) -> list[str]:
    # ``first``: the tables as the first migration made them (a later one adds ``number``).
    number = "" if first else ", number TEXT NOT NULL DEFAULT ''"
    return [
        f"CREATE TABLE {prefix}relations (id INTEGER PRIMARY KEY, role INTEGER NOT NULL,"
        " key TEXT NOT NULL, bcid TEXT NOT NULL, name TEXT NOT NULL,"
        f" org TEXT NOT NULL DEFAULT '', person TEXT NOT NULL DEFAULT ''{number})",
        f"CREATE TABLE {prefix}numbers (number TEXT NOT NULL, rel INTEGER NOT NULL,"
        " col TEXT NOT NULL, raw TEXT NOT NULL, pos INTEGER NOT NULL)",
    ]


def _indexes_sql(prefix: str, gen: int) -> list[str]:
    # Index names stay with their table through a rename, so each generation gets its own.
    return _early_indexes_sql(prefix, gen) + _relation_indexes_sql(prefix, gen)


def _early_indexes_sql(prefix: str, gen: int) -> list[str]:
    """Indexes a refresh creates with its staging tables: rows arrive in their order (relation
    ids only grow), so each insert appends at the right edge and costs next to nothing."""
    return [f"CREATE INDEX pb_numbers_rel_g{gen} ON {prefix}numbers(rel)"]


def _relation_indexes_sql(prefix: str, gen: int) -> list[str]:
    """Built once all rows are in (one sort beats 150,000 inserts in random places), or before
    the last connector: its rows (one role) land at the end of these."""
    return [
        f"CREATE INDEX pb_relations_key_g{gen} ON {prefix}relations(role, key)",
        f"CREATE INDEX pb_relations_bcid_g{gen} ON {prefix}relations(role, bcid)",
    ]


def _owner_ref_indexes_sql(prefix: str, gen: int, *, if_missing: bool = False) -> list[str]:
    """The contacts by the organisation and person they name: which lookup rows an incremental
    change to an organisation or person must write again. Only once every contact is in."""
    create = "CREATE INDEX IF NOT EXISTS" if if_missing else "CREATE INDEX"
    return [
        f"{create} pb_relations_org_g{gen} ON {prefix}relations(org) WHERE role = 2",
        f"{create} pb_relations_person_g{gen} ON {prefix}relations(person) WHERE role = 2",
    ]


MIGRATIONS = [
    ";\n".join(
        [
            *_tables_sql("pb_", 0, first=True),
            *_indexes_sql("pb_", 0),
            "CREATE TABLE pb_sources (role TEXT PRIMARY KEY, connector TEXT NOT NULL)",
            "CREATE TABLE pb_refresh (kind TEXT PRIMARY KEY, at REAL NOT NULL,"
            " relations INTEGER NOT NULL, numbers INTEGER NOT NULL, seconds REAL NOT NULL,"
            " rows TEXT NOT NULL)",
            "CREATE TABLE pb_state (k TEXT PRIMARY KEY, v TEXT NOT NULL)",
        ]
    ),
    # Keys of rows a connector has but the book leaves out (blocked contacts, contacts without
    # a card): a key-only pass must tell them from rows it has never seen.
    "CREATE TABLE pb_skipped (role INTEGER NOT NULL, key TEXT NOT NULL,"
    " PRIMARY KEY(role, key)) WITHOUT ROWID",
    # Issue 12: the relation's number (BcCo) next to its internal BcId; KnSubjectLink takes the
    # number by default. A book from before has no numbers yet: it keeps answering lookups (the
    # link falls back to the BcId it always sent) and forgetting its last full refresh makes
    # the next sync a full one, which fills them.
    "ALTER TABLE pb_relations ADD COLUMN number TEXT NOT NULL DEFAULT '';"
    " DELETE FROM pb_refresh WHERE kind = 'full'",
    # Issue 18: the lookup table, filled from the book as it is (some 4 s per million numbers,
    # once); ``PhoneBook._mend`` drops the numbers' own index of a book from before.
    ";\n".join([_lookup_table_sql("pb_"), *_owner_ref_indexes_sql("pb_", 0), _lookup_fill_sql("pb_"),
                _LOOKUP_MARK_SQL]),
]


# --- the book --------------------------------------------------------------------------------


@dataclass
class ChangeSet:
    """One connector's part of an incremental cycle (see ``PhoneBook.apply_cycle``).

    ``rows``: changed rows, replacing the relations with the same key. ``keys_present``: when
    given (a key-only pass), every key the connector has now; the role's other relations go.
    """

    role: str
    connector_id: str
    mapping: ColumnMapping
    rows: Sequence[Mapping[str, Any]] = ()
    keys_present: Iterable[str | int] | None = None


@dataclass(frozen=True)
class CycleCounts:
    applied: dict[str, int]  # rows applied per role
    removed: dict[str, int]  # relations removed per role (key-only pass)


@dataclass(frozen=True)
class BookEntry:
    """One relation as ``PhoneBook.entries`` reads it; ``numbers`` are (column, E.164) pairs."""

    role: str
    key: str
    bcid: str
    name: str
    org: str  # a contact's organisation reference (BcId or number), else ""
    person: str  # a contact's person reference, else ""
    numbers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class RefreshInfo:
    kind: str  # "full" or "incremental"
    at: float  # epoch seconds
    relations: int
    numbers: int
    seconds: float
    rows: dict[str, int]  # rows read per role


class PhoneBook:
    """Lookups by phone number; full refreshes swapped in atomically; incremental updates.

    ``db_path`` must be a file (several connections share it; ``:memory:`` cannot).
    ``region`` is how numbers without a country code in AFAS are read (settings'
    ``phone.default_region``).
    """

    def __init__(self, db_path: Path | str, region: str = "NL") -> None:
        self.path = Path(db_path)
        self.region = region
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._readers: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        # Held while a warm-up walks a connection: close() interrupts the walk and waits for it
        # (closing a connection in the middle of another thread's statement crashes SQLite).
        self._warming = threading.Lock()
        self._closing = False
        self._writer_lock = threading.Lock()
        self._writer: sqlite3.Connection | None = None
        self._building = False
        # pb_sources as the lookups name it, read again once this book has written: the
        # count of its writes when read, and the map. Another process writing the same file is
        # not seen until then (the app has one writer); the name only goes along with a match.
        self._writes = 0
        self._connectors: tuple[int, dict[int, str]] = (-1, {})
        conn = self._reader()
        ensure_schema(conn, MODULE, MIGRATIONS)
        self._mend(conn)

    @staticmethod
    def _mend(conn: sqlite3.Connection) -> None:
        """What the schema migrations cannot do in SQL, at open: drop the numbers' own index of
        books from before the lookup table (unused now, and it would lead the planner of the
        lookup table's writes into walking it); if an older version of the app has written the
        book since this one did (see ``_LOOKUP_MARK``), make the lookup table again, and the
        contacts' owner indexes its refresh did not make. A book that cannot be written
        (a read-only profile) is left as it is and still answers."""
        def findings() -> tuple[list[str], bool, bool]:
            """(old number indexes, lookup table stale, owner indexes missing)"""
            names = {str(r[0]) for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index'"
                " AND tbl_name IN ('pb_numbers', 'pb_relations')")}
            stale = sorted(n for n in names if n.startswith("pb_numbers_number_g"))
            # one statement, one snapshot: a write in between cannot make them differ
            (same,) = conn.execute(
                f"SELECT (SELECT v FROM pb_state WHERE k = 'lookup') IS ({_LOOKUP_MARK})").fetchone()
            return stale, not same, not any(n.startswith("pb_relations_org_g") for n in names)

        if not any(findings()):
            return
        try:
            with transaction(conn):
                stale, remake, no_refs = findings()  # again, now that no one else writes
                for name in stale:
                    conn.execute(f"DROP INDEX {name}")
                if no_refs:
                    row = conn.execute("SELECT v FROM pb_state WHERE k = 'generation'").fetchone()
                    for sql in _owner_ref_indexes_sql("pb_", int(row[0]) if row else 0,
                                                      if_missing=True):
                        conn.execute(sql)
                if remake:
                    log.warning("phone book: written by an older version of the app since;"
                                " lookup table made again")
                    conn.execute("DELETE FROM pb_lookup")
                    conn.execute(_lookup_fill_sql("pb_"))
                    conn.execute(_LOOKUP_MARK_SQL)
        except sqlite3.OperationalError as exc:  # read-only, or busy for longer than the timeout
            log.warning("phone book: could not mend the book at open (%s); it answers as it is",
                        exc)

    # -- connections ----------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = open_db(self.path)
        with self._guard:
            self._all.append(conn)
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            # A lookup touches a few pages spread over a 100+ MB file: mapped, each is a memory
            # read instead of a read call and a copy into the page cache (SQLite: mmap.html).
            conn.execute(f"PRAGMA mmap_size={_READER_MMAP}")
            self._local.conn = conn
            with self._guard:
                self._readers.append(conn)
        return conn

    def _write_conn(self) -> sqlite3.Connection:
        if self._writer is None:
            self._writer = self._connect()
        return self._writer

    def close(self) -> None:
        self._closing = True
        with self._guard:
            readers = list(self._readers)
        for conn in readers:
            with contextlib.suppress(sqlite3.ProgrammingError):  # closed already
                conn.interrupt()  # a warm-up walk in progress ends at once
        # The writer too: a change on a worker thread (a sync cycle, a relation just created)
        # finishes its transaction first; the app's stop cancels the awaiting, not the thread.
        with self._writer_lock, self._warming, self._guard:
            conns, self._all, self._readers = self._all, [], []
            self._closing = False
            for conn in conns:
                conn.close()
            self._local = threading.local()
            self._writer = None

    def __enter__(self) -> PhoneBook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading --------------------------------------------------------------------------

    def lookup(self, number: str, region: str | None = None) -> list[Match]:
        """Relations with this number, best first. A contact person's match carries the
        organisation's (or, without one, the person's) BcId and name, the contact in
        ``contact_id``/``contact_name``. Blanks, junk and withheld numbers match nothing."""
        key = normalise(number, region or self.region)
        if key is None:
            return []
        # One statement: SQLite reads it from one snapshot (never half a refresh) without a
        # BEGIN/COMMIT around it; the owner of a contact is in the row already.
        hits = self._lookup_cursor().execute(_LOOKUP_SQL, (key,)).fetchall()
        if not hits:
            return []
        writes, connectors = self._connectors
        if writes != self._writes:
            writes = self._writes  # before the read: a write meanwhile makes it read again
            connectors = self._read_connectors()
            self._connectors = (writes, connectors)
        if len(hits) == 1:
            return [_match(hits[0], connectors)]
        # Several: one per relation shown (BcId, contact), its best rank, then best first. On
        # the rows themselves, a Match made only for what is kept.
        best: dict[tuple[str, str], _Hit] = {}
        for hit in hits:
            ident = (hit[0], hit[6])
            kept = best.get(ident)
            if kept is None or hit[8] < kept[8]:
                best[ident] = hit
        rows = list(best.values())
        if len(rows) > 1:
            rows.sort(key=_best_first)
        return [_match(hit, connectors) for hit in rows]

    def _wrote(self) -> None:
        """Count a write of this book (the connector names are read again); writers run on
        several threads."""
        with self._guard:
            self._writes += 1

    def _read_connectors(self) -> dict[int, str]:
        """Role code -> the GetConnector its rows came from (``pb_sources``)."""
        rows = self._reader().execute("SELECT role, connector FROM pb_sources").fetchall()
        return {ROLE_CODE[role]: connector for role, connector in rows if role in ROLE_CODE}

    def warm_lookups(self) -> None:
        """Read every page a lookup can touch once, through each lookup connection made so far
        (in the app: the event loop's). A fresh connection's first lookups otherwise each wait
        for pages to be read from disk (after a reboot) or mapped in; this does it for all of
        them in one go. Call it from a worker thread after opening the book: a million numbers
        take some 60 ms, in short statements (a lookup on the same connection meanwhile waits
        for the statement in progress). The mapped pages count in the process's resident size
        (~130 MB for a million numbers) but are the system's file
        cache, shared and given back under memory pressure; a refresh does not warm again:
        the pages it wrote are in that cache already and map in cheaply."""
        with self._guard:
            readers = list(self._readers)
        for conn in readers:
            with self._warming:
                if self._closing or not self._warm(conn):
                    return

    def _warm(self, conn: sqlite3.Connection) -> bool:
        """One connection's walk (see ``warm_lookups``); False once the book is being closed."""
        try:
            # In steps of key order (each visits its pages once): short statements, so a
            # lookup on the same connection meanwhile waits a few milliseconds at most, and
            # ``close`` (whose interrupt only ends a statement in progress) no longer than that.
            last: str | None = ""
            while last is not None and not self._closing:
                (last,) = conn.execute(
                    "SELECT max(number) FROM (SELECT number FROM pb_lookup WHERE number > ?"
                    " ORDER BY number LIMIT ?)", (last, _WARM_STEP)).fetchone()
        except (sqlite3.ProgrammingError, sqlite3.OperationalError):  # closed or interrupted
            return False
        return not self._closing

    def _lookup_cursor(self) -> sqlite3.Cursor:
        """This thread's cursor for lookups: plain tuples, and the statement stays prepared in
        its connection's statement cache from one lookup to the next."""
        cursor: sqlite3.Cursor | None = getattr(self._local, "lookups", None)
        if cursor is None:
            cursor = self._reader().cursor()
            cursor.row_factory = None
            self._local.lookups = cursor
        return cursor

    def size(self) -> int:
        """Relations (organisations, persons and contact persons) in the book."""
        return int(self._reader().execute("SELECT COUNT(*) FROM pb_relations").fetchone()[0])

    def numbers(self) -> int:
        """Phone numbers (match keys per relation) in the book."""
        return int(self._reader().execute("SELECT COUNT(*) FROM pb_numbers").fetchone()[0])

    @property
    def last_refresh(self) -> RefreshInfo | None:
        """The last full refresh that was swapped in."""
        return self._info("full")

    @property
    def last_update(self) -> RefreshInfo | None:
        """The last incremental change (``apply_changes``/``remove_missing``)."""
        return self._info("incremental")

    def _info(self, kind: str) -> RefreshInfo | None:
        row = self._reader().execute(
            "SELECT kind, at, relations, numbers, seconds, rows FROM pb_refresh WHERE kind = ?",
            (kind,),
        ).fetchone()
        if row is None:
            return None
        return RefreshInfo(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]))

    # -- full refresh ---------------------------------------------------------------------

    def begin_refresh(self, region: str | None = None) -> RefreshBuilder:
        """Start building a new book aside. One refresh at a time."""
        with self._guard:
            if self._building:
                raise PhoneBookError(
                    T("A phone book refresh is already running.", "Het telefoonboek wordt al ververst.")
                )
            self._building = True
        try:
            conn = self._connect()
            conn.row_factory = None  # plain tuples: this connection reads 100,000s of rows
            # Room for the indexes it appends to and the live book's pages it reads the known
            # keys from (SQLite's default is 2 MB); freed when the refresh ends.
            conn.execute(f"PRAGMA cache_size=-{_BUILD_CACHE_KIB}")
            with transaction(conn):
                for table in ("pb_stage_lookup", "pb_stage_numbers", "pb_stage_relations",
                              "pb_old_lookup", "pb_old_numbers", "pb_old_relations"):
                    conn.execute(f"DROP TABLE IF EXISTS {table}")
                row = conn.execute("SELECT v FROM pb_state WHERE k = 'generation'").fetchone()
                gen = (int(row[0]) if row else 0) + 1
                conn.execute(
                    "INSERT INTO pb_state(k, v) VALUES('generation', ?)"
                    " ON CONFLICT(k) DO UPDATE SET v = excluded.v",
                    (str(gen),),
                )
                for sql in _tables_sql("pb_stage_", gen) + _early_indexes_sql("pb_stage_", gen):
                    conn.execute(sql)
            reuse = self._keys_reusable(conn, region or self.region)
        except BaseException:
            with self._guard:
                self._building = False
            raise
        return RefreshBuilder(self, conn, gen, region or self.region, reuse=reuse)

    @staticmethod
    def _keys_reusable(conn: sqlite3.Connection, region: str) -> bool:
        """Whether the live book's match keys were made the way this refresh would make them
        (same region, same rules): then a page's unchanged numbers take their key from there."""
        row = conn.execute("SELECT v FROM pb_state WHERE k = 'keys'").fetchone()
        return row is not None and row[0] == keys_stamp(region)

    def _builder_done(self, conn: sqlite3.Connection) -> None:
        with self._guard:
            self._building = False
            if conn in self._all:
                self._all.remove(conn)
        conn.close()

    # -- incremental ----------------------------------------------------------------------

    def apply_changes(
        self,
        role: str,
        connector_id: str,
        mapping: ColumnMapping,
        rows: Sequence[Mapping[str, Any]],
        region: str | None = None,
    ) -> int:
        """Replace the relations in ``rows`` (by key) in place, in one transaction; blocked or
        emptied rows are removed. Returns the number of rows applied."""
        counts = self.apply_cycle([ChangeSet(role, connector_id, mapping, rows)], region=region)
        return counts.applied[role]

    def remove_missing(self, role: str, keys_present: Iterable[str | int]) -> int:
        """Delete the relations of ``role`` whose key is not in ``keys_present`` (the result of a
        key-only pass over the connector). Returns how many were removed."""
        started = time.monotonic()
        with self._writer_lock:
            conn = self._write_conn()
            with transaction(conn):
                first_new = self._begin_changes(conn)
                removed = self._remove_missing(conn, ROLE_CODE[role], keys_present)
                self._relist(conn, first_new)
                self._record(conn, "incremental", started, {role: removed})
        return removed

    def apply_cycle(
        self,
        changes: Sequence[ChangeSet],
        state: Mapping[str, str] | None = None,
        region: str | None = None,
    ) -> CycleCounts:
        """Apply one sync cycle's changes of every connector, and ``state`` (the sync's marks),
        in ONE transaction: a lookup sees the book before the cycle or after it, never a contact
        moved to an organisation that is not in yet, and a mark never gets ahead of its rows.

        Per change set: with ``keys_present``, the role's relations whose key is neither there
        nor among the changed rows go; then the changed rows replace their relations."""
        started = time.monotonic()
        region = region or self.region
        applied: dict[str, int] = {}
        removed: dict[str, int] = {}
        with self._writer_lock:
            conn = self._write_conn()
            with transaction(conn):
                next_id = first_new = self._begin_changes(conn)
                # Keys made another way now sit in the book: the next refresh must not reuse them.
                conn.execute(
                    "DELETE FROM pb_state WHERE k = 'keys' AND v != ?", (keys_stamp(region),)
                )
                for change in changes:
                    code = ROLE_CODE[change.role]
                    prepared = prepare_rows(change.role, change.mapping, change.rows, region, next_id)
                    next_id += len(prepared.relations)
                    if change.keys_present is not None:
                        present = [*change.keys_present, *prepared.keys]
                        removed[change.role] = self._remove_missing(conn, code, present)
                    stale = [(code, k) for k in prepared.keys]
                    self._drop_relations(
                        conn, "SELECT id FROM pb_relations WHERE role = ? AND key = ?", stale)
                    conn.executemany("DELETE FROM pb_skipped WHERE role = ? AND key = ?", stale)
                    self._insert(conn, "pb_", prepared)
                    conn.executemany(
                        "INSERT OR IGNORE INTO pb_skipped(role, key) VALUES(?, ?)",
                        prepared.skipped(code),
                    )
                    conn.execute(
                        "INSERT INTO pb_sources(role, connector) VALUES(?, ?)"
                        " ON CONFLICT(role) DO UPDATE SET connector = excluded.connector",
                        (change.role, change.connector_id),
                    )
                    applied[change.role] = applied.get(change.role, 0) + len(prepared.keys)
                self._relist(conn, first_new)
                self._put_state(conn, state or {})
                self._record(conn, "incremental", started, applied)
        self._wrote()
        return CycleCounts(applied, removed)

    # The lookup table follows an incremental change in the same transaction: relations go
    # through ``_drop_relations``, ``_relist`` once all of a cycle's rows are in.

    @staticmethod
    def _begin_changes(conn: sqlite3.Connection) -> int:
        """Ready a change's bookkeeping; the id the change's first new relation gets."""
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS pb_owner_refs (role INTEGER NOT NULL,"
                     " ref TEXT NOT NULL, PRIMARY KEY (role, ref)) WITHOUT ROWID")
        for table in ("pb_gone", "pb_touched"):  # relation ids
            conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} (id INTEGER PRIMARY KEY)")
        conn.execute("DELETE FROM temp.pb_owner_refs")
        (top,) = conn.execute("SELECT COALESCE(MAX(id), 0) FROM pb_relations").fetchone()
        return int(top) + 1

    @staticmethod
    def _drop_relations(conn: sqlite3.Connection, ids: str,
                        params: Iterable[Sequence[object]]) -> int:
        """Delete the relations the query ``ids`` (one column: their ids) selects, with their
        numbers and lookup rows; the BcIds and numbers of the organisations and persons among
        them are noted (a contact that names one may show another owner now, see ``_relist``).
        Returns how many relations went."""
        conn.execute("DELETE FROM temp.pb_gone")
        conn.executemany(f"INSERT OR IGNORE INTO temp.pb_gone {ids}", params)
        gone = "SELECT id FROM temp.pb_gone"
        PhoneBook._note_owners(conn, f"id IN ({gone})")
        conn.execute("DELETE FROM pb_lookup WHERE (number, rel) IN"
                     f" (SELECT number, rel FROM pb_numbers WHERE rel IN ({gone}))")
        conn.execute(f"DELETE FROM pb_numbers WHERE rel IN ({gone})")
        return int(conn.execute(f"DELETE FROM pb_relations WHERE id IN ({gone})").rowcount)

    @staticmethod
    def _note_owners(conn: sqlite3.Connection, where: str, *params: object) -> None:
        """Note the BcIds and numbers of the organisations and persons ``where`` picks."""
        conn.execute(
            f"WITH g AS (SELECT role, bcid, key FROM pb_relations WHERE role < 2 AND {where})"
            " INSERT OR IGNORE INTO temp.pb_owner_refs SELECT role, bcid FROM g"
            " UNION SELECT role, key FROM g", params)

    @staticmethod
    def _relist(conn: sqlite3.Connection, first_new: int) -> None:
        """The lookup rows of the relations from ``first_new`` on (this change's) and, written
        again, of the older contacts that name an organisation or person noted by
        ``_drop_relations`` or new now: their owner is found anew."""
        PhoneBook._note_owners(conn, "id >= ?", first_new)
        # Refs first, then their contacts by the partial indexes (the planner left alone
        # would walk every contact on the role index).
        conn.execute("DELETE FROM temp.pb_touched")
        conn.execute(
            "INSERT OR IGNORE INTO temp.pb_touched SELECT r.id FROM temp.pb_owner_refs f"
            " CROSS JOIN pb_relations r ON r.role = 2 AND r.org = f.ref"
            " WHERE f.role = 0 AND r.id < ?1"
            " UNION SELECT r.id FROM temp.pb_owner_refs f"
            " CROSS JOIN pb_relations r ON r.role = 2 AND r.person = f.ref"
            " WHERE f.role = 1 AND r.id < ?1", (first_new,))
        conn.execute(
            "DELETE FROM pb_lookup WHERE (number, rel) IN (SELECT number, rel FROM pb_numbers"
            " WHERE rel IN (SELECT id FROM temp.pb_touched))")
        conn.execute(_lookup_fill_sql("pb_", "n.rel >= ? OR n.rel IN (SELECT id FROM temp.pb_touched)"),
                     (first_new,))
        conn.execute("DELETE FROM temp.pb_owner_refs")

    @staticmethod
    def _remove_missing(conn: sqlite3.Connection, code: int, keys: Iterable[str | int]) -> int:
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS pb_present (key TEXT PRIMARY KEY)")
        conn.execute("DELETE FROM temp.pb_present")
        conn.executemany(
            "INSERT OR IGNORE INTO temp.pb_present(key) VALUES(?)", ((cell_text(k),) for k in keys)
        )
        missing = "key NOT IN (SELECT key FROM temp.pb_present)"
        gone = f"SELECT id FROM pb_relations WHERE role = ? AND {missing}"
        count = PhoneBook._drop_relations(conn, gone, [(code,)])
        conn.execute(f"DELETE FROM pb_skipped WHERE role = ? AND {missing}", (code,))
        conn.execute("DELETE FROM temp.pb_present")
        return int(count)

    def known_keys(self, role: str) -> set[str]:
        """Every key of ``role`` the book has seen: its relations and the rows it left out."""
        code = ROLE_CODE[role]
        conn = self._reader()
        with transaction(conn, immediate=False):
            keys = {r[0] for r in conn.execute("SELECT key FROM pb_relations WHERE role = ?", (code,))}
            keys.update(r[0] for r in conn.execute("SELECT key FROM pb_skipped WHERE role = ?", (code,)))
        return keys

    def entries(self) -> list[BookEntry]:
        """Every relation with its match keys (E.164, in column order), read from one snapshot:
        what a push of the book to another address book (Xelion's) compares against."""
        conn = self._reader()
        with transaction(conn, immediate=False):
            numbers: dict[int, list[tuple[str, str]]] = {}
            for rel, col, number in conn.execute(
                    "SELECT rel, col, number FROM pb_numbers ORDER BY rel, pos"):
                numbers.setdefault(int(rel), []).append((str(col), str(number)))
            out = [
                BookEntry(ROLES[code], str(key), str(bcid), str(name), str(org), str(person),
                          tuple(numbers.get(int(rid), ())))
                for rid, code, key, bcid, name, org, person in conn.execute(
                    "SELECT id, role, key, bcid, name, org, person FROM pb_relations ORDER BY id")
            ]
        return out

    # -- sync state -------------------------------------------------------------------------

    def state(self, prefix: str) -> dict[str, str]:
        """Stored values whose key starts with ``prefix`` (the sync's high-water marks)."""
        rows = self._reader().execute(
            "SELECT k, v FROM pb_state WHERE substr(k, 1, ?) = ?", (len(prefix), prefix)
        ).fetchall()
        return {str(k): str(v) for k, v in rows}

    def set_state(self, values: Mapping[str, str]) -> None:
        with self._writer_lock:
            conn = self._write_conn()
            with transaction(conn):
                self._put_state(conn, values)

    @staticmethod
    def _put_state(conn: sqlite3.Connection, values: Mapping[str, str]) -> None:
        conn.executemany(
            "INSERT INTO pb_state(k, v) VALUES(?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v",
            sorted(values.items()),
        )

    # -- shared -----------------------------------------------------------------------------

    @staticmethod
    def _insert(conn: sqlite3.Connection, prefix: str, prepared: Prepared) -> None:
        conn.executemany(
            f"INSERT INTO {prefix}relations(id, role, key, bcid, name, org, person, number)"
            " VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
            prepared.relations,
        )
        conn.executemany(
            f"INSERT INTO {prefix}numbers(number, rel, col, raw, pos) VALUES(?, ?, ?, ?, ?)",
            prepared.numbers,
        )

    @staticmethod
    def _record(
        conn: sqlite3.Connection,
        kind: str,
        started: float,
        rows: dict[str, int],
        counts: tuple[int, int] | None = None,
    ) -> None:
        if counts is None:
            relations = conn.execute("SELECT COUNT(*) FROM pb_relations").fetchone()[0]
            numbers = conn.execute("SELECT COUNT(*) FROM pb_numbers").fetchone()[0]
        else:
            relations, numbers = counts
        conn.execute(
            "INSERT INTO pb_refresh(kind, at, relations, numbers, seconds, rows)"
            " VALUES(?, ?, ?, ?, ?, ?) ON CONFLICT(kind) DO UPDATE SET at = excluded.at,"
            " relations = excluded.relations, numbers = excluded.numbers,"
            " seconds = excluded.seconds, rows = excluded.rows",
            (kind, time.time(), relations, numbers, time.monotonic() - started, json.dumps(rows)),
        )
        conn.execute(_LOOKUP_MARK_SQL)


class _NoLiveBook(Exception):
    """``keep_role`` before any refresh: there are no live rows to carry over."""


class RefreshBuilder:
    """A new book being built aside; nothing is visible to lookups until ``commit``.

    May be driven from a worker thread (one call at a time). Use as a context manager to abort
    on an exception.
    """

    def __init__(
        self,
        book: PhoneBook,
        conn: sqlite3.Connection,
        gen: int,
        region: str,
        *,
        reuse: bool = False,
    ) -> None:
        self._book = book
        self._conn: sqlite3.Connection | None = conn
        self._gen = gen
        self._region = region
        # Raw number -> match key: the live book's keys of the page's relations (``reuse``) and
        # what this refresh learned. Most numbers do not change between refreshes, and a
        # dictionary hit is far cheaper than normalising again. Bounded: a whole book's worth
        # (a million pairs) would cost some 200 MB.
        self._reuse = reuse
        self._known: dict[str, str | None] = {}
        self._indexed = False
        self._lock = threading.Lock()
        self._next_id = 1
        self._numbers = 0
        self._rows: dict[str, int] = {}
        self._sources: dict[str, str] = {}
        self._skipped: list[tuple[int, str]] = []
        self._started = time.monotonic()

    def _live(self) -> sqlite3.Connection:
        if self._conn is None:
            raise PhoneBookError(
                T("This phone book refresh has already ended.", "Deze verversing is al afgelopen.")
            )
        return self._conn

    def add_rows(
        self,
        role: str,
        connector_id: str,
        mapping: ColumnMapping,
        rows: Sequence[Mapping[str, Any]],
    ) -> int:
        """Add one page of connector rows. Returns how many relations it added."""
        with self._lock:
            conn = self._live()
            self._sources[role] = connector_id
            self._rows[role] = self._rows.get(role, 0) + len(rows)
            if len(self._known) > _KNOWN_CAP:
                self._known.clear()
            if self._reuse:
                self._known.update(self._live_keys(conn, role, row_keys(mapping, rows)))
            prepared = prepare_rows(role, mapping, rows, self._region, self._next_id, self._known)
            with transaction(conn):
                PhoneBook._insert(conn, "pb_stage_", prepared)
            self._next_id += len(prepared.relations)
            self._numbers += len(prepared.numbers)
            self._skipped += prepared.skipped(ROLE_CODE[role])
            return len(prepared.relations)

    @staticmethod
    def _live_keys(conn: sqlite3.Connection, role: str, keys: list[str]) -> list[tuple[str, str]]:
        """(raw, match key) of the numbers the live book has for these relations: one query,
        the keys handed over as one JSON array (cheaper than filling a table with them)."""
        try:
            return conn.execute(
                # CROSS JOIN: in this order (the page's keys first), not a scan of the role
                "SELECT n.raw, n.number FROM json_each(?) p"
                " CROSS JOIN pb_relations r ON r.role = ? AND r.key = p.value"
                " CROSS JOIN pb_numbers n ON n.rel = r.id",
                (json.dumps(keys), ROLE_CODE[role])).fetchall()
        except sqlite3.OperationalError:  # no live book yet (or an SQLite without JSON)
            return []

    def keep_role(self, role: str, connector_id: str) -> int:
        """Carry the live book's rows of ``role`` into the new one unchanged: its connector
        could not be read this time (e.g. not in the App connector), the others could."""
        with self._lock:
            conn = self._live()
            code = ROLE_CODE[role]
            try:
                with transaction(conn):
                    try:
                        conn.execute(
                            "CREATE TEMP TABLE keep_map AS SELECT id AS old,"
                            " ? + ROW_NUMBER() OVER (ORDER BY id) - 1 AS new"
                            " FROM pb_relations WHERE role=?", (self._next_id, code))
                    except sqlite3.OperationalError:  # no live book yet
                        raise _NoLiveBook from None
                    kept = int(conn.execute("SELECT COUNT(*) FROM keep_map").fetchone()[0])
                    conn.execute(
                        "INSERT INTO pb_stage_relations SELECT m.new, r.role, r.key, r.bcid, r.name,"
                        " r.org, r.person, r.number FROM pb_relations r JOIN keep_map m ON r.id = m.old")
                    numbers = conn.execute(
                        "INSERT INTO pb_stage_numbers SELECT n.number, m.new, n.col, n.raw, n.pos"
                        " FROM pb_numbers n JOIN keep_map m ON n.rel = m.old").rowcount
                    conn.execute("DROP TABLE keep_map")
            except _NoLiveBook:  # rolled back: nothing was written
                return 0
            self._sources[role] = connector_id
            self._rows[role] = self._rows.get(role, 0) + kept
            self._next_id += kept
            self._numbers += max(0, numbers)
            return kept

    def build_indexes(self) -> None:
        """Build the relations' indexes now; rows added later are indexed as they go in.

        ``commit`` does this itself when nobody did, and builds the lookup table. A refresh
        calls it before its last connector, so that much of the index work overlaps that
        download instead of delaying the swap.
        """
        with self._lock:
            conn = self._live()
            if self._indexed:
                return
            with transaction(conn):
                for sql in _relation_indexes_sql("pb_stage_", self._gen):
                    conn.execute(sql)
            self._indexed = True

    def commit(self, state: Mapping[str, str] | None = None) -> RefreshInfo:
        """Index the new book and swap it in, in one transaction, with ``state`` (the sync's
        marks for the rows read). The old one is dropped when the next refresh begins."""
        self.build_indexes()
        with self._lock:
            conn = self._live()
            try:
                # The fill sorts every number. With a helper thread (the download is over by
                # now) and half the cache, 3.6 s instead of 4.4 s for a million numbers here at
                # the same peak memory: each of the sort's threads buffers up to a cache's worth.
                conn.execute(f"PRAGMA threads={_COMMIT_SORT_THREADS}")
                conn.execute(f"PRAGMA cache_size=-{_BUILD_CACHE_KIB // 2}")
                with transaction(conn):  # aside, before the swap: still invisible to lookups
                    for sql in _owner_ref_indexes_sql("pb_stage_", self._gen):
                        conn.execute(sql)
                    conn.execute(_lookup_table_sql("pb_stage_"))
                    conn.execute(_lookup_fill_sql("pb_stage_"))
                with transaction(conn):
                    for table in ("relations", "numbers", "lookup"):
                        conn.execute(f"ALTER TABLE pb_{table} RENAME TO pb_old_{table}")
                        conn.execute(f"ALTER TABLE pb_stage_{table} RENAME TO pb_{table}")
                    conn.execute("DELETE FROM pb_sources")
                    conn.executemany(
                        "INSERT INTO pb_sources(role, connector) VALUES(?, ?)",
                        sorted(self._sources.items()),
                    )
                    conn.execute(
                        "INSERT INTO pb_state(k, v) VALUES('keys', ?)"
                        " ON CONFLICT(k) DO UPDATE SET v = excluded.v",
                        (keys_stamp(self._region),),
                    )
                    conn.execute("DELETE FROM pb_skipped")
                    conn.executemany(
                        "INSERT OR IGNORE INTO pb_skipped(role, key) VALUES(?, ?)", self._skipped
                    )
                    PhoneBook._put_state(conn, state or {})
                    relations = self._next_id - 1
                    PhoneBook._record(
                        conn, "full", self._started, dict(self._rows), (relations, self._numbers)
                    )
            except BaseException:
                self._close(drop_stage=True)
                raise
            self._known = {}
            # The old tables stay until the next refresh begins and drops them (off the path of
            # this one; the file does not shrink either way, their pages are simply reused).
            info = RefreshInfo(
                "full",
                time.time(),
                relations,
                self._numbers,
                time.monotonic() - self._started,
                dict(self._rows),
            )
            self._close(drop_stage=False)
        self._book._wrote()
        return info

    def abort(self) -> None:
        """Throw the new book away; the current one stays as it is. Safe to call twice."""
        with self._lock:
            self._known = {}
            if self._conn is not None:
                self._close(drop_stage=True)

    def _close(self, *, drop_stage: bool) -> None:
        conn = self._conn
        if conn is None:
            return
        self._conn = None
        try:
            if drop_stage:
                self._drop(conn, "pb_stage_")
        finally:
            self._book._builder_done(conn)

    @staticmethod
    def _drop(conn: sqlite3.Connection, prefix: str) -> None:
        with transaction(conn):
            for table in ("lookup", "numbers", "relations"):
                conn.execute(f"DROP TABLE IF EXISTS {prefix}{table}")

    def __enter__(self) -> RefreshBuilder:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is not None:
            self.abort()


__all__ = [
    "MIGRATIONS",
    "MODULE",
    "BookEntry",
    "ChangeSet",
    "CycleCounts",
    "PhoneBook",
    "RefreshBuilder",
    "RefreshInfo",
]
