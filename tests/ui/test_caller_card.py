"""The caller card: on screen at once without taking focus, filled in from AFAS, never held up."""

from __future__ import annotations

import asyncio
import os
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from afas_tray.afas import AfasClient
from afas_tray.config import Settings
from afas_tray.core import AppCore
from afas_tray.demo.afas import AfasSimulator
from afas_tray.demo.sample_data import KNOWN
from afas_tray.events import CallEvent, CallState, Direction
from afas_tray.models import Match, RelationKind
from afas_tray.pop import recent_items
from afas_tray.pop.gate import CardRequest
from afas_tray.pop.opener import RecordingOpener
from afas_tray.pop.recent_items import DossierEntry
from afas_tray.system.paths import app_paths
from afas_tray.system.profile import Profile
from afas_tray.ui.caller_card import CallerCard, CallerCardManager
from tests.helpers.afas import TOKEN_DATA
from tests.helpers.core import afas_settings_at
from tests.helpers.wait import until


class Desk:
    """The card's controller: records what the buttons asked for."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.reports: list[Any] = []
        self.call_backs: list[str] = []

    def open_url(self, url: str) -> None:
        self.urls.append(url)

    def write_report(self, call: Any) -> None:
        self.reports.append(call)

    def call_back(self, number: str) -> None:
        self.call_backs.append(number)


def subject_body(bcid: str, subject: str, date: str) -> dict[str, Any]:
    return {"KnSubject": {"Element": {
        "Fields": {"StId": 7, "Ds": subject, "SbTx": "", "Da": date},
        "Objects": [{"KnSubjectLink": {"Element": [{"Fields": {"ToBC": True, "BcId": bcid}}]}}],
    }}}


def settings_for(sim: AfasSimulator) -> Settings:
    s = afas_settings_at(sim.url, sim.token)
    s.card.show = True
    return s


async def started_core(sim: AfasSimulator, desk: Desk) -> tuple[AppCore, RecordingOpener,
                                                                 CallerCardManager]:
    opener = RecordingOpener()
    core = AppCore(Profile(app_paths().ensure()), settings_for(sim), opener)
    await core.engine.refresh_once()  # the phone book from the simulator
    cards = CallerCardManager(lambda: core.settings, core.recent_dossier_items, desk)
    core.pop.card_sink = cards
    return core, opener, cards


def test_card_shows_without_activating(qtbot: QtBot, english: None) -> None:
    match = Match("1016", "Stichting Welzijn Oost", RelationKind.CONTACT, contact_id="10004",
                  contact_name="Fatima el Amrani")
    card = CallerCard(match, "0205550104", "NL")
    qtbot.addWidget(card)
    card.popup()
    assert card.isVisible()
    assert card.windowFlags() & Qt.WindowType.WindowDoesNotAcceptFocus
    assert card.testAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
    handle = card.windowHandle()
    assert handle is not None and handle.flags() & Qt.WindowType.WindowDoesNotAcceptFocus
    # What the operator reads: the contact, where they work, the number in national format.
    assert card.name_label.text() == "Fatima el Amrani"
    assert card.kind_label.text() == "Contact person at Stichting Welzijn Oost"
    assert card.number_label.text() == "020 555 0104"
    assert card.items_status.text() == "Loading…"


def test_card_fills_in_dossier_items_from_the_simulator(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, english: None
) -> None:
    known = KNOWN["org_unique"]
    bcid = known.bcids[0]
    desk = Desk()

    async def scenario() -> None:
        sim = AfasSimulator(relations=200, seed=3, token_data=TOKEN_DATA)
        await sim.start()
        try:
            async with AfasClient(sim.url, TOKEN_DATA) as client:
                for subject, day in [("Offerte oven", "2026-10-01T09:00:00"),
                                     ("Klacht levering", "2026-11-20T11:30:00"),
                                     ("Terugbelverzoek", "2026-11-24T16:05:00"),
                                     ("Nieuwe bestelling", "2026-11-25T10:15:00")]:
                    await client.post_subject(subject_body(bcid, subject, day))
                other = KNOWN["contact_direct"].bcids[0]
                await client.post_subject(subject_body(other, "Iemand anders", "2026-11-26T08:00:00"))
            core, opener, cards = await started_core(sim, desk)
            try:
                event = CallEvent(known.written[0], call_id="c-1", state=CallState.RINGING)
                core.handle_event(event)
                # On screen at once, before AFAS answered anything about dossier items.
                [(request, card)] = cards.cards
                assert card.isVisible() and card.items_status.text() == "Loading…"
                assert card.name_label.text() == known.names[0]
                assert card.number_label.text() == "020 555 0101"
                assert opener.urls == [request.url]  # and the browser card, as before
                await until(lambda: card.item_labels, timeout=5)
                rows = [tuple(label.text() for label in row) for row in card.item_labels]
                assert rows == [("25-11-2026", "Nieuwe bestelling", ""),
                                ("24-11-2026", "Terugbelverzoek", ""),
                                ("20-11-2026", "Klacht levering", "")]
                assert not card.items_status.isVisible()

                qtbot.mouseClick(card.open_button, Qt.MouseButton.LeftButton)
                qtbot.mouseClick(card.report_button, Qt.MouseButton.LeftButton)
                qtbot.mouseClick(card.call_back_button, Qt.MouseButton.LeftButton)
                assert desk.urls == [request.url]
                assert [(c.call_id, c.number) for c in desk.reports] == [("c-1", known.written[0])]
                assert desk.call_backs == [known.written[0]]

                # Answering the same call shows no second card; hanging up closes it.
                core.handle_event(CallEvent(known.written[0], call_id="c-1",
                                            state=CallState.ANSWERED))
                assert len(cards.cards) == 1
                core.handle_event(CallEvent(known.written[0], call_id="c-1",
                                            state=CallState.HUNG_UP))
                await until(lambda: not cards.cards, timeout=2)
            finally:
                await core.stop()
        finally:
            await sim.stop()

    qloop.run_until_complete(scenario())


def test_card_survives_a_dossier_connector_that_times_out(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, english: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(recent_items, "DEFAULT_TIMEOUT", 0.5)
    known = KNOWN["org_unique"]
    desk = Desk()

    async def scenario() -> None:
        sim = AfasSimulator(relations=200, seed=3, token_data=TOKEN_DATA, hang_seconds=5)
        await sim.start()
        try:
            core, opener, cards = await started_core(sim, desk)
            try:
                sim.fail_next(3, "timeout")
                loop = asyncio.get_running_loop()
                started = loop.time()
                core.handle_event(CallEvent(known.written[0], call_id="c-2"))
                assert loop.time() - started < 0.2  # the pop never waits for AFAS
                [(_request, card)] = cards.cards
                assert card.isVisible() and opener.urls
                await until(lambda: "could not be read" in card.items_status.text(), timeout=3)
                assert loop.time() - started < 2.0
                assert not card.item_labels and card.isVisible()
                # The card still works, and the next call's card is there at once too.
                qtbot.mouseClick(card.open_button, Qt.MouseButton.LeftButton)
                assert desk.urls == [_request.url]
            finally:
                await core.stop()
        finally:
            await sim.stop()

    qloop.run_until_complete(scenario())


def test_stay_until_closed_keeps_the_card_after_hang_up(qtbot: QtBot, english: None) -> None:
    settings = Settings()
    settings.card.stay_until_closed = True

    async def no_items(_bcid: str, **_kw: object) -> list[DossierEntry]:
        return []

    cards = CallerCardManager(lambda: settings, no_items, Desk())
    match = Match("1001", "Bakkerij De Vries B.V.", RelationKind.ORGANISATION)
    event = CallEvent("+31205550101", call_id="c-3", direction=Direction.INCOMING)
    card = cards.show_card(CardRequest(match, "https://x/?BcId=1001", event.number,
                                       "+31205550101", "c-3", event))
    cards.call_ended("c-3", "+31205550101")
    assert card.isVisible()
    settings.card.stay_until_closed = False
    cards.call_ended("c-3", "+31205550101")
    assert not card.isVisible()


def test_unknown_caller_notice_creates_the_relation_in_afas(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, english: None
) -> None:
    from afas_tray.ui.qt_opener import QtOpener

    async def scenario() -> None:
        sim = AfasSimulator(relations=200, seed=3, token_data=TOKEN_DATA)
        await sim.start()
        try:
            qt = QtOpener()
            core = AppCore(Profile(app_paths().ensure()), settings_for(sim), qt)
            qt.create_relation = core.create_relation
            urls: list[str] = []
            qt.open_url = urls.append  # type: ignore[method-assign]
            try:
                await core.engine.refresh_once()
                core.handle_event(CallEvent("+31 20 555 9876", call_id="u-1"))
                [notice] = qt.windows
                assert notice.message.text() == "020 555 9876 is not in the AFAS phone book."
                qtbot.mouseClick(notice.create_button, Qt.MouseButton.LeftButton)
                form = notice.create_form
                assert form.isVisible() and form.number.text() == "020 555 9876"
                # Nothing typed yet: the form says what is missing and sends nothing.
                qtbot.mouseClick(form.organisation_radio, Qt.MouseButton.LeftButton)
                qtbot.mouseClick(form.create_button, Qt.MouseButton.LeftButton)
                assert form.message.text() == "Type the organisation's name."
                assert sim.relations_api.created == []
                qtbot.keyClicks(form.org_name, "Bakkerij Noord")
                qtbot.mouseClick(form.create_button, Qt.MouseButton.LeftButton)
                await until(lambda: not qt.windows, timeout=5)  # closed (and deleted)
                [posted] = sim.relations_api.created
                assert posted.connector == "KnOrganisation"
                assert posted.fields["Nm"] == "Bakkerij Noord"
                assert posted.fields["TeNr"] == "+31 20 555 9876"
                assert urls == [f"{sim.url}/insite/verkooprelatie-prs?BcId={posted.bc_id}"]
                assert [m.name for m in core.book.lookup("0205559876")] == ["Bakkerij Noord"]
            finally:
                await core.stop()
        finally:
            await sim.stop()

    qloop.run_until_complete(scenario())
