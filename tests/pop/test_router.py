"""CallRouter: what the operator sees when the phone rings (one card, a choice, an unknown-caller
notice, or nothing), and what the tray and the call-report pipeline read back from the store."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
import webbrowser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from afas_tray.config import Settings
from afas_tray.events import CallEvent, CallSource, CallState, Direction
from afas_tray.models import Match, RelationKind
from afas_tray.pop.opener import RecordingOpener, WebbrowserOpener
from afas_tray.pop.router import (
    RECENT_LIMIT,
    CallRouter,
    Choice,
    Ignored,
    IgnoreReason,
    OpenCard,
    UnknownCaller,
    card_url,
)
from afas_tray.store import open_db

TEMPLATE = "https://12345.afasinsite.nl/verkooprelatie-prs?BcId=<BCID>"
SEARCH = "https://12345.afasinsite.nl/zoeken?q=<NUMBER>"
ORG = Match(
    "ORG 1&2?x=#",
    "Bakkerij De Ruyter & Zn",
    RelationKind.ORGANISATION,
    "020-1234567",
    "TelWork",
    rank=0,
)
ORG_CONTACT_A = Match(
    "ORG 1&2?x=#",
    "Bakkerij De Ruyter & Zn",
    RelationKind.CONTACT,
    "020 123 4567",
    "TelWork",
    contact_id="C-10",
    contact_name="Anna",
    rank=0,
)
ORG_CONTACT_B = Match(
    "ORG 1&2?x=#",
    "Bakkerij De Ruyter & Zn",
    RelationKind.CONTACT,
    "+31201234567",
    "TelWork",
    contact_id="C-11",
    contact_name="Bert",
    rank=2,
)
OTHER = Match(
    "ORG-2", "Slagerij Jansen", RelationKind.ORGANISATION, "0201234568", "TelWork", rank=0
)
PERSON = Match("PRS-7", "Piet Pietersen", RelationKind.PERSON, "0201234568", "MobPrivate", rank=1)

SHARED_MAIN = "+31201234567"  # an organisation's main number, also on its contact persons
TWO_RELATIONS = "+31201234568"  # an organisation and an unrelated person share this number
CONTACT_OWN = "+31612345678"  # one contact person's own mobile
UNKNOWN = "+31301234567"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def book() -> dict[str, list[Match]]:
    return {
        SHARED_MAIN: [ORG_CONTACT_A, ORG, ORG_CONTACT_B],
        TWO_RELATIONS: [PERSON, OTHER],
        CONTACT_OWN: [
            Match(
                "ORG-3",
                "Garage Smit",
                RelationKind.CONTACT,
                "06-12345678",
                "MobWork",
                contact_id="C-30",
                contact_name="Carla Smit",
                rank=2,
            ),
            Match(
                "ORG-3",
                "Garage Smit",
                RelationKind.CONTACT,
                "0612345678",
                "TelWork",
                contact_id="C-30",
                contact_name="Carla Smit",
                rank=3,
            ),
        ],
    }


@pytest.fixture
def cfg() -> Settings:
    s = Settings()
    s.afas.insite_url_template = TEMPLATE
    s.pop.own_numbers = ["+31 20 555 0000"]
    s.pop.dedupe_seconds = 5
    return s


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state.sqlite3"


@pytest.fixture
def opener() -> RecordingOpener:
    return RecordingOpener()


@pytest.fixture
def router(book, cfg, opener, clock, db_path) -> CallRouter:
    return CallRouter(lambda n: book.get(n, []), cfg, opener, open_db(db_path), clock=clock)


def ring(
    number: str, call_id: str = "", state: CallState = CallState.RINGING, **kw: object
) -> CallEvent:
    return CallEvent(number, call_id=call_id, state=state, **kw)  # type: ignore[arg-type]


def bcid_of(url: str) -> str:
    assert url.startswith("https://12345.afasinsite.nl/verkooprelatie-prs?BcId=")
    return parse_qs(urlsplit(url).query, keep_blank_values=True)["BcId"][0]


# --- one card ------------------------------------------------------------------------------------


def test_one_match_opens_one_url_encoded_card(router, opener, book):
    book["+31201112222"] = [Match("A B&C?D/E#1=%", "Apotheek", RelationKind.ORGANISATION)]
    decision = router.handle(ring("020 111 2222", "c1"))
    assert isinstance(decision, OpenCard)
    assert opener.urls == [
        "https://12345.afasinsite.nl/verkooprelatie-prs?BcId=A%20B%26C%3FD%2FE%231%3D%25"
    ]
    assert bcid_of(opener.urls[0]) == "A B&C?D/E#1=%"
    assert len(opener.calls) == 1


def test_ring_answer_transfer_hangup_of_one_call_open_one_card(router, opener, clock):
    for state in (
        CallState.RINGING,
        CallState.ANSWERED,
        CallState.TRANSFERRED,
        CallState.ANSWERED,
        CallState.HUNG_UP,
    ):
        router.handle(ring("0201234568", "call-7", state, source=CallSource.XELION))
        clock.now += 30  # long past the number window: only the call id ties them together
    assert len(opener.calls) == 1
    recent = router.recent_calls()
    assert [(c.call_id, c.state) for c in recent] == [("call-7", CallState.HUNG_UP)]


def test_same_call_from_two_sources_opens_one_card(router, opener, clock):
    router.handle(ring("020-1234568", source=CallSource.CLI))  # a trigger, no call id
    clock.now += 1
    router.handle(ring("+31201234568", "x-1", source=CallSource.XELION))
    clock.now += 1
    router.handle(ring("0031201234568", "x-1", CallState.ANSWERED, source=CallSource.XELION))
    assert len(opener.calls) == 1
    recent = router.recent_calls()
    assert len(recent) == 1 and recent[0].call_id == "x-1"


def test_same_number_without_call_id_opens_again_only_after_the_window(router, opener, clock):
    router.handle(ring("0612345678"))
    clock.now += 3
    assert router.handle(ring("06 12345678")) == Ignored(IgnoreReason.DUPLICATE)
    assert len(opener.urls) == 1
    clock.now += 5.5  # 5.5 s after the last ring: a new call
    assert isinstance(router.handle(ring("06-12345678")), OpenCard)
    assert len(opener.urls) == 2
    assert len(router.recent_calls()) == 2


def test_pop_on_answer_waits_for_the_answer(router, cfg, opener, clock):
    cfg.pop.on = "answer"
    assert router.handle(ring("0201234567", "a1")) == Ignored(IgnoreReason.NOT_POP_STATE)
    assert opener.calls == []
    clock.now += 12
    assert isinstance(router.handle(ring("0201234567", "a1", CallState.ANSWERED)), OpenCard)
    router.handle(ring("0201234567", "a1", CallState.ANSWERED))
    router.handle(ring("0201234567", "a1", CallState.HUNG_UP))
    assert len(opener.urls) == 1


def test_pop_off_never_opens_but_records_the_call_and_its_relation(router, cfg, opener):
    cfg.pop.on = "off"
    for state in (CallState.RINGING, CallState.ANSWERED, CallState.HUNG_UP):
        assert router.handle(ring("0612345678", "off-1", state)) == Ignored(IgnoreReason.POP_OFF)
    assert opener.calls == []
    [recent] = router.recent_calls()
    assert (recent.match_bcid, recent.popped, recent.state) == ("ORG-3", False, CallState.HUNG_UP)
    assert [m.bcid for m in router.match_for_call("off-1")] == ["ORG-3"]


def test_outgoing_call_does_not_pop_but_is_recorded(router, opener):
    decision = router.handle(ring("0612345678", "out-1", direction=Direction.OUTGOING))
    assert decision == Ignored(IgnoreReason.OUTGOING)
    assert opener.calls == []
    assert router.recent_calls()[0].direction is Direction.OUTGOING


# --- numbers that never pop ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number", ["", "   ", "anonymous", "Anoniem", "withheld", "unknown", "+31", "0031", "+"]
)
def test_withheld_numbers_never_pop_and_are_not_kept(router, opener, number):
    decision = router.handle(ring(number, "w1"))
    assert decision == Ignored(IgnoreReason.ANONYMOUS)
    assert opener.calls == []
    assert router.recent_calls() == []
    assert not router.is_loggable(number)


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("204", IgnoreReason.INTERNAL),
        ("12 345", IgnoreReason.INTERNAL),
        ("020 555 0000", IgnoreReason.OWN_NUMBER),  # own number written another way
        ("+31205550000", IgnoreReason.OWN_NUMBER),
    ],
)
def test_internal_and_own_numbers_never_pop_and_never_log(router, opener, number, reason):
    assert router.handle(ring(number, "i1")) == Ignored(reason)
    assert opener.calls == []
    assert router.recent_calls() == []
    assert not router.is_loggable(number)
    assert router.is_loggable("020 123 4567")


# --- one relation, or a choice ------------------------------------------------------------------


def test_organisation_and_its_own_contacts_open_the_organisation(router, opener):
    decision = router.handle(ring("020 123 4567", "s1"))
    assert isinstance(decision, OpenCard)
    assert opener.choices == []
    assert bcid_of(opener.urls[0]) == ORG.bcid
    # A shared main number: the report goes to the organisation, not to one of its contacts.
    assert decision.match.kind is RelationKind.ORGANISATION and decision.match.contact_id == ""
    assert router.match_for_call("s1") == [ORG]


def test_contacts_own_number_found_in_two_columns_opens_once_with_the_contact(router, opener):
    decision = router.handle(ring("06 1234 5678", "k1"))
    assert isinstance(decision, OpenCard)
    assert bcid_of(opener.urls[0]) == "ORG-3"
    [match] = router.match_for_call("k1")
    assert (match.bcid, match.contact_id) == ("ORG-3", "C-30")
    assert router.recent_calls()[0].match_contact_id == "C-30"


def test_two_contacts_sharing_a_number_open_their_organisation_without_a_contact(
    router, opener, book
):
    book["+31201112233"] = [ORG_CONTACT_A, ORG_CONTACT_B]
    decision = router.handle(ring("0201112233", "k2"))
    assert isinstance(decision, OpenCard) and opener.choices == []
    assert (decision.match.bcid, decision.match.contact_id) == (ORG.bcid, "")


def test_a_row_without_bcid_cannot_be_opened_and_is_no_candidate(router, opener, book):
    blank = Match(" ", "Rij zonder BcId", RelationKind.ORGANISATION)
    book["+31201112244"] = [blank, OTHER]
    book["+31201112255"] = [blank]
    assert isinstance(router.handle(ring("0201112244", "b1")), OpenCard)
    assert isinstance(router.handle(ring("0201112255", "b2")), UnknownCaller)
    assert [bcid_of(u) for u in opener.urls] == ["ORG-2"] and opener.choices == []


def test_distinct_relations_give_a_choice_with_the_remembered_default(
    router, opener, clock, book, cfg, db_path
):
    first = router.handle(ring("020 123 4568", "d1"))
    assert isinstance(first, Choice) and opener.urls == []
    assert [(c.bcid, c.kind) for c in first.candidates] == [
        ("ORG-2", RelationKind.ORGANISATION),
        ("PRS-7", RelationKind.PERSON),
    ]  # ranked: the organisation (rank 0) before the person (rank 1)
    assert first.default_index == 0
    assert [bcid_of(c.url) for c in first.candidates] == ["ORG-2", "PRS-7"]
    assert opener.choices == [first]

    router.remember_choice(first.number, "PRS-7")
    assert [m.bcid for m in router.match_for_call("d1")] == ["PRS-7", "ORG-2"]
    clock.now += 60
    second = router.handle(ring("+31201234568", "d2"))
    assert isinstance(second, Choice) and second.default.bcid == "PRS-7"

    # The operator picks the organisation for this one call only: its report goes there.
    router.record_pick("d2", "ORG-2")
    assert [m.bcid for m in router.match_for_call("d2")] == ["ORG-2", "PRS-7"]

    # The choice survives a restart (it is in the store), and so does the pick.
    again = CallRouter(lambda n: book.get(n, []), cfg, RecordingOpener(), open_db(db_path))
    third = again.handle(ring("0201234568", "d3"))
    assert isinstance(third, Choice) and third.default.bcid == "PRS-7"
    assert [m.bcid for m in again.match_for_call("d2")] == ["ORG-2", "PRS-7"]
    assert [m.bcid for m in again.match_for_call("d1")] == ["PRS-7", "ORG-2"]


def test_webbrowser_fallback_opens_the_default_of_a_choice(tmp_path):
    script, log = _browser_script(tmp_path)
    router = CallRouter(
        lambda n: [PERSON, OTHER],
        _settings(),
        WebbrowserOpener(
            background=False, controller=webbrowser.GenericBrowser([str(script), "%s"])
        ),
        open_db(tmp_path / "db.sqlite3"),
    )
    router.remember_choice("0201234568", "PRS-7")
    assert isinstance(router.handle(ring("0201234568", "w1")), Choice)
    assert log.read_text().split() == [TEMPLATE.replace("<BCID>", "PRS-7")]


# --- unknown callers -------------------------------------------------------------------------------


def test_unknown_caller_without_search_page(router, opener):
    decision = router.handle(ring(" 030-1234567 ", "u1"))
    assert decision == UnknownCaller("030-1234567", UNKNOWN, None)
    assert opener.unknown == [decision] and opener.urls == []
    assert router.recent_calls()[0].match_count == 0
    assert router.match_for_call("u1") == []


def test_unknown_caller_with_search_page(router, cfg, opener):
    cfg.pop.unknown_url_template = SEARCH
    decision = router.handle(ring("030 123 4567", "u2"))
    assert isinstance(decision, UnknownCaller)
    assert decision.search_url == "https://12345.afasinsite.nl/zoeken?q=%2B31301234567"
    assert parse_qs(urlsplit(decision.search_url).query)["q"] == [UNKNOWN]


def test_missing_template_opens_nothing_and_says_why(router, cfg, opener):
    cfg.afas.insite_url_template = "https://12345.afasinsite.nl/verkooprelatie-prs"
    assert router.handle(ring("0612345678", "t1")) == Ignored(IgnoreReason.NO_TEMPLATE)
    assert opener.calls == []


# --- the store ----------------------------------------------------------------------------------


def test_recent_calls_keep_the_50_newest_newest_first(router, clock):
    for i in range(RECENT_LIMIT + 12):
        router.handle(ring(f"06{20000000 + i}", f"r{i}", time=1_700_000_000.0 + i))
        clock.now += 10
    recent = router.recent_calls()
    assert len(recent) == RECENT_LIMIT
    assert [c.call_id for c in recent] == [f"r{i}" for i in range(61, 11, -1)]
    assert recent[0].number == "0620000061" and recent[0].normalised == "+31620000061"
    assert recent[0].time == 1_700_000_061.0
    assert [c.call_id for c in router.recent_calls(limit=3)] == ["r61", "r60", "r59"]


def test_a_restart_does_not_reopen_a_call_that_already_popped(router, book, cfg, db_path):
    router.handle(ring("0201234567", "long-call"))
    opener = RecordingOpener()
    restarted = CallRouter(lambda n: book.get(n, []), cfg, opener, open_db(db_path))
    restarted.handle(ring("0201234567", "long-call", CallState.ANSWERED))
    assert opener.calls == []
    assert len(restarted.recent_calls()) == 1


def test_a_failing_lookup_or_opener_never_breaks_the_call_sources(cfg, db_path):
    def broken_lookup(number: str) -> list[Match]:
        raise RuntimeError("phone book being replaced")

    class BrokenOpener(RecordingOpener):
        def open_url(self, url: str) -> None:
            raise OSError("no browser")

    router = CallRouter(broken_lookup, cfg, BrokenOpener(), open_db(db_path))
    assert isinstance(router.handle(ring("0201234567", "b1")), UnknownCaller)
    router2 = CallRouter(lambda n: [ORG], cfg, BrokenOpener(), open_db(db_path))
    assert isinstance(router2.handle(ring("0201234567", "b2")), OpenCard)
    assert [c.call_id for c in router2.recent_calls()] == ["b2", "b1"]


def test_a_busy_database_does_not_delay_the_next_pop(router, opener, db_path):
    router.handle(ring("0612345678", "before"))
    sync = open_db(db_path)  # e.g. the phone book being replaced in one long transaction
    sync.execute("BEGIN IMMEDIATE")
    try:
        started = time.perf_counter()
        assert isinstance(router.handle(ring("020 123 4568", "during")), Choice)
        assert isinstance(router.handle(ring("020 123 4567", "during-2")), OpenCard)
        assert time.perf_counter() - started < 1.0  # not the 30 s busy timeout
        assert [m.bcid for m in router.match_for_call("during")] == ["ORG-2", "PRS-7"]
        assert [c.call_id for c in router.recent_calls()] == ["before"]
    finally:
        sync.execute("COMMIT")
    assert [c.call_id for c in router.recent_calls()] == ["during-2", "during", "before"]
    assert len(opener.calls) == 3


# --- nothing from an event reaches a URL --------------------------------------------------------


def _allowed(url: str, book: dict[str, list[Match]]) -> bool:
    parts = urlsplit(url)
    if parts.netloc != "12345.afasinsite.nl":
        return False
    query = parse_qs(parts.query, keep_blank_values=True)
    if parts.path == "/verkooprelatie-prs":
        bcids = {m.bcid for matches in book.values() for m in matches}
        return set(query) == {"BcId"} and query["BcId"][0] in bcids
    if parts.path == "/zoeken":
        q = query["q"][0]
        return set(query) == {"q"} and q.startswith("+") and q[1:].isdigit()
    return False


HOSTILE = [
    "https://evil.example/?BcId=x",
    "javascript:alert(1)",
    "0201234567<BCID>",
    "0612345678&BcId=evil",
    "+31 20 123 4567 <NUMBER>",
    "+31301234567#https://evil.example",
    "tel:+31301234567;ext=<BCID>",
    "%2B31301234567",
    "030 123 4567\nLocation: https://evil.example",
]


@pytest.mark.parametrize("number", HOSTILE)
def test_an_event_cannot_inject_a_url(router, cfg, opener, book, number):
    """Every hostile number is refused as a number: nothing is opened, not even a search."""
    cfg.pop.unknown_url_template = SEARCH
    decision = router.handle(ring(number, "evil", name="https://evil.example/<BCID>"))
    assert isinstance(decision, Ignored), decision
    assert decision.reason in (IgnoreReason.INVALID, IgnoreReason.ANONYMOUS), decision
    assert opener.urls == [] and opener.unknown == [] and opener.choices == []


HOSTILE_IDS = ["https://evil.example/?BcId=x", "x&BcId=evil", "<BCID>", "../../insite", "a\nb"]


@pytest.mark.parametrize("call_id", HOSTILE_IDS)
@pytest.mark.parametrize(("number", "kind"), [
    (CONTACT_OWN, OpenCard), (UNKNOWN, UnknownCaller), (TWO_RELATIONS, Choice)])
def test_a_valid_number_with_a_hostile_name_and_call_id_opens_only_template_urls(
        router, cfg, opener, book, number, kind, call_id):
    """Where something does open, only the number's lookup reaches the URL: the event's name and
    call id never do."""
    cfg.pop.unknown_url_template = SEARCH
    decision = router.handle(ring(number, call_id, name="https://evil.example/<BCID>&q=<NUMBER>"))
    assert isinstance(decision, kind), decision
    urls = opener.urls + [u.search_url for u in opener.unknown if u.search_url] + [
        c.url for choice in opener.choices for c in choice.candidates]
    assert urls, "something opens for a valid number"
    for url in urls:
        assert _allowed(url, book), url
        assert "evil" not in url and "insite/" not in url


@hyp_settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    number=st.text(
        alphabet=st.sampled_from("+0123456789 -()<>&?#=/:%BCIDNUMERhtps.\n"), max_size=30
    )
)
def test_fuzzed_numbers_only_ever_open_template_urls(router, cfg, opener, book, clock, number):
    cfg.pop.unknown_url_template = SEARCH
    clock.now += 100
    router.handle(ring(number))
    for url in opener.urls + [u.search_url for u in opener.unknown if u.search_url]:
        assert _allowed(url, book), url


# --- the webbrowser fallback honours $BROWSER ---------------------------------------------------


def _browser_script(tmp_path: Path) -> tuple[Path, Path]:
    log = tmp_path / "opened.txt"
    script = tmp_path / "browser.sh"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> "{log}"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, log


def _settings() -> Settings:
    s = Settings()
    s.afas.insite_url_template = TEMPLATE
    return s


@pytest.mark.skipif(sys.platform == "win32", reason="shell script as browser")
def test_webbrowser_opener_uses_the_browser_from_the_environment(tmp_path):
    script, log = _browser_script(tmp_path)
    url = TEMPLATE.replace("<BCID>", "A%20B")
    code = (
        "from afas_tray.pop.opener import WebbrowserOpener; "
        f"WebbrowserOpener(background=False).open_url({url!r})"
    )
    env = {**os.environ, "BROWSER": str(script), "DISPLAY": "", "WAYLAND_DISPLAY": ""}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=30)
    assert log.read_text().split() == [url]


def test_webbrowser_opener_opens_the_search_page_of_an_unknown_caller(tmp_path):
    script, log = _browser_script(tmp_path)
    opener = WebbrowserOpener(controller=webbrowser.GenericBrowser([str(script), "%s"]))
    opener.unknown_caller(UnknownCaller("030", UNKNOWN, "https://12345.afasinsite.nl/zoeken?q=1"))
    opener.unknown_caller(UnknownCaller("030", UNKNOWN, None))  # nothing to open
    for _ in range(100):  # opened in the background
        if log.exists():
            break
        time.sleep(0.05)
    assert log.read_text().split() == ["https://12345.afasinsite.nl/zoeken?q=1"]


def test_card_url_fills_the_internal_id_or_the_number() -> None:
    bcid_tpl = "https://12345.afasinsite.nl/verkooprelatie-prs?BcId=<BCID>"
    number_tpl = "https://12345.afasinsite.nl/verkooprelatie-prs?BcId=<BCCO>"
    assert card_url(bcid_tpl, "1006", "1000003").endswith("?BcId=1006")
    assert card_url(number_tpl, "1006", "1000003").endswith("?BcId=1000003")
    # A relation without a known number opens no wrong card for <BCCO>.
    assert card_url(number_tpl, "1006", "") is None
    assert card_url("https://12345.afasinsite.nl/x?q=1", "1006", "1000003") is None
