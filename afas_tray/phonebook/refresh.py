"""Full refresh: read organisations, persons and contacts page by page into a new book that is
swapped in when all three succeeded; pages are written in a worker thread while the client
fetches the next ones, so the event loop never waits on SQLite or number parsing.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from afas_tray.afas.client import AfasClient
from afas_tray.afas.dates import afas_filter_value, newest_date
from afas_tray.afas.errors import (
    AfasAuthError,
    AfasConnectorNotAllowed,
    AfasError,
    AfasForbidden,
)
from afas_tray.config import ROLES, ColumnMapping, Settings
from afas_tray.errors import AppError
from afas_tray.i18n import T, Text
from afas_tray.phonebook.book import PhoneBook, RefreshBuilder
from afas_tray.phonebook.columns import ROLE_TEXT, ColumnError, detect_columns
from afas_tray.phonebook.marks import FULL_AT, KEYS_AT, Mark, later, mapping_signature, mark_key

ROLE_NAMES = ROLE_TEXT  # the one list of role names, kept under its old name too

Progress = Callable[[str, int], None]  # (role, rows so far in this role)


class SyncError(AppError):
    """A refresh failed; ``text`` says why in the user's language, naming the connector."""

    def __init__(self, text: Text, *, fatal: bool = False) -> None:
        super().__init__(text)
        self.fatal = fatal  # token refused / IP blocked: do not retry until the user acts

    @property
    def needs_user(self) -> bool:
        return self.fatal


@dataclass
class RefreshResult:
    rows: dict[str, int] = field(default_factory=dict)
    relations: int = 0
    seconds: float = 0.0
    # Roles whose connector refused us (not in the App connector): their previous rows kept.
    kept: dict[str, Text] = field(default_factory=dict)


def connector_error(role: str, connector_id: str, exc: AfasError) -> SyncError:
    name = ROLE_NAMES[role]
    return SyncError(
        T(f"GetConnector {connector_id} ({name.en}): {exc.text.en}",
          f"GetConnector {connector_id} ({name.nl}): {exc.text.nl}"),
        # A connector outside the App connector is not the token's fault: the others go on.
        fatal=isinstance(exc, AfasAuthError | AfasForbidden)
        and not isinstance(exc, AfasConnectorNotAllowed),
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


# --- full refresh --------------------------------------------------------------------------------


# Pages read ahead of the phone book: the download keeps going while the worker catches up, so
# a connector that is slow to serve (the worker idles) makes up for one that is quick (the
# worker is behind). A page is at most 150,000 cells, some 2.5 MB once parsed.
PAGES_AHEAD = 2

_Page = tuple[str, str, ColumnMapping, list[dict[str, Any]], int]  # role, connector, map, rows, n
_Keep = tuple[str, str]  # role, connector: carry the live rows over


async def full_refresh(
    client: AfasClient, settings: Settings, book: PhoneBook, progress: Progress | None = None,
    *, now: float | None = None,
) -> RefreshResult:
    """Read all three connectors into a new book; swap it in only when all succeeded.

    Two tasks with a bounded queue between them, so the network and the phone book work at the
    same time: this one downloads pages (the client already asks for page N+1 while handing
    over page N) and queues them; the storer hands each page to a worker thread (normalise,
    insert, note the newest modification date). The event loop only moves pages. The new book
    is swapped in together with each connector's high-water mark (``now``, default the wall
    clock, is when the periodic full refresh and the key-only pass last ran).
    """
    started = time.monotonic()
    stamp = time.time() if now is None else now
    result = RefreshResult()
    beginning = asyncio.ensure_future(asyncio.to_thread(book.begin_refresh))
    queue: asyncio.Queue[_Page | _Keep | str | None] = asyncio.Queue(PAGES_AHEAD)
    newest: dict[str, dt.datetime | None] = {}

    def add_page(builder: RefreshBuilder, role: str, connector_id: str, mapping: ColumnMapping,
                 rows: list[dict[str, Any]]) -> None:
        builder.add_rows(role, connector_id, mapping, rows)
        for column in (mapping.modified, mapping.created):
            if column and mapping.modified:
                newest[role] = later(newest.get(role), newest_date(rows, column))

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
            if len(item) == 2:
                await asyncio.to_thread(builder.keep_role, item[0], item[1])
                continue
            role, connector_id, mapping, rows, count = item
            await asyncio.to_thread(add_page, builder, role, connector_id, mapping, rows)
            if progress:
                progress(role, count)

    storer = asyncio.ensure_future(store())

    async def put(item: _Page | _Keep | str | None) -> None:
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

    marks: dict[str, tuple[str, ColumnMapping, float]] = {}
    try:
        for role in ROLES:
            connector_id = settings.afas.connectors.ids()[role]
            if role == ROLES[-1]:
                # Index the relations while the last connector downloads: its rows (contact
                # persons, usually the fewest) land at the end of those indexes. The numbers'
                # index waits for the last row (see RefreshBuilder.commit).
                await put("index")
            count = 0
            role_started = time.monotonic()
            try:
                try:
                    mapping, columns = await detect_mapping(client, settings, role)
                except SyncError as exc:
                    cause = exc.__context__
                    if isinstance(cause, AfasConnectorNotAllowed):
                        raise cause from None
                    raise
                # An integer key where the connector has one (AFAS: sort on integer fields), and
                # past large offsets "key > last" instead of deep skips (AFAS: past 100,000 skip
                # is no longer fast).
                order = str(getattr(mapping, "sort_key", "") or mapping.id)
                keyset = order if getattr(mapping, "sort_int", False) else None
                pages = client.iter_pages(connector_id, order_by=[order], fields_count=columns,
                                          keyset=keyset)
                async for page in pages:
                    count += len(page)
                    await put((role, connector_id, mapping, page, count))
            except AfasConnectorNotAllowed as exc:
                if count:
                    raise connector_error(role, connector_id, exc) from None
                # This connector is not in the App connector (the token is fine): keep what the
                # book had for it, refresh the others, and say which connector it is.
                result.kept[role] = connector_error(role, connector_id, exc).text
                await put((role, connector_id))
                continue
            except AfasError as exc:
                raise connector_error(role, connector_id, exc) from None
            result.rows[role] = count
            marks[role] = (connector_id, mapping, time.monotonic() - role_started)
        await put(None)
        builder = await storer
        state = {FULL_AT: repr(stamp), KEYS_AT: repr(stamp)}
        for role, (connector_id, mapping, seconds) in marks.items():
            moment = newest.get(role)
            state[mark_key(role)] = Mark(
                connector_id, mapping_signature(connector_id, mapping),
                afas_filter_value(moment) if moment else "", round(seconds, 3),
            ).dumps()
        await asyncio.to_thread(builder.commit, state)
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
