"""Match picker and the Qt opener: pick by keyboard, remember, and never take focus unasked."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QLineEdit
from pytestqt.qtbot import QtBot

from afas_tray.pop.router import UnknownCaller
from afas_tray.ui.picker import MatchPicker
from afas_tray.ui.qt_opener import QtOpener
from tests.helpers.ui import CANDIDATES, NUMBER, Browser, PickChoice


def make(qtbot: QtBot, default_index: int = 1) -> MatchPicker:
    picker = MatchPicker(PickChoice(NUMBER, CANDIDATES, default_index))
    qtbot.addWidget(picker)
    return picker


def test_default_is_preselected(qtbot: QtBot, english: None) -> None:
    picker = make(qtbot, default_index=1)
    assert picker.current_index() == 1
    assert picker.list.topLevelItem(1).text(1) == "Jan de Vries"
    assert picker.list.topLevelItem(0).text(2) == "Organisation"
    assert picker.list.topLevelItem(0).text(3) == "ORG-1001"


def test_number_key_picks_that_candidate(qtbot: QtBot, english: None) -> None:
    picker = make(qtbot)
    picker.show()
    with qtbot.waitSignal(picker.picked, timeout=1000) as signal:
        qtbot.keyClick(picker.list, Qt.Key.Key_3)
    assert signal.args == [2, False]
    assert not picker.isVisible()


def test_number_beyond_the_list_does_nothing(qtbot: QtBot, english: None) -> None:
    picker = make(qtbot)
    picker.show()
    with qtbot.assertNotEmitted(picker.picked):
        qtbot.keyClick(picker.list, Qt.Key.Key_7)
    assert picker.isVisible()


def test_enter_opens_default_with_remember_flag(qtbot: QtBot, english: None) -> None:
    picker = make(qtbot, default_index=2)
    picker.show()
    # Click on the tick box itself (the widget is wider than its text).
    box = picker.remember
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))
    assert picker.remember.isChecked()
    with qtbot.waitSignal(picker.picked, timeout=1000) as signal:
        qtbot.keyClick(picker.list, Qt.Key.Key_Return)
    assert signal.args == [2, True]


def test_escape_closes_without_a_pick(qtbot: QtBot, english: None) -> None:
    picker = make(qtbot)
    picker.show()
    with qtbot.waitSignal(picker.dismissed, timeout=1000), qtbot.assertNotEmitted(picker.picked):
        qtbot.keyClick(picker.list, Qt.Key.Key_Escape)
    assert not picker.isVisible()


def test_picker_refuses_focus_until_clicked(qtbot: QtBot, english: None) -> None:
    picker = make(qtbot)
    flags = picker.windowFlags()
    assert flags & Qt.WindowType.WindowDoesNotAcceptFocus
    assert flags & Qt.WindowType.Tool
    assert flags & Qt.WindowType.WindowStaysOnTopHint
    assert picker.testAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
    picker.popup()
    qtbot.waitExposed(picker)
    handle = picker.windowHandle()
    assert handle is not None and handle.flags() & Qt.WindowType.WindowDoesNotAcceptFocus

    # Clicking into the picker hands it the keyboard, without hiding or re-creating the window.
    qtbot.mouseClick(picker.list.viewport(), Qt.MouseButton.LeftButton)
    assert not picker.windowFlags() & Qt.WindowType.WindowDoesNotAcceptFocus
    assert not handle.flags() & Qt.WindowType.WindowDoesNotAcceptFocus
    assert not picker.testAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
    assert picker.isVisible() and picker.windowHandle() is handle
    qtbot.waitUntil(lambda: QApplication.activeWindow() is picker)
    qtbot.keyClick(QApplication.focusWidget() or picker, Qt.Key.Key_1)
    assert not picker.isVisible()  # the key reached the picker


@pytest.mark.skipif(
    os.environ.get("QT_QPA_PLATFORM") == "offscreen",
    reason="the offscreen platform activates every window it shows; needs a real display",
)
def test_picker_leaves_the_typing_window_active(qtbot: QtBot, english: None) -> None:
    typing = QLineEdit()
    qtbot.addWidget(typing)
    typing.show()
    typing.activateWindow()
    typing.setFocus()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is typing)
    picker = make(qtbot)
    picker.popup()
    qtbot.waitExposed(picker)
    qtbot.wait(200)
    assert QApplication.activeWindow() is typing
    qtbot.keyClicks(typing, "abc")
    assert typing.text() == "abc"


def test_opener_picks_remembers_and_opens_the_card(qtbot: QtBot, english: None, browser: Browser) -> None:
    remembered: list[tuple[str, str]] = []
    opener = QtOpener(remember=lambda number, bcid: remembered.append((number, bcid)))
    picker = opener.choose(PickChoice("+31201234567", CANDIDATES, 0))  # type: ignore[arg-type]
    qtbot.addWidget(picker)
    assert picker.isVisible() and opener.windows == [picker]
    picker.remember.setChecked(True)
    qtbot.keyClick(picker.list, Qt.Key.Key_2)
    assert remembered == [("+31201234567", "PRS-2002")]
    assert browser.urls == [CANDIDATES[1].url]
    assert opener.windows == []

    # Without the tick nothing is remembered; the card still opens.
    picker = opener.choose(PickChoice("+31201234567", CANDIDATES, 0))  # type: ignore[arg-type]
    qtbot.addWidget(picker)
    qtbot.keyClick(picker.list, Qt.Key.Key_Enter)
    assert remembered == [("+31201234567", "PRS-2002")]
    assert browser.urls[-1] == CANDIDATES[0].url


def test_unknown_caller_notice_searches_and_copies(qtbot: QtBot, dutch: None, browser: Browser) -> None:
    opener = QtOpener()
    search = "https://12345.afasinsite.nl/zoeken?q=%2B31201234567"
    notice = opener.unknown_caller(UnknownCaller(NUMBER, "+31201234567", search))
    assert notice is not None
    qtbot.addWidget(notice)
    assert notice.windowFlags() & Qt.WindowType.WindowDoesNotAcceptFocus
    assert notice.message.text() == "020 123 4567 staat niet in het AFAS-telefoonboek."
    qtbot.mouseClick(notice.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == NUMBER
    assert notice.search_button is not None
    qtbot.mouseClick(notice.search_button, Qt.MouseButton.LeftButton)
    assert browser.urls == [search]


def test_unknown_caller_without_search_page_offers_copy_only(qtbot: QtBot, english: None) -> None:
    opener = QtOpener()
    notice = opener.unknown_caller(UnknownCaller(NUMBER, "+31201234567", None))
    assert notice is not None
    qtbot.addWidget(notice)
    assert notice.search_button is None
    assert notice.copy_button.text() == "Copy number"


def test_unknown_caller_goes_to_the_tray_when_asked(qtbot: QtBot, english: None) -> None:
    shown: list[tuple[str, str]] = []
    opener = QtOpener(notify=lambda title, message: shown.append((title, message)))
    assert opener.unknown_caller(UnknownCaller(NUMBER, "+31201234567", None)) is None
    assert shown == [("Unknown caller", "020 123 4567 is not in the AFAS phone book.")]


# --- the window and tray icons (drawn from the SVG sources) -----------------------------------


def test_tray_icons_render_each_state_crisply(qapp: QApplication) -> None:
    from PySide6.QtCore import QSize
    from PySide6.QtGui import QColor

    from afas_tray.ui.icons import SIZES, STATES, tray_icon

    def pixel(state: str, x: int, y: int, mask: bool = False) -> QColor:
        return tray_icon(state, mask=mask).pixmap(QSize(64, 64)).toImage().pixelColor(x, y)

    def badge_colour(state: str) -> QColor:
        return pixel(state, 40, 22)  # inside the state badge (top right), beside its glyph

    for state in STATES:
        for mask in (False, True):
            icon = tray_icon(state, mask=mask)
            assert icon.isMask() == mask
            for size in SIZES:
                pixmap = icon.pixmap(QSize(size, size))
                assert pixmap.width() == size
                assert not pixmap.toImage().isNull()
            hidpi = icon.pixmap(QSize(32, 32), 2.0)
            assert hidpi.width() == 64  # drawn at 64 px, not an upscaled 32
    assert badge_colour("error").red() > 180 and badge_colour("error").green() < 80
    assert badge_colour("syncing").green() > badge_colour("syncing").red()
    assert badge_colour("idle") != badge_colour("error")
    mask_glyph = pixel("error", 48, 12, mask=True)  # the "!" of the mask icon
    assert mask_glyph.alpha() == 255
    assert (mask_glyph.red(), mask_glyph.green(), mask_glyph.blue()) == (0, 0, 0)
    assert pixel("error", 60, 60, mask=True).alpha() == 0  # no tile: the menu bar shows through
    with pytest.raises(ValueError):
        tray_icon("exploded")
