"""The tray menu and the status window offer only what can act now."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMenu

from afas_tray.status import State, Status
from afas_tray.ui.tray import StatusWindow, build_menu
from tests.helpers.ui import ShotController


@pytest.mark.parametrize(("state", "enabled"), [
    (State.NOT_CONFIGURED, False), (State.IDLE, True), (State.ERROR, True),
    (State.SYNCING, True), (State.PAUSED, True),
])
def test_sync_now_waits_until_afas_is_set_up(english: None, state: State, enabled: bool) -> None:
    """On a fresh desk "Sync now" did nothing; now it is greyed out until AFAS is filled in."""
    controller = ShotController([], [])
    menu = QMenu()
    build_menu(menu, controller, Status(state=state))  # type: ignore[arg-type]
    [sync] = [a for a in menu.actions() if a.text() == "Sync now"]
    assert sync.isEnabled() is enabled
    window = StatusWindow(controller)  # type: ignore[arg-type]
    window.show_status(Status(state=state))
    assert window.sync_button.isEnabled() is enabled
    window.show_status(Status(state=State.IDLE))  # set up meanwhile
    assert window.sync_button.isEnabled()
