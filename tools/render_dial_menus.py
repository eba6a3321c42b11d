"""Render the tray menu's dialling and missed-call entries to PNG (offscreen), in NL and EN.

    QT_QPA_PLATFORM=offscreen python tools/render_dial_menus.py OUT_DIR

For looking at the menus without a desktop (issue 16); not part of the app.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication, QMenu

from afas_tray.events import CallSource, CallState, Direction
from afas_tray.models import RelationKind
from afas_tray.pop.router import RecentCall
from afas_tray.reports.missed import MissedRow
from afas_tray.status import State, Status
from afas_tray.ui.dial_menu import badge_icon
from afas_tray.ui.i18n_qt import install_translator
from afas_tray.ui.icons import tray_icon
from afas_tray.ui.tray import build_menu


class Controller(SimpleNamespace):
    demo = True

    def __getattr__(self, name: str) -> object:
        return lambda *a, **k: None


def sample(now: float) -> Controller:
    recent = [RecentCall("c1", "020 622 12 34", "+31206221234", now - 300, Direction.INCOMING,
                         CallState.HUNG_UP, CallSource.XELION, True, 1, "1000744",
                         "Jansen Installatietechniek B.V.", RelationKind.ORGANISATION, "", "")]
    missed = [
        MissedRow("m1", "m1", "+31 6 1234 5678", "", now - 60, False, "1000812", "De Vries Bouw",
                  ""),
        MissedRow("m2", "m2", "030 123 45 67", "Receptie", now - 3600, True, "", "", ""),
    ]
    c = Controller()
    c.recent_calls = lambda: recent
    c.is_paused = lambda: False
    c.missed_calls = lambda: missed
    c.missed_unseen = lambda: 1
    return c


def grab(menu: QMenu, path: Path) -> None:
    menu.adjustSize()
    menu.grab().save(str(path))
    print(path)


def main(out: Path) -> None:
    app = QApplication.instance() or QApplication([])
    out.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for lang in ("nl", "en"):
        install_translator(app, lang)
        menu = QMenu()
        build_menu(menu, sample(now), Status(state=State.IDLE))  # type: ignore[arg-type]
        grab(menu, out / f"menu-{lang}.png")
        subs = {a.text(): a.menu() for a in menu.actions() if a.menu() is not None}
        for title, sub in subs.items():
            name = "missed" if "(" in title else "recent"
            grab(sub, out / f"menu-{lang}-{name}.png")
            first = next((a.menu() for a in sub.actions() if a.menu() is not None), None)
            if first is not None:
                grab(first, out / f"menu-{lang}-{name}-item.png")
    badge_icon(tray_icon("idle"), 3).pixmap(64, 64).save(str(out / "icon-badge-3.png"))
    print(out / "icon-badge-3.png")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "dial-menus"))
