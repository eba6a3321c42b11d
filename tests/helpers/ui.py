"""Shared sample data and fixtures for the Qt widget tests (the fixtures are registered by
``tests/conftest.py``), and the screenshots of the dialogs and the tray menu looked at during
review (``python -m tests.helpers.shots shots/`` renders them with the caller cards).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
import qasync
from PySide6.QtCore import QObject, QPoint, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QMenu, QWidget

from afas_tray.config import Settings
from afas_tray.i18n import T, set_language
from afas_tray.models import CheckResult, RelationKind
from afas_tray.ui.i18n_qt import install_translator


def valid_settings() -> Settings:
    s = Settings()
    s.afas.host = "https://12345.rest.afas.online"
    s.afas.token = "<token><version>1</version><data>ABCDEF0123456789</data></token>"
    s.afas.insite_url_template = "https://12345.afasinsite.nl/verkooprelatie-prs?BcId=<BCID>"
    s.afas.dossier_item_type = 5
    s.xelion.host = "https://acme.xelion.com"
    s.xelion.tenant = "master"
    s.xelion.username = "j.jansen"
    s.xelion.password = "xelion-secret"
    return s


@dataclass(frozen=True)
class Cand:
    """Shaped like calls.Candidate / models.Match as far as the widgets care."""

    name: str
    kind: RelationKind
    bcid: str
    url: str = ""
    contact_id: str = ""


@dataclass(frozen=True)
class PickChoice:
    number: str
    candidates: tuple[Cand, ...]
    default_index: int = 0


CANDIDATES = (
    Cand(
        "Bakkerij De Vries B.V.",
        RelationKind.ORGANISATION,
        "ORG-1001",
        "https://12345.afasinsite.nl/verkooprelatie-prs?BcId=ORG-1001",
    ),
    Cand(
        "Jan de Vries",
        RelationKind.PERSON,
        "PRS-2002",
        "https://12345.afasinsite.nl/verkooprelatie-prs?BcId=PRS-2002",
    ),
    Cand(
        "Installatiebedrijf Noord",
        RelationKind.ORGANISATION,
        "ORG-1003",
        "https://12345.afasinsite.nl/verkooprelatie-prs?BcId=ORG-1003",
        contact_id="C-77",
    ),
)
NUMBER = "+31 20 123 4567"

# Sample values shown in the widgets: data, not UI text (the translation test ignores them).
SAMPLE_DATA = [NUMBER, *(c.name for c in CANDIDATES), *(c.bcid for c in CANDIDATES)]


def check_results(settings: Settings) -> list[CheckResult]:
    ids = settings.afas.connectors
    return [
        CheckResult(
            "host",
            T("Profit server host", "Profit server host"),
            True,
            T("reachable, Profit 2024.1", "bereikbaar, Profit 2024.1"),
        ),
        CheckResult("token", T("API token", "API token"), True, T("accepted", "geaccepteerd")),
        CheckResult(
            "connector.organisations",
            T(f"GetConnector {ids.organisations}", f"GetConnector {ids.organisations}"),
            True,
            T("1,204 rows", "1.204 rijen"),
        ),
        CheckResult(
            "connector.persons",
            T(f"GetConnector {ids.persons}", f"GetConnector {ids.persons}"),
            False,
            T(
                "not found (404): create it in Profit",
                "niet gevonden (404): maak hem aan in Profit",
            ),
        ),
        CheckResult(
            "connector.contacts",
            T(f"GetConnector {ids.contacts}", f"GetConnector {ids.contacts}"),
            True,
            T("312 rows", "312 rijen"),
        ),
        CheckResult(
            "xelion",
            T("Xelion login", "Xelion-aanmelding"),
            True,
            T("signed in as j.jansen", "aangemeld als j.jansen"),
            warning=False,
        ),
    ]


def slow_checks(delay: float = 0.05) -> Callable[[Settings], AsyncIterator[CheckResult]]:
    """A run_checks stand-in that yields the sample results with a pause before each."""

    async def run(settings: Settings) -> AsyncIterator[CheckResult]:
        for result in check_results(settings):
            await asyncio.sleep(delay)
            yield result

    return run


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    """A qasync loop on the test's QApplication, as app.py runs one."""
    # As in the tray app: closing a dialog must not end the (qasync-driven) app.exec().
    quit_on_close = qapp.quitOnLastWindowClosed()
    qapp.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        loop.close()
        asyncio.set_event_loop(None)
        qapp.setQuitOnLastWindowClosed(quit_on_close)


@pytest.fixture
def english(qapp: QApplication) -> Iterator[None]:
    install_translator(qapp, "en")
    yield
    set_language(None)


@pytest.fixture
def dutch(qapp: QApplication) -> Iterator[None]:
    install_translator(qapp, "nl")
    yield
    install_translator(qapp, "en")
    set_language(None)


class Browser(QObject):
    """Receives what QDesktopServices.openUrl would hand the desktop's browser."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url.toString())


@pytest.fixture
def browser(qapp: QApplication) -> Iterator[Browser]:
    """Qt's URL handler hook (``QDesktopServices.setUrlHandler``) instead of a real browser."""
    b = Browser()
    for scheme in ("http", "https"):
        QDesktopServices.setUrlHandler(scheme, b, "open")
    yield b
    for scheme in ("http", "https"):
        QDesktopServices.unsetUrlHandler(scheme)


# --- screenshots (run ``python -m tests.helpers.shots``) --------------------------------------


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
    from afas_tray.ui.settings import SettingsDialog

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
