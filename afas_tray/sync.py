"""SyncEngine: keeps the phone book fresh from the three GetConnectors, on a schedule.

One full refresh reads organisations, persons and contacts page by page; pages are written to
the phone book in a worker thread while the client fetches the next ones, so the event loop (and
the UI on it) never waits on SQLite or number parsing, and the network stays the bottleneck.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from afas_tray.afas.client import AfasClient
from afas_tray.afas.errors import AfasAuthError, AfasError, AfasForbidden
from afas_tray.i18n import T, Text
from afas_tray.phonebook import ColumnError, PhoneBook, RefreshBuilder, detect_columns
from afas_tray.settings import ROLES, ColumnMapping, Settings
from afas_tray.status import State, StatusBoard

log = logging.getLogger(__name__)

ROLE_NAMES = {
    "organisations": T("organisations", "organisaties"),
    "persons": T("persons", "personen"),
    "contacts": T("contact persons", "contactpersonen"),
}

Progress = Callable[[str, int], None]  # (role, rows so far in this role)
ClientFactory = Callable[[Settings], AfasClient]


class SyncError(Exception):
    """A refresh failed; ``text`` says why in the user's language, naming the connector."""

    def __init__(self, text: Text, *, fatal: bool = False) -> None:
        super().__init__(text.en)
        self.text = text
        self.fatal = fatal  # token refused / IP blocked: do not retry until the user acts


@dataclass
class RefreshResult:
    rows: dict[str, int] = field(default_factory=dict)
    relations: int = 0
    seconds: float = 0.0


def default_client(settings: Settings) -> AfasClient:
    return AfasClient(settings.afas.host, settings.afas.token)


def connector_error(role: str, connector_id: str, exc: AfasError) -> SyncError:
    name = ROLE_NAMES[role]
    return SyncError(
        T(f"GetConnector {connector_id} ({name.en}): {exc.text.en}",
          f"GetConnector {connector_id} ({name.nl}): {exc.text.nl}"),
        fatal=isinstance(exc, AfasAuthError | AfasForbidden),
    )


async def detect_mapping(client: AfasClient, settings: Settings, role: str) -> tuple[ColumnMapping, int]:
    """The connector's columns for ``role`` and how many columns it has (for the page size)."""
    connector_id = settings.afas.connectors.ids()[role]
    override = settings.afas.connectors.mapping.get(role, ColumnMapping())
    try:
        meta = await client.metainfo(connector_id)
    except AfasError as exc:
        raise connector_error(role, connector_id, exc) from None
    try:
        return detect_columns(role, connector_id, meta.fields, override), len(meta.fields)
    except ColumnError as exc:
        raise SyncError(exc.text) from None


# Pages read ahead of the phone book: the download keeps going while the worker catches up, so
# a connector that is slow to serve (the worker idles) makes up for one that is quick (the
# worker is behind). A page is at most 150,000 cells, some 2.5 MB once parsed.
PAGES_AHEAD = 8

_Page = tuple[str, str, ColumnMapping, list[dict[str, Any]], int]  # role, connector, map, rows, n


async def full_refresh(
    client: AfasClient, settings: Settings, book: PhoneBook, progress: Progress | None = None
) -> RefreshResult:
    """Read all three connectors into a new book; swap it in only when all succeeded.

    Two tasks with a bounded queue between them, so the network and the phone book work at the
    same time: this one downloads pages (the client already asks for page N+1 while handing
    over page N) and queues them; the storer hands each page to a worker thread (normalise,
    insert). The event loop only moves pages; the CPU work runs in the worker thread, whose
    Python parts take the GIL in slices of the interpreter's switch interval (5 ms). Starting
    the refresh (dropping the previous one's leftovers, reading its known numbers) runs while
    the first requests are on their way.
    """
    started = time.monotonic()
    result = RefreshResult()
    beginning = asyncio.ensure_future(asyncio.to_thread(book.begin_refresh))
    queue: asyncio.Queue[_Page | str | None] = asyncio.Queue(PAGES_AHEAD)

    async def store() -> RefreshBuilder:
        # shield: a cancelled refresh must still get hold of the builder to abort it
        builder = await asyncio.shield(beginning)
        while True:
            item = await queue.get()
            if item is None:
                return builder
            if isinstance(item, str):
                await asyncio.to_thread(builder.build_indexes)
                continue
            role, connector_id, mapping, rows, count = item
            await asyncio.to_thread(builder.add_rows, role, connector_id, mapping, rows)
            if progress:
                progress(role, count)

    storer = asyncio.ensure_future(store())

    async def put(item: _Page | str | None) -> None:
        """Queue ``item``; raise the storer's error if it has stopped (it cannot take more)."""
        if not storer.done():
            if not queue.full():
                queue.put_nowait(item)
                return
            putting = asyncio.ensure_future(queue.put(item))
            await asyncio.wait({putting, storer}, return_when=asyncio.FIRST_COMPLETED)
            if putting.done():
                return
            putting.cancel()
        storer.result()  # raises what stopped it
        raise RuntimeError("the phone book storer stopped early")

    try:
        for role in ROLES:
            connector_id = settings.afas.connectors.ids()[role]
            if role == ROLES[-1]:
                # Index what is in while the last connector downloads: its rows (contact persons,
                # usually the fewest) then go into ready indexes, and the swap need not wait.
                await put("index")
            mapping, columns = await detect_mapping(client, settings, role)
            count = 0
            try:
                pages = client.iter_pages(connector_id, order_by=[mapping.id], fields_count=columns)
                async for page in pages:
                    count += len(page)
                    await put((role, connector_id, mapping, page, count))
            except AfasError as exc:
                raise connector_error(role, connector_id, exc) from None
            result.rows[role] = count
        await put(None)
        builder = await storer
        await asyncio.to_thread(builder.commit)
    except BaseException:
        # A worker thread cannot be interrupted: abort waits for its page, then throws the new
        # book away (the live one was never touched).
        storer.cancel()
        with contextlib.suppress(BaseException):
            await storer
        with contextlib.suppress(BaseException):
            await asyncio.to_thread((await asyncio.shield(beginning)).abort)
        raise
    result.relations = book.size()
    result.seconds = time.monotonic() - started
    return result


class SyncEngine:
    """The background loop: refresh on a schedule, on demand, pause/resume, back off on errors."""

    def __init__(self, settings: Settings, book: PhoneBook, board: StatusBoard, *,
                 client_factory: ClientFactory = default_client) -> None:
        self.settings = settings
        self.book = book
        self.board = board
        self._client_factory = client_factory
        self._wake = asyncio.Event()
        self._paused = False
        self._blocked: SyncError | None = None  # a fatal error waits for the user
        self._failures = 0
        self.refreshes = 0
        self._running: asyncio.Lock = asyncio.Lock()

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
        self._wake.set()

    # -- work --------------------------------------------------------------------------------------
    async def refresh_once(self, progress: Progress | None = None) -> RefreshResult:
        async with self._running:
            self.board.update(state=State.SYNCING, progress=0.0, message=None)
            try:
                async with self._client_factory(self.settings) as client:
                    result = await full_refresh(client, self.settings, self.book, progress)
            except SyncError as exc:
                self.board.update(state=State.ERROR, message=exc.text, progress=None)
                raise
            except AfasError as exc:
                err = SyncError(exc.text, fatal=isinstance(exc, AfasAuthError | AfasForbidden))
                self.board.update(state=State.ERROR, message=err.text, progress=None)
                raise err from None
            self.refreshes += 1
            log.info("phone book refreshed: %d relations, rows %s, %.1f s",
                     result.relations, result.rows, result.seconds)
            self.board.update(state=State.PAUSED if self._paused else State.IDLE, message=None,
                              progress=None, last_sync=time.time(), book_size=result.relations)
            return result

    def _delay(self) -> float:
        interval = max(60.0, self.settings.sync.interval_minutes * 60.0)
        if self._failures:
            # Back off on errors (1, 2, 4 … minutes, capped at the interval), jittered per desk.
            interval = min(interval, 60.0 * 2 ** (self._failures - 1))
        return interval * random.uniform(0.9, 1.1)

    async def run(self) -> None:
        """Until cancelled. The first refresh starts at once."""
        delay = 0.0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            self._wake.clear()
            if self._paused or not self.settings.afas.sync_active or self._blocked:
                delay = self._delay()
                continue
            try:
                await self.refresh_once()
                self._failures = 0
            except SyncError as exc:
                log.warning("phone book refresh failed: %s", exc.text.en)
                self._failures += 1
                if exc.fatal:
                    self._blocked = exc
            except Exception:
                log.exception("phone book refresh crashed")
                self._failures += 1
            delay = self._delay()
