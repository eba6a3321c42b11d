"""Renders the widgets (NL and EN) to PNG for review, offscreen, from the repository root:

    python -m tests.helpers.shots shots/

The dialogs and the tray menu are drawn by ``tests/helpers/ui.py``; the caller card and the
unknown-caller notice with "Create in AFAS" here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QWidget

from afas_tray.models import Match, RelationKind
from afas_tray.pop.recent_items import DossierEntry
from afas_tray.ui.i18n_qt import install_translator
from tests.helpers.ui import Shots, render_dialogs, render_shell

ITEMS = [
    DossierEntry("2026-11-25T10:15:00Z", "Nieuwe bestelling broodovens, levering in januari", "J. Jansen"),
    DossierEntry("2026-11-24T16:05:00Z", "Terugbelverzoek", "P. de Boer"),
    DossierEntry("2026-11-20T11:30:00Z", "Klacht levering", ""),
]


def render_notice(shots: Shots, lang: str) -> None:
    """The unknown-caller notice with "Create in AFAS": offered, filled in, refused."""
    from afas_tray.ui.qt_opener import UnknownCallerNotice

    save = shots.save

    async def create(_new: object) -> None:
        return None

    notice = UnknownCallerNotice("+31612345678", "https://12345.afasinsite.nl/zoeken?q=x",
                                 lambda _u: None, number_text="06 12345678", create=create)
    save(notice, f"unknown-create-{lang}")
    notice = UnknownCallerNotice("+31612345678", None, lambda _u: None,
                                 number_text="06 12345678", create=create)
    notice.show()
    notice.start_create()
    notice.create_form.first_name.setText("Pieter")  # type: ignore[union-attr]
    notice.create_form.prefix.setText("van der")  # type: ignore[union-attr]
    save(notice, f"unknown-create-form-{lang}")
    notice = UnknownCallerNotice("+31612345678", None, lambda _u: None,
                                 number_text="06 12345678", create=create)
    notice.show()
    notice.start_create()
    form = notice.create_form
    assert form is not None
    form.organisation_radio.setChecked(True)
    form.submit()  # no name typed: the form says so
    save(notice, f"unknown-create-org-{lang}")


def render_cards(shots: Shots) -> None:
    """The caller card: loading, with dossier items, a contact without items, unavailable."""
    from afas_tray.ui.caller_card import CallerCard

    app = shots.app

    def save(widget: QWidget, name: str) -> None:
        shots.save(widget, name, close=True)

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
        render_notice(shots, lang)
    install_translator(app, "en")


def render(out: Path) -> list[Path]:
    shots = Shots(out)
    render_dialogs(shots)
    render_shell(shots)
    render_cards(shots)
    return shots.written


if __name__ == "__main__":
    for p in render(Path(sys.argv[1] if len(sys.argv) > 1 else "shots")):
        print(p)
