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


async def full_refresh(client: AfasClient, settings: Settings, book: PhoneBook,
                       progress: Progress | None = None) -> RefreshResult:
    """Read all three connectors into a new book; swap it in only when all succeeded.

    A pipeline, so the network and the phone book work at the same time: while a worker thread
    stores page N (normalise, insert), the loop already holds page N+1 and the client downloads
    page N+2. The loop itself only hands pages on; the CPU work runs in the worker thread (its
    Python parts take the GIL in slices of the interpreter's switch interval, a few ms).
    Starting the refresh (dropping the previous one's leftovers, reading the known numbers) runs
    while the first requests are on their way.
    """
    started = time.monotonic()
    result = RefreshResult()
    beginning = asyncio.ensure_future(asyncio.to_thread(book.begin_refresh))
    builder: RefreshBuilder | None = None
    storing: asyncio.Future[int] | None = None  # the page being stored
    stored: tuple[str, int] | None = None  # (role, rows so far) once ``storing`` is done

    async def stored_so_far() -> None:
        nonlocal storing
        if storing is not None:
            await storing
            storing = None
            if progress and stored is not None:
                progress(*stored)

    try:
        for role in ROLES:
            connector_id = settings.afas.connectors.ids()[role]
            mapping, columns = await detect_mapping(client, settings, role)
            count = 0
            try:
                pages = client.iter_pages(connector_id, order_by=[mapping.id], fields_count=columns)
                async for page in pages:
                    if builder is None:
                        builder = await beginning
                    await stored_so_far()
                    count += len(page)
                    stored = (role, count)
                    storing = asyncio.ensure_future(
                        asyncio.to_thread(builder.add_rows, role, connector_id, mapping, page)
                    )
            except AfasError as exc:
                raise connector_error(role, connector_id, exc) from None
            result.rows[role] = count
        if builder is None:
            builder = await beginning
        await stored_so_far()
        await asyncio.to_thread(builder.commit)
    except BaseException:
        # The worker thread cannot be interrupted: let it finish its page, then throw the new
        # book away (the live one was never touched).
        for pending in (storing, beginning):
            if pending is not None and not pending.done():
                with contextlib.suppress(BaseException):
                    await asyncio.shield(pending)
        if builder is None and beginning.done() and not beginning.cancelled() \
                and beginning.exception() is None:
            builder = beginning.result()
        if builder is not None:
            await asyncio.to_thread(builder.abort)
        if storing is not None and storing.done() and not storing.cancelled():
            storing.exception()  # retrieved: the error that matters is the one being raised
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
