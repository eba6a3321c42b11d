"""Renders the caller card and the unknown-caller notice (NL and EN) for review:
    QT_QPA_PLATFORM=offscreen python tests/card_shots.py shots/
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtWidgets import QApplication, QWidget

from afas_tray.models import Match, RelationKind
from afas_tray.pop.recent_items import DossierEntry
from afas_tray.ui.i18n_qt import install_translator

ITEMS = [
    DossierEntry("2026-11-25T10:15:00Z", "Nieuwe bestelling broodovens, levering in januari", "J. Jansen"),
    DossierEntry("2026-11-24T16:05:00Z", "Terugbelverzoek", "P. de Boer"),
    DossierEntry("2026-11-20T11:30:00Z", "Klacht levering", ""),
]


def render_notice(out: Path, lang: str, save: object) -> list[Path]:
    from afas_tray.ui.qt_opener import UnknownCallerNotice

    async def create(_new: object) -> None:
        return None

    notice = UnknownCallerNotice("+31612345678", "https://12345.afasinsite.nl/zoeken?q=x",
                                 lambda _u: None, number_text="06 12345678", create=create)
    save(notice, f"unknown-create-{lang}")  # type: ignore[operator]
    notice = UnknownCallerNotice("+31612345678", None, lambda _u: None,
                                 number_text="06 12345678", create=create)
    notice.show()
    notice.start_create()
    notice.create_form.first_name.setText("Pieter")  # type: ignore[union-attr]
    notice.create_form.prefix.setText("van der")  # type: ignore[union-attr]
    save(notice, f"unknown-create-form-{lang}")  # type: ignore[operator]
    notice = UnknownCallerNotice("+31612345678", None, lambda _u: None,
                                 number_text="06 12345678", create=create)
    notice.show()
    notice.start_create()
    form = notice.create_form
    assert form is not None
    form.organisation_radio.setChecked(True)
    form.submit()  # no name typed: the form says so
    save(notice, f"unknown-create-org-{lang}")  # type: ignore[operator]
    return []  # save() lists what it wrote


def render(out: Path) -> list[Path]:
    from afas_tray.ui.caller_card import CallerCard

    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def save(widget: QWidget, name: str) -> None:
        widget.adjustSize()
        widget.show()
        app.processEvents()
        path = out / f"{name}.png"
        widget.grab().save(str(path))
        written.append(path)
        widget.close()

    org = Match("1001", "Bakkerij De Vries B.V.", RelationKind.ORGANISATION)
    contact = Match("1016", "Stichting Welzijn Oost", RelationKind.CONTACT, contact_id="10004",
                    contact_name="Fatima el Amrani")
    for lang in ("en", "nl"):
        install_translator(app, lang)
        card = CallerCard(org, "+31205550101", "NL")
        save(card, f"card-{lang}-loading")
        card = CallerCard(org, "+31205550101", "NL")
        card.set_items(ITEMS)
        save(card, f"card-{lang}-items")
        card = CallerCard(contact, "+3225550104", "NL")
        card.set_items([])
        save(card, f"card-{lang}-contact-no-items")
        card = CallerCard(contact, "0205550104", "NL")
        card.set_unavailable()
        save(card, f"card-{lang}-contact-unavailable")
        written += render_notice(out, lang, save)
    install_translator(app, "en")
    return written


if __name__ == "__main__":
    for p in render(Path(sys.argv[1] if len(sys.argv) > 1 else "shots")):
        print(p)
