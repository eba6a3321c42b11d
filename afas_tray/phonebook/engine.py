"""SyncEngine: keeps the phone book fresh from the three GetConnectors, on a schedule.

Two kinds of cycle:

* **Full refresh** reads organisations, persons and contacts page by page into a new book that
  is swapped in when all three succeeded; pages are written in a worker thread while the client
  fetches the next ones, so the event loop never waits on SQLite or number parsing. It runs
  when the book is empty, when a connector or its columns changed, when a connector has no
  modification-date column (then every cycle is one), and periodically (default every 24 h,
  jittered per desk) as a safety net.
* **Incremental cycle** (every other cycle): per connector, only the rows whose
  modification-date column is ``>=`` the last high-water mark minus a safety overlap. All three
  connectors' changes and the new marks go into the book in ONE transaction (see
  ``PhoneBook.apply_cycle``): a lookup never sees a contact moved to an organisation that is not
  in yet, and a mark is never stored ahead of its rows. Marks live in the phone book's SQLite
  file and survive restarts.

AFAS dates are Amsterdam local time written with a ``Z``. They are handled as naive local
times throughout (never converted), and compared only with each other: the mark is the newest
date AFAS itself wrote, so the desk's clock does not matter. When the mark lies in the hour a
daylight-saving fall-back repeats (02:00-03:00 on the last Sunday of October), later changes can
carry an earlier local time than the mark; the window then reaches back one hour more.

Deletions (and rows that left a connector because a consultant changed its filter) do not show
in a date filter. They are caught by a **key-only pass**, by default every 8 hours (jittered):
AFAS GetConnectors cannot select columns per request, so "key-only" needs a second connector
that a consultant makes with the same filter and only the key column, named
``<connector>_Sleutels`` (found through ``GET /MetaInfo``) or given in ``SyncPolicy``. The pass
removes relations whose key is gone and fetches rows whose key the book has never seen (a
widened filter; too many of those and a full refresh runs instead). Without such a connector,
deletions wait for the periodic full refresh: reading whole rows to learn their keys would cost
as much as a full refresh.

Load: the engine reads one connector at a time and the client keeps at most
``BACKGROUND_IN_FLIGHT`` (2) requests in flight (a page and the next); 401/403 stop the loop
until the user acts, other failures back off (1, 2, 4 … minutes, up to the interval).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from afas_tray.afas import (
    MAX_QUERY_CHARS,
    AfasAuthError,
    AfasClient,
    AfasConnectorNotAllowed,
    AfasError,
    AfasForbidden,
    Filter,
    Op,
    encode_filters,
)
from afas_tray.afas.dates import afas_filter_value, newest_date, window_start
from afas_tray.backoff import wait_or_wake
from afas_tray.config import ROLES, ColumnMapping, Settings
from afas_tray.i18n import T, Text
from afas_tray.phonebook.book import ChangeSet, PhoneBook
from afas_tray.phonebook.marks import (
    FULL_AT,
    KEYS_AT,
    STATE_PREFIX,
    Mark,
    later,
    mapping_signature,
    mark_key,
)
from afas_tray.phonebook.refresh import (
    Progress,
    RefreshResult,
    SyncError,
    connector_error,
    detect_mapping,
    full_refresh,
)
from afas_tray.status import State, StatusBoard

log = logging.getLogger(__name__)

ClientFactory = Callable[[Settings], AfasClient]

# Requests one desk keeps in flight during background work: a page and the next one. 200 desks
# share one App-connector token, and AFAS advises at most ~5 parallel calls per token.
BACKGROUND_IN_FLIGHT = 2
KEY_SUFFIX = "_Sleutels"  # a key-only connector's name: the main connector's id plus this


def default_client(settings: Settings, **options: Any) -> AfasClient:
    """The AFAS client of these settings; for background work (sync, outbox) at most two
    requests in flight unless ``options`` say otherwise. Partners' IntegrationId goes on every
    request (OASContent integrationid.md)."""
    options.setdefault("max_in_flight", BACKGROUND_IN_FLIGHT)
    return AfasClient(settings.afas.host, settings.afas.token,
                      integration_id=settings.afas.integration_id, **options)


def afas_ready(settings: Settings) -> bool:
    """Host and token are filled in: before that there is nothing to sync (a first start)."""
    return bool(settings.afas.host.strip() and settings.afas.token.strip())


def sync_mode(mapping: ColumnMapping) -> Text:
    """How a connector with ``mapping`` is kept fresh, for `doctor`."""
    if mapping.modified and mapping.created:
        return T(f"incremental on {mapping.modified} or {mapping.created}",
                 f"incrementeel op {mapping.modified} of {mapping.created}")
    if mapping.modified:
        # Without "Aangemaakt op" a new row whose "Gewijzigd op" Profit left empty is missed
        # until the next full refresh; phone fields joined from another table change that
        # table's date, not this row's.
        return T(f"incremental on {mapping.modified} only: add \"Aangemaakt op\" so new rows "
                 "are not missed; phone fields from another table do not change this date",
                 f"incrementeel op alleen {mapping.modified}: voeg \"Aangemaakt op\" toe zodat "
                 "nieuwe rijen niet gemist worden; telefoonvelden uit een andere tabel wijzigen "
                 "deze datum niet")
    return T("full refresh only: no modification-date column",
             "alleen volledig verversen: geen kolom met wijzigingsdatum")


# --- the engine ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncPolicy:
    """How the engine spreads its work. The defaults suit a fleet sharing one token."""

    incremental: bool = True  # False: a full refresh every cycle (the old way; the bench's baseline)
    overlap_minutes: float = 10.0  # re-read this much before the mark (late commits, clocks)
    key_pass_hours: float = 8.0  # key-only pass (deletions), when a key connector exists
    full_refresh_hours: float = 24.0  # safety-net full refresh
    jitter: float = 0.1  # each desk's schedules are stretched by its own factor in ±jitter
    start_spread_minutes: float = 120.0  # passes overdue at start are spread over this
    key_connectors: Mapping[str, str] = field(default_factory=dict)  # role -> key-only connector
    discover_key_connectors: bool = True  # look for "<connector>_Sleutels" in GET /MetaInfo
    max_changed_rows: int = 20_000  # more changed rows than this in a cycle: full refresh
    max_unknown_keys: int = 500  # more never-seen keys in a key pass: full refresh


class SyncClock:
    """Wall-clock time and waiting. The fleet benchmark runs engines on a faster clock."""

    def time(self) -> float:
        return time.time()

    async def wait(self, event: asyncio.Event, seconds: float) -> None:
        """Until ``event`` is set or ``seconds`` of this clock's time have passed."""
        await wait_or_wake(event, seconds)


@dataclass
class CycleResult:
    kind: str  # "full" or "incremental"
    at: float  # clock time when the changes became visible
    rows: dict[str, int] = field(default_factory=dict)  # rows read per role (changed rows)
    key_rows: dict[str, int] = field(default_factory=dict)  # keys read by a key-only pass
    removed: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    seconds: float = 0.0
    reason: str = ""  # why a full refresh ran
    kept: dict[str, Text] = field(default_factory=dict)  # roles not read (connector refused us)


@dataclass
class SyncStats:
    """Totals since the engine started (for the bench and the status window)."""

    cycles: int = 0
    full_refreshes: int = 0
    key_passes: int = 0
    requests: int = 0
    rows_full: int = 0
    rows_incremental: int = 0
    rows_keys: int = 0


class _FullNeeded(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SyncEngine:
    """The background loop: a cycle on a schedule or on demand, pause/resume, back off on errors.

    ``client_factory`` makes one client per cycle; ``default_client`` keeps two requests in
    flight at most. ``on_cycle`` callbacks get each successful cycle's CycleResult.
    """

    def __init__(self, settings: Settings, book: PhoneBook, board: StatusBoard, *,
                 client_factory: ClientFactory = default_client,
                 policy: SyncPolicy | None = None, clock: SyncClock | None = None,
                 rng: random.Random | None = None) -> None:
        self.settings = settings
        self.book = book
        self.board = board
        self.policy = policy or SyncPolicy()
        self.clock = clock or SyncClock()
        self._client_factory = client_factory
        self._wake = asyncio.Event()
        self._paused = False
        self._blocked: SyncError | None = None  # a fatal error waits for the user
        self._failures = 0
        self.refreshes = 0  # full refreshes
        self.updates = 0  # incremental cycles
        self.stats = SyncStats()
        self.on_cycle: list[Callable[[CycleResult], None]] = []
        self._running: asyncio.Lock = asyncio.Lock()
        self._rng = rng or random.Random()
        # This desk's own stretch of the periodic schedules, so 200 desks do not move together.
        self._key_factor = 1 + self._rng.uniform(-self.policy.jitter, self.policy.jitter)
        self._full_factor = 1 + self._rng.uniform(-self.policy.jitter, self.policy.jitter)
        self._meta: dict[str, tuple[ColumnMapping, int]] = {}
        self._key_due: float | None = None
        self._full_due: float | None = None
        self._key_columns: dict[str, tuple[str, str, int]] | None = None  # role -> conn, col, n
        self._last_full = CycleResult("full", 0.0)

    # -- control ---------------------------------------------------------------------------------
    def sync_now(self) -> None:
        self._blocked = None  # the user asked: try again even after a refused token
        self._wake.set()

    def pause(self) -> None:
        self._paused = True
        self.board.update(state=State.PAUSED)

    def resume(self) -> None:
        self._paused = False
        self.board.update(state=State.IDLE)
        self._wake.set()

    @property
    def paused(self) -> bool:
        return self._paused

    def update_settings(self, settings: Settings) -> None:
        self.settings = settings
        self._blocked = None
        self._failures = 0
        self._meta.clear()  # connectors or mapping may differ: marks are checked against them
        self._key_columns = None
        self._wake.set()

    # -- schedule ----------------------------------------------------------------------------------
    def _state_time(self, key: str, state: Mapping[str, str]) -> float | None:
        with contextlib.suppress(KeyError, ValueError):
            return float(state[key])
        return None

    def _plan(self, state: Mapping[str, str], now: float) -> None:
        """Due times of the key-only pass and the full refresh, from when they last ran. Ones
        overdue at start are spread out: after a weekend the whole fleet starts at 8:00."""
        spread = self.policy.start_spread_minutes * 60.0
        for attr, key, hours, factor in (
            ("_key_due", KEYS_AT, self.policy.key_pass_hours, self._key_factor),
            ("_full_due", FULL_AT, self.policy.full_refresh_hours, self._full_factor),
        ):
            if getattr(self, attr) is not None:
                continue
            last = self._state_time(key, state)
            due = (last if last is not None else now) + hours * 3600.0 * factor
            if due < now:
                due = now + self._rng.uniform(0, spread)
            setattr(self, attr, due)

    def _after_full(self, now: float) -> None:
        self._full_due = now + self.policy.full_refresh_hours * 3600.0 * self._full_factor
        self._key_due = now + self.policy.key_pass_hours * 3600.0 * self._key_factor

    def _delay(self) -> float:
        """Time from one cycle's start to the next one's. Jittered per desk so a fleet spreads
        out, but never past the interval: a change in AFAS is visible within one interval."""
        interval = max(60.0, self.settings.sync.interval_minutes * 60.0)
        if self._failures:
            # Back off on errors (1, 2, 4 … minutes, capped at the interval), jittered per desk.
            interval = min(interval, 60.0 * 2 ** (self._failures - 1))
        return interval * self._rng.uniform(0.8, 0.95)

    def marks(self) -> dict[str, Mark]:
        """The stored high-water marks per role."""
        state = self.book.state(STATE_PREFIX)
        out = {}
        for role in ROLES:
            mark = Mark.loads(state.get(mark_key(role), ""))
            if mark is not None:
                out[role] = mark
        return out

    # -- work --------------------------------------------------------------------------------------
    async def refresh_once(self, progress: Progress | None = None) -> RefreshResult:
        """A full refresh now (also sets the marks that incremental cycles start from)."""
        async with self._running:
            return await self._full(progress, reason="asked")

    async def sync_once(self) -> CycleResult:
        """One scheduled cycle: incremental when the book and its marks allow, else full."""
        async with self._running:
            try:
                return await self._cycle()
            except (SyncError, AfasError) as exc:
                raise self._failed(exc) from None

    def _failed(self, exc: SyncError | AfasError) -> SyncError:
        """The cycle failed: shown in the status, as a SyncError (fatal when AFAS refused the
        token or this machine: retrying would not help)."""
        err = exc if isinstance(exc, SyncError) else SyncError(
            exc.text, fatal=isinstance(exc, AfasAuthError | AfasForbidden))
        self.board.update(state=State.ERROR, message=err.text, progress=None)
        return err

    async def _full(self, progress: Progress | None, reason: str) -> RefreshResult:
        self.board.update(state=State.SYNCING, progress=0.0, message=None)
        now = self.clock.time()
        client = self._client_factory(self.settings)
        try:
            async with client:
                result = await full_refresh(client, self.settings, self.book, progress, now=now)
        except (SyncError, AfasError) as exc:
            raise self._failed(exc) from None
        finally:
            self.stats.requests += client.requests_made
        self.refreshes += 1
        self.stats.full_refreshes += 1
        self.stats.cycles += 1
        self.stats.rows_full += sum(result.rows.values())
        self._meta.clear()  # re-read with the next key pass or full refresh
        self._after_full(now)
        log.info("phone book refreshed (%s): %d relations, rows %s, %.1f s",
                 reason, result.relations, result.rows, result.seconds)
        self._idle(result.relations, result.kept)
        self._last_full = CycleResult("full", self.clock.time(), dict(result.rows),
                                      requests=client.requests_made, seconds=result.seconds,
                                      reason=reason, kept=dict(result.kept))
        self._notify(self._last_full)
        return result

    def _idle(self, relations: int, kept: Mapping[str, Text] | None = None) -> None:
        # A connector outside the App connector is named; the others were synced all the same.
        message = next(iter(kept.values())) if kept else None
        if kept:
            for text in kept.values():
                log.warning("phone book sync: %s", text.en)
        self.board.update(state=State.PAUSED if self._paused else State.IDLE, message=message,
                          progress=None, last_sync=time.time(), book_size=relations)

    def _notify(self, cycle: CycleResult) -> None:
        for callback in list(self.on_cycle):
            try:
                callback(cycle)
            except Exception:
                log.exception("sync cycle callback failed")

    async def _cycle(self) -> CycleResult:
        now = self.clock.time()
        if not self.policy.incremental:
            return await self._full_cycle("incremental sync off")
        state = self.book.state(STATE_PREFIX)
        self._plan(state, now)
        assert self._full_due is not None and self._key_due is not None
        reason = ""
        marks = {r: m for r in ROLES if (m := Mark.loads(state.get(mark_key(r), "")))}
        if len(marks) < len(ROLES) or self.book.last_refresh is None:
            reason = "no marks yet"
        elif now >= self._full_due:
            reason = "periodic"
        if reason:
            return await self._full_cycle(reason)
        started = time.monotonic()
        client = self._client_factory(self.settings)
        try:
            async with client:
                cycle = await self._incremental(client, marks, now >= self._key_due)
        except _FullNeeded as exc:
            self.stats.requests += client.requests_made
            return await self._full_cycle(exc.reason)
        except BaseException:
            self._meta.clear()  # a connector's columns may have changed: read metainfo again
            self.stats.requests += client.requests_made
            raise
        cycle.requests = client.requests_made
        cycle.seconds = time.monotonic() - started
        self.stats.requests += client.requests_made
        self.stats.cycles += 1
        self.updates += 1
        log.info("phone book updated (incremental): changed rows %s, removed %s, %.1f s",
                 cycle.rows, cycle.removed, cycle.seconds)
        self._idle(self.book.size(), cycle.kept)
        self._notify(cycle)
        return cycle

    async def _full_cycle(self, reason: str) -> CycleResult:
        await self._full(None, reason)
        return self._last_full

    async def _mapping(self, client: AfasClient, role: str) -> tuple[ColumnMapping, int]:
        if role not in self._meta:
            self._meta[role] = await detect_mapping(client, self.settings, role)
        return self._meta[role]

    async def _incremental(self, client: AfasClient, marks: dict[str, Mark],
                           key_pass: bool) -> CycleResult:
        ids = self.settings.afas.connectors.ids()
        if key_pass:
            self._meta.clear()  # the key pass also notices changed columns
            self._key_columns = None  # and key-only connectors made or removed since
        mappings: dict[str, tuple[ColumnMapping, int]] = {}
        kept: dict[str, Text] = {}
        for role in ROLES:
            try:
                mappings[role] = await self._mapping(client, role)
            except SyncError as exc:
                if not isinstance(exc.__context__, AfasConnectorNotAllowed):
                    raise
                kept[role] = exc.text  # not in the App connector: its rows and mark stay
        if len(kept) == len(ROLES):
            raise SyncError(next(iter(kept.values())))
        for role, (mapping, _cols) in mappings.items():
            if not mapping.modified:
                raise _FullNeeded(f"{ids[role]} has no modification-date column")
            if marks[role].signature != mapping_signature(ids[role], mapping):
                raise _FullNeeded(f"{ids[role]} or its columns changed")
        cycle = CycleResult("incremental", 0.0)
        present: dict[str, list[str]] = {}
        if key_pass:
            present = await self._read_keys(client, mappings, cycle)
        overlap = dt.timedelta(minutes=self.policy.overlap_minutes)
        changes: list[ChangeSet] = []
        state: dict[str, str] = {}
        total = 0
        for role in ROLES:
            if role in kept:
                continue
            connector_id = ids[role]
            mapping, columns = mappings[role]
            mark = marks[role]
            moment = mark.moment()
            filters: list[list[Filter]] = []
            if moment is not None:
                since = window_start(moment, overlap + dt.timedelta(seconds=mark.slack))
                # Modified OR created: Profit may leave "Gewijzigd op" empty on a new row.
                filters = [[Filter(column, Op.GE, afas_filter_value(since))]
                           for column in (mapping.modified, mapping.created) if column]
            rows: list[dict[str, Any]] = []
            try:
                async for page in client.iter_pages(connector_id, order_by=[mapping.id],
                                                    filters=filters, fields_count=columns):
                    rows += page
                    total += len(page)
                    if total > self.policy.max_changed_rows:
                        raise _FullNeeded(f"more than {self.policy.max_changed_rows} changed rows")
            except AfasConnectorNotAllowed as exc:
                kept[role] = connector_error(role, connector_id, exc).text
                continue
            except AfasError as exc:
                raise connector_error(role, connector_id, exc) from None
            cycle.rows[role] = len(rows)
            newest = later(moment, newest_date(rows, mapping.modified))
            if mapping.created:
                newest = later(newest, newest_date(rows, mapping.created))
            # The overlap is a fixed window from now on: a full refresh's read time is covered.
            state[mark_key(role)] = Mark(connector_id, mark.signature,
                                          afas_filter_value(newest) if newest else "").dumps()
            changes.append(ChangeSet(role, connector_id, mapping, rows, present.get(role)))
        if present:
            await self._fetch_unknown(client, changes, present, cycle)
        if key_pass:
            state[KEYS_AT] = repr(self.clock.time())
        counts = await asyncio.to_thread(self.book.apply_cycle, changes, state)
        cycle.removed = counts.removed
        cycle.kept = kept
        cycle.at = self.clock.time()
        self.stats.rows_incremental += sum(cycle.rows.values())
        if key_pass:
            # Also without a key connector: the pass re-read metainfo, and looks again next time.
            self._key_due = cycle.at + self.policy.key_pass_hours * 3600.0 * self._key_factor
        if present:
            self.stats.key_passes += 1
            log.info("key-only pass: %s keys, removed %s", cycle.key_rows, counts.removed)
        return cycle

    # -- key-only pass -----------------------------------------------------------------------------
    async def key_connectors(self, client: AfasClient) -> dict[str, str]:
        """role -> key-only connector: from the policy, else ``<connector>_Sleutels`` when the
        token may use one (``GET /MetaInfo``)."""
        ids = self.settings.afas.connectors.ids()
        found = {r: c for r, c in self.policy.key_connectors.items() if r in ids and c}
        missing = [r for r in ROLES if r not in found]
        if missing and self.policy.discover_key_connectors:
            try:
                listed = {str(c.get("id", "")).casefold(): str(c.get("id", ""))
                          for c in await client.list_connectors()}
            except AfasError as exc:
                if isinstance(exc, AfasAuthError | AfasForbidden):
                    raise
                listed = {}
            for role in missing:
                name = listed.get((ids[role] + KEY_SUFFIX).casefold())
                if name:
                    found[role] = name
        return found

    async def _read_keys(self, client: AfasClient, mappings: Mapping[str, tuple[ColumnMapping, int]],
                         cycle: CycleResult) -> dict[str, list[str]]:
        if self._key_columns is None:
            self._key_columns = {}
            for role, connector_id in (await self.key_connectors(client)).items():
                try:
                    meta = await client.metainfo(connector_id)
                except AfasError as exc:
                    if isinstance(exc, AfasAuthError | AfasForbidden):
                        raise connector_error(role, connector_id, exc) from None
                    log.warning("key-only connector %s unusable: %s", connector_id, exc.text.en)
                    continue
                columns = [f.id for f in meta.fields]
                # The very column the book's keys come from: any other would delete them all.
                column = mappings[role][0].id
                if column in columns:
                    self._key_columns[role] = (connector_id, column, len(columns))
                else:
                    log.warning("key-only connector %s lacks the key column %s", connector_id, column)
        present: dict[str, list[str]] = {}
        for role, (connector_id, column, count) in self._key_columns.items():
            keys: list[str] = []
            try:
                async for page in client.iter_pages(connector_id, order_by=[column],
                                                    fields_count=count):
                    keys += [str(row.get(column) or "").strip() for row in page]
            except AfasError as exc:
                raise connector_error(role, connector_id, exc) from None
            present[role] = [k for k in keys if k]
            cycle.key_rows[role] = len(keys)
            self.stats.rows_keys += len(keys)
        return present

    async def _fetch_unknown(self, client: AfasClient, changes: list[ChangeSet],
                             present: Mapping[str, list[str]], cycle: CycleResult) -> None:
        """Rows whose key the book has never seen (a consultant widened a connector's filter:
        old rows with old dates), fetched by key; a flood of them calls for a full refresh."""
        for change in changes:
            keys = present.get(change.role)
            if keys is None:
                continue
            known = await asyncio.to_thread(self.book.known_keys, change.role)
            seen = {str(row.get(change.mapping.id) or row.get(change.mapping.bcid) or "").strip()
                    for row in change.rows}
            unknown = [k for k in keys if k not in known and k not in seen]
            if not unknown:
                continue
            if len(unknown) > self.policy.max_unknown_keys:
                raise _FullNeeded(f"{len(unknown)} new keys in {change.connector_id}")
            mapping, columns = self._meta[change.role]
            rows = list(change.rows)
            for batch in _key_batches(mapping.id, unknown):
                try:
                    async for page in client.iter_pages(change.connector_id,
                                                        order_by=[mapping.id], filters=batch,
                                                        fields_count=columns):
                        rows += page
                except AfasError as exc:
                    raise connector_error(change.role, change.connector_id, exc) from None
            cycle.rows[change.role] = cycle.rows.get(change.role, 0) + len(rows) - len(change.rows)
            change.rows = rows

    # -- loop --------------------------------------------------------------------------------------
    async def run(self) -> None:
        """Until cancelled. The first cycle starts at once."""
        delay = 0.0
        while True:
            await self.clock.wait(self._wake, delay)
            self._wake.clear()
            if (self._paused or not self.settings.afas.sync_active or self._blocked
                    or not afas_ready(self.settings)):
                delay = self._delay()
                continue
            started = self.clock.time()
            try:
                await self.sync_once()
                self._failures = 0
            except SyncError as exc:
                log.warning("phone book sync failed: %s", exc.text.en)
                self._failures += 1
                if exc.fatal:
                    self._blocked = exc
            except Exception:
                log.exception("phone book sync crashed")
                self._failures += 1
                self.board.update(state=State.ERROR, progress=None, message=T(
                    "The phone book sync stopped unexpectedly; see the log.",
                    "De synchronisatie van het telefoonboek stopte onverwacht; zie het logboek."))
            delay = max(0.0, self._delay() - (self.clock.time() - started))


def _key_batches(column: str, keys: Sequence[str]) -> list[list[list[Filter]]]:
    """OR-groups ``column = key`` that fit AFAS's query-string limit, with room for paging."""
    budget = MAX_QUERY_CHARS - 200
    batches: list[list[list[Filter]]] = []
    batch: list[list[Filter]] = []
    for key in keys:
        if any(ch in key for ch in ",;"):
            continue  # cannot be asked for by value; the next full refresh brings it
        candidate = [*batch, [Filter(column, Op.EQ, key)]]
        if batch and len(str(httpx.QueryParams(encode_filters(candidate)))) > budget:
            batches.append(batch)
            candidate = [[Filter(column, Op.EQ, key)]]
        batch = candidate
    if batch:
        batches.append(batch)
    return batches
