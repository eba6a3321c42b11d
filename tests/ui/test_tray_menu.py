"""The tray menu, the status window and a click on the icon offer only what can act now."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from afas_tray.status import State, Status
from afas_tray.ui.tray import IS_MAC, StatusWindow, Tray, build_menu
from tests.helpers.ui import ShotController


@pytest.mark.parametrize(("state", "enabled"), [
    (State.NOT_CONFIGURED, False), (State.IDLE, True), (State.ERROR, True),
    (State.SYNCING, True), (State.PAUSED, True),
])
def test_sync_now_waits_until_afas_is_set_up(english: None, state: State, enabled: bool) -> None:
    """On a fresh desk "Sync now" did nothing; now it is greyed out until AFAS is filled in."""
    controller = ShotController([], [])
    menu = QMenu()
    build_menu(menu, controller, Status(state=state))
    [sync] = [a for a in menu.actions() if a.text() == "Sync now"]
    assert sync.isEnabled() is enabled
    window = StatusWindow(controller)
    window.show_status(Status(state=state))
    assert window.sync_button.isEnabled() is enabled
    window.show_status(Status(state=State.IDLE))  # set up meanwhile
    assert window.sync_button.isEnabled()


class _Clicks(ShotController):
    def __init__(self) -> None:
        super().__init__([], [])
        self.done: list[str] = []

    def sync_now(self) -> None:
        self.done.append("sync")

    def open_settings(self) -> None:
        self.done.append("settings")


@pytest.mark.skipif(IS_MAC, reason="a click opens the menu on macOS")
def test_a_click_on_the_icon_of_a_desk_not_set_up_opens_the_settings(english: None) -> None:
    controller = _Clicks()
    tray = Tray(controller)
    tray.show_status(Status(state=State.NOT_CONFIGURED))
    tray._activated(QSystemTrayIcon.ActivationReason.Trigger)
    tray.show_status(Status(state=State.IDLE))
    tray._activated(QSystemTrayIcon.ActivationReason.Trigger)
    tray._activated(QSystemTrayIcon.ActivationReason.Context)  # the menu: neither
    assert controller.done == ["settings", "sync"]
