""""Create in AFAS" on the unknown-caller notice: person or organisation, the operator types the
name, the number is filled in. Posting is the core's (``AppCore.create_relation``); this form
only collects, checks and shows what AFAS said.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from afas_tray.afas import NewRelation, RelationError, check

log = logging.getLogger(__name__)
ERROR_COLOUR = "#c62828"  # as the settings dialog's field messages

CreateFn = Callable[[NewRelation], Awaitable[Any]]


class CreateRelationForm(QWidget):
    created = Signal(str)  # the new relation's name
    cancelled = Signal()

    def __init__(self, number: str, create: CreateFn, region: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CreateRelationForm")
        self._create = create
        self._region = region
        self._task: asyncio.Task[None] | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        kinds = QHBoxLayout()
        self.person_radio = QRadioButton(self.tr("Person"))
        self.organisation_radio = QRadioButton(self.tr("Organisation"))
        self.person_radio.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.person_radio)
        group.addButton(self.organisation_radio)
        kinds.addWidget(self.person_radio)
        kinds.addWidget(self.organisation_radio)
        kinds.addStretch(1)
        layout.addLayout(kinds)

        self.form = QFormLayout()
        self.first_name = QLineEdit()
        self.prefix = QLineEdit()
        self.prefix.setPlaceholderText(self.tr("e.g. van, de"))
        self.last_name = QLineEdit()
        self.org_name = QLineEdit()
        self.number = QLineEdit(number)
        self.form.addRow(self.tr("First name"), self.first_name)
        self.form.addRow(self.tr("Prefix"), self.prefix)
        self.form.addRow(self.tr("Last name"), self.last_name)
        self.form.addRow(self.tr("Name"), self.org_name)
        self.form.addRow(self.tr("Number"), self.number)
        layout.addLayout(self.form)

        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.hide()
        layout.addWidget(self.message)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.create_button = QPushButton(self.tr("Create"))
        self.create_button.setDefault(True)
        self.create_button.clicked.connect(self.submit)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.clicked.connect(self.cancelled)
        buttons.addWidget(self.create_button)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)

        self.person_radio.toggled.connect(self._kind_changed)
        for edit in (self.first_name, self.prefix, self.last_name, self.org_name, self.number):
            edit.returnPressed.connect(self.submit)
        self._kind_changed()

    @property
    def kind(self) -> str:
        return "person" if self.person_radio.isChecked() else "organisation"

    def _kind_changed(self) -> None:
        person = self.kind == "person"
        for edit in (self.first_name, self.prefix, self.last_name):
            self.form.setRowVisible(edit, person)
        self.form.setRowVisible(self.org_name, not person)
        self.message.hide()
        window = self.window()
        if window is not None:
            window.adjustSize()

    def first_field(self) -> QLineEdit:
        return self.first_name if self.kind == "person" else self.org_name

    def relation(self) -> NewRelation:
        if self.kind == "person":
            return NewRelation("person", self.number.text(), first_name=self.first_name.text(),
                               prefix=self.prefix.text(), last_name=self.last_name.text())
        return NewRelation("organisation", self.number.text(), name=self.org_name.text())

    def submit(self) -> None:
        if self._task is not None and not self._task.done():
            return
        new = self.relation()
        problem = check(new, self._region)
        if problem is not None:
            self._show(str(problem), error=True)
            return
        self._show(self.tr("Creating in AFAS…"))
        self._busy(True)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._busy(False)
            self._show(self.tr("AFAS cannot be reached from here."), error=True)
            return
        self._task = loop.create_task(self._post(new))

    async def _post(self, new: NewRelation) -> None:
        from afas_tray.afas import AfasError

        try:
            await self._create(new)
        except (RelationError, AfasError) as exc:
            self._busy(False)
            self._show(str(exc.text), error=True)
            return
        except Exception:
            log.exception("creating a relation failed")
            self._busy(False)
            self._show(self.tr("AFAS did not create the relation; see the log."), error=True)
            return
        self.created.emit(new.display_name)

    def _busy(self, busy: bool) -> None:
        for w in (self.create_button, self.person_radio, self.organisation_radio,
                  self.first_name, self.prefix, self.last_name, self.org_name, self.number):
            w.setEnabled(not busy)

    def _show(self, text: str, *, error: bool = False) -> None:
        self.message.setStyleSheet(f"color: {ERROR_COLOUR};" if error else "")
        self.message.setText(text)
        self.message.show()
        window = self.window()
        if window is not None:
            window.adjustSize()
