"""Renders the widgets (NL and EN) to PNG for review, offscreen, from the repository root:

    python -m tests.helpers.shots shots/
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication, QMenu, QWidget

from afas_tray.config import Settings
from afas_tray.i18n import T, set_language
from afas_tray.models import Match, RelationKind
from afas_tray.pop.recent_items import DossierEntry
from afas_tray.ui.i18n_qt import install_translator
from tests.helpers.ui import (
    CANDIDATES,
    NUMBER,
    Cand,
    PickChoice,
    check_results,
    slow_checks,
    valid_settings,
)


class Shots:
    """Saves a widget (or a popped-up menu) as ``out/NAME.png`` and lists what it wrote."""

    def __init__(self, out: Path) -> None:
        app = QApplication.instance() or QApplication([])
        assert isinstance(app, QApplication)
        self.app = app
        self.out = out
        self.written: list[Path] = []
        out.mkdir(parents=True, exist_ok=True)

    def save(self, widget: QWidget, name: str, *, close: bool = False) -> None:
        widget.adjustSize()
        if isinstance(widget, QMenu):
            widget.popup(QPoint(40, 40))
        else:
            widget.show()
        self.app.processEvents()
        path = self.out / f"{name}.png"
        widget.grab().save(str(path))
        self.written.append(path)
        if close:
            widget.close()
        elif isinstance(widget, QMenu):
            widget.hide()


def render_dialogs(shots: Shots) -> None:
    """The settings dialog (each tab, and the first run), the picker, the report dialog and the
    unknown-caller notice, in English and Dutch."""
    from afas_tray.ui.picker import MatchPicker
    from afas_tray.ui.qt_opener import UnknownCallerNotice
    from afas_tray.ui.report_dialog import CallReportDialog
    from afas_tray.ui.settings_dialog import SettingsDialog

    app, save = shots.app, shots.save
    for lang in ("en", "nl"):
        install_translator(app, lang)
        settings = valid_settings()
        settings.afas.host = "http://example.com"  # one visible validation message
        dialog = SettingsDialog(settings, run_checks=slow_checks())
        for result in check_results(settings):
            dialog._add_result(result)
        dialog.test_status.setText(
            dialog.tr("{failed} of {total} checks failed.").format(failed=1, total=6)
        )
        for i in range(dialog.tabs.count()):
            dialog.tabs.setCurrentIndex(i)
            save(dialog, f"settings-{lang}-{i + 1}")
        dialog.close()
        first = SettingsDialog(Settings(), run_checks=slow_checks(), first_run=True)
        save(first, f"settings-{lang}-first-run")
        first.close()
        picker = MatchPicker(PickChoice(NUMBER, CANDIDATES, 1))
        save(picker, f"picker-{lang}")
        picker.close()
        report = CallReportDialog(
            number=NUMBER,
            time="25-11-2025 10:42",
            direction="in",
            duration="3:12",
            candidates=CANDIDATES,
            selected=None,
            subject="Offerte nieuwe oven",
            text="Wil een offerte voor een nieuwe oven; terugbellen donderdag.",
            empty_subject="Telefoongesprek",
        )
        save(report, f"report-{lang}")
        report.close()
        notice = UnknownCallerNotice(
            NUMBER, "https://12345.afasinsite.nl/zoeken?q=x", lambda _u: None
        )
        save(notice, f"unknown-{lang}")
        notice.close()
    install_translator(app, "en")


@dataclass
class ShotController:
    """Stands in for TrayShell in the screenshots: fixed recent calls and refused reports."""

    calls: list[object]
    failed: list[object]
    demo: bool = False

    def sync_now(self) -> None: ...
    def toggle_pause(self) -> None: ...
    def is_paused(self) -> bool:
        return False

    def recent_calls(self) -> list[object]:
        return self.calls

    def open_recent(self, call: object) -> None: ...
    def write_report(self, call: object) -> None: ...
    def can_write_report(self, call: object) -> bool:
        return True

    def failed_reports(self) -> list[object]:
        return self.failed

    def retry_report(self, key: str | None) -> None: ...
    def open_settings(self) -> None: ...
    def open_log_folder(self) -> None: ...
    def show_about(self) -> None: ...
    def simulate_call(self) -> None: ...
    def quit(self) -> None: ...


REFUSAL = T("AFAS reported an error [KnSubject]: Er is een onverwachte fout opgetreden. "
            "(log reference 7245EB86BC6D)",
            "AFAS meldt een fout [KnSubject]: Er is een onverwachte fout opgetreden. "
            "(logreferentie 7245EB86BC6D)")


def render_shell(shots: Shots) -> None:
    """The tray menu (quiet, and with a refused report: the Reports submenu and the refused
    report's own submenu), the report dialog for an unknown caller (searching, found, refused
    save) and the status window, in English and Dutch."""
    from afas_tray.events import CallSource, CallState, Direction
    from afas_tray.status import State, Status
    from afas_tray.ui.report_dialog import CallReportDialog
    from afas_tray.ui.tray import StatusWindow, build_menu

    app, save = shots.app, shots.save
    now = time.time()

    def call(minutes: int, number: str, name: str) -> object:
        return SimpleNamespace(
            call_id="", number=number, normalised=number, time=now - minutes * 60,
            direction=Direction.INCOMING, state=CallState.HUNG_UP, source=CallSource.HTTP,
            popped=True, match_count=1 if name else 0, match_bcid="ORG-1001" if name else "",
            match_name=name, match_kind=None, match_contact_id="", match_contact_name="",
            ended=None, duration=None)

    def failed_row(minutes: int, subject: str) -> object:
        return SimpleNamespace(key=f"oid-{minutes}", created=now - minutes * 60,
                               item=SimpleNamespace(subject=subject), last_message=REFUSAL)

    def save_menus(ctl: ShotController, status: Status, name: str) -> tuple[QMenu, QMenu]:
        """The tray menu and its Reports submenu (which lives as long as the menu)."""
        menu = QMenu()
        build_menu(menu, ctl, status)
        save(menu, f"tray-menu-{name}")
        reports = next(a.menu() for a in menu.actions() if a.menu() is not None
                       and a.menu().objectName() == "ReportsMenu")
        assert isinstance(reports, QMenu)
        save(reports, f"tray-reports-{name}")
        return menu, reports

    calls = [call(3, NUMBER, "Bakkerij De Vries B.V."), call(12, "+31 30 555 0202", "")]
    for lang in ("en", "nl"):
        install_translator(app, lang)
        set_language(lang)
        quiet = Status(state=State.IDLE, last_sync=now - 120, book_size=1204, outbox_backlog=1)
        ctl = ShotController(calls, [])
        save_menus(ctl, quiet, f"{lang}")
        failing = Status(state=State.IDLE, last_sync=now - 120, book_size=1204, outbox_backlog=0,
                         reports_failed=2, reports_failed_message=REFUSAL, reports_waiting=1)
        ctl = ShotController(calls, [failed_row(40, "Offerte nieuwe oven"),
                                     failed_row(5, "Klacht levering")])
        _menu, reports = save_menus(ctl, failing, f"attention-{lang}")
        row = next(a.menu() for a in reports.actions() if a.menu() is not None)
        assert isinstance(row, QMenu)
        save(row, f"tray-reports-row-{lang}")
        window = StatusWindow(ctl)
        window.show_status(failing)
        save(window, f"status-window-attention-{lang}")
        window.close()

        def search(text: str) -> list[Cand]:
            return [c for c in CANDIDATES if text.lower() in c.name.lower()]

        report = CallReportDialog(number="+31 20 555 9999", time="25-11-2025 10:42",
                                  direction="in", duration="", candidates=[],
                                  empty_subject="Telefoongesprek", search=search)
        save(report, f"report-unknown-{lang}")
        assert report.search is not None
        report.search.setText("de vries")
        report.run_search()
        report.relation.setCurrentIndex(1)
        report.subject.setText("Nieuwe klant")
        save(report, f"report-unknown-found-{lang}")
        report.search.setText("xyz")
        report.run_search()
        save(report, f"report-unknown-none-{lang}")
        report.close()
        refused = CallReportDialog(number=NUMBER, time="25-11-2025 10:42", direction="in",
                                   duration="3 min 12 s", candidates=CANDIDATES[:1], selected=0,
                                   subject="Offerte", text="Belt donderdag terug.")
        refused.refuse(app.translate("Tray", "The report could not be saved: %1").replace(
            "%1", "database is locked"))
        save(refused, f"report-refused-{lang}")
        refused.close()
    set_language(None)


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
