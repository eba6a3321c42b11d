"""Call report dialog: a relation is required, subject limit, keyboard-only saving."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog
from pytestqt.qtbot import QtBot

from afas_tray.events import Direction
from afas_tray.ui.report_dialog import CallReportDialog
from tests.helpers.ui import CANDIDATES, NUMBER


def make(qtbot: QtBot, selected: int | None = None, **kwargs: object) -> CallReportDialog:
    dialog = CallReportDialog(
        number=NUMBER,
        time=datetime(2025, 11, 25, 10, 42),
        direction=Direction.INCOMING,
        duration="3:12",
        candidates=CANDIDATES,
        selected=selected,
        **kwargs,  # type: ignore[arg-type]
    )
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_call_is_described(qtbot: QtBot, dutch: None) -> None:
    dialog = make(qtbot, 0)
    assert dialog.call_label.text() == f"Inkomend gesprek met {NUMBER} · 25-11-2025 10:42 · 3:12"


def test_save_needs_a_relation(qtbot: QtBot, english: None) -> None:
    dialog = make(qtbot, None)
    assert dialog.relation.currentText() == "Choose…"
    assert not dialog.save_button.isEnabled()
    with qtbot.assertNotEmitted(dialog.saved):
        qtbot.keyClick(dialog, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert dialog.isVisible()
    dialog.relation.setCurrentIndex(2)  # "Choose…" is item 0
    assert dialog.selected_candidate() == CANDIDATES[1]
    assert dialog.save_button.isEnabled()


def test_matched_relation_is_preselected(qtbot: QtBot, english: None) -> None:
    dialog = make(qtbot, 1)
    assert dialog.relation.findText("Choose…") == -1
    assert dialog.selected_candidate() == CANDIDATES[1]
    assert dialog.save_button.isEnabled()


def test_subject_is_limited_to_255_with_a_counter(qtbot: QtBot, english: None) -> None:
    dialog = make(qtbot, 0, subject="x" * 300)
    assert len(dialog.subject.text()) == 255
    assert dialog.counter.text() == "255/255"
    dialog.subject.clear()
    qtbot.keyClicks(dialog.subject, "Offerte")
    assert dialog.counter.text() == "7/255"
    qtbot.keyClicks(dialog.subject, "y" * 260)
    assert len(dialog.subject.text()) == 255


def test_ctrl_enter_saves_subject_text_and_relation(qtbot: QtBot, english: None) -> None:
    dialog = make(qtbot, 2)
    qtbot.keyClicks(dialog.subject, "  Offerte nieuwe oven ")
    dialog.text.setFocus()
    qtbot.keyClicks(dialog.text, "Terugbellen donderdag.")
    with qtbot.waitSignal(dialog.saved, timeout=1000) as signal:
        qtbot.keyClick(dialog.text, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert signal.args == ["Offerte nieuwe oven", "Terugbellen donderdag.", "ORG-1003", "C-77"]
    assert dialog.result() == QDialog.DialogCode.Accepted


def test_ctrl_enter_in_subject_saves_but_plain_enter_does_not(qtbot: QtBot, english: None) -> None:
    dialog = make(qtbot, 0)
    dialog.activateWindow()
    dialog.subject.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.subject)
    with qtbot.assertNotEmitted(dialog.saved):
        qtbot.keyClick(dialog.subject, Qt.Key.Key_Return)
    assert dialog.isVisible()
    with qtbot.waitSignal(dialog.saved, timeout=1000) as signal:
        qtbot.keyClick(dialog.subject, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert signal.args == ["", "", "ORG-1001", ""]  # empty subject: the outbox fills it in


def test_keyboard_only_tab_order_and_escape(qtbot: QtBot, english: None) -> None:
    dialog = make(qtbot, None)
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.relation)
    order = [dialog.relation]
    for _ in range(4):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        order.append(QApplication.focusWidget())
    # Tab leaves the text box instead of inserting a tab; Save is skipped while disabled.
    assert order == [
        dialog.relation,
        dialog.subject,
        dialog.text,
        dialog.cancel_button,
        dialog.relation,
    ]
    with qtbot.assertNotEmitted(dialog.saved):
        qtbot.keyClick(dialog.subject, Qt.Key.Key_Escape)
    assert dialog.result() == QDialog.DialogCode.Rejected
    assert not dialog.isVisible()
