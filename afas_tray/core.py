"""AppCore: the running app without any window — sync loop, call sources, caller pop.

The Qt layer (app.py) creates one AppCore, gives it an Opener, and shows its StatusBoard.
Everything here runs on the one asyncio loop (qasync under Qt, plain asyncio in tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from afas_tray.calls import CallRouter, Decision, RecentCall
from afas_tray.events import CallEvent, CallState
from afas_tray.i18n import T
from afas_tray.opener import Opener
from afas_tray.outbox import DossierLookup, Outbox, OutboxStatus
from afas_tray.phonebook import PhoneBook
from afas_tray.profile import Profile
from afas_tray.reports import ReportService, WriteResult
from afas_tray.settings import Settings, new_trigger_secret, validate
from afas_tray.status import State, StatusBoard
from afas_tray.store import open_db
from afas_tray.sync import ClientFactory, SyncEngine, default_client
from afas_tray.wakeup import watch_for_wakeup

log = logging.getLogger(__name__)
XELION_SESSION_KEY = "xelion.session"


class AppCore:
    def __init__(self, profile: Profile, settings: Settings, opener: Opener, *,
                 client_factory: ClientFactory = default_client) -> None:
        self.profile = profile
        self.settings = settings
        self.board = StatusBoard()
        self.book = PhoneBook(profile.paths.phonebook_file, settings.phone.default_region)
        self.engine = SyncEngine(settings, self.book, self.board, client_factory=client_factory)
        self.router = CallRouter(
            lambda number: self.book.lookup(number, self.settings.phone.default_region),
            settings, opener, open_db(profile.paths.database_file),
        )
        self.outbox = Outbox(profile.paths.database_file, on_status=self._outbox_status)
        self.reports = ReportService(settings, self.router, self.book, self.outbox, None,
                                     profile.paths.data_dir, db_path=profile.paths.database_file)
        self.reports.on_notice.append(self._report_notice)
        self.on_call_finished: list[Callable[[CallEvent], None]] = [self.reports.hung_up]
        self._client_factory = client_factory
        self._tasks: list[asyncio.Task[Any]] = []
        self._drain_wake = asyncio.Event()
        self._xelion_stream: Any = None
        self._trigger: Any = None
        self.trigger_port: int = 0
        self.board.update(book_size=self.book.size(), last_sync=_last_sync(self.book),
                          outbox_backlog=self.outbox.backlog())

    # -- lifecycle -----------------------------------------------------------------------------
    @property
    def configured(self) -> bool:
        return not validate(self.settings, require_secrets=True)

    async def start(self) -> None:
        await asyncio.to_thread(_warm_up_http)
        self._refresh_configured_state()
        self._tasks.append(asyncio.ensure_future(self.engine.run()))
        self._tasks.append(asyncio.ensure_future(self.reports.run()))
        self._tasks.append(asyncio.ensure_future(self._drain_loop()))
        # After sleep the websocket is half dead and the session may be gone: reconnect at once.
        self._tasks.append(asyncio.ensure_future(watch_for_wakeup(self.network_changed)))
        await self._start_sources()

    async def stop(self) -> None:
        await self._stop_sources()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task
        self._tasks.clear()
        self.reports.close()
        self.outbox.close()
        self.book.close()

    def _refresh_configured_state(self) -> None:
        if not self.configured:
            self.board.update(state=State.NOT_CONFIGURED, message=T(
                "Open Settings to connect AFAS.", "Open Instellingen om AFAS te koppelen."))
        elif self.board.current.state is State.NOT_CONFIGURED:
            self.board.update(state=State.IDLE, message=None)

    async def apply_settings(self, settings: Settings) -> None:
        """Save new settings and let every part pick them up without a restart."""
        if settings.trigger.http_enabled and not settings.trigger.secret:
            settings.trigger.secret = new_trigger_secret()
        self.profile.save(settings)
        self.settings = settings
        self.router.settings = settings
        self.book.region = settings.phone.default_region
        self.engine.update_settings(settings)
        self.reports.update_settings(settings)
        self.outbox.resume()  # a refused token may have been fixed
        self._refresh_configured_state()
        await self._stop_sources()
        await self._start_sources()

    # -- calls -----------------------------------------------------------------------------------
    def handle_event(self, event: CallEvent) -> Decision:
        decision = self.router.handle(event)
        if event.state in (CallState.HUNG_UP, CallState.TRANSFERRED):
            for hook in list(self.on_call_finished):
                try:
                    hook(event)
                except Exception:
                    log.exception("call-finished hook failed")
        return decision

    def _on_event(self, event: CallEvent) -> None:
        self.handle_event(event)

    def recent_calls(self) -> list[RecentCall]:
        return self.router.recent_calls()

    # -- sources ---------------------------------------------------------------------------------
    async def _start_sources(self) -> None:
        s = self.settings
        if s.xelion.configured:
            from afas_tray.xelion.client import XelionClient
            from afas_tray.xelion.events import XelionEventStream

            secrets = self.profile.secrets
            client = XelionClient(
                s.xelion.host, s.xelion.tenant, s.xelion.username, s.xelion.password,
                s.xelion.effective_user_space(),
                # After a crash the old session still holds our userSpace: remember its token
                # so the next start can end it instead of being refused for ten minutes.
                previous_session=secrets.get(XELION_SESSION_KEY) or None,
                on_session=lambda token: secrets.set(XELION_SESSION_KEY, token or ""),
            )
            stream = XelionEventStream(client, self._on_event, self._xelion_status)
            self._xelion_stream = (client, stream)
            # One Xelion session for the stream and the call-log fetcher: a second login with
            # the same userSpace would be refused.
            self.reports.set_client(client)

            async def run_stream() -> None:
                async with client:
                    await stream.run()

            self._tasks.append(asyncio.ensure_future(run_stream()))
        if s.trigger.http_enabled and s.trigger.secret:
            from afas_tray.trigger_http import TriggerServer, default_port_for_user

            port = s.trigger.http_port or default_port_for_user(self.profile.paths)
            self._trigger = TriggerServer(self._on_event, s.trigger.secret, port)
            try:
                self.trigger_port = await self._trigger.start()
            except OSError:
                # The per-user port is taken (another operator?): pick any free one and show it.
                self._trigger = TriggerServer(self._on_event, s.trigger.secret, 0)
                self.trigger_port = await self._trigger.start()
            log.info("loopback trigger on 127.0.0.1:%d", self.trigger_port)

    async def _stop_sources(self) -> None:
        if self._xelion_stream is not None:
            _client, stream = self._xelion_stream
            stream.stop()
            self.reports.set_client(None)
            self._xelion_stream = None
        if self._trigger is not None:
            await self._trigger.stop()
            self._trigger = None
            self.trigger_port = 0

    def _xelion_status(self, status: Any) -> None:
        self.board.update(xelion=status.text)

    # -- call reports ------------------------------------------------------------------------------
    def save_report(self, call_id: str, subject: str, text: str, bcid: str | None,
                    contact_id: str = "") -> WriteResult:
        """The report dialog's Save: stored as a draft, queued once the call's log is known."""
        result = self.reports.write_report(call_id, subject, text, bcid, contact_id)
        self._drain_wake.set()
        return result

    def _outbox_status(self, status: OutboxStatus) -> None:
        message = status.paused_reason or status.last_error
        self.board.update(outbox_backlog=status.backlog)
        if message is not None and status.paused_reason is not None:
            self.board.update(state=State.ERROR, message=message)

    def _report_notice(self, text: Any) -> None:
        if text is not None:
            self.board.update(message=text)

    async def _drain_loop(self) -> None:
        """Send queued reports whenever there are any; AFAS trouble is handled by the outbox."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drain_wake.wait(), timeout=2.0)
            self._drain_wake.clear()
            if not self.outbox.backlog() or self.outbox.paused_reason is not None \
                    or not self.configured:
                continue
            try:
                async with self._client_factory(self.settings) as client:
                    result = await self.outbox.drain(
                        client, lookup=DossierLookup.from_settings(self.settings.afas.connectors))
                if result.next_due:
                    await asyncio.sleep(min(result.next_due, 60.0))
            except Exception:
                log.exception("outbox drain crashed")
                await asyncio.sleep(10)

    def network_changed(self) -> None:
        """The OS says the network changed or the machine woke: reconnect at once."""
        if self._xelion_stream is not None:
            self._xelion_stream[1].kick()


def _warm_up_http() -> None:
    """Pay the first-request costs on a worker thread instead of the UI's loop: the CA bundle
    (tens of ms) and httpcore's lazy import of anyio's asyncio backend (about 25 ms)."""
    import importlib

    from afas_tray.afas.client import shared_ssl_context

    shared_ssl_context()
    importlib.import_module("anyio._backends._asyncio")


def _last_sync(book: PhoneBook) -> float | None:
    info = book.last_refresh
    return info.at if info else None
