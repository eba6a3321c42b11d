"""Composition root: the one place that wires the core to Qt (tray, dialogs, single instance).

One asyncio loop runs inside Qt through qasync; the core never imports Qt widgets.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from afas_tray import APP_NAME, __version__, autostart
from afas_tray.handoff import (
    HandoffError,
    event_from_line,
    event_to_line,
    is_call_url,
    parse_call_url,
)
from afas_tray.instance_client import instance_name, send_to_instance
from afas_tray.logs import setup_logging
from afas_tray.profile import Profile

log = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    demo_env = None
    if "--demo" in args:
        from afas_tray.demo.environment import DemoEnvironment

        demo_env = DemoEnvironment()
        demo_settings = demo_env.start()  # sets AFAS_TRAY_HOME to a throw-away profile
    profile = Profile.open()
    setup_logging(profile.paths, console=bool(os.environ.get("AFAS_TRAY_DEBUG")))
    name = instance_name(profile.paths)
    urls = [a for a in args if is_call_url(a)]
    lines: list[str] = []
    for url in urls:
        try:
            lines.append(event_to_line(parse_call_url(url)))
        except HandoffError as exc:
            print(f"afas-tray: {exc.message}", file=sys.stderr)
            return 2
    # A second start (URL scheme, double-click) hands its calls to the running instance.
    if lines and demo_env is None and all(send_to_instance(name, line) for line in lines):
        return 0

    import qasync
    from PySide6.QtWidgets import QApplication

    from afas_tray.ui.single_instance import SingleInstanceServer

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setQuitOnLastWindowClosed(False)
    server = SingleInstanceServer(name)
    if not server.listen():
        if lines and all(send_to_instance(name, line) for line in lines):
            return 0
        print(f"afas-tray: {server.error_text() or 'AFAS Tray is already running.'}", file=sys.stderr)
        return 1

    if demo_env is not None:
        profile.save(demo_settings)
    loaded = profile.load()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    shell = TrayShell(app, profile, loaded, demo_env=demo_env)
    server.received.connect(shell.on_instance_message)
    url_events = _UrlOpenFilter(shell)  # macOS delivers afas-tray:// URLs as QFileOpenEvent
    app.installEventFilter(url_events)
    for line in lines:
        shell.on_instance_message(line)
    signal.signal(signal.SIGINT, lambda *_: shell.quit())
    signal.signal(signal.SIGTERM, lambda *_: shell.quit())
    try:
        with loop:
            loop.run_until_complete(shell.run())
    finally:
        server.close()
        if demo_env is not None:
            demo_env.stop()
    return 0


def _UrlOpenFilter(shell: TrayShell) -> Any:
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtGui import QFileOpenEvent

    class UrlOpenFilter(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.FileOpen and isinstance(event, QFileOpenEvent):
                url = event.url().toString()
                if is_call_url(url):
                    try:
                        shell.on_instance_message(event_to_line(parse_call_url(url)))
                    except HandoffError as exc:
                        log.warning("refused URL: %s", exc.message.en)
                    return True
            return False

    return UrlOpenFilter()


class TrayShell:
    """Owns the AppCore and the Qt pieces; implements the tray's Controller."""

    def __init__(self, app: Any, profile: Profile, loaded: Any, *, demo_env: Any = None) -> None:
        from afas_tray import i18n
        from afas_tray.core import AppCore
        from afas_tray.ui.i18n_qt import install_translator
        from afas_tray.ui.qt_opener import QtOpener
        from afas_tray.ui.tray import StatusWindow, Tray

        self.app = app
        self.profile = profile
        self.demo = demo_env is not None
        self.demo_env = demo_env
        settings = loaded.settings
        install_translator(app, settings.ui.language)
        i18n.set_language(None if settings.ui.language == "system" else settings.ui.language)
        self._stop = asyncio.Event()
        self.opener = QtOpener(remember=self._remember, notify=None)
        self.core = AppCore(profile, settings, self.opener)
        from afas_tray.ui.network_watch import NetworkWatch

        self.network_watch = NetworkWatch(self.core.network_changed)
        self.network_watch.start()  # reconnect Xelion as soon as the network is back
        # The tray host may claim the tray a moment after we start (seen with tint2, panels
        # restarting at login): show the icon now, and only if no tray turns up, a status window.
        self.tray: Tray = Tray(self)
        self.tray.show()
        self.core.board.subscribe(self.tray.show_status)
        self.tray.show_status(self.core.board.current)
        self.window: StatusWindow | None = None
        from PySide6.QtCore import QTimer

        self._tray_timer = QTimer()
        self._tray_timer.setInterval(3000)
        self._tray_timer.timeout.connect(self._check_tray)
        self._tray_timer.start()
        self._notified: set[str] = set()
        self.core.board.subscribe(self._notify_once)
        self._open_settings_at_start = loaded.first_run or loaded.problem is not None \
            or not self.core.configured
        self._problem = loaded.problem
        self._first_run = loaded.first_run
        self._dialogs: list[Any] = []

    def _remember(self, number: str, bcid: str) -> None:
        self.core.router.remember_choice(number, bcid)

    async def run(self) -> None:
        import gc

        await self.core.start()
        # Everything made at start-up lives as long as the app: keep it out of the collector's
        # full passes, which otherwise stall the loop for tens of milliseconds.
        gc.collect()
        gc.freeze()
        if self._open_settings_at_start:
            self.open_settings()
        await self._stop.wait()
        await self.core.stop()

    # -- Controller ------------------------------------------------------------------------
    def on_instance_message(self, line: str) -> None:
        try:
            event = event_from_line(line)
        except HandoffError as exc:
            log.warning("refused hand-off: %s", exc.message.en)
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
        from afas_tray.calls import card_url

        url = card_url(self.core.settings.afas.insite_url_template, call.match_bcid or "",
                       getattr(call, "match_number", ""))
        if call.match_bcid and url:
            self.opener.open_url(url)

    def write_report(self, call: Any) -> None:
        from datetime import datetime

        from afas_tray.ui.report_dialog import CallReportDialog

        matches = self.core.router.match_for_call(call.call_id) if call.call_id else []
        if not matches:
            matches = self.core.book.lookup(call.number, self.core.settings.phone.default_region)
        dialog = CallReportDialog(
            number=call.number, time=datetime.fromtimestamp(call.time), direction=call.direction,
            duration="", candidates=matches, selected=0 if len(matches) == 1 else None,
            empty_subject=self.core.settings.afas.empty_subject_text,
        )
        dialog.saved.connect(lambda subject, text, bcid, contact: self._save_report(
            call, subject, text, bcid, contact))
        self._keep(dialog)
        dialog.show()

    def _save_report(self, call: Any, subject: str, text: str, bcid: str, contact_id: str) -> None:
        result = self.core.save_report(call.call_id, subject, text, bcid or None, contact_id)
        log.info("report for call %s: %s", call.call_id, result.name)

    def open_settings(self) -> None:
        from afas_tray.doctor import run_checks
        from afas_tray.ui.settings_dialog import SettingsDialog

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
            self._pending = asyncio.ensure_future(self.core.apply_settings(dialog.result_settings()))
            self._apply_autostart(dialog.start_at_login.isChecked())

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

    def quit(self) -> None:
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
        """Errors that need the user are shown once, not every sync cycle."""
        from afas_tray.status import State

        if status.state is not State.ERROR or status.message is None:
            return
        key = status.message.en
        if key in self._notified:
            return
        self._notified.add(key)
        self.tray.notify(APP_NAME, str(status.message), error=True, on_click=self.open_settings)
