"""Call report dialog: subject, text and relation for one finished call; save goes to the outbox.

Usable from the keyboard alone: relation → subject → text → Save, Ctrl+Enter saves, Esc cancels.
For a caller the phone book does not know, a search field (name or number) fills the relation
list, so the report can be linked by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from afas_tray.afas.knsubject import MAX_SUBJECT_CHARS
from afas_tray.ui.icons import app_icon
from afas_tray.ui.picker import hint_label, kind_label

SEARCH_DELAY_MS = 250  # search once the operator pauses typing, not on every key


class RelationLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> object: ...
    @property
    def bcid(self) -> str: ...


class CallReportDialog(QDialog):
    """Write the dossier item for one call. ``saved`` carries what goes to the outbox."""

    saved = Signal(str, str, str, str)  # subject, text, bcid, contact_id

    def __init__(
        self,
        *,
        number: str,
        time: datetime | str,
        direction: object,
        duration: str,
        candidates: Sequence[RelationLike],
        selected: int | None = None,
        subject: str = "",
        text: str = "",
        empty_subject: str = "",
        search: Callable[[str], Sequence[RelationLike]] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("CallReportDialog")
        self.setWindowTitle(self.tr("Call report — AFAS Tray"))
        self.setWindowIcon(app_icon())
        self.candidates = list(candidates)

        layout = QVBoxLayout(self)
        when = time.strftime("%d-%m-%Y %H:%M") if isinstance(time, datetime) else str(time)
        # A call whose end the desktop never saw has no duration: no dangling separator then.
        heading = (self.tr("{direction} call with {number} · {time} · {duration}") if duration
                   else self.tr("{direction} call with {number} · {time}"))
        self.call_label = QLabel(
            heading.format(
                direction=self._direction_text(direction),
                number=number,
                time=when,
                duration=duration,
            )
        )
        self.call_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.call_label.font()
        font.setBold(True)
        self.call_label.setFont(font)
        layout.addWidget(self.call_label)

        form = QFormLayout()
        self._search = search
        self.search: QLineEdit | None = None
        self.search_hint: QLabel | None = None
        if search is not None:
            self.search = QLineEdit()
            self.search.setObjectName("relationSearch")
            self.search.setClearButtonEnabled(True)
            self.search.setPlaceholderText(self.tr("Name or number in the phone book"))
            self.search.setToolTip(self.tr(
                "The caller is not in the phone book: find the relation to file the report under."))
            search_label = QLabel(self.tr("&Find relation"))
            search_label.setBuddy(self.search)
            form.addRow(search_label, self.search)
            self.search_hint = hint_label(self.tr("Type at least two letters or digits."))
            form.addRow("", self.search_hint)
            self._search_timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
            self._search_timer.timeout.connect(self.run_search)
            self.search.textChanged.connect(lambda _t: self._search_timer.start())
            self.search.returnPressed.connect(self.run_search)
        self.relation = QComboBox()
        self.relation.setMinimumWidth(380)
        self.relation.setToolTip(self.tr("The AFAS relation the dossier item is filed under."))
        valid = selected is not None and 0 <= selected < len(self.candidates)
        if not valid:
            # Nothing or several matched: make the operator choose, never guess.
            self.relation.addItem(self.tr("Choose…"), None)
        for i, cand in enumerate(self.candidates):
            self.relation.addItem(self._relation_text(cand), i)
        if valid:
            assert selected is not None
            self.relation.setCurrentIndex(selected)
        relation_label = QLabel(self.tr("&Relation"))
        relation_label.setBuddy(self.relation)
        form.addRow(relation_label, self.relation)

        self.subject = QLineEdit(subject[:MAX_SUBJECT_CHARS])
        self.subject.setMaxLength(MAX_SUBJECT_CHARS)
        self.subject.setPlaceholderText(
            self.tr("Empty: “{text}” is used").format(text=empty_subject)
            if empty_subject
            else self.tr("Short summary of the call")
        )
        self.counter = QLabel()
        widest = f"{MAX_SUBJECT_CHARS}/{MAX_SUBJECT_CHARS}"
        self.counter.setMinimumWidth(self.counter.fontMetrics().horizontalAdvance(widest) + 4)
        self.counter.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        subject_row = QHBoxLayout()
        subject_row.addWidget(self.subject, 1)
        subject_row.addWidget(self.counter)
        subject_label = QLabel(self.tr("&Subject"))
        subject_label.setBuddy(self.subject)
        form.addRow(subject_label, subject_row)

        self.text = QPlainTextEdit(text)
        self.text.setTabChangesFocus(True)  # Tab moves on, so the dialog works keyboard-only
        self.text.setPlaceholderText(self.tr("What was discussed, agreements, follow-up"))
        self.text.setMinimumHeight(140)
        text_label = QLabel(self.tr("&Text"))
        text_label.setBuddy(self.text)
        form.addRow(text_label, self.text)
        layout.addLayout(form)

        self.keys_hint = hint_label(self.tr("Ctrl+Enter saves · Esc cancels"))
        layout.addWidget(self.keys_hint)
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b00020;")
        self.error.hide()
        layout.addWidget(self.error)

        buttons = QDialogButtonBox()
        self.save_button = QPushButton(self.tr("Save"))
        self.cancel_button = QPushButton(self.tr("Cancel"))
        buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        for button in (self.save_button, self.cancel_button):
            button.setAutoDefault(False)
        self.save_button.clicked.connect(self.save)
        self.cancel_button.clicked.connect(self.reject)
        layout.addWidget(buttons)

        for seq in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(seq), self, self.save)
        # The text box takes Ctrl+Enter for itself before any shortcut sees it.
        self.text.installEventFilter(self)
        self._saved = False
        self._refused = False
        if self.search is not None:
            QWidget.setTabOrder(self.search, self.relation)
        QWidget.setTabOrder(self.relation, self.subject)
        QWidget.setTabOrder(self.subject, self.text)
        QWidget.setTabOrder(self.text, self.save_button)
        QWidget.setTabOrder(self.save_button, self.cancel_button)

        self.subject.textChanged.connect(self._update)
        self.relation.currentIndexChanged.connect(self._update)
        self._update()
        if valid:
            self.subject.setFocus()
        else:
            (self.search or self.relation).setFocus()

    def run_search(self) -> None:
        """Fill the relation list with what the phone book finds for the search text."""
        if self.search is None or self._search is None:
            return
        self._search_timer.stop()
        text = self.search.text().strip()
        assert self.search_hint is not None
        if len(text) < 2:
            self.search_hint.setText(self.tr("Type at least two letters or digits."))
            return
        try:
            found = list(self._search(text))
        except Exception as exc:  # a broken phone book must not take the written text with it
            self.search_hint.setText(self.tr("The search failed: {error}").format(error=exc))
            return
        self.candidates = found
        self.relation.blockSignals(True)
        self.relation.clear()
        self.relation.addItem(self.tr("Choose…"), None)
        for i, cand in enumerate(found):
            self.relation.addItem(self._relation_text(cand), i)
        if len(found) == 1:
            self.relation.setCurrentIndex(1)
        self.relation.blockSignals(False)
        self.search_hint.setText(
            self.tr("No relation found for “{text}”.").format(text=text) if not found else
            self.tr("Found: {n}. Choose the relation below.").format(n=len(found)))
        self._update()

    @staticmethod
    def _relation_text(cand: RelationLike) -> str:
        contact = str(getattr(cand, "contact_name", "") or "")
        name = f"{cand.name} ({contact})" if contact and contact != cand.name else cand.name
        return f"{name} — {kind_label(cand.kind)} · {cand.bcid}"

    def refuse(self, message: str) -> None:
        """Called by a ``saved`` handler that could not store the report: the dialog stays open
        with everything the operator wrote, and says why."""
        self._refused = True
        self._saved = False
        self.error.setText(message)
        self.error.show()

    def _direction_text(self, direction: object) -> str:
        value = str(getattr(direction, "value", direction))
        if value == "in":
            return self.tr("Incoming")
        if value == "out":
            return self.tr("Outgoing")
        return self.tr("Phone")

    def selected_candidate(self) -> RelationLike | None:
        index = self.relation.currentData()
        return self.candidates[index] if isinstance(index, int) else None

    def _update(self) -> None:
        self.counter.setText(f"{len(self.subject.text())}/{MAX_SUBJECT_CHARS}")
        self.save_button.setEnabled(self.selected_candidate() is not None)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.text and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and (
                event.modifiers() & Qt.KeyboardModifier.ControlModifier
            ):
                self.save()
                return True
        return super().eventFilter(watched, event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Plain Enter must not file a half-written report (QDialog would press the default
        # button); Ctrl+Enter saves through the shortcut.
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
            event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            event.accept()
            return
        super().keyPressEvent(event)

    def save(self) -> None:
        cand = self.selected_candidate()
        if self._saved:
            return
        if cand is None:
            self.relation.setFocus()
            return
        # A Match carries contact_id itself; a calls.Candidate carries it in .match.
        contact_id = getattr(cand, "contact_id", None)
        if contact_id is None:
            contact_id = getattr(getattr(cand, "match", None), "contact_id", "")
        contact_id = str(contact_id or "")
        self._saved = True
        self._refused = False
        self.error.hide()
        self.saved.emit(self.subject.text().strip(), self.text.toPlainText(), cand.bcid, contact_id)
        if self._refused:
            return  # the handler said why; nothing the operator wrote is lost
        self.accept()
