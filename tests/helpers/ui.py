"""Shared sample data and fixtures for the Qt widget tests (the fixtures are registered by
``tests/conftest.py``; the screenshots looked at during review are in ``tests/helpers/shots.py``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
import qasync
from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication

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
