"""The caller card: who is calling and what happened last, in a small window near the tray.

It shows at once with what the phone book knows (name, kind, organisation of a contact
person, the number) and fills in the relation's last three dossier items when AFAS answers;
a slow or refusing AFAS only leaves a short line, never a late or missing card. Like the picker
it never takes keyboard focus until clicked. It closes when the call ends, unless the operator
chose "stay until closed"; with a time set it also closes after that long (not while the mouse
is on it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QEnterEvent, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from afas_tray.config.settings import Settings
from afas_tray.models import Match, RelationKind
from afas_tray.phonebook import display
from afas_tray.pop.events import Direction
from afas_tray.pop.gate import CardRequest
from afas_tray.pop.recent_items import DossierEntry
from afas_tray.ui.icons import app_icon
from afas_tray.ui.picker import hint_label, keep_focus_elsewhere, kind_label

log = logging.getLogger(__name__)

SUBJECT_CHARS = 48  # a card, not a report: longer subjects end in "…"
MARGIN = 16


class CardController(Protocol):
    """What the card's buttons do (the tray shell implements it)."""

    def open_url(self, url: str) -> None: ...
    def write_report(self, call: Any) -> None: ...
    def call_back(self, number: str) -> None: ...


@dataclass(frozen=True)
class CardCall:
    """The call as the report dialog wants it (shaped like calls.RecentCall where it matters)."""

    call_id: str
    number: str
    time: float
    direction: Direction
    match_bcid: str = ""


def _elide(text: str, size: int = SUBJECT_CHARS) -> str:
    return text if len(text) <= size else text[: size - 1].rstrip() + "…"


class CallerCard(QWidget):
    """One card for one call. ``set_items`` / ``set_unavailable`` fill the dossier part."""

    open_requested = Signal()
    report_requested = Signal()
    call_back_requested = Signal()

    def __init__(self, match: Match, number: str, region: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(
            parent,
            Qt.WindowType.Tool
            | Qt.WindowType.WindowStaysOnTopHint
            | Qt.WindowType.WindowDoesNotAcceptFocus,
        )
        self.setObjectName("CallerCard")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.setWindowTitle(self.tr("Caller — AFAS Tray"))
        self.setWindowIcon(app_icon())
        self.match = match
        self.number = number
        self.closed = False
        self._hovered = False

        layout = QVBoxLayout(self)
        contact = match.kind is RelationKind.CONTACT and bool(match.contact_name)
        self.name_label = QLabel(match.contact_name if contact else match.name)
        font = self.name_label.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.25)
        self.name_label.setFont(font)
        self.name_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.name_label)

        if contact:
            kind = self.tr("Contact person at {organisation}").format(organisation=match.name)
        else:
            kind = kind_label(match.kind)
        self.kind_label = QLabel(kind)
        self.kind_label.setWordWrap(True)
        layout.addWidget(self.kind_label)
        self.number_label = QLabel(display(number, region))
        self.number_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.number_label)

        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        layout.addWidget(line)
        heading = QLabel(self.tr("Last dossier items"))
        bold = heading.font()
        bold.setBold(True)
        heading.setFont(bold)
        layout.addWidget(heading)
        self.items_grid = QGridLayout()
        self.items_grid.setHorizontalSpacing(12)
        self.items_grid.setColumnStretch(1, 1)
        layout.addLayout(self.items_grid)
        self.items_status = hint_label(self.tr("Loading…"))
        layout.addWidget(self.items_status)
        self.item_labels: list[tuple[QLabel, QLabel, QLabel]] = []

        row = QHBoxLayout()
        self.open_button = QPushButton(self.tr("Open card"))
        self.open_button.clicked.connect(self.open_requested)
        row.addWidget(self.open_button)
        self.report_button = QPushButton(self.tr("Write report"))
        self.report_button.clicked.connect(self.report_requested)
        row.addWidget(self.report_button)
        self.call_back_button = QPushButton(self.tr("Call back"))
        self.call_back_button.clicked.connect(self.call_back_requested)
        row.addWidget(self.call_back_button)
        row.addStretch(1)
        self.close_button = QPushButton(self.tr("Close"))
        self.close_button.clicked.connect(self.close)
        row.addWidget(self.close_button)
        layout.addLayout(row)
        self.setMinimumWidth(420)

        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self.close)
        keep_focus_elsewhere(self)

    # -- the dossier part ----------------------------------------------------------------------

    def set_items(self, items: Sequence[DossierEntry]) -> None:
        if self.closed:
            return
        for i, item in enumerate(items):
            cells = (QLabel(item.day), QLabel(_elide(item.subject)), QLabel(item.who))
            cells[1].setToolTip(item.subject if len(item.subject) > SUBJECT_CHARS else "")
            for col, cell in enumerate(cells):
                cell.installEventFilter(self)  # clicks still give the card focus
                self.items_grid.addWidget(cell, i, col)
            self.item_labels.append(cells)
        if items:
            self.items_status.hide()
        else:
            self.items_status.setText(self.tr("No dossier items yet."))
        self._refit()

    def set_unavailable(self) -> None:
        if self.closed:
            return
        self.items_status.setText(self.tr("Dossier items could not be read from AFAS just now."))
        self._refit()

    def _refit(self) -> None:
        bottom = self.geometry().bottom()
        self.adjustSize()
        if self.isVisible() and self.y() + self.height() - 1 != bottom:
            # Grow upwards when placed at the bottom, so the card stays on screen.
            screen = QApplication.primaryScreen()
            if screen is not None and self.y() > screen.availableGeometry().center().y():
                self.move(self.x(), bottom - self.height() + 1)

    # -- showing and closing -------------------------------------------------------------------

    def popup(self, position: str = "tray", offset: int = 0, seconds: int = 0) -> None:
        place(self, position, offset)
        self.show()
        if seconds > 0:
            self._timer.start(seconds * 1000)

    def enterEvent(self, event: QEnterEvent) -> None:
        self._timer.stop()  # the operator is reaching for it: don't vanish under the mouse
        self._hovered = True
        super().enterEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.closed = True
        super().closeEvent(event)


def place(window: QWidget, position: str, offset: int = 0) -> None:
    """Put ``window`` in a corner of the primary screen's free area (``tray``: bottom right,
    where the tray usually is); ``offset`` pixels further in, to stack several cards."""
    screen = QApplication.primaryScreen()
    if screen is None:
        return
    window.adjustSize()
    area = screen.availableGeometry()
    w, h = window.width(), window.height()
    left = area.left() + MARGIN
    right = area.right() - w - MARGIN
    top = area.top() + MARGIN + offset
    bottom = area.bottom() - h - MARGIN - offset
    if position == "top_right":
        window.move(right, top)
    elif position == "top_left":
        window.move(left, top)
    elif position == "bottom_left":
        window.move(left, bottom)
    elif position == "center":
        window.move(area.center().x() - w // 2, area.center().y() - h // 2 + offset)
    else:
        window.move(right, bottom)


class CallerCardManager:
    """Implements ``pop_gate.CardSink``: one card per call, filled in from AFAS, closed at hang-up.

    ``fetch(bcid, number=)`` reads the dossier items (``AppCore.recent_dossier_items``) and raises on any
    trouble; it is started after the card is on screen and never awaited by the pop.
    """

    def __init__(
        self,
        settings: Callable[[], Settings],
        fetch: Callable[..., Awaitable[Sequence[DossierEntry]]],
        controller: CardController,
    ) -> None:
        self._settings = settings
        self._fetch = fetch
        self._controller = controller
        self.cards: list[tuple[CardRequest, CallerCard]] = []
        self._tasks: set[asyncio.Future[Any]] = set()
        self.shown_at: list[float] = []  # perf_counter when each card was on screen (benchmark)

    def show_card(self, request: CardRequest) -> CallerCard:
        s = self._settings()
        for old, card in self.cards:
            same = (request.call_id and old.call_id == request.call_id) or (
                not request.call_id and old.normalised == request.normalised)
            if same and not card.closed:
                return card  # ringing → answered of one call: one card
        card = CallerCard(request.match, request.number, s.phone.default_region)
        card.open_requested.connect(lambda: self._controller.open_url(request.url))
        card.report_requested.connect(lambda: self._controller.write_report(CardCall(
            request.call_id, request.number, request.event.time, request.event.direction,
            request.match.bcid)))
        card.call_back_requested.connect(lambda: self._controller.call_back(request.number))
        card.destroyed.connect(lambda *_: self._forget(card))
        offset = sum(c.height() + 8 for _r, c in self.cards if not c.closed)
        self.cards.append((request, card))
        card.popup(s.card.position, offset, s.card.seconds)
        self.shown_at.append(time.perf_counter())
        self._start_fill(card, request.match)
        return card

    def _start_fill(self, card: CallerCard, match: Match) -> None:
        try:
            loop = asyncio.get_running_loop()  # qasync's, in the app
        except RuntimeError:  # no event loop (a bare widget test): nothing to fill in with
            card.set_unavailable()
            return
        task = loop.create_task(self._fill(card, match))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fill(self, card: CallerCard, match: Match) -> None:
        try:
            items = await self._fetch(match.bcid, number=match.number)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.info("dossier items for the caller card: %s", exc)
            if not card.closed:
                card.set_unavailable()
            return
        if not card.closed:
            card.set_items(list(items))

    def call_ended(self, call_id: str, normalised: str) -> None:
        if self._settings().card.stay_until_closed:
            return
        for request, card in list(self.cards):
            same = (call_id and request.call_id == call_id) or (
                not (call_id and request.call_id) and request.normalised == normalised)
            if same and not card.closed:
                card.close()

    def close_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for _request, card in list(self.cards):
            if not card.closed:
                card.close()

    def _forget(self, card: CallerCard) -> None:
        self.cards = [(r, c) for r, c in self.cards if c is not card]


def copy_number(number: str) -> None:
    """Call back without a dialler: the number on the clipboard, ready to paste."""
    QGuiApplication.clipboard().setText(number)
