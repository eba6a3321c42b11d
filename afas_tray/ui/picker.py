"""Match picker: several relations share the caller's number; the operator picks one.

It shows without taking keyboard focus (an operator may be typing elsewhere during a call) and
accepts focus only once the user clicks into it; then 1–9, Enter and Esc work.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from afas_tray.ui.icons import app_icon

MAX_ROWS_SHOWN = 9


class CandidateLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> object: ...  # RelationKind or its string value
    @property
    def bcid(self) -> str: ...
    @property
    def url(self) -> str: ...


class ChoiceLike(Protocol):
    @property
    def number(self) -> str: ...
    @property
    def candidates(self) -> Sequence[CandidateLike]: ...
    @property
    def default_index(self) -> int | None: ...


def kind_label(kind: object) -> str:
    """The relation kind in the UI language."""
    value = str(getattr(kind, "value", kind))
    if value == "organisation":
        return QCoreApplication.translate("Relation", "Organisation")
    if value == "person":
        return QCoreApplication.translate("Relation", "Person")
    if value == "contact":
        return QCoreApplication.translate("Relation", "Contact person")
    return value


def hint_label(text: str) -> QLabel:
    """Small grey explanatory text (readable, unlike a disabled label)."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setObjectName("hint")
    palette = label.palette()
    palette.setColor(
        QPalette.ColorRole.WindowText, palette.color(QPalette.ColorRole.PlaceholderText)
    )
    label.setPalette(palette)
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 0.9)
    label.setFont(font)
    return label


# --- showing without stealing focus ------------------------------------------------------------


class _FocusOnClick(QObject):
    """Gives the window keyboard focus once the user clicks anywhere inside it."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.MouseButtonPress:
            accept_focus(self._window)
        return False


def keep_focus_elsewhere(window: QWidget) -> None:
    """Make ``window`` show without activating and refuse focus until clicked.

    Call after the window's children exist (they get the click watcher too) and before show().
    """
    window.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating, True)
    window.setWindowFlag(Qt.WindowType.WindowDoesNotAcceptFocus, True)
    watcher = _FocusOnClick(window)
    window.installEventFilter(watcher)
    for child in window.findChildren(QWidget):
        child.installEventFilter(watcher)


def accept_focus(window: QWidget) -> None:
    """The user clicked into ``window``: from now on it may take focus and keys."""
    if not window.windowFlags() & Qt.WindowType.WindowDoesNotAcceptFocus:
        return
    flags = window.windowFlags() & ~Qt.WindowType.WindowDoesNotAcceptFocus
    # overrideWindowFlags + the QWindow flag change the live window; setWindowFlags would hide it.
    window.overrideWindowFlags(flags)
    handle = window.windowHandle()
    if handle is not None:
        handle.setFlag(Qt.WindowType.WindowDoesNotAcceptFocus, False)
    window.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating, False)
    window.activateWindow()
    window.raise_()


def place_near_tray(window: QWidget) -> None:
    """Bottom-right of the primary screen's free area, where the tray usually is."""
    screen = QApplication.primaryScreen()
    if screen is None:
        return
    window.adjustSize()
    area = screen.availableGeometry()
    margin = 16
    window.move(
        area.right() - window.width() - margin,
        area.bottom() - window.height() - margin,
    )


# --- the picker ------------------------------------------------------------------------------------


class MatchPicker(QWidget):
    """Small always-on-top tool window listing the relations that share a number."""

    picked = Signal(int, bool)  # candidate index, remember for this number
    dismissed = Signal()  # closed without a choice

    def __init__(self, choice: ChoiceLike, parent: QWidget | None = None, *,
                 number_text: str | None = None) -> None:
        super().__init__(
            parent,
            Qt.WindowType.Tool
            | Qt.WindowType.WindowStaysOnTopHint
            | Qt.WindowType.WindowDoesNotAcceptFocus,
        )
        self.choice = choice
        self._done = False
        self.setObjectName("MatchPicker")
        self.setWindowTitle(self.tr("Choose a relation — AFAS Tray"))
        self.setWindowIcon(app_icon())

        layout = QVBoxLayout(self)
        self.header = QLabel(self.tr("Several relations use {number}").format(
            number=number_text or choice.number))
        font = self.header.font()
        font.setBold(True)
        self.header.setFont(font)
        layout.addWidget(self.header)

        self.list = QTreeWidget()
        self.list.setRootIsDecorated(False)
        self.list.setUniformRowHeights(True)
        self.list.setAllColumnsShowFocus(True)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setHeaderLabels(["#", self.tr("Name"), self.tr("Kind"), self.tr("BcId")])
        for i, cand in enumerate(choice.candidates):
            key = str(i + 1) if i < 9 else ""
            QTreeWidgetItem(self.list, [key, cand.name, kind_label(cand.kind), cand.bcid])
        header = self.list.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        rows = min(len(choice.candidates), MAX_ROWS_SHOWN)
        row_h = self.list.sizeHintForRow(0) if choice.candidates else 20
        # Exactly as tall as the rows (up to nine), instead of the view's generous default.
        self.list.setFixedHeight(
            header.sizeHint().height() + max(rows, 1) * row_h + 2 * self.list.frameWidth() + 2
        )
        self.list.setMinimumWidth(460)
        self.list.itemDoubleClicked.connect(lambda *_: self.accept_current())
        layout.addWidget(self.list)

        self.remember = QCheckBox(self.tr("Remember for this number"))
        layout.addWidget(self.remember)
        self.keys_hint = hint_label(self.tr("1–9 picks · Enter opens · Esc closes"))
        layout.addWidget(self.keys_hint)

        buttons = QDialogButtonBox()
        self.open_button = QPushButton(self.tr("Open card"))
        self.open_button.setDefault(True)
        self.close_button = QPushButton(self.tr("Close"))
        buttons.addButton(self.open_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.close_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.open_button.clicked.connect(self.accept_current)
        self.close_button.clicked.connect(self.close)
        layout.addWidget(buttons)

        default = choice.default_index
        if default is None or not 0 <= default < len(choice.candidates):
            default = 0
        first = self.list.topLevelItem(default)
        if first is not None:
            self.list.setCurrentItem(first)
        self.list.installEventFilter(self)
        keep_focus_elsewhere(self)

    def current_index(self) -> int:
        item = self.list.currentItem()
        return self.list.indexOfTopLevelItem(item) if item is not None else -1

    def popup(self) -> None:
        """Show near the tray without taking focus."""
        place_near_tray(self)
        self.show()

    def accept_current(self) -> None:
        self.pick(self.current_index())

    def pick(self, index: int) -> None:
        if self._done or not 0 <= index < len(self.choice.candidates):
            return
        self._done = True
        self.picked.emit(index, self.remember.isChecked())
        self.close()

    def _handle_key(self, event: QKeyEvent) -> bool:
        key = event.key()
        if Qt.Key.Key_1 <= key <= Qt.Key.Key_9 and not event.modifiers() & (
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
        ):
            self.pick(key - Qt.Key.Key_1)
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.accept_current()
            return True
        if key == Qt.Key.Key_Escape:
            self.close()
            return True
        return False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # The list would use digits for type-ahead search; the picker wants them first.
        if watched is self.list and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            return self._handle_key(event)
        return super().eventFilter(watched, event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if not self._handle_key(event):
            super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._done:
            self._done = True
            self.dismissed.emit()
        super().closeEvent(event)
