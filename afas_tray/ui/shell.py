"""The tray shell: owns the AppCore and the Qt pieces (tray icon, dialogs, caller cards, picker).

``app.main`` builds it once the QApplication and the single-instance socket are up; the tests
build it around a core of their own. Hand-offs: a ringing call reaches ``QtOpener`` (the core's
router calls it); lines from a second start or the CLI arrive in ``on_instance_message``; the
tray menu calls the public methods below (the tray's Controller).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from afas_tray import APP_NAME, __version__
from afas_tray.handoff import (
    HandoffError,
    event_from_line,
    event_to_line,
    is_call_url,
    parse_call_url,
)
from afas_tray.system import autostart
from afas_tray.system.profile import Profile

log = logging.getLogger(__name__)


def url_open_filter(shell: TrayShell) -> Any:
    """macOS delivers afas-tray:// and tel: links as a QFileOpenEvent to the application."""
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtGui import QFileOpenEvent

    class UrlOpenFilter(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.FileOpen and isinstance(event, QFileOpenEvent):
                url = event.url().toString()
                from afas_tray.pop.dial import is_dial_url

                if is_dial_url(url):  # tel:/callto: (issue 16): macOS sends links this way
                    shell.call_back(url)
                    return True
                if is_call_url(url):
                    try:
                        shell.on_instance_message(event_to_line(parse_call_url(url)))
                    except HandoffError as exc:
                        log.warning("refused URL: %s", exc.text.en)
                    return True
            return False

    return UrlOpenFilter()


def _shows_errors(method: Any) -> Any:
    """A Qt slot of the shell: whatever it raises is logged and shown, never swallowed by Qt."""
    import functools

    @functools.wraps(method)
    def slot(self: TrayShell, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            self.show_error(method.__name__, exc)
            return None

    return slot


class TrayShell:
    """Owns the AppCore and the Qt pieces; implements the tray's Controller.

    ``core`` may be handed in (the tests build the shell around a core of their own); the shell
    then puts its opener into the core's router.
    """

    def __init__(self, app: Any, profile: Profile, loaded: Any, *, demo_env: Any = None,
                 core: Any = None) -> None:
        from afas_tray import i18n
        from afas_tray.core import AppCore
        from afas_tray.ui.i18n_qt import install_translator
        from afas_tray.ui.qt_compat import guard_bool_refcounts
        from afas_tray.ui.qt_opener import QtOpener
        from afas_tray.ui.tray import StatusWindow, Tray

        guard_bool_refcounts()
        self.app = app
        self.profile = profile
        self.demo = demo_env is not None
        self.demo_env = demo_env
        settings = loaded.settings
        install_translator(app, settings.ui.language)
        i18n.set_language(None if settings.ui.language == "system" else settings.ui.language)
        self._stop = asyncio.Event()
        self.opener = QtOpener(remember=self._remember, notify=None, on_pick=self.on_pick)
        if core is None:
            core = AppCore(profile, settings, self.opener)
        else:
            core.router.opener = self.opener
        self.core = core
        self.errors: list[str] = []  # what went wrong in the shell, as shown (for support)
        self._tasks: set[asyncio.Future[Any]] = set()
        self.opener.region = lambda: self.core.settings.phone.default_region
        from afas_tray.ui.network_watch import NetworkWatch

        self.network_watch = NetworkWatch(self.core.network_changed)
        self.network_watch.start()  # reconnect Xelion as soon as the network is back
        # The tray host may claim the tray a moment after we start (seen with tint2, panels
        # restarting at login): show the icon now, and only if no tray turns up, a status window.
        self.tray: Tray = Tray(self)
        self.tray.show()
        self.core.board.subscribe(self.tray.show_status)
        self.core.missed.on_change.append(self.tray.set_missed_count)
        self.tray.set_missed_count(self.core.missed.unseen_count())
        self.tray.show_status(self.core.board.current)
        self.window: StatusWindow | None = None
        from PySide6.QtCore import QTimer

        self._tray_timer = QTimer()
        self._tray_timer.setInterval(3000)
        self._tray_timer.timeout.connect(self._check_tray)
        self._tray_timer.start()
        self._notified: set[str] = set()
        self._failed_seen = self.core.board.current.reports_failed
        self.core.board.subscribe(self._notify_once)
        self._open_settings_at_start = loaded.first_run or loaded.problem is not None \
            or not self.core.configured
        self._problem = loaded.problem
        self._first_run = loaded.first_run
        self._dialogs: list[Any] = []
        self._setup_caller_card()

    # -- caller card and pausing the pop (issue 17) ------------------------------------------
    def _setup_caller_card(self) -> None:
        from afas_tray.ui.caller_card import CallerCardManager

        self.cards = CallerCardManager(lambda: self.core.settings, self.core.recent_dossier_items,
                                       self)
        self.core.pop.card_sink = self.cards
        self.opener.create_relation = self.core.create_relation

    def open_url(self, url: str) -> None:
        self.opener.open_url(url)

    def display_number(self, number: str) -> str:
        """National format for the default region, international for others."""
        from afas_tray.numbers import display

        return display(number, self.core.settings.phone.default_region)

    def pop_paused(self) -> bool:
        return self.core.pop.paused

    def pause_pop(self, seconds: float | None) -> None:
        self.core.pop.pause(seconds)

    def resume_pop(self) -> None:
        self.core.pop.resume()

    def _remember(self, number: str, bcid: str) -> None:
        self.core.router.remember_choice(number, bcid)

    @_shows_errors
    def on_pick(self, choice: Any, candidate: Any, remember: bool) -> None:
        """The picker's choice reaches the call's report (and, ticked, the number's default)."""
        self.core.record_pick(choice.call_id, choice.number, candidate.bcid, remember)

    def status_json(self) -> str:
        import json

        return json.dumps(self.core.status_report(), ensure_ascii=False)

    def spawn(self, coro: Any, what: str) -> asyncio.Future[Any]:
        """Run ``coro`` on the loop; if it fails, the failure is logged and shown."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(t: asyncio.Future[Any]) -> None:
            self._tasks.discard(t)
            if t.cancelled():
                return
            exc = t.exception()
            if exc is not None:
                self.show_error(what, exc)

        task.add_done_callback(done)
        return task

    def show_error(self, what: str, exc: BaseException) -> None:
        """Log ``exc`` with its traceback and tell the operator, in a tray message."""
        from PySide6.QtCore import QCoreApplication

        log.error("%s failed", what, exc_info=(type(exc), exc, exc.__traceback__))
        # Secrets never reach exception texts (see secrets.py), so the text can be shown.
        detail = str(getattr(exc, "message", "") or exc) or type(exc).__name__
        text = QCoreApplication.translate("Tray", "Something went wrong (%1): %2").replace(
            "%1", what).replace("%2", detail)
        self.errors.append(text)
        self.tray.notify(APP_NAME, text, error=True, on_click=self.open_log_folder)

    async def run(self) -> None:
        from afas_tray.core import freeze_long_lived, tune_interpreter

        # A short GIL switch interval, and everything made at start-up kept out of the
        # collector's full passes, which otherwise stall the loop for tens of milliseconds. The
        # big first collect runs before the sync and the call sources have started, the second
        # one only walks what start() made.
        tune_interpreter()
        await self.core.start()
        self.restart_hotkey()
        freeze_long_lived()
        if self._open_settings_at_start:
            self.open_settings()
        await self._stop.wait()
        await self.core.stop()

    # -- Controller ------------------------------------------------------------------------
    def on_instance_message(self, line: str) -> None:
        from afas_tray.pop.dial import dial_from_line

        if (number := dial_from_line(line)) is not None:  # a tel:/callto: link (issue 16)
            self.call_back(number)
            return
        try:
            event = event_from_line(line)
        except HandoffError as exc:
            log.warning("refused hand-off: %s", exc.text.en)
            return
        self.core.handle_event(event)

    def sync_now(self) -> None:
        self.core.engine.sync_now()

    def toggle_pause(self) -> None:
        if self.core.engine.paused:
            self.core.engine.resume()
        else:
            self.core.engine.pause()

    def is_paused(self) -> bool:
        return self.core.engine.paused

    def recent_calls(self) -> list[Any]:
        return self.core.recent_calls()

    def open_recent(self, call: Any) -> None:
        from afas_tray.pop.router import card_url

        url = card_url(self.core.settings.afas.insite_url_template, call.match_bcid or "",
                       getattr(call, "match_number", ""))
        if call.match_bcid and url:
            self.opener.open_url(url)

    def can_write_report(self, call: Any) -> bool:
        """Every call the tray shows can get a report (withheld and internal ones never show)."""
        return bool(self.core.router.is_loggable(call.number))

    @_shows_errors
    def write_report(self, call: Any) -> Any:
        from datetime import datetime

        from afas_tray.pop.router import relations
        from afas_tray.reports.rules import format_duration
        from afas_tray.ui.report_dialog import CallReportDialog

        matches = self.core.router.match_for_call(call.call_id) if call.call_id else []
        if not matches:
            matches = relations(self.core.book.lookup(call.number,
                                                      self.core.settings.phone.default_region))
        draft = self.core.report_draft(call)
        picked = (draft.bcid if draft and draft.bcid else None) or \
            (self.core.router.picked_for_call(call.call_id) if call.call_id else "")
        selected = next((i for i, m in enumerate(matches) if picked and m.bcid == picked), None)
        if selected is None and len(matches) == 1:
            selected = 0
        duration = format_duration(call.duration) if call.duration is not None else ""
        dialog = CallReportDialog(
            number=self.display_number(call.number), time=datetime.fromtimestamp(call.time), direction=call.direction,
            duration=duration, candidates=matches, selected=selected,
            subject=draft.subject if draft else "", text=draft.text if draft else "",
            empty_subject=self.core.settings.afas.empty_subject_text,
            # A caller the phone book does not know: find the relation by name or number.
            search=self.core.search_relations if not matches else None,
        )
        dialog.saved.connect(lambda subject, text, bcid, contact: self._save_report(
            dialog, call, subject, text, bcid, contact))
        self._keep(dialog)
        dialog.show()
        return dialog

    def _save_report(self, dialog: Any, call: Any, subject: str, text: str, bcid: str | None,
                     contact_id: str) -> None:
        from PySide6.QtCore import QCoreApplication

        try:
            result = self.core.save_report_for(call, subject, text, bcid or None, contact_id)
        except Exception as exc:
            # The dialog stays open with the text: nothing the operator wrote is lost.
            log.exception("saving the report for call %s failed", call.call_id or call.number)
            dialog.refuse(QCoreApplication.translate(
                "Tray", "The report could not be saved: %1").replace("%1", str(exc)))
            return
        log.info("report for call %s: %s", call.call_id or call.number, result.name)

    def failed_reports(self) -> list[Any]:
        return list(self.core.failed_reports())

    @_shows_errors
    def retry_report(self, key: str | None) -> None:
        self.core.retry_report(key)

    def open_settings(self) -> None:
        from afas_tray.doctor import run_checks
        from afas_tray.ui.settings import SettingsDialog

        for d in self._dialogs:
            if type(d).__name__ == "SettingsDialog" and d.isVisible():
                d.raise_()
                d.activateWindow()
                return
        dialog = SettingsDialog(
            self.core.settings,
            run_checks=lambda s: run_checks(s, self.profile.secrets),
            first_run=self._first_run, problem=self._problem,
            trigger_port=self.core.trigger_port or None,
            start_at_login=autostart.is_enabled(),
        )
        self._problem = None
        self._first_run = False

        def accepted() -> None:
            from PySide6.QtCore import QCoreApplication

            applied = self.spawn(self.core.apply_settings(dialog.result_settings()),
                       QCoreApplication.translate("Tray", "applying the settings"))
            applied.add_done_callback(lambda _f: self.restart_hotkey())
            self._apply_autostart(dialog.start_at_login_wanted())

        dialog.accepted.connect(accepted)
        self._keep(dialog)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()  # opened by the user (or first run): focus is expected here

    def _apply_autostart(self, wanted: bool) -> None:
        try:
            if wanted and not autostart.is_enabled():
                autostart.enable(autostart.default_command())
            elif not wanted and autostart.is_enabled():
                autostart.disable()
        except autostart.AutostartError as exc:
            log.warning("start at login: %s", exc)
            self.tray.notify(APP_NAME, str(exc), error=True)

    def open_log_folder(self) -> None:
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices

        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.profile.paths.log_dir)))

    def show_about(self) -> None:
        from PySide6.QtCore import QCoreApplication
        from PySide6.QtWidgets import QMessageBox

        text = QCoreApplication.translate(
            "Tray", "%1 %2\nCaller pop and call reports for Xelion and AFAS Profit.")
        QMessageBox.about(None, APP_NAME, text.replace("%1", APP_NAME).replace("%2", __version__))

    def simulate_call(self) -> None:
        if self.demo_env is not None:
            self.demo_env.simulate_call()

    # -- dialling and missed calls (issue 16) ------------------------------------------------
    def call_back(self, number: str) -> None:
        self._pending_dial = asyncio.ensure_future(self._dial(number))

    def dial_clipboard(self) -> None:
        from PySide6.QtGui import QGuiApplication

        text = QGuiApplication.clipboard().text().strip()
        if not text:
            from PySide6.QtCore import QCoreApplication

            self.tray.notify(APP_NAME, QCoreApplication.translate(
                "Dial", "The clipboard holds no phone number."), error=True)
            return
        self.call_back(text)

    async def _dial(self, number: str) -> None:
        result = await self.core.dial(number)
        log.info("dial via %s: %s", result.via or "-", "placed" if result.ok else "refused")
        self.tray.notify(APP_NAME, str(result.text), error=not result.ok)

    def restart_hotkey(self) -> None:
        """(Re)register the global dial hotkey of the settings, if any (pynput; optional)."""
        from afas_tray.system import hotkey

        stop = getattr(self, "_hotkey_stop", None)
        if stop is not None:
            stop()
        loop = asyncio.get_running_loop()

        def pressed() -> None:  # on pynput's thread: hop to the Qt loop
            loop.call_soon_threadsafe(self.dial_selection)

        self._hotkey_stop, problem = hotkey.start(self.core.settings.dial.hotkey, pressed)
        if problem is not None:
            self.tray.notify(APP_NAME, str(problem), error=True)

    def dial_selection(self) -> None:
        """The hotkey: the selected text where the system has a selection (X11), else the
        clipboard."""
        from PySide6.QtGui import QClipboard, QGuiApplication

        from afas_tray.pop.dial import DialError, dial_target

        board = QGuiApplication.clipboard()
        if board.supportsSelection():
            picked = board.text(QClipboard.Mode.Selection).strip()
            try:
                dial_target(picked)
            except DialError:
                picked = ""
            if picked:
                self.call_back(picked)
                return
        self.dial_clipboard()

    def missed_calls(self) -> list[Any]:
        return self.core.missed.recent()

    def missed_unseen(self) -> int:
        return self.core.missed.unseen_count()

    def missed_seen(self) -> None:
        self.core.missed.mark_seen()

    def open_missed_card(self, row: Any) -> None:
        from afas_tray.pop.router import card_url

        url = card_url(self.core.settings.afas.insite_url_template, row.bcid or "")
        if row.bcid and url:
            self.opener.open_url(url)

    def simulate_missed_call(self) -> None:
        if self.demo_env is not None:
            self.demo_env.simulate_missed_call()

    def quit(self) -> None:
        stop = getattr(self, "_hotkey_stop", None)
        if stop is not None:
            stop()
        self._stop.set()

    def _check_tray(self) -> None:
        """GNOME without AppIndicator has no tray: never run invisibly, show a status window."""
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QSystemTrayIcon

        from afas_tray.ui.tray import StatusWindow

        if QSystemTrayIcon.isSystemTrayAvailable():
            if self.window is not None:
                self.window.hide()
            return
        if self.window is None:
            self.window = StatusWindow(self)
            # It appears by itself (no tray host): never take the keyboard from the operator.
            self.window.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating, True)
            self.core.board.subscribe(self.window.show_status)
            self.window.show_status(self.core.board.current)
            self.window.show()  # once: if the operator closes it, that is their choice

    # -- helpers -------------------------------------------------------------------------------
    def _keep(self, widget: Any) -> None:
        self._dialogs = [d for d in self._dialogs if d.isVisible()]
        self._dialogs.append(widget)

    def _notify_once(self, status: Any) -> None:
        """Errors that need the user are shown once, not every sync cycle; so is each new
        refused report."""
        from afas_tray.status import State
        from afas_tray.ui.tray import failed_text

        if status.reports_failed > self._failed_seen:
            self.tray.notify(APP_NAME, failed_text(status), error=True,
                             on_click=self.open_log_folder)
        self._failed_seen = status.reports_failed
        if status.state is not State.ERROR or status.message is None:
            return
        key = status.message.en
        if key in self._notified:
            return
        self._notified.add(key)
        self.tray.notify(APP_NAME, str(status.message), error=True, on_click=self.open_settings)
