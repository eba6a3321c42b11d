"""The tray's Opener: cards via QDesktopServices, a picker for shared numbers, a notice for strangers.

Nothing here takes keyboard focus on its own: the picker and the notice show without activating.
Call these methods on the Qt (GUI) thread.

Last step of the ringing walk (README, "Architecture"): receives ``open_url`` / ``choose`` /
``unknown_caller`` from ``pop/gate.py``'s ``PopGate`` (which the core's router calls); hands the
card's URL to the desktop's browser (``QDesktopServices.openUrl``, Python's ``webbrowser`` when
that fails) and an operator's pick back to the shell (``on_pick``, which records it in the core).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices, QEnterEvent, QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from afas_tray.pop.opener import WebbrowserOpener
from afas_tray.ui.create_relation import CreateFn, CreateRelationForm
from afas_tray.ui.icons import app_icon
from afas_tray.ui.picker import MatchPicker, accept_focus, keep_focus_elsewhere, place_near_tray

if TYPE_CHECKING:
    from afas_tray.pop.router import Candidate, Choice, UnknownCaller

PickHandler = Callable[["Choice", "Candidate", bool], None]

NOTICE_SECONDS = 30
log = logging.getLogger(__name__)


class UnknownCallerNotice(QWidget):
    """Small always-on-top notice: the number is not in the phone book; search or copy it."""

    def __init__(
        self,
        number: str,
        search_url: str | None,
        open_url: Callable[[str], None],
        parent: QWidget | None = None,
        *,
        number_text: str | None = None,  # the number as the operator reads it
        create: CreateFn | None = None,  # "Create in AFAS" (AppCore.create_relation)
        region: str = "NL",
    ) -> None:
        super().__init__(
            parent,
            Qt.WindowType.Tool
            | Qt.WindowType.WindowStaysOnTopHint
            | Qt.WindowType.WindowDoesNotAcceptFocus,
        )
        self.setObjectName("UnknownCallerNotice")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.setWindowTitle(self.tr("Unknown caller — AFAS Tray"))
        self.setWindowIcon(app_icon())
        self.number = number
        self._open_url = open_url
        self._search_url = search_url

        layout = QVBoxLayout(self)
        title = QLabel(self.tr("Unknown caller"))
        font = title.font()
        font.setBold(True)
        title.setFont(font)
        layout.addWidget(title)
        self.message = QLabel(
            self.tr("{number} is not in the AFAS phone book.").format(number=number_text or number)
        )
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message)

        row = QHBoxLayout()
        self.search_button: QPushButton | None = None
        if search_url:
            self.search_button = QPushButton(self.tr("Search in AFAS"))
            self.search_button.clicked.connect(self._search)
            row.addWidget(self.search_button)
        self.copy_button = QPushButton(self.tr("Copy number"))
        self.copy_button.clicked.connect(self._copy)
        row.addWidget(self.copy_button)
        row.addStretch(1)
        self.close_button = QPushButton(self.tr("Close"))
        self.close_button.clicked.connect(self.close)
        row.addWidget(self.close_button)
        layout.addLayout(row)
        self._add_create(layout, row, number_text or number, create, region)

        self._timer = QTimer(self, singleShot=True, interval=NOTICE_SECONDS * 1000)
        self._timer.timeout.connect(self.close)
        keep_focus_elsewhere(self)

    def popup(self) -> None:
        place_near_tray(self)
        self.show()
        self._timer.start()

    # -- "Create in AFAS" (issue 17) ---------------------------------------------------------
    def _add_create(self, layout: QVBoxLayout, row: QHBoxLayout, number: str,
                    create: CreateFn | None, region: str) -> None:
        self.create_button: QPushButton | None = None
        self.create_form: CreateRelationForm | None = None
        if create is None:
            return
        self.create_button = QPushButton(self.tr("Create in AFAS"))
        self.create_button.clicked.connect(self.start_create)
        row.insertWidget(0, self.create_button)
        self.create_form = CreateRelationForm(number, create, region)
        self.create_form.hide()
        self.create_form.created.connect(lambda _name: self.close())
        self.create_form.cancelled.connect(self.close)
        layout.addWidget(self.create_form)

    def start_create(self) -> None:
        """Open the form inside the notice; the operator clicked, so focus may come here."""
        if self.create_form is None or self.create_button is None:
            return
        self._timer.stop()
        self.create_button.hide()
        self.close_button.hide()  # the form's Cancel closes the notice
        self.create_form.show()
        place_near_tray(self)
        accept_focus(self)
        self.create_form.first_field().setFocus()

    def enterEvent(self, event: QEnterEvent) -> None:
        self._timer.stop()  # the user is reaching for it: don't vanish under the mouse
        super().enterEvent(event)

    def _search(self) -> None:
        if self._search_url:
            self._open_url(self._search_url)
        self.close()

    def _copy(self) -> None:
        clipboard = QGuiApplication.clipboard()
        clipboard.setText(self.number)
        self.copy_button.setText(self.tr("Copied"))


class QtOpener:
    """Implements ``afas_tray.pop.opener.Opener`` for the tray app.

    ``remember(number, bcid)`` is called when the user ticks "remember" in the picker (hand it
    ``CallRouter.remember_choice``); ``notify(title, message)``, when given, shows the unknown-caller
    notice as a tray message instead of the notice window (a tray message has no buttons).
    ``on_pick(choice, candidate, remember)`` hears every pick (the shell records it for the
    call's report); it runs before the card opens, and a failure in it never stops the card.
    """

    def __init__(
        self,
        *,
        remember: Callable[[str, str], None] | None = None,
        notify: Callable[[str, str], None] | None = None,
        on_pick: PickHandler | None = None,
    ) -> None:
        self._remember = remember
        self._notify = notify
        self.on_pick = on_pick
        self._fallback = WebbrowserOpener()
        self.windows: list[QWidget] = []  # open pickers/notices: keep them alive
        self.region: Callable[[], str] = lambda: "NL"  # how numbers are shown (app.py sets it)
        self.create_relation: CreateFn | None = None  # "Create in AFAS" (app.py sets it)

    def _display(self, number: str) -> str:
        from afas_tray.numbers import display

        return display(number, self.region())

    def open_url(self, url: str) -> None:
        if not QDesktopServices.openUrl(QUrl(url)):
            self._fallback.open_url(url)

    def choose(self, decision: Choice) -> MatchPicker:
        picker = MatchPicker(decision, number_text=self._display(decision.number))

        def picked(index: int, remember: bool) -> None:
            candidate = decision.candidates[index]
            try:
                if self.on_pick is not None:
                    self.on_pick(decision, candidate, remember)
                elif remember and self._remember is not None:
                    self._remember(decision.number, candidate.bcid)
            except Exception:
                log.exception("Recording the pick failed")
            self.open_url(candidate.url)

        picker.picked.connect(picked)
        self._keep(picker)
        picker.popup()
        return picker

    def unknown_caller(self, notice: UnknownCaller) -> UnknownCallerNotice | None:
        if self._notify is not None:
            self._notify(
                QCoreApplication.translate("QtOpener", "Unknown caller"),
                QCoreApplication.translate(
                    "QtOpener", "{number} is not in the AFAS phone book."
                ).format(number=self._display(notice.number)),
            )
            return None
        window = UnknownCallerNotice(notice.number, notice.search_url, self.open_url,
                                     number_text=self._display(notice.number),
                                     create=self.create_relation, region=self.region())
        self._keep(window)
        window.popup()
        return window

    def _keep(self, window: QWidget) -> None:
        self.windows.append(window)
        window.destroyed.connect(lambda *_: self._forget(window))
        if isinstance(window, MatchPicker):
            window.picked.connect(lambda *_: self._forget(window))
            window.dismissed.connect(lambda: self._forget(window))

    def _forget(self, window: QWidget) -> None:
        if window in self.windows:
            self.windows.remove(window)
