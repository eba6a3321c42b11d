"""The outbox: call reports on their way to AFAS as dossier items, in SQLite, sent exactly once.

One row per Xelion call (its oid is the key): ``pending -> sending -> done | failed``.

Exactly once across crashes and lost answers:

1. Before the POST the row is marked ``sending`` and committed with ``synchronous=FULL``, so the
   mark is on disk before a single byte goes to AFAS.
2. SbTx carries a marker line unique to the call (:func:`afas_tray.afas.knsubject.marker_for`).
3. A row found in ``sending`` (the process died mid-POST) or flagged ``unsure`` (the POST timed
   out or the connection dropped after sending) is never posted blindly: the dossier GetConnector
   (``afas.connectors.dossier_items``, its columns read from metainfo: Profit_Subjects calls
   them SubjectId/TypeId/Comment/DateCreated/OrgPersId, not SbId/SbTx) is asked for an item of
   the row's type, dated from the day before the call, whose text contains the marker. Found:
   its id is taken and the row is done. Not found: AFAS keeps processing a request for up to
   900 s after the client gave up (OASContent, troubleshooting: "a timeout of 900 seconds"),
   so the lookup is repeated (``settle_seconds`` after the POST, then at growing intervals) and
   the row is posted again only once ``processing_window`` has passed without finding it.
   A lookup that cannot run (connector unknown, not in the App connector, no usable columns)
   fails the row with that reason: never a silent re-post.

Order: rows go oldest first; a row waiting for its next try holds back the rows behind it, so a
network outage never reorders reports. One body (one recording) is in memory at a time.

Fourth step of the finished-call walk (README, "Architecture"): receives ``ReportItem``s from
``reports/service.py`` (and missed calls from ``reports/missed.py``) through ``enqueue``, which
calls ``on_work`` (the core's drain loop wakes); ``drain`` gets an ``AfasClient`` from
``core.py`` and hands each body (built by ``afas/knsubject.py``) to ``afas/client.py``
(``post_subject``, the KnSubject POST).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import gc
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from afas_tray.afas import (
    AfasAuthError,
    AfasBadReply,
    AfasClient,
    AfasConnectionError,
    AfasConnectorNotAllowed,
    AfasError,
    AfasNotFound,
    AfasServerError,
    AfasTimeout,
    AfasTooLarge,
    AfasUnavailable,
    FieldMeta,
    Filter,
    Op,
    build_body,
    marker_for,
)
from afas_tray.backoff import jittered_backoff
from afas_tray.errors import AppError
from afas_tray.i18n import T, Text
from afas_tray.models import ReportItem
from afas_tray.store import ensure_schema, open_db

MODULE = "outbox"

MIGRATIONS = [
    """
    CREATE TABLE outbox_items (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL UNIQUE,
        state TEXT NOT NULL DEFAULT 'pending',
        call_id TEXT NOT NULL,
        bcid TEXT NOT NULL,
        subject TEXT NOT NULL,
        text TEXT NOT NULL,
        date TEXT NOT NULL,
        dossier_type INTEGER NOT NULL,
        contact_id TEXT NOT NULL,
        audio_file TEXT NOT NULL,
        audio_name TEXT NOT NULL,
        drop_audio INTEGER NOT NULL DEFAULT 0,
        unsure INTEGER NOT NULL DEFAULT 0,
        unsure_failures INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_try REAL NOT NULL DEFAULT 0,
        message_en TEXT NOT NULL DEFAULT '',
        message_nl TEXT NOT NULL DEFAULT '',
        sb_id TEXT NOT NULL DEFAULT '',
        created REAL NOT NULL,
        updated REAL NOT NULL
    );
    CREATE INDEX outbox_items_state ON outbox_items(state, seq)
    """,
    # When the last POST left: AFAS may still be processing it up to 900 s later.
    "ALTER TABLE outbox_items ADD COLUMN last_post REAL NOT NULL DEFAULT 0",
    # What the item's BcId holds (number or internal id): the lookup filters on the relation
    # only where the dossier connector's column holds the same.
    "ALTER TABLE outbox_items ADD COLUMN link_by TEXT NOT NULL DEFAULT ''",
]

# A retry makes a row due now, except one that may already be in AFAS: its lookup still waits
# for the settle time after the last attempt, or a request AFAS is still handling would be missed.
_RETRY_NEXT_TRY = "CASE WHEN unsure=1 THEN next_try ELSE 0 END"

# AFAS's troubleshooting page: "The AFAS API uses a timeout of 900 seconds"; a request goes on
# being processed that long after the client stopped waiting.
PROCESSING_WINDOW = 900.0

# Candidate columns of a dossier-item GetConnector, by column id then by the Profit field id
# behind it: Profit_Subjects (dossiers-en-bijlagen.openapi.json), ProfitSubjects, custom ones.
_DOSSIER_CANDIDATES: dict[str, tuple[str, ...]] = {
    "id": ("SubjectId", "SbId", "Dossieritem", "DossierId"),
    "type": ("TypeId", "StId", "SbTy", "SubjectTypeId", "Type_dossieritem"),
    "text": ("Comment", "SbTx", "Memo", "Toelichting"),
    "date": ("DateCreated", "Da", "DaSe", "Datum"),
    "relation": ("OrgPersId", "BcCo", "BcCd", "BcId"),
}

PAUSED_TOKEN = T(
    "AFAS refused the token; uploads paused — check Settings",
    "AFAS weigert het token; uploaden gepauzeerd — controleer de instellingen",
)


class OutboxState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class OutboxRow:
    seq: int
    key: str
    state: OutboxState
    attempts: int
    next_try: float  # epoch seconds; 0 = now
    last_message: Text | None  # what went wrong last (AFAS's own words for validation errors)
    sb_id: str  # the dossier item's SbId once done
    created: float
    updated: float
    item: ReportItem
    unsure: bool  # a POST may have reached AFAS: checked through the GetConnector before a resend
    attachment_dropped: bool  # the recording goes (went) without: too large for AFAS
    last_post: float = 0.0  # when the last POST left (epoch seconds; 0 = never)


@dataclass(frozen=True)
class DossierLookup:
    """Where the outbox looks a report up: the dossier-item GetConnector, column overrides (empty
    = detected from metainfo) and what KnSubjectLink's BcId holds (``number`` or ``id``)."""

    connector: str = "Profit_Subjects"
    id: str = ""
    type: str = ""
    text: str = ""
    date: str = ""
    relation: str = ""
    link_by: str = "number"

    @classmethod
    def from_settings(cls, connectors: Any) -> DossierLookup:
        c = connectors.dossier_columns
        return cls(connectors.dossier_items, c.id, c.type, c.text, c.date, c.relation,
                   connectors.link_by)


@dataclass(frozen=True)
class DossierFields:
    """The detected columns (column id and AFAS data type); id and text are required."""

    id: str
    text: str
    type: str = ""
    date: str = ""
    relation: str = ""
    relation_type: str = ""


class DossierColumnError(AppError):
    """The dossier connector lacks a column the report needs; someone must fix the connector."""

    @property
    def needs_user(self) -> bool:
        return True


def detect_dossier_fields(connector: str, fields: Sequence[FieldMeta],
                          lookup: DossierLookup) -> DossierFields:
    """The dossier connector's id/type/text/date/relation columns; the override wins."""
    by_id = {f.id.casefold(): f for f in fields}
    by_field = {f.field_id.casefold(): f for f in fields if f.field_id}
    found: dict[str, FieldMeta | None] = {}
    for role, candidates in _DOSSIER_CANDIDATES.items():
        override = str(getattr(lookup, role) or "").strip()
        if override:
            meta = by_id.get(override.casefold())
            if meta is None:
                raise DossierColumnError(T(
                    f"The dossier connector '{connector}' has no column '{override}' "
                    f"(afas.connectors.dossier_columns.{role}).",
                    f"De dossierconnector '{connector}' heeft geen kolom '{override}' "
                    f"(afas.connectors.dossier_columns.{role})."))
            found[role] = meta
            continue
        found[role] = next((by_id.get(c.casefold()) or by_field.get(c.casefold())
                            for c in candidates
                            if by_id.get(c.casefold()) or by_field.get(c.casefold())), None)
    missing = [r for r in ("id", "text") if found[r] is None]
    if missing:
        names = ", ".join(missing)
        raise DossierColumnError(T(
            f"The dossier connector '{connector}' lacks the column(s) for: {names} (e.g. "
            "SubjectId, Comment). Add them, or name them in afas.connectors.dossier_columns.",
            f"De dossierconnector '{connector}' mist de kolom(men) voor: {names} (bijv. "
            "SubjectId, Comment). Voeg ze toe of noem ze in afas.connectors.dossier_columns."))
    ident, text = found["id"], found["text"]
    assert ident is not None and text is not None
    rel = found["relation"]
    return DossierFields(
        ident.id, text.id, found["type"].id if found["type"] else "",
        found["date"].id if found["date"] else "", rel.id if rel else "",
        rel.data_type if rel else "")


def lookup_filters(fields: DossierFields, item: ReportItem, marker: str,
                   link_by: str = "", *, relation_filter: bool = True) -> list[Filter]:
    """Narrow first (type, date from the day before the call, relation), then the marker."""
    filters: list[Filter] = []
    if fields.type:
        filters.append(Filter(fields.type, Op.EQ, int(item.dossier_type)))
    if fields.date and item.date:
        with contextlib.suppress(ValueError):
            day = dt.datetime.fromisoformat(item.date.rstrip("Z")).date() - dt.timedelta(days=1)
            filters.append(Filter(fields.date, Op.GE, f"{day.isoformat()}T00:00:00"))
    # The relation only where the column holds what the link carried (the item says which:
    # ``item.link_by``; ``link_by`` for an item that does not): an integer column the internal
    # id, a text column (Profit_Subjects' OrgPersId, dossiers-en-bijlagen.openapi.json) the
    # number. A wrong one would miss the item and so post it twice: unknown means no filter.
    held = item.link_by or link_by
    if relation_filter and held and fields.relation and item.bcid.strip():
        holds_id = fields.relation_type.lower() in ("int", "integer", "decimal")
        if holds_id == (held == "id"):
            filters.append(Filter(fields.relation, Op.EQ, item.bcid.strip()))
    filters.append(Filter(fields.text, Op.CONTAINS, marker))
    return filters


@dataclass(frozen=True)
class OutboxStatus:
    """What the tray shows about uploads."""

    backlog: int  # reports waiting to go up (pending + sending)
    failed: int  # reports that need the user's retry
    paused_reason: Text | None
    last_error: Text | None


@dataclass(frozen=True)
class DrainResult:
    sent: int = 0  # posted and confirmed by AFAS
    recovered: int = 0  # found already in AFAS after a crash or a lost answer
    failed: int = 0  # marked failed in this drain
    backlog: int = 0  # still waiting after this drain
    paused: bool = False
    stopped: Text | None = None  # why the drain stopped with work left
    next_due: float | None = None  # seconds until the next row is due, when one is waiting


StatusCallback = Callable[[OutboxStatus], None]
P = ParamSpec("P")
R = TypeVar("R")


def _now() -> float:
    return time.time()


class _Stop(Exception):
    """Ends the drain early (network trouble, pause); the row is already saved."""

    def __init__(self, reason: Text) -> None:
        super().__init__(reason.en)
        self.reason = reason


class Outbox:
    """``Outbox(path_or_connection)``; ``enqueue`` from the report pipeline, ``drain`` from the
    sync loop.

    The app runs one asyncio loop that also paints the UI, and a SQLite write can wait seconds for
    the file's write lock or an fsync. So ``drain`` does all its SQLite work (and the removal of
    sent recordings) on the outbox's own DB thread, one step at a time and in the same order as
    before: the 'sending' mark is on disk before the POST leaves, the done mark follows the answer.
    The synchronous methods may be called from the loop meanwhile: writes share the connection
    under a lock; reads (``backlog``, ``status``, ``items``, ``get``) use a second, read-only
    connection, which in WAL mode never waits for a writer."""

    def __init__(
        self,
        db: sqlite3.Connection | Path | str,
        *,
        on_status: StatusCallback | None = None,
        settle_seconds: float = 2.0,
        processing_window: float = PROCESSING_WINDOW,
        backoff_base: float = 5.0,
        backoff_cap: float = 900.0,
        max_wait: float = 60.0,
        max_unsure_failures: int = 5,
        clock: Callable[[], float] = _now,
        outage_cap: float = 60.0,
    ) -> None:
        self._reader: sqlite3.Connection | None = None
        if isinstance(db, sqlite3.Connection):
            self._conn = db
        else:
            self._conn = open_db(db)
            # Our own connection: make every commit reach the disk before a POST goes out, so a
            # power cut cannot forget the 'sending' mark of a report AFAS already has.
            self._conn.execute("PRAGMA synchronous=FULL")
        ensure_schema(self._conn, MODULE, MIGRATIONS)
        if not isinstance(db, sqlite3.Connection) and str(db) != ":memory:":
            self._reader = open_db(db)
            self._reader.execute("PRAGMA query_only=ON")
        self.on_status = on_status
        # Statuses sent so far: counts taken on the DB thread go out only if no fresher status
        # (a retry on the loop, say) went out while they were taken.
        self._statuses = 0
        # Called (on the caller's thread) whenever reports became sendable: queued, requeued, or
        # uploads resumed. The app's drain loop waits on it instead of polling.
        self.on_work: Callable[[], None] | None = None
        self.settle_seconds = settle_seconds  # first lookup after a POST whose answer was lost
        self.processing_window = processing_window  # no re-post before this has passed
        self._dossier_fields: dict[DossierLookup, DossierFields] = {}
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_wait = max_wait
        self.max_unsure_failures = max_unsure_failures
        # Failures in a row without a report getting through (AFAS down, no network): the
        # head row's waits grow with them too, up to ``outage_cap``, rather than staying at the
        # first delay for a whole outage (its POST count does not grow while nothing leaves).
        self._streak = 0
        self.outage_cap = outage_cap
        self._clock = clock
        # Guards self._conn: the DB thread and synchronous callers never use it at the same time.
        self._lock = threading.RLock()
        self._read_lock = threading.Lock()
        self._drain_lock: asyncio.Lock | None = None
        self._paused: Text | None = None
        self._last_error: Text | None = None
        # Bodies are built off the event loop, always on the same thread: one thread's malloc
        # arena gets reused for every recording instead of each pool thread keeping its own.
        self._builder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-body")
        # The drain's SQLite work: one thread, so its steps run in the order they are awaited.
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-db")

    def close(self) -> None:
        self._builder.shutdown(wait=False)
        # A step of a cancelled drain may still be running: let it finish before the connection goes.
        self._db.shutdown(wait=True)
        with self._lock:
            self._conn.close()
        if self._reader is not None:
            with self._read_lock:
                self._reader.close()

    # -- queue -----------------------------------------------------------------------------

    def enqueue(self, item: ReportItem) -> bool:
        """Queue a report; False (and nothing changes) when this call is already queued or sent."""
        now = self._clock()
        with self._lock:
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO outbox_items(key, call_id, bcid, subject, text, date, dossier_type,"
                " contact_id, audio_file, audio_name, created, updated, link_by)"
                " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (item.key, item.call_id, item.bcid, item.subject, item.text, item.date, int(item.dossier_type),
                 item.contact_id, item.audio_file, item.audio_name, now, now, item.link_by),
            )
        added = cur.rowcount == 1
        if added:
            self._notify()
            self._work()
        return added

    def update_report(self, key: str, subject: str, text: str) -> bool:
        """Change subject and text of a report that has not gone up yet (pending or failed)."""
        with self._lock:
            cur = self._conn.execute(
                "UPDATE outbox_items SET subject=?, text=?, updated=? WHERE key=? AND state IN (?, ?)",
                (subject, text, self._clock(), key, OutboxState.PENDING, OutboxState.FAILED),
            )
        return cur.rowcount == 1

    def get(self, key: str) -> OutboxRow | None:
        rows = self._read("SELECT * FROM outbox_items WHERE key=?", (key,))
        return _row(rows[0]) if rows else None

    def items(self, state: OutboxState | str | None = None) -> list[OutboxRow]:
        if state is None:
            rows = self._read("SELECT * FROM outbox_items ORDER BY seq", ())
        else:
            rows = self._read("SELECT * FROM outbox_items WHERE state=? ORDER BY seq", (str(OutboxState(state)),))
        return [_row(r) for r in rows]

    def backlog(self) -> int:
        return self._counts(self._read)[0]

    def failed_count(self) -> int:
        return self._counts(self._read)[1]

    def retry(self, key: str) -> bool:
        """Requeue a failed report (or send a waiting one now). A report that may already be in
        AFAS stays marked as such: it is looked up before it is posted again."""
        with self._lock:
            cur = self._conn.execute(
                f"UPDATE outbox_items SET state=?, next_try={_RETRY_NEXT_TRY}, attempts=0, unsure_failures=0,"
                " updated=? WHERE key=? AND state IN (?, ?)",
                (OutboxState.PENDING, self._clock(), key, OutboxState.FAILED, OutboxState.PENDING),
            )
        changed = cur.rowcount == 1
        if changed:
            self._notify()
            self._work()
        return changed

    def retry_failed(self) -> int:
        with self._lock:
            cur = self._conn.execute(
                f"UPDATE outbox_items SET state=?, next_try={_RETRY_NEXT_TRY}, attempts=0, unsure_failures=0,"
                " updated=? WHERE state=?",
                (OutboxState.PENDING, self._clock(), OutboxState.FAILED),
            )
        if cur.rowcount:
            self._notify()
            self._work()
        return int(cur.rowcount)

    # -- reading ---------------------------------------------------------------------------

    def _read(self, sql: str, params: tuple[Any, ...]) -> list[sqlite3.Row]:
        """Rows for the synchronous readers. The read-only connection does not queue behind a
        drain step that waits for the write lock (WAL readers never wait for writers)."""
        if self._reader is None:
            return self._write_conn_read(sql, params)
        with self._read_lock:
            return self._reader.execute(sql, params).fetchall()

    def _write_conn_read(self, sql: str, params: tuple[Any, ...]) -> list[sqlite3.Row]:
        """Rows through the shared connection (the drain's reads, on the DB thread)."""
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    @staticmethod
    def _counts(read: Callable[[str, tuple[Any, ...]], list[sqlite3.Row]]) -> tuple[int, int]:
        """(backlog, failed) in one indexed query."""
        by_state: dict[str, int] = {str(state): int(n) for state, n in read(
            "SELECT state, COUNT(*) FROM outbox_items WHERE state IN (?, ?, ?) GROUP BY state",
            (OutboxState.PENDING, OutboxState.SENDING, OutboxState.FAILED),
        )}
        return (by_state.get(OutboxState.PENDING, 0) + by_state.get(OutboxState.SENDING, 0),
                by_state.get(OutboxState.FAILED, 0))

    # -- status ----------------------------------------------------------------------------

    @property
    def paused_reason(self) -> Text | None:
        return self._paused

    def pause(self, reason: Text) -> None:
        self._paused = reason
        self._notify()

    def resume(self) -> None:
        """Uploads may go again (call when the settings change, e.g. a new token)."""
        if self._paused is not None:
            self._paused = None
            self._notify()
            self._work()

    def status(self) -> OutboxStatus:
        backlog, failed = self._counts(self._read)
        return OutboxStatus(backlog, failed, self._paused, self._last_error)

    def _notify(self) -> OutboxStatus:
        self._statuses += 1
        status = self.status()
        if self.on_status is not None:
            self.on_status(status)
        return status

    def _work(self) -> None:
        if self.on_work is not None:
            self.on_work()

    # -- drain -----------------------------------------------------------------------------

    async def _on_db(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """``fn(*args)`` on the DB thread; the loop goes on meanwhile."""
        return await asyncio.get_running_loop().run_in_executor(self._db, functools.partial(fn, *args, **kwargs))

    async def _drain_notify(self) -> tuple[int, int]:
        """Counts taken on the DB thread; the callback (it touches the UI) runs on the loop."""
        sent = self._statuses
        backlog, failed = await self._on_db(self._counts, self._write_conn_read)
        if self._statuses != sent:  # older than what went out meanwhile: read them again
            status = self._notify()
            return status.backlog, status.failed
        self._statuses += 1
        if self.on_status is not None:
            self.on_status(OutboxStatus(backlog, failed, self._paused, self._last_error))
        return backlog, failed

    async def drain(self, client: AfasClient, *, subjects_connector: str = "",
                    lookup: DossierLookup | None = None) -> DrainResult:
        """Send the due reports, oldest first, one at a time. Returns early when paused, when
        AFAS cannot be reached (the row gets its next try time) or when the oldest row is not
        due yet; call again later (``next_due`` says when)."""
        if lookup is None:
            lookup = DossierLookup(subjects_connector or DossierLookup.connector)
        if self._drain_lock is None:
            self._drain_lock = asyncio.Lock()
        async with self._drain_lock:
            counts = {"sent": 0, "recovered": 0, "failed": 0}
            stopped: Text | None = None
            next_due: float | None = None
            waits = 0
            while self._paused is None:
                row = await self._on_db(self._head)
                if row is None:
                    break
                now = self._clock()
                if row.next_try > now:
                    next_due = row.next_try - now
                    stopped = row.last_message
                    break
                try:
                    outcome = await self._handle(client, row, lookup)
                except _Stop as stop:
                    stopped = stop.reason
                    head = await self._on_db(self._head)
                    if head is not None and self._paused is None:
                        next_due = max(0.0, head.next_try - self._clock())
                    break
                except _Wait as wait:
                    # 503 maintenance: wait as AFAS asks, a few times, then leave it to the loop.
                    waits += 1
                    if waits > 3 or wait.seconds > self.max_wait:
                        self._last_error = wait.text
                        await self._on_db(self._set_next_try, row.key, self._clock() + wait.seconds, wait.text,
                                          self._clock())
                        stopped, next_due = wait.text, wait.seconds
                        break
                    await asyncio.sleep(wait.seconds)
                    continue
                counts[outcome] += 1
                await self._drain_notify()
            paused = self._paused is not None
            backlog, _failed = await self._drain_notify()
            return DrainResult(
                sent=counts["sent"], recovered=counts["recovered"], failed=counts["failed"],
                backlog=backlog, paused=paused, stopped=self._paused if paused else stopped,
                next_due=next_due,
            )

    async def _handle(self, client: AfasClient, row: OutboxRow, lookup: DossierLookup) -> str:
        """One row: look it up when it may already be in AFAS, else post it. Returns the count
        it adds to (``sent``, ``recovered``, ``failed``)."""
        if row.state == OutboxState.SENDING or row.unsure:
            sb_id = await self._lookup(client, row, lookup)
            if sb_id is not None:
                await self._done(row, sb_id)
                return "recovered"
            if await self._on_db(self._state, row.key) == OutboxState.FAILED:
                return "failed"
            now = self._clock()
            sent_at = row.last_post or row.updated
            waited = now - sent_at
            if waited < self.processing_window:
                # Not there yet, but AFAS may still be processing it: look again later (the
                # gaps double), and post again only once the window has passed.
                when = min(sent_at + self.processing_window, now + max(self.settle_seconds, waited))
                text = T(
                    "A report whose answer was lost is not in AFAS yet; AFAS may still be "
                    f"processing it. Looking again in {when - now:.0f} s before sending it again.",
                    "Een verslag waarvan het antwoord verloren ging staat nog niet in AFAS; AFAS is er "
                    f"misschien nog mee bezig. Over {when - now:.0f} s wordt opnieuw gekeken, pas dan "
                    "wordt het opnieuw verstuurd.")
                await self._on_db(self._wait_lookup, row.key, when, text, now)
                raise _Stop(text)
        return await self._post(client, row)

    async def _fields(self, client: AfasClient, lookup: DossierLookup) -> DossierFields:
        fields = self._dossier_fields.get(lookup)
        if fields is None:
            meta = await client.metainfo(lookup.connector)
            fields = detect_dossier_fields(lookup.connector, meta.fields, lookup)
            self._dossier_fields[lookup] = fields
        return fields

    async def _lookup(self, client: AfasClient, row: OutboxRow, lookup: DossierLookup) -> str | None:
        """The id of the dossier item carrying this row's marker, or None when AFAS has none."""
        marker = marker_for(row.key)
        connector = lookup.connector
        try:
            fields = await self._fields(client, lookup)
            rows = [
                r async for r in client.iter_rows(
                    connector, order_by=[fields.id],
                    filters=lookup_filters(fields, row.item, marker), take=10,
                )
            ]
        except DossierColumnError as exc:
            await self._fail(row, self._cannot_check(connector, exc.text))
            return None
        except AfasConnectorNotAllowed as exc:
            # The token is fine; only the dossier connector is not in the App connector.
            await self._fail(row, self._cannot_check(connector, exc.text))
            return None
        except AfasAuthError as exc:
            self._paused = PAUSED_TOKEN
            self._last_error = exc.text
            raise _Stop(PAUSED_TOKEN) from exc
        except (AfasNotFound, AfasServerError) as exc:
            self._dossier_fields.pop(lookup, None)  # the columns may have changed: read again
            # Without the lookup we cannot know whether AFAS has it: never guess, ask the user.
            await self._fail(row, self._cannot_check(connector, exc.text))
            return None
        except AfasError as exc:
            await self._backoff(row, exc.text, state=OutboxState(row.state), unsure=True)
            raise _Stop(exc.text) from exc
        for r in rows:
            found = r.get(fields.text)
            if found is not None and marker.casefold() not in str(found).casefold():
                continue  # the server's "contains" was looser than ours
            if r.get(fields.id) not in (None, ""):
                return str(r[fields.id])
        return None

    @staticmethod
    def _cannot_check(connector: str, why: Text) -> Text:
        return T(
            f"Cannot check whether this report already reached AFAS (GetConnector '{connector}'): "
            f"{why.en} Check the connector in the settings, then retry.",
            f"Kan niet nagaan of dit verslag AFAS al bereikt heeft (GetConnector '{connector}'): "
            f"{why.nl} Controleer de connector in de instellingen en probeer het opnieuw.",
        )

    async def _post(self, client: AfasClient, row: OutboxRow) -> str:
        marker = marker_for(row.key)
        try:
            body, info = await asyncio.get_running_loop().run_in_executor(
                self._builder, functools.partial(build_body, row.item, marker=marker, attach=not row.attachment_dropped)
            )
        except (OSError, ValueError) as exc:
            await self._fail(row, T(f"The report cannot be built: {exc}", f"Het verslag kan niet worden opgebouwd: {exc}"))
            return "failed"
        # The mark is on disk (the DB step has returned) before the request leaves: a crash from
        # here on is recovered by the lookup, never by a blind second POST.
        await self._on_db(self._mark_sending, row.key, self._clock())
        try:
            sb_id = await client.post_subject(body)
        except AfasAuthError as exc:
            # 401: refused before Profit looked at it; nothing was stored.
            await self._on_db(self._set_pending, row.key, exc.text, self._clock())
            self._paused = PAUSED_TOKEN
            self._last_error = exc.text
            raise _Stop(PAUSED_TOKEN) from exc
        except AfasTooLarge as exc:
            if row.attachment_dropped or not row.item.audio_file:
                await self._fail(row, exc.text)  # too large even without a recording
                return "failed"
            # Refused unread: nothing stored. Send again at once, without the recording.
            await self._on_db(self._drop_audio, row.key, self._clock())
            sb_id = ""
        except AfasServerError as exc:
            # Profit rolls a failed request back: the item is not there, and the same body would
            # fail the same way. The user sees AFAS's own words and can retry.
            await self._fail(row, exc.text)
            return "failed"
        except AfasUnavailable as exc:
            await self._on_db(self._set_pending, row.key, exc.text, self._clock())
            raise _Wait(exc.retry_after if exc.retry_after is not None else self._delay(row.attempts), exc.text) from exc
        except (AfasTimeout, AfasConnectionError) as exc:
            if exc.maybe_sent:
                await self._unsure_failure(row, exc.text)
            else:
                await self._backoff(row, exc.text, state=OutboxState.PENDING, unsure=row.unsure)
            raise _Stop(exc.text) from exc
        except AfasBadReply as exc:
            # A 2xx with an unreadable answer may well have stored the item.
            if exc.status is not None and 200 <= exc.status < 300:
                await self._unsure_failure(row, exc.text)
            else:
                await self._backoff(row, exc.text, state=OutboxState.PENDING, unsure=row.unsure)
            raise _Stop(exc.text) from exc
        except AfasError as exc:  # 403 IP restriction, 404 wrong host: not this report's fault
            await self._backoff(row, exc.text, state=OutboxState.PENDING, unsure=row.unsure)
            raise _Stop(exc.text) from exc
        finally:
            # One recording in memory at a time. httpx keeps the request (and so the body) in a
            # response <-> stream reference cycle that only the cyclic GC frees, and the GC runs
            # by object counts, not bytes: without this, ~20 bodies pile up between runs. Only
            # for a body with a recording: the collection runs on the loop (12-17 ms during a
            # sync), and a text report's few KB the collector's own pace frees soon enough.
            del body
            if info.attached:
                gc.collect(1)
        if not sb_id:
            fresh = await self._on_db(self._get, row.key)
            assert fresh is not None and fresh.attachment_dropped
            return await self._post(client, fresh)
        await self._done(row, sb_id)
        return "sent"

    # -- row updates (the async ones keep _last_error on the loop; the SQL runs on the DB thread)

    def _delay(self, attempts: int) -> float:
        """Exponential backoff with jitter, per row."""
        return jittered_backoff(attempts - 1, self.backoff_base, self.backoff_cap)

    async def _backoff(self, row: OutboxRow, text: Text, *, state: OutboxState, unsure: bool) -> None:
        self._last_error = text
        self._streak += 1
        await self._on_db(self._set_backoff, row.key, text, state, unsure, self._clock(),
                          self._streak)

    async def _unsure_failure(self, row: OutboxRow, text: Text) -> None:
        """The POST may have reached AFAS: look it up before any resend; give up after a few."""
        failures = await self._on_db(self._count_unsure_failure, row.key)
        if failures >= self.max_unsure_failures:
            await self._fail(row, T(
                f"{text.en} The upload did not finish after {failures} tries; retry it from the outbox.",
                f"{text.nl} Het uploaden is na {failures} pogingen niet gelukt; probeer het opnieuw vanuit de outbox.",
            ), unsure=True)
            return
        await self._backoff(row, text, state=OutboxState.PENDING, unsure=True)

    async def _fail(self, row: OutboxRow, text: Text, *, unsure: bool | None = None) -> None:
        self._last_error = text
        self._streak = 0  # AFAS answered: not an outage
        await self._on_db(self._set_failed, row.key, text, row.unsure if unsure is None else unsure, self._clock())

    async def _done(self, row: OutboxRow, sb_id: str) -> None:
        await self._on_db(self._set_done, row, sb_id, self._clock())
        self._last_error = None
        self._streak = 0

    # -- the DB thread's steps: each one statement or a read, committed when it returns ----------

    def _head(self) -> OutboxRow | None:
        rows = self._write_conn_read(
            "SELECT * FROM outbox_items WHERE state IN (?, ?) ORDER BY seq LIMIT 1",
            (OutboxState.PENDING, OutboxState.SENDING),
        )
        return _row(rows[0]) if rows else None

    def _get(self, key: str) -> OutboxRow | None:
        rows = self._write_conn_read("SELECT * FROM outbox_items WHERE key=?", (key,))
        return _row(rows[0]) if rows else None

    def _state(self, key: str) -> OutboxState | None:
        rows = self._write_conn_read("SELECT state FROM outbox_items WHERE key=?", (key,))
        return OutboxState(rows[0][0]) if rows else None

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        with self._lock:
            self._conn.execute(sql, params)

    def _mark_sending(self, key: str, now: float) -> None:
        self._write(
            "UPDATE outbox_items SET state=?, attempts=attempts+1, next_try=?, last_post=?, updated=?"
            " WHERE key=?",
            (OutboxState.SENDING, now + self.settle_seconds, now, now, key),
        )

    def _wait_lookup(self, key: str, when: float, text: Text, now: float) -> None:
        self._write(
            "UPDATE outbox_items SET state=?, unsure=1, next_try=?, message_en=?, message_nl=?,"
            " updated=? WHERE key=?",
            (OutboxState.PENDING, when, text.en, text.nl, now, key),
        )

    def _drop_audio(self, key: str, now: float) -> None:
        self._write(
            "UPDATE outbox_items SET state=?, drop_audio=1, next_try=0, updated=? WHERE key=?",
            (OutboxState.PENDING, now, key),
        )

    def _set_backoff(self, key: str, text: Text, state: OutboxState, unsure: bool, now: float,
                     streak: int = 0) -> None:
        rows = self._write_conn_read("SELECT attempts FROM outbox_items WHERE key=?", (key,))
        delay = self._delay(max(1, int(rows[0][0]) if rows else 0))
        if streak > 1:
            delay = max(delay, min(self.outage_cap, self._delay(streak)))
        if state == OutboxState.SENDING or unsure:
            delay = max(delay, self.settle_seconds)
        self._write(
            "UPDATE outbox_items SET state=?, unsure=?, next_try=?, message_en=?, message_nl=?, updated=? WHERE key=?",
            (state, int(unsure), now + delay, text.en, text.nl, now, key),
        )

    def _count_unsure_failure(self, key: str) -> int:
        with self._lock:
            failures = int(self._conn.execute(
                "SELECT unsure_failures FROM outbox_items WHERE key=?", (key,)
            ).fetchone()[0]) + 1
            self._conn.execute("UPDATE outbox_items SET unsure_failures=? WHERE key=?", (failures, key))
        return failures

    def _set_pending(self, key: str, text: Text, now: float) -> None:
        self._write(
            "UPDATE outbox_items SET state=?, next_try=0, message_en=?, message_nl=?, updated=? WHERE key=?",
            (OutboxState.PENDING, text.en, text.nl, now, key),
        )

    def _set_next_try(self, key: str, when: float, text: Text, now: float) -> None:
        self._write(
            "UPDATE outbox_items SET next_try=?, message_en=?, message_nl=?, updated=? WHERE key=?",
            (when, text.en, text.nl, now, key),
        )

    def _set_failed(self, key: str, text: Text, unsure: bool, now: float) -> None:
        self._write(
            "UPDATE outbox_items SET state=?, unsure=?, message_en=?, message_nl=?, updated=? WHERE key=?",
            (OutboxState.FAILED, int(unsure), text.en, text.nl, now, key),
        )

    def _set_done(self, row: OutboxRow, sb_id: str, now: float) -> None:
        if row.item.audio_file:
            # AFAS holds the recording now (or it was too large). Removed before the row is marked
            # done, so a crash in between leaves no orphan: the row is still 'sending', and its
            # lookup finds the item without needing the file.
            with contextlib.suppress(FileNotFoundError):
                os.remove(row.item.audio_file)
        self._write(
            "UPDATE outbox_items SET state=?, sb_id=?, unsure=0, next_try=0, message_en='', message_nl='',"
            " updated=? WHERE key=?",
            (OutboxState.DONE, sb_id, now, row.key),
        )


class _Wait(Exception):
    def __init__(self, seconds: float, text: Text) -> None:
        super().__init__(text.en)
        self.seconds = seconds
        self.text = text


def _row(r: sqlite3.Row) -> OutboxRow:
    d: dict[str, Any] = dict(r)
    item = ReportItem(
        key=d["key"], call_id=d["call_id"], bcid=d["bcid"], subject=d["subject"], text=d["text"],
        date=d["date"], dossier_type=int(d["dossier_type"]), contact_id=d["contact_id"],
        audio_file=d["audio_file"], audio_name=d["audio_name"], link_by=d.get("link_by") or "",
    )
    message = Text(d["message_en"], d["message_nl"]) if d["message_en"] or d["message_nl"] else None
    return OutboxRow(
        seq=int(d["seq"]), key=d["key"], state=OutboxState(d["state"]), attempts=int(d["attempts"]),
        next_try=float(d["next_try"]), last_message=message, sb_id=d["sb_id"], created=float(d["created"]),
        updated=float(d["updated"]), item=item, unsure=bool(d["unsure"]), attachment_dropped=bool(d["drop_audio"]),
        last_post=float(d.get("last_post") or 0.0),
    )
