"""Finished Xelion calls, fetched politely: from a stored cursor, after hang-ups, rarely otherwise.

``CallFetcher`` pages ``GET communications`` from a cursor kept in SQLite (module ``callfetch``).
Every call handed to ``on_call`` is recorded as handled in the same transaction that advances the
cursor, so a restart neither skips a call nor hands one over twice. Only a crash between
``on_call`` returning and that commit can repeat a call; ``on_call`` is idempotent per oid for
exactly that window (the report pipeline keys everything on the oid).

Xelion blocks clients that poll too often, so fetching is event driven: ``hung_up`` schedules one
fetch after a short debounce (a burst of hang-ups gives one request), with a few follow-ups while
a hung-up call is not yet in the log. Otherwise a slow safety poll runs (default every 10
minutes, never more than once a minute). The very first start begins at the newest call: the
history before installation is not uploaded.

``RecordingFetcher`` streams a call's recording into a spool file; Xelion may publish it seconds
to minutes after the hang-up, so a 404 (10100) is retried with backoff until a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from afas_tray.store import ensure_schema
from afas_tray.xelion.client import CallDetails, XelionClient
from afas_tray.xelion.errors import XelionError, XelionRequestError

log = logging.getLogger(__name__)

MODULE = "callfetch"
MIN_POLL_SECONDS = 60.0  # Xelion's etiquette: never poll faster than this
DEFAULT_POLL_SECONDS = 600.0
DEFAULT_DEBOUNCE_SECONDS = 3.0
# After a hang-up whose call is not in the log yet: look again this long after the hang-up.
# Together they keep "queued within 60 s of hang-up" for a log Xelion publishes a bit late.
FOLLOW_UPS = (10.0, 25.0, 50.0)
_HANDLED_KEEP_SECONDS = 30 * 24 * 3600

_MIGRATIONS = (
    """
    CREATE TABLE callfetch_cursor (
        account TEXT PRIMARY KEY,
        cursor TEXT,
        updated REAL NOT NULL
    );
    CREATE TABLE callfetch_handled (
        account TEXT NOT NULL,
        oid TEXT NOT NULL,
        at REAL NOT NULL,
        PRIMARY KEY (account, oid)
    );
    CREATE INDEX callfetch_handled_at ON callfetch_handled(at);
    """,
)

OnCall = Callable[[CallDetails], Awaitable[None]]


def account_key(client: XelionClient) -> str:
    """The cursor belongs to one Xelion server, tenant and user: a new account starts afresh."""
    return f"{client.base_url}#{client.username}"


class CallFetcher:
    """Hands every finished call of the Xelion user to ``on_call`` once, in order."""

    def __init__(
        self,
        client: XelionClient,
        conn: sqlite3.Connection,
        on_call: OnCall,
        *,
        debounce: float = DEFAULT_DEBOUNCE_SECONDS,
        poll_interval: float = DEFAULT_POLL_SECONDS,
        page_size: int = 50,
        follow_ups: tuple[float, ...] = FOLLOW_UPS,
    ) -> None:
        self._client = client
        self._conn = conn
        self._on_call = on_call
        self.debounce = max(0.0, debounce)
        self.poll_interval = max(MIN_POLL_SECONDS, poll_interval)
        self.page_size = max(1, page_size)
        self._follow_ups = follow_ups
        self._account = account_key(client)
        self._wake = asyncio.Event()
        self._due: float | None = None  # monotonic time of the next event-driven fetch
        self._last_fetch = time.monotonic()
        self._not_before = 0.0  # after a failure: no fetch before this (monotonic)
        self._failures = 0
        self._awaited: dict[str, float] = {}  # hung-up call id -> monotonic time of hang-up
        self._fetch_lock = asyncio.Lock()
        self.fetches = 0  # fetch passes started (for the tray's diagnostics and the tests)
        ensure_schema(conn, MODULE, _MIGRATIONS)

    # -- cursor ----------------------------------------------------------------------------

    def _stored_cursor(self) -> tuple[bool, str | None]:
        row = self._conn.execute(
            "SELECT cursor FROM callfetch_cursor WHERE account=?", (self._account,)
        ).fetchone()
        return (row is not None, row[0] if row else None)

    @property
    def cursor(self) -> str | None:
        return self._stored_cursor()[1]

    @property
    def has_cursor(self) -> bool:
        """True once a starting point is stored: every call that ends from now on is fetched."""
        return self._stored_cursor()[0]

    async def ensure_cursor(self) -> None:
        """First start (no stored cursor): begin at the newest call, skipping the history."""
        known, _ = self._stored_cursor()
        if known:
            return
        newest = await self._client.newest_cursor()
        # NULL means "from the very beginning": right when there is no call at all yet.
        self._conn.execute(
            "INSERT INTO callfetch_cursor(account, cursor, updated) VALUES (?,?,?)"
            " ON CONFLICT(account) DO NOTHING",
            (self._account, newest, time.time()),
        )
        log.info("Call log: starting at the newest call (%s); earlier calls are not uploaded",
                 newest or "none yet")

    def _is_handled(self, oid: str) -> bool:
        return self._conn.execute(
            "SELECT 1 FROM callfetch_handled WHERE account=? AND oid=?", (self._account, oid)
        ).fetchone() is not None

    def _mark_handled(self, oid: str | None, cursor: str | None) -> None:
        """Record ``oid`` as handled and move the cursor, in one transaction."""
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            now = time.time()
            if oid is not None:
                conn.execute(
                    "INSERT OR IGNORE INTO callfetch_handled(account, oid, at) VALUES (?,?,?)",
                    (self._account, oid, now),
                )
            if cursor is not None:
                conn.execute(
                    "INSERT INTO callfetch_cursor(account, cursor, updated) VALUES (?,?,?)"
                    " ON CONFLICT(account) DO UPDATE SET cursor=excluded.cursor,"
                    " updated=excluded.updated",
                    (self._account, cursor, now),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    # -- fetching --------------------------------------------------------------------------

    async def fetch_now(self) -> int:
        """One pass: every call after the cursor goes to ``on_call``. Returns how many did.

        Raises XelionError when Xelion cannot be asked; the cursor then stays where it was.
        """
        async with self._fetch_lock:
            self.fetches += 1
            self._last_fetch = time.monotonic()
            await self.ensure_cursor()
            handed = 0
            cursor = self.cursor
            while True:
                page = await self._client.communications(cursor, self.page_size)
                for item in page.items:
                    if self._is_handled(item.oid):
                        self._mark_handled(None, item.oid)
                        continue
                    try:
                        details = await self._client.communication(item.oid)
                    except XelionRequestError as exc:
                        if exc.status != 404:
                            raise
                        log.info("Call %s vanished from the Xelion log; skipped", item.oid)
                        self._mark_handled(item.oid, item.oid)
                        continue
                    await self._on_call(details)
                    self._mark_handled(item.oid, item.oid)
                    self._awaited.pop(details.call_id, None)
                    handed += 1
                next_cursor = page.next_cursor
                if next_cursor is not None and next_cursor != cursor:
                    self._mark_handled(None, next_cursor)
                    cursor = next_cursor
                if not page.has_more or not page.items:
                    break
            self._prune()
            return handed

    def _prune(self) -> None:
        self._conn.execute(
            "DELETE FROM callfetch_handled WHERE at < ?", (time.time() - _HANDLED_KEEP_SECONDS,)
        )

    # -- scheduling ------------------------------------------------------------------------

    def hung_up(self, call_id: str = "") -> None:
        """A call ended (HUNG_UP event): fetch after the debounce; a burst gives one fetch."""
        now = time.monotonic()
        if call_id:
            self._awaited.setdefault(call_id, now)
        if self._due is None:
            self._due = now + self.debounce
        self._wake.set()

    def _next_follow_up(self, now: float) -> float | None:
        """When to look again for hung-up calls that were not in the log yet."""
        best: float | None = None
        for call_id, at in list(self._awaited.items()):
            later = [at + d for d in self._follow_ups if at + d > now]
            if not later:
                del self._awaited[call_id]  # the safety poll will find it
                continue
            best = later[0] if best is None else min(best, later[0])
        return best

    async def run(self) -> None:
        """Fetch once at start (calls finished while the app was closed), then on events and
        the safety poll, until cancelled."""
        self._due = time.monotonic()
        while True:
            now = time.monotonic()
            due = self._last_fetch + self.poll_interval
            if self._due is not None:
                due = min(due, self._due)
            due = max(due, self._not_before)
            if due > now:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), due - now)
                continue
            self._due = None
            try:
                await self.fetch_now()
            except XelionError as exc:
                self._failures += 1
                backoff = min(self.poll_interval, MIN_POLL_SECONDS * 2 ** (self._failures - 1))
                self._not_before = time.monotonic() + backoff
                log.info("Fetching the Xelion call log failed (%s); next try in %.0f s",
                         exc, backoff)
                continue
            except Exception:
                # A failing consumer (database trouble): the call is not marked handled and
                # comes again on the next pass; do not spin on it.
                self._failures += 1
                self._not_before = time.monotonic() + MIN_POLL_SECONDS
                log.exception("Handing a finished call over failed; retrying later")
                continue
            self._failures = 0
            follow = self._next_follow_up(time.monotonic())
            if follow is not None and self._due is None:
                self._due = follow


class RecordingFetcher:
    """Streams recordings into ``spool_dir`` (never held in memory), waiting for late ones."""

    def __init__(
        self,
        client: XelionClient,
        spool_dir: Path,
        *,
        first_retry: float = 5.0,
        max_retry: float = 60.0,
    ) -> None:
        self._client = client
        self.spool_dir = spool_dir
        self.first_retry = first_retry
        self.max_retry = max_retry

    def path_for(self, oid: str) -> Path:
        safe = "".join(ch for ch in oid if ch.isalnum() or ch in "-_") or "call"
        return self.spool_dir / f"{safe}.mp3"

    async def fetch(self, oid: str, deadline: float) -> Path | None:
        """The recording of call ``oid`` as a file, or None when none appeared by ``deadline``
        (epoch seconds; at least one attempt is made). Network trouble counts as "not yet"."""
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        target = self.path_for(oid)
        if target.exists():  # fetched before a restart
            return target
        delay = self.first_retry
        while True:
            try:
                size = await self._client.audio_to_file(oid, target)
                if size is not None:
                    log.info("Recording of call %s fetched (%d bytes)", oid, size)
                    return target
            except XelionError as exc:
                log.info("Recording of call %s not fetched yet: %s", oid, exc)
            left = deadline - time.time()
            if left <= 0:
                log.info("No recording for call %s; it goes up without one", oid)
                return None
            await asyncio.sleep(min(delay, left))
            delay = min(delay * 2, self.max_retry)
