"""Tray icons per state, rendered from the SVG sources into crisp pixmaps.

Pixmaps are rendered per size (and at 2x for HiDPI) instead of letting Qt scale one bitmap, so the
16 px icon stays sharp. The mask variant is black-with-alpha for macOS template images, which the
menu bar tints for light and dark mode.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

STATES = ("idle", "syncing", "error", "paused", "not_configured")
SIZES = (16, 20, 22, 24, 32, 48, 64)
SCALES = (1, 2)  # device pixel ratios rendered up front (HiDPI / Retina)

ICON_DIR = Path(__file__).resolve().parent.parent / "resources" / "icons"


def svg_path(state: str, *, mask: bool = False) -> Path:
    if state not in STATES:
        raise ValueError(f"unknown tray state {state!r}; expected one of {STATES}")
    return ICON_DIR / f"tray-{state}{'-mask' if mask else ''}.svg"


def render(state: str, size: int, *, mask: bool = False, scale: float = 1.0) -> QPixmap:
    """One pixmap of ``size`` logical pixels at device pixel ratio ``scale``."""
    renderer = QSvgRenderer(str(svg_path(state, mask=mask)))
    if not renderer.isValid():
        raise FileNotFoundError(svg_path(state, mask=mask))
    side = round(size * scale)
    pixmap = QPixmap(side, side)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, side, side))
    painter.end()
    pixmap.setDevicePixelRatio(scale)
    return pixmap


@cache
def tray_icon(state: str, *, mask: bool = False) -> QIcon:
    """The tray icon for ``state`` (idle, syncing, error, paused, not_configured)."""
    icon = QIcon()
    for size in SIZES:
        for scale in SCALES:
            icon.addPixmap(render(state, size, mask=mask, scale=scale))
    if mask:
        icon.setIsMask(True)
    return icon


def app_icon() -> QIcon:
    """Window icon for dialogs."""
    return tray_icon("idle")
