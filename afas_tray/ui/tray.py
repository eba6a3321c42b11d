"""The tray icon and its menu; a small status window where no tray exists.

The menu is rebuilt on ``aboutToShow`` so it always shows the current state and recent calls.
All actions go to a controller (the composition root), the widgets hold no logic.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Protocol

from PySide6.QtCore import QCoreApplication, QObject, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSystemTrayIcon,
    QVBoxLayout,
    QWidget,
)

from afas_tray import APP_NAME
from afas_tray.status import State, Status
from afas_tray.ui.dial_menu import add_call_back, add_dial_entries, badge_icon
from afas_tray.ui.icons import tray_icon

log = logging.getLogger(__name__)
IS_MAC = sys.platform == "darwin"


class Controller(Protocol):
    demo: bool

    def sync_now(self) -> None: ...
    def toggle_pause(self) -> None: ...
    def is_paused(self) -> bool: ...
    def recent_calls(self) -> Sequence[Any]: ...
    def open_recent(self, call: Any) -> None: ...
    def write_report(self, call: Any) -> None: ...
    def can_write_report(self, call: Any) -> bool: ...
    def failed_reports(self) -> Sequence[Any]: ...  # outbox.OutboxRow, oldest first
    def retry_report(self, key: str | None) -> None: ...  # None: every failed report
    def open_settings(self) -> None: ...
    def open_log_folder(self) -> None: ...
    def show_about(self) -> None: ...
    def simulate_call(self) -> None: ...
    def quit(self) -> None: ...


def state_title(status: Status) -> str:
    return {
        State.IDLE: QCoreApplication.translate("Tray", "Up to date"),
        State.SYNCING: QCoreApplication.translate("Tray", "Syncing…"),
        State.ERROR: QCoreApplication.translate("Tray", "Needs attention"),
        State.PAUSED: QCoreApplication.translate("Tray", "Sync paused"),
        State.NOT_CONFIGURED: QCoreApplication.translate("Tray", "Not set up yet"),
    }[status.shown_state]


def failed_text(status: Status) -> str:
    """The line that says AFAS refused reports, in AFAS's own words when it gave them."""
    n = status.reports_failed
    text = (QCoreApplication.translate("Tray", "AFAS refused a report")
            if n == 1 else QCoreApplication.translate("Tray", "AFAS refused %1 reports").replace(
                "%1", str(n)))
    if status.reports_failed_message is not None:
        text += ": " + str(status.reports_failed_message)
    return text


def tooltip_text(status: Status, now: float | None = None) -> str:
    lines = [f"{APP_NAME} — {state_title(status)}"]
    if status.state is State.SYNCING and status.progress is not None:
        lines[0] += f" {int(status.progress * 100)}%"
    if status.message is not None:
        lines.append(str(status.message))
    if status.reports_failed:
        lines.append(failed_text(status))
    if status.last_sync:
        age = max(0, int(((now or time.time()) - status.last_sync) // 60))
        when = time.strftime("%H:%M", time.localtime(status.last_sync))
        lines.append(QCoreApplication.translate("Tray", "Last sync: %1 (%2 min ago)").replace("%1", when).replace("%2", str(age)))
    else:
        lines.append(QCoreApplication.translate("Tray", "Last sync: never"))
    lines.append(QCoreApplication.translate("Tray", "Phone book: %1 relations").replace("%1", f"{status.book_size:,}".replace(",", ".")))
    lines.append(QCoreApplication.translate("Tray", "Reports waiting: %1").replace("%1", str(status.outbox_backlog)))
    if status.xelion is not None:
        lines.append(QCoreApplication.translate("Tray", "Xelion: %1").replace("%1", str(status.xelion)))
    return "\n".join(lines)


def call_label(call: Any, show: Callable[[str], str] | None = None) -> str:
    when = time.strftime("%H:%M", time.localtime(call.time))
    who = call.match_name or QCoreApplication.translate("Tray", "unknown")
    number = show(call.number) if show is not None else call.number
    return f"{when}  {number} — {who}"


def build_menu(menu: QMenu, controller: Controller, status: Status) -> None:
    """Fill ``menu`` with the current actions (also used by the status window's button)."""
    menu.clear()
    head = menu.addAction(f"{APP_NAME}: {state_title(status)}")
    head.setEnabled(False)
    if status.message is not None:
        msg = menu.addAction(str(status.message)[:120])
        msg.setEnabled(False)
    if status.reports_failed:
        # AFAS's words on lines of their own (a menu item does not wrap); the tooltip has all.
        for line in _wrapped(failed_text(status)):
            refused = menu.addAction(line)
            refused.setToolTip(failed_text(status))
            refused.setEnabled(False)
        menu.setToolTipsVisible(True)
    menu.addSeparator()
    sync = menu.addAction(QCoreApplication.translate("Tray", "Sync now"), controller.sync_now)
    sync.setEnabled(status.can_sync)  # nothing to sync from until AFAS is set up
    recent = menu.addMenu(QCoreApplication.translate("Tray", "Recent calls"))
    calls = list(controller.recent_calls())[:15]
    if not calls:
        empty = recent.addAction(QCoreApplication.translate("Tray", "No calls yet"))
        empty.setEnabled(False)
    for call in calls:
        sub = recent.addMenu(call_label(call, getattr(controller, "display_number", None)))
        open_act = sub.addAction(QCoreApplication.translate("Tray", "Open card"))
        open_act.triggered.connect(partial(controller.open_recent, call))
        open_act.setEnabled(bool(call.match_bcid))
        report_act = sub.addAction(QCoreApplication.translate("Tray", "Write report…"))
        report_act.triggered.connect(partial(controller.write_report, call))
        report_act.setEnabled(controller.can_write_report(call))
        add_call_back(sub, controller, call)
    add_dial_entries(menu, controller)
    build_reports_menu(menu, controller, status)
    if controller.demo:
        menu.addAction(QCoreApplication.translate("Tray", "Simulate incoming call"), controller.simulate_call)
    menu.addAction(QCoreApplication.translate("Tray", "Resume sync") if controller.is_paused() else QCoreApplication.translate("Tray", "Pause sync"),
                   controller.toggle_pause)
    _add_pop_pause(menu, controller)
    menu.addSeparator()
    menu.addAction(QCoreApplication.translate("Tray", "Settings…"), controller.open_settings)
    menu.addAction(QCoreApplication.translate("Tray", "Open log folder"), controller.open_log_folder)
    menu.addAction(QCoreApplication.translate("Tray", "About %1").replace("%1", APP_NAME), controller.show_about)
    menu.addSeparator()
    menu.addAction(QCoreApplication.translate("Tray", "Quit"), controller.quit)


def _add_pop_pause(menu: QMenu, controller: Any) -> None:
    """"Pause caller pop" (an hour / until resumed), or "Resume caller pop" while paused."""
    if not hasattr(controller, "pop_paused"):
        return
    if controller.pop_paused():
        menu.addAction(QCoreApplication.translate("Tray", "Resume caller pop"), controller.resume_pop)
        return
    sub = menu.addMenu(QCoreApplication.translate("Tray", "Pause caller pop"))
    sub.addAction(QCoreApplication.translate("Tray", "For an hour"),
                  partial(controller.pause_pop, 3600.0))
    sub.addAction(QCoreApplication.translate("Tray", "Until resumed"),
                  partial(controller.pause_pop, None))


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _wrapped(text: str, width: int = 64, lines: int = 3) -> list[str]:
    """``text`` in menu-sized lines, at word boundaries; the last one cut with an ellipsis."""
    import textwrap

    out = textwrap.wrap(" ".join(text.split()), width) or [""]
    if len(out) > lines:
        out = [*out[: lines - 1], _short(" ".join(out[lines - 1:]), width)]
    return out


def build_reports_menu(menu: QMenu, controller: Controller, status: Status) -> QMenu:
    """Reports ▸ waiting · failed, each refused report with AFAS's words and Retry; Open log."""
    title = QCoreApplication.translate("Tray", "Reports")
    if status.reports_failed:
        title = QCoreApplication.translate("Tray", "Reports (%1 failed)").replace(
            "%1", str(status.reports_failed))
    reports = menu.addMenu(title)
    reports.setObjectName("ReportsMenu")
    queued = reports.addAction(QCoreApplication.translate("Tray", "On their way to AFAS: %1").replace(
        "%1", str(status.outbox_backlog)))
    queued.setEnabled(False)
    if status.reports_waiting:
        held = reports.addAction(QCoreApplication.translate(
            "Tray", "Waiting for a relation or pick: %1").replace("%1", str(status.reports_waiting)))
        held.setEnabled(False)
    failed_head = reports.addAction(QCoreApplication.translate("Tray", "Failed: %1").replace(
        "%1", str(status.reports_failed)))
    failed_head.setEnabled(False)
    rows = list(controller.failed_reports()) if status.reports_failed else []
    if rows:
        reports.addSeparator()
    for row in rows[-10:]:  # the newest ten; the log and `afas-tray outbox` have them all
        when = time.strftime("%d-%m %H:%M", time.localtime(row.created))
        sub = reports.addMenu(_short(f"{when}  {row.item.subject}", 60))
        if row.last_message is not None:
            for line in _wrapped(str(row.last_message)):
                why = sub.addAction(line)
                why.setToolTip(str(row.last_message))
                why.setEnabled(False)
            sub.setToolTipsVisible(True)
        retry = sub.addAction(QCoreApplication.translate("Tray", "Retry"))
        retry.triggered.connect(partial(controller.retry_report, row.key))
    reports.addSeparator()
    retry_all = reports.addAction(QCoreApplication.translate("Tray", "Retry all failed"))
    retry_all.triggered.connect(partial(controller.retry_report, None))
    retry_all.setEnabled(bool(status.reports_failed))
    reports.addAction(QCoreApplication.translate("Tray", "Open log folder"), controller.open_log_folder)
    return reports


class Tray(QObject):
    """QSystemTrayIcon whose look says the state; left click syncs (the menu on macOS), or
    opens the settings while AFAS is not set up."""

    def __init__(self, controller: Controller, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.status = Status()
        self.icon = QSystemTrayIcon()
        self.menu = QMenu()
        self.menu.aboutToShow.connect(self._rebuild)
        build_menu(self.menu, controller, self.status)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self.show_status(self.status)
        self.on_message_clicked: Callable[[], None] | None = None
        self.icon.messageClicked.connect(self._message_clicked)

    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    def show_status(self, status: Status) -> None:
        self.status = status
        # The unseen missed calls show as a count on the icon (issue 16).
        self.icon.setIcon(badge_icon(tray_icon(status.shown_state.value, mask=IS_MAC),
                                     getattr(self, "missed_count", 0)))
        self.icon.setToolTip(tooltip_text(status))

    def set_missed_count(self, count: int) -> None:
        self.missed_count = count
        self.show_status(self.status)

    def notify(self, title: str, text: str, *, error: bool = False,
               on_click: Callable[[], None] | None = None) -> None:
        self.on_message_clicked = on_click
        kind = QSystemTrayIcon.MessageIcon.Warning if error else QSystemTrayIcon.MessageIcon.Information
        self.icon.showMessage(title, text, kind, 8000)

    def _message_clicked(self) -> None:
        if self.on_message_clicked:
            self.on_message_clicked()

    def _rebuild(self) -> None:
        build_menu(self.menu, self.controller, self.status)
        # What the operator saw at the top of the menu, for support (and the X11 test): the
        # state and its messages, never a call's number.
        head = [a.text() for a in self.menu.actions()]
        head = head[: head.index("") if "" in head else len(head)]
        log.info("tray menu opened: %s", " | ".join(head))

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        log.info("tray icon activated: %s", reason.name)
        # Windows/Linux: a left click syncs; macOS opens the menu on click by convention. On a
        # desk not set up yet there is nothing to sync: the click opens the settings instead.
        if reason == QSystemTrayIcon.ActivationReason.Trigger and not IS_MAC:
            if self.status.can_sync:
                self.controller.sync_now()
            else:
                self.controller.open_settings()


class StatusWindow(QWidget):
    """Where no tray exists (GNOME without AppIndicator): the same state and actions, visibly."""

    def __init__(self, controller: Controller) -> None:
        super().__init__()
        self.controller = controller
        self._status = Status()
        self.setWindowTitle(APP_NAME)
        self.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint, False)
        self.icon_label = QLabel()
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.menu = QMenu(self)
        self.menu.aboutToShow.connect(lambda: build_menu(self.menu, controller, self._status))
        sync = self.sync_button = QPushButton(QCoreApplication.translate("Tray", "Sync now"))
        sync.clicked.connect(controller.sync_now)
        more = QPushButton(QCoreApplication.translate("Tray", "Menu"))
        more.setMenu(self.menu)
        top = QHBoxLayout()
        top.addWidget(self.icon_label)
        top.addWidget(self.text, 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(sync)
        buttons.addWidget(more)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(buttons)
        self.show_status(self._status)
        self.setMinimumWidth(360)

    def show_status(self, status: Status) -> None:
        self._status = status
        self.sync_button.setEnabled(status.can_sync)
        icon: QIcon = tray_icon(status.shown_state.value)
        self.icon_label.setPixmap(icon.pixmap(48, 48))
        self.text.setText(tooltip_text(status))
        self.setWindowIcon(icon)
