"""Tray additions for dialling and missed calls (issue 16), kept out of ``tray.py``.

- "Call back" in each recent call's submenu (``add_call_back``);
- "Dial clipboard number" and the "Missed calls (N)" submenu with name, time, Call back and
  Open card (``add_dial_entries``); opening that submenu marks the calls seen, which clears the
  count on the icon;
- the count on the icon itself (``badge_icon``);
- "Simulate missed call" in ``--demo``.

The controller methods used here are optional (``getattr``), so a controller without them (a
test's, or an older shell) simply shows no such entries.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from PySide6.QtCore import QCoreApplication, QRect, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QMenu


def add_call_back(sub: QMenu, controller: Any, call: Any) -> None:
    """"Call back" for one recent call (after its Open card / Write report)."""
    call_back = getattr(controller, "call_back", None)
    if call_back is None:
        return
    act = sub.addAction(QCoreApplication.translate("Dial", "Call back"))
    act.triggered.connect(partial(call_back, call.number))
    act.setEnabled(bool(getattr(call, "normalised", "") or call.number))


def missed_label(count: int) -> str:
    return QCoreApplication.translate("Dial", "Missed calls (%1)").replace("%1", str(count))


def missed_row_label(row: Any) -> str:
    when = time.strftime("%H:%M", time.localtime(row.time))
    day = time.strftime("%d-%m", time.localtime(row.time))
    if day != time.strftime("%d-%m"):
        when = f"{day} {when}"
    who = row.who or QCoreApplication.translate("Dial", "unknown")
    return f"{when}  {row.number} — {who}"


def add_dial_entries(menu: QMenu, controller: Any) -> None:
    """"Dial clipboard number", the missed-calls submenu and the demo's missed call."""
    dial_clipboard = getattr(controller, "dial_clipboard", None)
    if dial_clipboard is not None:
        menu.addAction(QCoreApplication.translate("Dial", "Dial clipboard number"), dial_clipboard)
    missed_calls = getattr(controller, "missed_calls", None)
    if missed_calls is not None:
        unseen = int(controller.missed_unseen())
        sub = menu.addMenu(missed_label(unseen))
        sub.setObjectName("missedCallsMenu")
        rows = list(missed_calls())[:15]
        if not rows:
            empty = sub.addAction(QCoreApplication.translate("Dial", "No missed calls"))
            empty.setEnabled(False)
        for row in rows:
            item = sub.addMenu(missed_row_label(row))
            if not row.seen:
                font = QFont(item.menuAction().font())
                font.setBold(True)
                item.menuAction().setFont(font)
            back = item.addAction(QCoreApplication.translate("Dial", "Call back"))
            back.triggered.connect(partial(controller.call_back, row.number))
            card = item.addAction(QCoreApplication.translate("Dial", "Open card"))
            card.triggered.connect(partial(controller.open_missed_card, row))
            card.setEnabled(bool(row.bcid))
        # Looking at the list is what "seen" means: the icon's count clears.
        sub.aboutToShow.connect(controller.missed_seen)
    if getattr(controller, "demo", False) and hasattr(controller, "simulate_missed_call"):
        menu.addAction(QCoreApplication.translate("Dial", "Simulate missed call"), controller.simulate_missed_call)


def badge_icon(icon: QIcon, count: int, sizes: tuple[int, ...] = (16, 22, 24, 32, 48, 64)
               ) -> QIcon:
    """``icon`` with a red count in its corner (``9+`` above nine); ``icon`` itself for 0."""
    if count <= 0:
        return icon
    text = str(count) if count < 10 else "9+"
    out = QIcon()
    for size in sizes:
        for scale in (1, 2):
            side = size * scale
            pixmap = QPixmap(icon.pixmap(size, size).scaled(
                side, side, Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation))
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            badge = max(7 * scale, round(side * 0.55))
            rect = QRect(side - badge, 0, badge, badge)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor("#d32f2f"))
            painter.drawEllipse(rect)
            font = QFont()
            font.setBold(True)
            font.setPixelSize(max(6 * scale, round(badge * (0.62 if len(text) == 1 else 0.5))))
            painter.setFont(font)
            painter.setPen(QColor("white"))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
            painter.end()
            pixmap.setDevicePixelRatio(scale)
            out.addPixmap(pixmap)
    return out
