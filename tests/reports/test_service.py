"""Call reports: which finished calls become AFAS dossier items, with what subject, text, date,
relation and recording — against the simulated Xelion, a real phone book, router and outbox, and
(for the full round trip) the simulated AFAS."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from afas_tray.afas import AfasClient
from afas_tray.afas.dates import afas_date
from afas_tray.config import ColumnMapping, Settings
from afas_tray.demo.afas import AfasSimulator
from afas_tray.demo.xelion import XelionSimulator, fake_mp3
from afas_tray.events import CallEvent, CallSource, CallState, Direction
from afas_tray.i18n import Text
from afas_tray.models import ReportItem
from afas_tray.phonebook import PhoneBook
from afas_tray.pop.opener import RecordingOpener
from afas_tray.pop.router import CallRouter
from afas_tray.reports.drafts import Draft
from afas_tray.reports.outbox import Outbox, OutboxState
from afas_tray.reports.rules import Outcome, decide, item_subject, item_text
from afas_tray.reports.service import ReportService, ReportTiming, WriteResult
from afas_tray.store import open_db
from afas_tray.xelion import CallDetails, Participant, XelionClient
from tests.helpers.wait import until

USER, PASSWORD, TENANT = "jan", "Geheim-Wachtwoord-8431", "demo"
AFAS_TOKEN = "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
TEMPLATE = "https://12345.afasinsite.nl/verkooprelatie-prs?BcId=<BCID>"

ORG_NUMBER = "+31201234567"  # Bakkerij De Ruyter's main number
CONTACT_MOBILE = "+31612345678"  # Anna's own mobile (a contact person of the Bakkerij)
SHARED = "+31307654321"  # two unrelated organisations share this number
UNKNOWN = "+31401234567"
OWN = "+31209990000"  # one of the company's own numbers
INTERNAL = "201"

ORGS = [
    {"BcCo": "1001", "Name": "Bakkerij De Ruyter", "TelWork": "020-1234567"},
    {"BcCo": "1002", "Name": "Slagerij Jansen", "TelWork": "030 765 43 21"},
    {"BcCo": "1003", "Name": "Jansen Vastgoed", "TelWork": "+31 30 7654321"},
]
CONTACTS = [{"ContactId": "7001", "Name": "Anna de Vries", "BcCo": "1001",
             "MobWork": "06-12345678"}]


# --- pure rules ----------------------------------------------------------------------------------


def _details(**changes: Any) -> CallDetails:
    base: dict[str, Any] = dict(
        oid="4711", call_id="c-1", date=datetime(2026, 7, 15, 12, 3, 5, tzinfo=UTC),
        end_time=datetime(2026, 7, 15, 12, 7, 17, tzinfo=UTC), duration_sec=252, incoming=True,
        number="0201234567", other_name="Bakkerij De Ruyter", operator="Jan Jansen", subject="",
        participants=(Participant("rtFrom", "0201234567", "Bakkerij De Ruyter"),),
    )
    base.update(changes)
    return CallDetails(**base)


def test_afas_date_is_amsterdam_local_time_in_summer_and_winter() -> None:
    summer = datetime(2026, 7, 15, 12, 3, 5, tzinfo=UTC)
    winter = datetime(2026, 1, 15, 12, 3, 5, tzinfo=UTC)
    assert afas_date(summer) == "2026-07-15T14:03:05"  # CEST, UTC+2
    assert afas_date(winter) == "2026-01-15T13:03:05"  # CET, UTC+1
    # Around the switch to summer time (last Sunday of March, 01:00 UTC).
    assert afas_date(datetime(2026, 3, 29, 0, 30, tzinfo=UTC)) == "2026-03-29T01:30:00"
    assert afas_date(datetime(2026, 3, 29, 1, 30, tzinfo=UTC)) == "2026-03-29T03:30:00"
    # A late-evening call in winter is on the next local day.
    assert afas_date(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == "2027-01-01T00:30:00"


def test_subject_and_text_in_dutch_with_the_calls_facts() -> None:
    settings = Settings()
    settings.afas.empty_subject_text = "Telefoongesprek via Xelion"
    assert item_subject("", settings) == "Telefoongesprek via Xelion"
    assert item_subject("  Offerte\nbesproken  ", settings) == "Offerte besproken"
    assert len(item_subject("x" * 400, settings)) == 255
    text = item_text("Klant belt over de levering.", _details(), settings)
    assert text.splitlines() == [
        "Klant belt over de levering.",
        "",
        "Gespreksgegevens",
        "Richting: inkomend gesprek",
        "Nummer: +31 20 123 4567 (Bakkerij De Ruyter)",
        "Datum/tijd: 15-07-2026 14:03:05 tot 14:07:17",
        "Duur: 4 min 12 s",
        "Medewerker: Jan Jansen",
    ]
    winter_out = item_text("", _details(incoming=False, date=datetime(2026, 1, 5, 8, 0, 0,
                                                                      tzinfo=UTC),
                                        end_time=None, duration_sec=3725), settings)
    assert "Richting: uitgaand gesprek" in winter_out
    assert "Datum/tijd: 05-01-2026 09:00:00" in winter_out
    assert "Duur: 1 u 02 min 05 s" in winter_out


def test_rules_without_a_server() -> None:
    from afas_tray.models import Match, RelationKind

    org = Match("1001", "Bakkerij", RelationKind.ORGANISATION)
    other = Match("1002", "Slagerij", RelationKind.ORGANISATION)
    s = Settings()
    s.afas.dossier_item_type = 7
    report = Draft("c-1", "Offerte", "")
    call = _details()
    assert decide(call, [org], report, None, s, loggable=False).outcome is Outcome.NOT_LOGGABLE
    assert decide(call, [org], None, None, s, loggable=True).outcome is Outcome.NOTHING_TO_SEND
    assert decide(call, [org], report, None, s, loggable=True).outcome is Outcome.UPLOAD
    assert decide(call, [org, other], report, None, s, loggable=True).outcome is Outcome.NEEDS_PICK
    picked = Draft("c-1", "Offerte", "", bcid="1002")
    d = decide(call, [org, other], picked, None, s, loggable=True)
    assert d.outcome is Outcome.UPLOAD and d.match is not None and d.match.bcid == "1002"
    assert decide(call, [], report, None, s, loggable=True).outcome is Outcome.NO_MATCH
    s.afas.sync_mp3 = True
    assert decide(call, [org], None, None, s, loggable=True).outcome is Outcome.WAIT_AUDIO
    assert decide(call, [org], None, False, s, loggable=True).outcome is Outcome.NOTHING_TO_SEND
    d = decide(call, [org], None, True, s, loggable=True)
    assert d.outcome is Outcome.UPLOAD and d.attach_audio
    s.afas.dossier_item_type = None
    assert decide(call, [org], report, True, s, loggable=True).outcome is Outcome.NO_DOSSIER_TYPE


# --- the pipeline against the simulated servers ---------------------------------------------------


@dataclass
class Env:
    sim: XelionSimulator
    settings: Settings
    router: CallRouter
    book: PhoneBook
    outbox: Outbox
    service: ReportService
    client: XelionClient
    task: asyncio.Task[None] | None = None
    notices: list[Text | None] = field(default_factory=list)

    def ring(self, number: str, call_id: str) -> None:
        self.router.handle(CallEvent(number, call_id, Direction.INCOMING, CallState.RINGING,
                                     CallSource.XELION))

    def hang_up(self, number: str, call_id: str) -> None:
        event = CallEvent(number, call_id, Direction.INCOMING, CallState.HUNG_UP,
                          CallSource.XELION)
        self.router.handle(event)
        self.service.hung_up(event)

    async def call(self, number: str, *, recording: bool = True, report: tuple[str, str] | None
                   = None, pick: str = "") -> tuple[str, str]:
        """A whole call through the simulator: ring, answer, (report), hang up. (call id, oid)."""
        call_id = self.sim.ring(number)
        self.ring(number, call_id)
        self.sim.answer(call_id)
        if pick:
            self.router.record_pick(call_id, pick)
        if report is not None:
            assert self.service.write_report(call_id, *report) is WriteResult.SAVED
        oid = self.sim.hangup(call_id, recording=recording)
        assert oid
        self.hang_up(number, call_id)
        return call_id, oid

    async def settled(self, call_id: str, timeout: float = 5.0) -> tuple[str, Outcome | None]:
        """Wait until the pipeline decided the call (and is not waiting for a recording)."""
        await until(lambda: (self.service.state_of(call_id) or ("new",))[0]
                    not in ("new", "audio"), timeout)
        state = self.service.state_of(call_id)
        assert state is not None
        return state

    def items(self) -> list[ReportItem]:
        return [row.item for row in self.outbox.items()]


EnvFactory = Callable[..., Awaitable[Env]]


@pytest.fixture
async def make_env(tmp_path: Path) -> AsyncIterator[EnvFactory]:
    sims: list[XelionSimulator] = []
    stack = contextlib.AsyncExitStack()
    tasks: list[asyncio.Task[None]] = []
    closers: list[Callable[[], None]] = []
    kept_session: dict[str, str] = {}

    async def make(*, sim: XelionSimulator | None = None, recording_wait: float | None = None,
                   reread_after: tuple[float, ...] = (), **afas: Any) -> Env:
        if sim is None:
            sim = XelionSimulator({USER: PASSWORD}, tenant=TENANT, audio_size=50_000)
            await sim.start()
            sims.append(sim)
        settings = Settings()
        settings.afas.dossier_item_type = 7
        settings.afas.insite_url_template = TEMPLATE
        settings.pop.own_numbers = ["020 999 0000"]
        for key, value in afas.items():
            setattr(settings.afas, key, value)
        data = tmp_path / "data"
        db = data / "afas-tray.sqlite3"
        book = PhoneBook(db, "NL")
        book.apply_changes("organisations", "AfasTray_Organisaties",
                           ColumnMapping(id="BcCo", bcid="BcCo", name="Name", phones=["TelWork"]),
                           ORGS)
        book.apply_changes("contacts", "AfasTray_Contactpersonen",
                           ColumnMapping(id="ContactId", name="Name", organisation="BcCo",
                                         phones=["MobWork"]), CONTACTS)
        router = CallRouter(lambda n: book.lookup(n, "NL"), settings, RecordingOpener(),
                            open_db(db))
        outbox = Outbox(db)
        # No logout on quit (me_logout.html): like the app, the next start ends the old
        # session by sending its token with the login.
        client = await stack.enter_async_context(
            XelionClient(sim.base_url, TENANT, USER, PASSWORD, "afas-tray-test",
                         previous_session=kept_session.get("token"),
                         on_session=lambda t: kept_session.__setitem__("token", t or "")))
        timing = ReportTiming(debounce=0.1, audio_first_retry=0.3, audio_max_retry=0.5,
                              recording_wait=recording_wait, reread_after=reread_after)
        service = ReportService(settings, router, book, outbox, client, data, timing=timing)
        env = Env(sim, settings, router, book, outbox, service, client)
        service.on_notice.append(env.notices.append)
        env.task = asyncio.ensure_future(service.run())
        tasks.append(env.task)
        closers.extend([book.close, outbox.close, service.close])
        # Calls from here on are after the stored starting point (first start: "now").
        await until(lambda: service.fetcher is not None and service.fetcher.has_cursor)
        return env

    try:
        yield make
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await stack.aclose()
        for close in closers:
            close()
        for s in sims:
            await s.stop()


async def stop(env: Env) -> None:
    """Stop the env's service as the app does on quit (no logout: the next start takes over)."""
    assert env.task is not None
    env.task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await env.task
    await env.client.aclose()


async def test_a_matched_call_with_a_report_becomes_one_dossier_item(make_env: EnvFactory) -> None:
    env = await make_env()
    before = time.time()
    call_id, oid = await env.call(ORG_NUMBER, report=("Offerte besproken", "Stuurt vandaag de offerte."))
    assert await env.settled(call_id) == ("queued", Outcome.UPLOAD)
    [item] = env.items()
    assert item.key == oid and item.call_id == call_id
    assert item.bcid == "1001" and item.contact_id == ""
    assert item.subject == "Offerte besproken"
    assert item.dossier_type == 7
    assert item.text.startswith("Stuurt vandaag de offerte.\n\nGespreksgegevens\n")
    assert "Richting: inkomend gesprek" in item.text
    assert "Nummer: +31 20 123 4567" in item.text
    assert "Medewerker: jan" in item.text
    assert item.audio_file == ""  # sync_mp3 is off
    # Da: the call's start in Amsterdam time (the simulator logs whole UTC seconds).
    da = datetime.fromisoformat(item.date).replace(tzinfo=ZoneInfo("Europe/Amsterdam"))
    assert abs(da.timestamp() - before) < 3
    # A contact person's own number: linked to the organisation and to the contact (CdId).
    call_id2, _ = await env.call(CONTACT_MOBILE, report=("Terugbelverzoek", ""))
    await env.settled(call_id2)
    second = env.items()[1]
    assert (second.bcid, second.contact_id) == ("1001", "7001")


async def test_no_report_no_recording_not_always_uploads_nothing_until_one_is_written(
    make_env: EnvFactory,
) -> None:
    env = await make_env()
    call_id, oid = await env.call(ORG_NUMBER)
    assert await env.settled(call_id) == ("waiting", Outcome.NOTHING_TO_SEND)
    assert env.items() == []
    # The operator writes the report afterwards: now it goes.
    assert env.service.write_report(call_id, "", "Nagebeld over factuur.") is WriteResult.QUEUED
    [item] = env.items()
    assert item.key == oid and item.subject == "Telefoongesprek"


async def test_always_sync_uploads_with_the_empty_subject_text(make_env: EnvFactory) -> None:
    env = await make_env(always_sync=True, empty_subject_text="Gesprek (geen verslag)")
    call_id, oid = await env.call(ORG_NUMBER)
    took = await until(lambda: len(env.items()) == 1)
    assert took < 5  # well within the 60 s promised after a hang-up
    [item] = env.items()
    assert item.key == oid and item.subject == "Gesprek (geen verslag)"
    assert item.text.startswith("Gespreksgegevens\n")
    assert await env.settled(call_id) == ("queued", Outcome.UPLOAD)


async def test_a_late_recording_is_waited_for_and_attached(make_env: EnvFactory) -> None:
    sim = XelionSimulator({USER: PASSWORD}, tenant=TENANT, audio_size=50_000, recording_delay=3.0)
    await sim.start()
    try:
        env = await make_env(sim=sim, sync_mp3=True)
        started = time.monotonic()
        call_id, oid = await env.call(ORG_NUMBER)
        assert (env.service.state_of(call_id) or ("",))[0] in ("", "new", "audio")
        await until(lambda: len(env.items()) == 1, timeout=8)
        assert time.monotonic() - started > 2.9
        [item] = env.items()
        assert item.key == oid
        assert item.audio_file and Path(item.audio_file).read_bytes() == fake_mp3(50_000)
        assert item.audio_name.startswith("gesprek-") and item.audio_name.endswith(".mp3")
        assert item.subject == "Telefoongesprek"  # no report: the recording alone sends it
    finally:
        await sim.stop()


async def test_no_recording_gives_up_after_the_wait_and_uploads_without(
    make_env: EnvFactory,
) -> None:
    env = await make_env(sync_mp3=True, recording_wait=1.0)
    started = time.monotonic()
    await env.call(ORG_NUMBER, recording=False, report=("Klacht", "Levering te laat."))
    await asyncio.sleep(0.3)
    assert env.items() == []  # still waiting for a recording that may come
    await until(lambda: len(env.items()) == 1, timeout=5)
    assert time.monotonic() - started >= 0.9
    [item] = env.items()
    assert item.audio_file == "" and item.subject == "Klacht"
    # Without a report, the same call would not have gone up at all.
    call_id3, _ = await env.call(ORG_NUMBER, recording=False)
    assert await env.settled(call_id3, timeout=5) == ("waiting", Outcome.NOTHING_TO_SEND)
    assert len(env.items()) == 1


async def test_without_dossier_item_type_nothing_goes_and_one_notice_shows(
    make_env: EnvFactory,
) -> None:
    env = await make_env(always_sync=True, dossier_item_type=None)
    assert env.service.notice is None  # nothing held back yet: no nagging
    first, _ = await env.call(ORG_NUMBER)
    second, _ = await env.call(CONTACT_MOBILE, report=("Vraag", ""))
    assert await env.settled(first) == ("waiting", Outcome.NO_DOSSIER_TYPE)
    assert await env.settled(second) == ("waiting", Outcome.NO_DOSSIER_TYPE)
    assert env.items() == []
    assert len(env.notices) == 1 and env.notices[0] is not None  # one notice, not one per call
    assert env.service.needs_dossier_type
    notice = env.service.notice
    assert notice is not None and "Type dossier item" in notice.nl and "2" in notice.nl
    # The consultant fills it in: the held calls go up and the notice goes away.
    fixed = env.settings.copy()
    fixed.afas.dossier_item_type = 7
    env.service.update_settings(fixed)
    assert {i.bcid for i in env.items()} == {"1001"} and len(env.items()) == 2
    assert len(env.notices) == 2 and env.notices[1] is None  # shown once, then withdrawn
    assert env.service.notice is None


async def test_internal_and_own_numbers_are_never_logged(make_env: EnvFactory) -> None:
    env = await make_env(always_sync=True)
    internal, _ = await env.call(INTERNAL)
    own, _ = await env.call(OWN)
    withheld, _ = await env.call("anonymous")
    for call_id in (internal, own, withheld):
        assert await env.settled(call_id) == ("ignored", Outcome.NOT_LOGGABLE)
    assert env.service.write_report(own, "Toch loggen?", "", bcid="1001") is WriteResult.NOT_LOGGED
    assert env.items() == []


async def test_several_matches_wait_for_the_operators_pick(make_env: EnvFactory) -> None:
    env = await make_env()
    call_id, oid = await env.call(SHARED, report=("Afspraak", "Dinsdag 10 uur."))
    assert await env.settled(call_id) == ("waiting", Outcome.NEEDS_PICK)
    assert env.items() == []
    # Editing without a pick keeps it waiting; picking sends it to that relation.
    assert env.service.write_report(call_id, "Afspraak", "Dinsdag 11 uur.") is WriteResult.WAITING
    assert env.service.write_report(call_id, "Afspraak", "Dinsdag 11 uur.",
                                    bcid="1003") is WriteResult.QUEUED
    [item] = env.items()
    assert (item.key, item.bcid, item.contact_id) == (oid, "1003", "")
    assert item.text.startswith("Dinsdag 11 uur.")
    # A pick in the caller-pop picker during the call counts too.
    picked, _ = await env.call(SHARED, report=("Retour", ""), pick="1002")
    assert await env.settled(picked) == ("queued", Outcome.UPLOAD)
    assert env.items()[1].bcid == "1002"


async def test_a_number_without_relation_goes_up_once_one_is_picked_by_hand(
    make_env: EnvFactory,
) -> None:
    env = await make_env(always_sync=True)
    call_id, _ = await env.call(UNKNOWN)
    assert await env.settled(call_id) == ("waiting", Outcome.NO_MATCH)
    assert env.items() == []
    assert env.service.write_report(call_id, "Nieuwe klant", "", bcid="1002",
                                    contact_id="") is WriteResult.QUEUED
    assert env.items()[0].bcid == "1002"


async def test_a_call_handed_over_twice_is_queued_once(make_env: EnvFactory) -> None:
    env = await make_env(always_sync=True)
    _, oid = await env.call(ORG_NUMBER)
    await until(lambda: len(env.items()) == 1)
    details = await env.client.communication(oid)
    await env.service.handle_call(details)  # as after a crash before the fetcher's commit
    assert len(env.items()) == 1


async def test_restart_in_the_middle_gives_no_gap_and_no_repeat(
    make_env: EnvFactory, tmp_path: Path
) -> None:
    sim = XelionSimulator({USER: PASSWORD}, tenant=TENANT)
    await sim.start()
    try:
        env = await make_env(sim=sim, always_sync=True)
        await env.call(ORG_NUMBER)
        await until(lambda: len(env.items()) == 1)
        await stop(env)
        # Calls finish while the app is closed.
        while_closed = [sim.log_call(ORG_NUMBER), sim.log_call(CONTACT_MOBILE)]
        env2 = await make_env(sim=sim, always_sync=True)
        await until(lambda: len(env2.items()) == 3)
        _, after = await env2.call(ORG_NUMBER)
        await until(lambda: len(env2.items()) == 4)
        await asyncio.sleep(0.3)
        keys = [i.key for i in env2.items()]
        assert keys[1:] == [*while_closed, after]
        assert len(set(keys)) == 4
    finally:
        await sim.stop()


async def test_a_report_edited_after_upload_becomes_an_addition_in_afas(
    make_env: EnvFactory,
) -> None:
    afas = AfasSimulator(relations=100, seed=3, token_data=AFAS_TOKEN)
    await afas.start()
    try:
        env = await make_env(sync_mp3=True)
        call_id, oid = await env.call(ORG_NUMBER, report=("Offerte", "Eerste versie."))
        await until(lambda: len(env.items()) == 1)
        # Still in the outbox: the edit replaces the text there.
        assert env.service.write_report(call_id, "Offerte", "Tweede versie.") is WriteResult.UPDATED
        assert env.service.write_report(call_id, "Offerte", "Tweede versie.") is WriteResult.UNCHANGED
        async with AfasClient(afas.url, AFAS_TOKEN, timeout=5) as client:
            result = await env.outbox.drain(client, subjects_connector="Profit_Subjects")
            assert result.sent == 1
            [first] = afas.subjects
            assert first.subject == "Offerte" and first.bcid == "1001"
            assert "Tweede versie." in first.text and "Eerste versie." not in first.text
            assert first.attachments and first.attachments[0][1] == 50_000
            # Already in AFAS: the new text goes up as an addition, the first item stays.
            assert env.service.write_report(call_id, "Offerte",
                                            "Klant akkoord.") is WriteResult.SUPPLEMENT
            await env.outbox.drain(client, subjects_connector="Profit_Subjects")
        assert [r.state for r in env.outbox.items()] == [OutboxState.DONE, OutboxState.DONE]
        assert env.outbox.items()[1].key == f"{oid}-2"
        second = afas.subjects[1]
        assert second.subject == "Aanvulling: Offerte" and second.bcid == "1001"
        assert second.text.startswith("Klant akkoord.") and not second.attachments
        assert len(afas.subjects) == 2
    finally:
        await afas.stop()


# --- the operator's logging filters (issue 17) ---------------------------------------------------


def finished_call(oid: str, seconds: int, *, incoming: bool = True,
                  number: str = ORG_NUMBER) -> CallDetails:
    start = datetime(2026, 11, 25, 13, 3, tzinfo=UTC)
    return CallDetails(oid, f"call-{oid}", start, start.replace(second=seconds % 60,
                       minute=3 + seconds // 60), seconds, incoming, number, "", "jan", "", ())


async def test_logging_filters_keep_short_outgoing_and_listed_calls_out_of_afas(
    make_env: EnvFactory,
) -> None:
    env = await make_env(always_sync=True)
    env.settings.reports.min_duration_seconds = 30
    env.settings.reports.log_outgoing = False
    env.settings.reports.never_log_numbers = ["06-12345678"]  # Anna's mobile, written her way
    await env.service.handle_call(finished_call("9001", 20))
    await env.service.handle_call(finished_call("9002", 45))
    await env.service.handle_call(finished_call("9003", 300, incoming=False))
    await env.service.handle_call(finished_call("9004", 300, number=CONTACT_MOBILE))
    assert env.service.state_of("call-9001") == ("waiting", Outcome.FILTERED)  # 20 s < 30 s
    assert env.service.state_of("call-9002") == ("queued", Outcome.UPLOAD)
    assert env.service.state_of("call-9003") == ("waiting", Outcome.FILTERED)  # outgoing
    assert env.service.state_of("call-9004") == ("ignored", Outcome.NOT_LOGGABLE)
    assert [item.key for item in env.items()] == ["9002"]
    # A report the operator writes for the short call still goes up; the listed number never.
    assert env.service.write_report("call-9001", "Kort maar belangrijk", "") is WriteResult.QUEUED
    assert env.service.write_report("call-9004", "Privé", "", bcid="1001") \
        is WriteResult.NOT_LOGGED
    assert [item.key for item in env.items()] == ["9002", "9001"]


async def test_a_pick_after_the_hang_up_settles_the_waiting_call_at_once(
    make_env: EnvFactory,
) -> None:
    """Two relations share the number and always_sync is on: the call waits for the pick, and the
    pick the picker records (through the router's public method) sends it at once."""
    env = await make_env(always_sync=True)
    call_id, oid = await env.call(SHARED)
    assert await env.settled(call_id) == ("waiting", Outcome.NEEDS_PICK)
    assert env.service.held_count() == 1
    env.router.record_pick(call_id, "1003")
    assert env.router.picked_for_call(call_id) == "1003"
    assert env.service.pick_recorded(call_id) is WriteResult.QUEUED
    [item] = env.items()
    assert (item.key, item.bcid) == (oid, "1003")
    assert env.service.held_count() == 0
    # A call the router never saw a pick for has none; a pick for an unknown call is no error.
    assert env.router.picked_for_call("nope") == ""
    assert env.service.pick_recorded("nope") is None


async def test_a_call_xelion_never_logs_goes_up_from_the_desktop_data(
    make_env: EnvFactory,
) -> None:
    from afas_tray.reports.service import DesktopCall

    env = await make_env()
    started = time.time() - 300
    # A trigger call without a call id: number and time are all the desktop knows.
    call = DesktopCall(number="020 123 4567", normalised=ORG_NUMBER, started=started,
                       duration=None, incoming=True)
    assert env.service.write_desktop_report(call, "Levering", "Komt morgen.") \
        is WriteResult.QUEUED
    [item] = env.items()
    assert item.bcid == "1001" and item.subject == "Levering"
    assert item.text.startswith("Komt morgen.\n\nGespreksgegevens\n")
    assert "Nummer: +31 20 123 4567" in item.text and "Duur:" not in item.text
    # Saved again before it went up: the same item carries the new text (never a second one).
    assert env.service.write_desktop_report(call, "Levering", "Komt overmorgen.") \
        is WriteResult.UPDATED
    assert [i.text.split("\n")[0] for i in env.items()] == ["Komt overmorgen."]
    # A command-line call with an id of its own and a known end: the duration is in the text.
    cli = DesktopCall(number=UNKNOWN, normalised=UNKNOWN, started=started, duration=95,
                      incoming=True, call_id="hook-1")
    # Unknown caller: waits until a relation is picked by hand, then goes to it.
    assert env.service.write_desktop_report(cli, "Nieuwe klant", "") is WriteResult.WAITING
    found = env.service.search_relations("jansen")
    assert [(m.bcid, m.name) for m in found] == [("1003", "Jansen Vastgoed"),
                                                  ("1002", "Slagerij Jansen")]
    assert [(m.bcid, m.contact_id) for m in env.service.search_relations("anna")] == [
        ("1001", "7001")]
    assert sorted(m.bcid for m in env.service.search_relations("030 765 4321")) == ["1002", "1003"]
    assert env.service.search_relations("j") == []
    assert env.service.search_relations("%") == []
    assert env.service.write_desktop_report(cli, "Nieuwe klant", "", bcid="1002") \
        is WriteResult.QUEUED
    second = env.items()[1]
    assert second.bcid == "1002" and "Duur: 1 min 35 s" in second.text


# --- Xelion as it identifies calls and keeps reports ---------------------------------------------


async def test_a_desktop_report_reaches_its_call_through_the_caller_prefixed_id(
        make_env: EnvFactory) -> None:
    env = await make_env()
    call_id = env.sim.ring(ORG_NUMBER, incoming=False)  # we placed it: the log says caller_<id>
    env.router.handle(CallEvent(ORG_NUMBER, call_id, Direction.OUTGOING, CallState.RINGING,
                                CallSource.XELION))
    env.sim.answer(call_id)
    assert env.service.write_report(call_id, "Offerte", "Gebeld.") is WriteResult.SAVED
    oid = env.sim.hangup(call_id)
    env.service.hung_up(CallEvent(ORG_NUMBER, call_id, Direction.OUTGOING, CallState.HUNG_UP,
                                  CallSource.XELION))
    assert await env.settled(call_id) == ("queued", Outcome.UPLOAD)
    [item] = env.items()
    assert item.key == oid and item.subject == "Offerte" and item.bcid == "1001"
    details = await env.client.call_by_id(call_id)  # the guide's route: <id>, then caller_<id>
    assert details is not None and details.call_id == "caller_" + call_id


async def test_a_desktop_call_id_xelion_does_not_know_meets_by_number_and_time(
        make_env: EnvFactory) -> None:
    env = await make_env()
    sip = env.sim.ring(ORG_NUMBER)
    env.ring(ORG_NUMBER, "desk-7")  # e.g. a softphone hand-off with its own id
    env.sim.answer(sip)
    assert env.service.write_report("desk-7", "Levering", "Vandaag.") is WriteResult.SAVED
    env.sim.hangup(sip)
    env.hang_up(ORG_NUMBER, "desk-7")
    assert env.service.fetcher is not None
    env.service.fetcher.hung_up()  # the safety poll's pass, without waiting a minute
    assert await env.settled("desk-7") == ("queued", Outcome.UPLOAD)
    [item] = env.items()
    assert item.subject == "Levering" and item.text.startswith("Vandaag.")


async def test_a_report_typed_in_xelions_log_entry_becomes_the_dossier_item(
        make_env: EnvFactory) -> None:
    env = await make_env(reread_after=(0.3, 0.8))
    call_id, oid = await env.call(ORG_NUMBER)
    assert await env.settled(call_id) == ("waiting", Outcome.NOTHING_TO_SEND)
    # The operator types the "gespreksverslag" into Xelion a little after the hang-up.
    env.sim.write_report(oid, "Klacht levering", "Pakket kwam beschadigd aan.")
    await until(lambda: len(env.items()) == 1, timeout=5)
    [item] = env.items()
    assert item.key == oid and item.subject == "Klacht levering"
    assert item.text.startswith("Pakket kwam beschadigd aan.\n\nGespreksgegevens")
    # Only contents: the manual's text for an empty subject.
    _, oid2 = await env.call(ORG_NUMBER)
    env.sim.write_report(oid2, "", "Alleen tekst.")
    await until(lambda: len(env.items()) == 2, timeout=5)
    assert env.items()[1].subject == item_subject("", env.settings)  # Tekst bij leeg onderwerp
    assert env.items()[1].text.startswith("Alleen tekst.")


async def test_the_desktop_report_wins_is_written_back_and_never_both_go(
        make_env: EnvFactory) -> None:
    env = await make_env(reread_after=(0.3, 0.8))
    _, oid = await env.call(ORG_NUMBER, report=("Offerte", "Van het bureaublad."))
    env.sim.write_report(oid, "Iets anders", "In Xelion getypt.")
    await until(lambda: env.sim.report_of(oid) == ("Offerte", "Van het bureaublad."), timeout=5)
    await asyncio.sleep(1.2)  # past every re-read
    [item] = env.items()
    assert item.subject == "Offerte" and "In Xelion getypt." not in item.text
