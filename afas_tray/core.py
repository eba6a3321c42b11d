"""AppCore: the running app without any window — sync loop, call sources, caller pop.

The Qt layer (app.py) creates one AppCore, gives it an Opener, and shows its StatusBoard.
Everything here runs on the one asyncio loop (qasync under Qt, plain asyncio in tests).

Second step of both walks (README, "Architecture"). ``handle_event`` receives every
``CallEvent``: from ``xelion/stream.py``, the loopback trigger (``pop/trigger_http.py``) and,
through ``app.py``, the single-instance socket (``afas-tray call``, links). It hands the event to
``pop/router.py`` (``CallRouter.handle``, whose opener is ``pop/gate.py``'s ``PopGate``) and a
hung-up or transferred call to the call-finished hooks: ``reports/service.py``
(``ReportService.hung_up``). A report the service enqueues in ``reports/outbox.py`` wakes the
drain loop here, which hands the outbox an ``afas/client.py`` ``AfasClient`` (``Outbox.drain``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from afas_tray.afas import CreatedRelation
from afas_tray.backoff import wait_or_wake
from afas_tray.config import ColumnMapping, Settings, new_trigger_secret, validate
from afas_tray.events import CallEvent, CallSource, CallState, Direction
from afas_tray.i18n import T
from afas_tray.phonebook import ClientFactory, PhoneBook, SyncEngine, default_client
from afas_tray.pop.gate import PopGate
from afas_tray.pop.opener import Opener
from afas_tray.pop.router import CallRouter, Decision, RecentCall
from afas_tray.reports.drafts import Draft
from afas_tray.reports.outbox import DossierLookup, Outbox, OutboxRow, OutboxState, OutboxStatus
from afas_tray.reports.service import DesktopCall, ReportService, WriteResult
from afas_tray.status import State, StatusBoard
from afas_tray.store import open_db
from afas_tray.system.profile import Profile
from afas_tray.system.wakeup import watch_for_wakeup

log = logging.getLogger(__name__)


def _phonebook_row(created: CreatedRelation) -> tuple[str, dict[str, Any]]:
    """(phone-book role, row) of a relation just created in AFAS, for ``_PHONEBOOK_MAPPING``."""
    role = "persons" if created.kind == "person" else "organisations"
    return role, {"BcCo": created.number_id, "BcId": created.bcid, "Name": created.name,
                  created.phone_field: created.phone}


# Keyed by the number (BcCo), as the sync keys organisations and persons: the next sync replaces
# the row of a just-created relation with AFAS's own instead of adding a second one.
_PHONEBOOK_MAPPING = ColumnMapping(id="BcCo", bcid="BcId", name="Name", phones=["TeNr", "MbNr"])
XELION_SESSION_KEY = "xelion.session"


class AppCore:
    def __init__(self, profile: Profile, settings: Settings, opener: Opener, *,
                 client_factory: ClientFactory = default_client) -> None:
        self.profile = profile
        self.settings = settings
        self.board = StatusBoard()
        self.book = PhoneBook(profile.paths.phonebook_file, settings.phone.default_region)
        self.engine = SyncEngine(settings, self.book, self.board, client_factory=client_factory)
        # Pause, do-not-disturb and the caller card sit between the router and the opener.
        self.pop = PopGate(opener, lambda: self.settings)
        self.router = CallRouter(
            lambda number: self.book.lookup(number, self.settings.phone.default_region),
            settings, self.pop, open_db(profile.paths.database_file),
        )
        self.outbox = Outbox(profile.paths.database_file, on_status=self._outbox_status)
        self.reports = ReportService(settings, self.router, self.book, self.outbox, None,
                                     profile.paths.data_dir, db_path=profile.paths.database_file)
        self.reports.on_notice.append(self._report_notice)
        self.on_call_finished: list[Callable[[CallEvent], None]] = [self.reports.hung_up]
        self._init_missed()
        self._client_factory = client_factory
        self._tasks: list[asyncio.Task[Any]] = []
        self._drain_wake = asyncio.Event()
        self._drain_loop_of: asyncio.AbstractEventLoop | None = None  # set when the loop runs
        self.drain_wakeups = 0  # passes of the drain loop (a test counts them: no polling)
        self.outbox.on_work = self._wake_drain
        self._xelion_stream: Any = None
        self._trigger: Any = None
        self._card_client: tuple[Any, Any] | None = None  # (host, token, timeout), AfasClient
        self.trigger_port: int = 0
        self.addressbook: Any = None  # the push into Xelion's address book (when switched on)
        self.engine.on_cycle.append(self._push_addressbook)
        # ``afas-tray outbox retry`` (another process) promises "at the next sync".
        self.engine.on_cycle.append(lambda _cycle: self._wake_drain())
        failed = self.outbox.failed_count()
        self.board.update(book_size=self.book.size(), last_sync=_last_sync(self.book),
                          outbox_backlog=self.outbox.backlog(), reports_failed=failed,
                          reports_failed_message=self._newest_refusal(failed),
                          reports_waiting=self.reports.held_count())

    # -- lifecycle -----------------------------------------------------------------------------
    @property
    def configured(self) -> bool:
        return not validate(self.settings, require_secrets=True)

    async def start(self) -> None:
        await asyncio.to_thread(_warm_up_http)
        # The phone book's pages in before the first ring (the loop's lookups read them).
        self._tasks.append(asyncio.ensure_future(asyncio.to_thread(self.book.warm_lookups)))
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
        if self.addressbook is not None:
            await self.addressbook.close()
        if self._card_client is not None:
            with contextlib.suppress(Exception):
                await self._card_client[1].aclose()
            self._card_client = None
        self.reports.close()
        self.missed.close()
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
        restart = _sources_key(self.settings) != _sources_key(settings)
        self.settings = settings
        self.router.settings = settings
        self.book.region = settings.phone.default_region
        self.engine.update_settings(settings)
        self.reports.update_settings(settings)
        self.missed.settings = settings
        self.outbox.resume()  # a refused token may have been fixed
        self._refresh_configured_state()
        self._wake_drain()  # a backlog may have waited for these settings
        if restart:  # else the websocket stays: no new login, and no ring lost in between
            await self._stop_sources()
            await self._start_sources()

    # -- calls -----------------------------------------------------------------------------------
    def handle_event(self, event: CallEvent) -> Decision:
        decision = self.router.handle(event)
        self.pop.after(event, decision)
        self.board.update(last_call_event=event.time)
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

    async def recent_dossier_items(self, bcid: str, *, number: str = "",
                                   timeout: float | None = None) -> list[Any]:
        """The caller card's last dossier items of ``bcid``; raises ItemsUnavailable.

        A client of its own with one request in flight and no retries: the card is already on
        screen, and a slow AFAS must not hold up the sync's or the outbox's requests either. It
        is kept (keep-alive, no set-up per call) until the host or token changes.
        """
        from afas_tray.pop.recent_items import DEFAULT_TIMEOUT, ItemsUnavailable, read_recent_items

        s = self.settings
        if not self.configured:
            raise ItemsUnavailable("AFAS is not configured")
        wait = DEFAULT_TIMEOUT if timeout is None else timeout
        key = (s.afas.host, s.afas.token, s.afas.integration_id, wait)
        if self._card_client is None or self._card_client[0] != key:
            if self._card_client is not None:
                old = self._card_client[1]
                self._tasks.append(asyncio.ensure_future(old.aclose()))
            self._card_client = (key, default_client(s, max_in_flight=1, timeout=wait,
                                                     retries=0))
        # The same dossier GetConnector the outbox recovers through (afas.connectors.dossier_items).
        return await read_recent_items(self._card_client[1], bcid, number=number,
                                       connector=s.afas.connectors.dossier_items, timeout=wait)

    async def create_relation(self, new: Any) -> Any:
        """The unknown-caller notice's "Create in AFAS" (an ``afas_relations.NewRelation``):
        post it, let the phone book know the number at once, open the new card.

        Raises ``afas_relations.RelationError`` or ``AfasError`` with a text for the notice.
        """
        from afas_tray.afas import create_relation
        from afas_tray.pop.router import card_url

        region = self.settings.phone.default_region
        async with self._client_factory(self.settings) as client:
            created = await create_relation(client, new, region)
        log.info("created %s %s in AFAS", new.kind, created.bcid)
        role, row = _phonebook_row(created)
        try:
            # On a worker: the change waits for a sync cycle that holds the book's writer, and
            # it and the count read tables that grow with the book (issue 18: no loop stalls).
            await asyncio.to_thread(self.book.apply_changes, role,
                                    self.settings.afas.connectors.ids()[role],
                                    _PHONEBOOK_MAPPING, [row], region=region)
            self.board.update(book_size=await asyncio.to_thread(self.book.size))
        except Exception:  # AFAS has it; the next sync brings it in anyway
            log.exception("phone book could not learn the new relation")
        url = card_url(self.settings.afas.insite_url_template, created.bcid)
        if url:
            self.pop.inner.open_url(url)
        return created

    # -- sources ---------------------------------------------------------------------------------
    async def _start_sources(self) -> None:
        s = self.settings
        if s.xelion.configured:
            from afas_tray.xelion import XelionClient, XelionEventStream

            secrets = self.profile.secrets
            client = XelionClient(
                s.xelion.host, s.xelion.tenant, s.xelion.username, s.xelion.password,
                s.xelion.effective_user_space(),
                # After a crash the old session still holds our userSpace: remember its token
                # so the next start can end it instead of being refused for ten minutes.
                previous_session=secrets.get(XELION_SESSION_KEY) or None,
                on_session=lambda token: secrets.set(XELION_SESSION_KEY, token or ""),
            )
            from afas_tray.xelion import mark_trigger_seen

            data_dir = self.profile.paths.data_dir
            stream = XelionEventStream(
                client, self._on_event, self._xelion_status,
                on_call_end=self.reports.xelion_call_ended,
                on_trigger_seen=lambda kind: mark_trigger_seen(data_dir, kind))
            stream.on_notification = self._xelion_notification
            stream.on_missed_call = self._missed_from_event
            self._xelion_stream = (client, stream)
            # One Xelion session for the stream and the call-log fetcher: a second login with
            # the same userSpace would be refused.
            self.reports.set_client(client)

            async def run_stream() -> None:
                async with client:
                    await stream.run()

            self._tasks.append(asyncio.ensure_future(run_stream()))
        if s.trigger.http_enabled and s.trigger.secret:
            from afas_tray.pop.trigger_http import TriggerServer, default_port_for_user

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

    def _push_addressbook(self, _cycle: Any) -> None:
        """After a phone-book cycle: push what changed into Xelion's address book, when on."""
        if self.settings.xelion.addressbook_sync and self._xelion_stream is not None:
            from afas_tray.phonebook.xelion_push import AppPusher

            if self.addressbook is None:
                self.addressbook = AppPusher(self.book, self.profile.paths.database_file)
            self.addressbook.kick(self._xelion_stream[0], self.settings.phone.default_region)
    def _xelion_notification(self, kind: str, payload: Mapping[str, Any]) -> None:
        """doNotDisturbEvent: remembered always, obeyed only with pop.follow_do_not_disturb."""
        from afas_tray.pop.gate import dnd_from_payload

        if kind == "doNotDisturbEvent":
            on = dnd_from_payload(payload)
            if on is not None:
                self.pop.set_do_not_disturb(on)

    def _xelion_status(self, status: Any) -> None:
        from afas_tray.xelion import StreamState

        connected = status.state is StreamState.CONNECTED
        self.board.update(xelion=status.text, xelion_connected=connected)
        # No websocket (a proxy blocks it, say): the call log is read about once a minute.
        self.reports.set_live(connected)

    # -- call reports ------------------------------------------------------------------------------
    def save_report(self, call_id: str, subject: str, text: str, bcid: str | None,
                    contact_id: str = "") -> WriteResult:
        """The report dialog's Save: stored as a draft, queued once the call's log is known."""
        result = self.reports.write_report(call_id, subject, text, bcid, contact_id)
        self._drain_wake.set()
        self._refresh_report_counts()
        return result

    def _outbox_status(self, status: OutboxStatus) -> None:
        message = status.paused_reason or status.last_error
        self.board.update(outbox_backlog=status.backlog, reports_failed=status.failed,
                          reports_failed_message=self._newest_refusal(status.failed))
        if message is not None and status.paused_reason is not None:
            self.board.update(state=State.ERROR, message=message)

    def _report_notice(self, text: Any) -> None:
        if text is not None:
            self.board.update(message=text)
        self._refresh_report_counts()

    # -- what the operator does with calls and reports (the tray's side) ---------------------------
    def record_pick(self, call_id: str, number: str, bcid: str, remember: bool) -> None:
        """The picker's choice: the call's report goes to ``bcid``; a waiting report goes now."""
        self.router.record_pick(call_id, bcid, number=number)
        if remember:
            try:
                self.router.remember_choice(number, bcid)
            except ValueError:
                log.warning("picked relation not remembered: the number is not a phone number")
        if call_id and self.reports.pick_recorded(call_id) is WriteResult.QUEUED:
            self._drain_wake.set()
        self._refresh_report_counts()

    def report_goes_through_xelion(self, call: RecentCall) -> bool:
        """Xelion logs its own calls (joined by call id); every other call is reported from what
        the desktop saw."""
        return call.source is CallSource.XELION and bool(call.call_id)

    def desktop_call(self, call: RecentCall) -> DesktopCall:
        return DesktopCall(number=call.number, normalised=call.normalised, started=call.time,
                           duration=call.duration, incoming=call.direction is not Direction.OUTGOING,
                           call_id=call.call_id)

    def report_draft(self, call: RecentCall) -> Draft | None:
        key = call.call_id if self.report_goes_through_xelion(call) else self.desktop_call(call).key
        return self.reports.draft_for(key)

    def save_report_for(self, call: RecentCall, subject: str, text: str, bcid: str | None,
                        contact_id: str = "") -> WriteResult:
        """The report dialog's Save for any call the tray shows."""
        if self.report_goes_through_xelion(call):
            return self.save_report(call.call_id, subject, text, bcid, contact_id)
        result = self.reports.write_desktop_report(self.desktop_call(call), subject, text, bcid,
                                                   contact_id)
        self._drain_wake.set()
        self._refresh_report_counts()
        return result

    def search_relations(self, text: str) -> list[Any]:
        return self.reports.search_relations(text)

    def failed_reports(self) -> list[OutboxRow]:
        return self.outbox.items(OutboxState.FAILED)

    def retry_report(self, key: str | None = None) -> int:
        """Send a refused report (``key``), or all of them, again."""
        count = int(self.outbox.retry(key)) if key else self.outbox.retry_failed()
        self._drain_wake.set()
        return count

    def status_report(self) -> dict[str, Any]:
        """The state for ``afas-tray status``: plain JSON values, AFAS's texts in both languages."""
        st = self.board.current
        info = self.book.last_refresh

        def text(t: Any) -> dict[str, str] | None:
            return None if t is None else {"en": t.en, "nl": t.nl}

        mode = "paused" if self.engine.paused else ("incremental" if self._has_marks() else "full")
        return {
            "state": st.state.value, "needs_attention": st.needs_attention,
            "message": text(st.message),
            "phonebook": {"size": st.book_size, "last_sync": st.last_sync,
                          "last_full": info.at if info else None, "mode": mode},
            "xelion": {"configured": self.settings.xelion.configured,
                       "connected": st.xelion_connected, "state": text(st.xelion),
                       "last_event": st.last_call_event},
            "reports": {"queued": st.outbox_backlog, "waiting": st.reports_waiting,
                        "failed": st.reports_failed,
                        "failed_message": text(st.reports_failed_message),
                        "paused": text(self.outbox.paused_reason)},
            "missed": [row.as_dict() for row in self.missed.recent(unseen_only=True)],
        }

    def _has_marks(self) -> bool:
        try:
            return bool(self.engine.marks())
        except Exception:
            return False

    def _newest_refusal(self, failed: int) -> Any:
        if not failed:
            return None
        rows = self.outbox.items(OutboxState.FAILED)
        return rows[-1].last_message if rows else None

    def _refresh_report_counts(self) -> None:
        self.board.update(reports_waiting=self.reports.held_count())

    def _wake_drain(self) -> None:
        """Reports became sendable: the drain loop runs now (from any thread)."""
        loop = self._drain_loop_of
        if loop is None or loop.is_closed():
            return  # not running yet: its first pass drains what is queued
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._drain_wake.set()
        else:
            loop.call_soon_threadsafe(self._drain_wake.set)

    async def _drain_loop(self) -> None:
        """Send queued reports when woken (queued, requeued, settings, a sync cycle); a timer
        only for the outbox's next scheduled retry. AFAS trouble is handled by the outbox."""
        self._drain_loop_of = asyncio.get_running_loop()
        self._drain_wake.set()  # the backlog of the last run goes first
        next_due: float | None = None
        while True:
            await wait_or_wake(self._drain_wake,
                               None if next_due is None else min(max(next_due, 1.0), 60.0))
            self._drain_wake.clear()
            self.drain_wakeups += 1
            next_due = None
            if not self.outbox.backlog() or self.outbox.paused_reason is not None \
                    or not self.configured:
                continue
            try:
                async with self._client_factory(self.settings) as client:
                    result = await self.outbox.drain(
                        client, lookup=DossierLookup.from_settings(self.settings.afas.connectors))
                next_due = result.next_due
            except Exception:
                log.exception("outbox drain crashed")
                next_due = 10.0

    # -- dialling and missed calls (issue 16) ------------------------------------------------------
    def _init_missed(self) -> None:
        from afas_tray.reports.missed import MissedCalls

        self.missed = MissedCalls(
            self.profile.paths.database_file, self.settings,
            lookup=lambda number: self.book.lookup(number, self.settings.phone.default_region),
            outbox=self.outbox, is_loggable=self.router.is_loggable,
        )
        self.reports.on_call_log.append(self._missed_from_log)

    def add_missed(self, call: Any) -> bool:
        """One missed call (a ``missed.MissedCall``), from any source."""
        added = self.missed.add(call)
        if added:
            self._drain_wake.set()  # its dossier item, if any, goes up soon
        return added

    def _missed_from_event(self, payload: Any) -> None:
        from afas_tray.reports.missed import MissedCall
        from afas_tray.xelion import parse_missed_call

        fields = parse_missed_call(payload)
        if fields is not None:
            self.add_missed(MissedCall(source="xelion", **fields))

    def _missed_from_log(self, details: Any) -> None:
        from afas_tray.reports.missed import from_call_log

        call = from_call_log(details)
        if call is not None:
            self.add_missed(call)

    async def dial(self, raw: str) -> Any:
        """Place a call for the operator (``dial.DialResult``): through this app's Xelion
        session, or the softphone when preferred or Xelion is not set up."""
        from afas_tray.pop.dial import Dialler, xelion_call_through

        client = self._xelion_stream[0] if self._xelion_stream is not None else None
        through = xelion_call_through(client, self.settings) if client is not None else None
        return await Dialler(self.settings, through).dial(raw)

    def network_changed(self) -> None:
        """The OS says the network changed or the machine woke: reconnect at once."""
        if self._xelion_stream is not None:
            self._xelion_stream[1].kick()


def _sources_key(s: Settings) -> tuple[Any, ...]:
    """What the call sources are built from (Xelion account, loopback trigger): only a change
    here reconnects them."""
    x, t = s.xelion, s.trigger
    return (x.host, x.tenant, x.username, x.password, x.effective_user_space(),
            t.http_enabled, t.http_port, t.secret)


def _warm_up_http() -> None:
    """Pay the first-request costs on a worker thread instead of the UI's loop: the CA bundle
    (tens of ms), httpcore itself, which httpx imports only when the first client makes its
    transport (with trio, when installed: over 100 ms on a busy desk), and httpcore's lazy
    import of anyio's asyncio backend (about 25 ms)."""
    import importlib

    from afas_tray.afas import shared_ssl_context

    shared_ssl_context()
    importlib.import_module("httpcore")
    importlib.import_module("anyio._backends._asyncio")


# How long a worker thread (the sync's page parsing and phone-book writes) may keep the GIL
# while the loop's thread waits for it. Python's default is 5 ms, and the loop thread gives the
# GIL away at every socket call and SQLite step it makes, so one callback could wait 5 ms
# several times over: 20-50 ms stalls during a sync. 1 ms keeps each wait short, for about a
# percent more thread switching.
SWITCH_INTERVAL_S = 0.001


def tune_interpreter() -> None:
    """Ready the interpreter for a UI loop beside worker threads, once at start-up:
    a short GIL switch interval, the C allocator's thresholds pinned (``system/memory.py``),
    and the start-up objects frozen (``freeze_long_lived``). The tray shell (ui/shell.py) and
    the benches call it."""
    import sys

    from afas_tray.system.memory import pin_allocator_thresholds

    sys.setswitchinterval(SWITCH_INTERVAL_S)
    log.info(pin_allocator_thresholds())
    freeze_long_lived()


def freeze_long_lived() -> None:
    """Collect once, then keep everything alive now out of the collector's full passes.

    What start-up makes (modules, Qt's wrappers, settings, the core) lives as long as the app;
    left in the collector's oldest generation, every full pass walks all of it again, which
    stalls the loop (or, run on a worker thread, holds the GIL) for tens of milliseconds in the
    middle of a sync. The collector stays on, with its default thresholds: cycles made from
    here on are still found and freed. Call it before the loop has work (the first collect then
    stalls nothing) and again after ``AppCore.start`` (cheap by then: only what start made).
    """
    import gc

    gc.collect()
    gc.freeze()


def _last_sync(book: PhoneBook) -> float | None:
    info = book.last_refresh
    return info.at if info else None
