"""Finished Xelion calls, fetched politely: newest first, after hang-ups, rarely otherwise.

``CallFetcher`` reads ``GET communications`` the documented way (``resources/communications_list
.html``): descending (the default) from the newest entry, following only the ``meta.paging``
cursors the server issues, and stopping once entries are older than the last handled call minus
a small overlap window. The list is ordered by date, and a call is dated at its start but
logged at its end, so a long call can appear *below* shorter, later calls that were handled
already: the overlap window (``OVERLAP_SECONDS``) is what keeps it from being skipped.

Every call handed to ``on_call`` is recorded as handled (by oid, with its date) right after
``on_call`` returns, so a restart neither skips a call nor hands one over twice; only a crash in
between can repeat a call, and ``on_call`` is idempotent per oid for that window.

After a hang-up whose call id is known, the call is first asked for by that id
(``GET communications/<callId>``, ``caller_``-prefixed for calls we placed:
``resources/communications_get.html``); a few follow-ups look again while it is not in the log.
Otherwise a slow safety poll runs: every 10 minutes while the websocket tells us of hang-ups,
about once a minute while it cannot be had (``set_live``), never faster. The very first start
skips the history before installation.

``RecordingFetcher`` streams a call's recording into a spool file; Xelion may publish it seconds
to minutes after the hang-up, so a 404 (10100) is retried with backoff until a deadline. Only
answered calls are asked for (a call is recorded "only if the call is answered").
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from afas_tray.backoff import wait_or_wake
from afas_tray.store import ensure_schema
from afas_tray.xelion import (
    CallDetails,
    CommunicationItem,
    XelionClient,
    XelionError,
    XelionNoPermission,
    XelionRequestError,
)

log = logging.getLogger(__name__)

MODULE = "callfetch"
MIN_POLL_SECONDS = 60.0  # Xelion's etiquette: never poll faster than this
DEFAULT_POLL_SECONDS = 600.0
OFFLINE_POLL_SECONDS = 60.0  # no websocket (a proxy blocks it): reports still go within a minute
DEFAULT_DEBOUNCE_SECONDS = 3.0
# How far below the newest handled call the list is read on every pass: the longest call whose
# late log entry must still be found. Calls longer than this that end while shorter ones were
# handled are found only if they fall on the first page anyway.
OVERLAP_SECONDS = 4 * 3600.0
# After a hang-up whose call is not in the log yet: look again this long after the hang-up.
FOLLOW_UPS = (10.0, 25.0, 50.0)
MAX_PAGES = 10  # per pass: a desk that was off for weeks catches up over several passes
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
    # Descending paging keeps no cursor: a floor (install time) and each call's date instead.
    """
    ALTER TABLE callfetch_handled ADD COLUMN date REAL;
    CREATE TABLE callfetch_floor (
        account TEXT PRIMARY KEY,
        floor REAL NOT NULL
    );
    """,
    # The first version's cursor: nothing has read it since descending paging came.
    """
    DROP TABLE IF EXISTS callfetch_cursor;
    """,
)

OnCall = Callable[[CallDetails], Awaitable[None]]


def account_key(client: XelionClient) -> str:
    """The log position belongs to one Xelion server, tenant and user: a new account starts
    afresh."""
    return f"{client.base_url}#{client.username}"


class CallFetcher:
    """Hands every finished call of the Xelion user to ``on_call`` once, oldest first."""

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
        overlap: float = OVERLAP_SECONDS,
    ) -> None:
        self._client = client
        self._conn = conn
        self._on_call = on_call
        self.debounce = max(0.0, debounce)
        self.live_poll_interval = max(MIN_POLL_SECONDS, poll_interval)
        self.live = True  # the websocket reports hang-ups; False: poll about once a minute
        self.page_size = max(1, page_size)
        self.overlap = overlap
        self._follow_ups = follow_ups
        self._account = account_key(client)
        self._wake = asyncio.Event()
        self._due: float | None = None  # monotonic time of the next event-driven fetch
        self._last_fetch = time.monotonic()
        self._not_before = 0.0  # after a failure: no fetch before this (monotonic)
        self._failures = 0
        self._awaited: dict[str, float] = {}  # hung-up call id -> monotonic time of hang-up
        self._by_id: set[str] = set()  # call ids to ask for directly on the next pass
        self._fetch_lock = asyncio.Lock()
        self.fetches = 0  # fetch passes started (for the tray's diagnostics and the tests)
        ensure_schema(conn, MODULE, _MIGRATIONS)

    @property
    def poll_interval(self) -> float:
        return self.live_poll_interval if self.live else max(MIN_POLL_SECONDS,
                                                             OFFLINE_POLL_SECONDS)

    def set_live(self, live: bool) -> None:
        """The websocket came up (True) or is gone (False): the safety poll adapts."""
        if live != self.live:
            self.live = live
            self._wake.set()

    # -- position --------------------------------------------------------------------------

    def _floor(self) -> float | None:
        row = self._conn.execute(
            "SELECT floor FROM callfetch_floor WHERE account=?", (self._account,)).fetchone()
        return float(row[0]) if row else None

    @property
    def has_cursor(self) -> bool:
        """True once a starting point is stored: every call that ends from now on is fetched."""
        return self._floor() is not None

    async def ensure_cursor(self) -> None:
        """First start: the calls in the log now are history and are not uploaded; they are
        marked handled, and the overlap window below the newest of them is where reading
        stops from now on."""
        if self._floor() is not None:
            return
        page = await self._client.communications(None, self.page_size)
        for item in page.items:
            self._mark_handled(item.oid, item.date.timestamp() if item.date else None)
        self._conn.execute(
            "INSERT INTO callfetch_floor(account, floor) VALUES (?,?)"
            " ON CONFLICT(account) DO NOTHING", (self._account, time.time()))
        log.info("Call log: starting after the %d newest calls; earlier calls are not uploaded",
                 len(page.items))

    def _is_handled(self, oid: str) -> bool:
        return self._conn.execute(
            "SELECT 1 FROM callfetch_handled WHERE account=? AND oid=?", (self._account, oid)
        ).fetchone() is not None

    def _mark_handled(self, oid: str, date: float | None) -> None:
        self._conn.execute(
            "INSERT INTO callfetch_handled(account, oid, at, date) VALUES (?,?,?,?)"
            " ON CONFLICT(account, oid) DO UPDATE SET date=COALESCE(excluded.date, date)",
            (self._account, oid, time.time(), date))

    def _newest_handled(self) -> float | None:
        row = self._conn.execute(
            "SELECT MAX(date) FROM callfetch_handled WHERE account=?", (self._account,)
        ).fetchone()
        return float(row[0]) if row and row[0] is not None else None

    def _bound(self) -> float:
        """Entries dated before this are not read: the overlap window below the newest
        handled call."""
        newest = self._newest_handled()
        return newest - self.overlap if newest is not None else 0.0

    # -- fetching --------------------------------------------------------------------------

    async def _hand_over(self, details: CallDetails, date: float | None) -> bool:
        if self._is_handled(details.oid):
            return False
        await self._on_call(details)
        self._mark_handled(details.oid, date)
        self._awaited.pop(details.call_id, None)
        return True

    async def fetch_call(self, call_id: str) -> bool:
        """Ask for one hung-up call by its call id; True when it was in the log."""
        details = await self._client.call_by_id(call_id)
        if details is None:
            return False
        when = details.date.timestamp() if details.date else None
        await self._hand_over(details, when)
        self._awaited.pop(call_id, None)
        return True

    async def fetch_now(self) -> int:
        """One pass over the newest entries; every new call goes to ``on_call``, oldest first.

        Raises XelionError when Xelion cannot be asked; nothing is marked handled then.
        """
        async with self._fetch_lock:
            self.fetches += 1
            self._last_fetch = time.monotonic()
            await self.ensure_cursor()
            handed = 0
            for call_id in sorted(self._by_id):
                self._by_id.discard(call_id)
                try:
                    found = await self.fetch_call(call_id)
                except XelionRequestError as exc:
                    log.info("Call %s not read by its id: %s", call_id, exc)
                    found = False
                if found:
                    handed += 1
            bound = self._bound()
            fresh: list[CommunicationItem] = []
            cursor: str | None = None
            for _ in range(MAX_PAGES):
                page = await self._client.communications(cursor, self.page_size)
                older = False
                for item in page.items:
                    when = item.date.timestamp() if item.date else None
                    if when is not None and when < bound:
                        older = True
                        break
                    if not self._is_handled(item.oid):
                        fresh.append(item)
                cursor = page.next_cursor
                if older or not page.has_more or cursor is None:
                    break
            for item in reversed(fresh):  # oldest first
                try:
                    details = await self._client.communication(item.oid)
                except XelionRequestError as exc:
                    if exc.status != 404:
                        raise
                    log.info("Call %s vanished from the Xelion log; skipped", item.oid)
                    self._mark_handled(item.oid, None)
                    continue
                when = item.date.timestamp() if item.date else None
                if await self._hand_over(details, when):
                    handed += 1
            self._prune()
            return handed

    def _prune(self) -> None:
        self._conn.execute(
            "DELETE FROM callfetch_handled WHERE at < ?", (time.time() - _HANDLED_KEEP_SECONDS,)
        )

    # -- scheduling ------------------------------------------------------------------------

    def hung_up(self, call_id: str = "") -> None:
        """A call ended: fetch after the debounce (a burst gives one pass); with its call id,
        that call is asked for by id first."""
        now = time.monotonic()
        if call_id:
            self._awaited.setdefault(call_id, now)
            self._by_id.add(call_id)
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
            self._by_id.add(call_id)
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
                await wait_or_wake(self._wake, due - now)
                continue
            self._due = None
            try:
                await self.fetch_now()
            except XelionError as exc:
                self._failures += 1
                backoff = min(self.live_poll_interval,
                              MIN_POLL_SECONDS * 2 ** (self._failures - 1))
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
        self._one_at_a_time = asyncio.Lock()  # recordings are big: never two downloads at once

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
                async with self._one_at_a_time:
                    size = await self._client.audio_to_file(oid, target)
                if size is not None:
                    log.info("Recording of call %s fetched (%d bytes)", oid, size)
                    return target
            except XelionNoPermission:
                return None  # no licence or rights: final, the client noticed it once
            except XelionError as exc:
                log.info("Recording of call %s not fetched yet: %s", oid, exc)
            left = deadline - time.time()
            if left <= 0:
                log.info("No recording for call %s; it goes up without one", oid)
                return None
            await asyncio.sleep(min(delay, left))
            delay = min(delay * 2, self.max_retry)
