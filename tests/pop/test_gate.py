"""Pause caller pop and Xelion's do-not-disturb: nothing opens, every call is still logged."""

from __future__ import annotations

import asyncio
import json

from afas_tray.config import Settings
from afas_tray.demo.afas import AfasSimulator
from afas_tray.demo.sample_data import KNOWN
from afas_tray.demo.xelion import XelionSimulator
from afas_tray.pop.gate import PopGate, dnd_from_payload
from afas_tray.pop.opener import RecordingOpener
from afas_tray.pop.router import UnknownCaller
from tests.helpers.core import running_core, settings_for
from tests.helpers.wait import until


async def test_a_paused_pop_opens_nothing_and_still_logs(
        servers: tuple[AfasSimulator, XelionSimulator]) -> None:
    afas, xelion = servers
    async with running_core(afas, xelion) as (core, opener):
        core.pop.pause(None)  # "until resumed"
        known = KNOWN["org_unique"]
        call_id = xelion.ring(known.written[0])
        await until(lambda: core.recent_calls(), what="the call in recent calls")
        xelion.answer(call_id)
        stranger = xelion.ring(KNOWN["no_match"].written[0])
        await until(lambda: len(core.recent_calls()) == 2)
        await asyncio.sleep(0.3)
        assert opener.calls == []  # no browser card, no notice
        assert core.recent_calls()[1].match_bcid == known.bcids[0]

        xelion.hangup(call_id, recording=False)
        xelion.hangup(stranger, recording=False)
        core.save_report(call_id, "Gesprek tijdens pauze", "Toch gelogd.", None)
        await until(lambda: afas.subjects, timeout=30, what="the dossier item")
        [item] = afas.subjects
        assert item.subject == "Gesprek tijdens pauze" and item.bcid == known.bcids[0]

        core.pop.resume()
        xelion.ring(KNOWN["person_mobile"].written[0])
        await until(lambda: opener.urls, what="the card after resuming")


async def test_xelion_do_not_disturb_holds_the_pop_when_followed(
        servers: tuple[AfasSimulator, XelionSimulator]) -> None:
    afas, xelion = servers
    settings = settings_for(afas, xelion)
    settings.pop.follow_do_not_disturb = True
    async with running_core(afas, xelion, settings) as (core, opener):
        stream = core._xelion_stream[1]
        # The frame as the simulator (and a public Xelion web client) wraps notifications.
        stream.handle_message(json.dumps({"messageType": "notification",
                                          "notificationType": "doNotDisturbEvent",
                                          "notificationObject": {"doNotDisturb": True}}))
        assert core.pop.do_not_disturb and core.pop.held
        known = KNOWN["org_unique"]
        first = xelion.ring(known.written[0])
        await until(lambda: core.recent_calls())
        await asyncio.sleep(0.2)
        assert opener.calls == []
        xelion.hangup(first, recording=False)

        # Not followed: do not disturb in Xelion leaves the desk's pop alone.
        new = settings.copy()
        new.pop.follow_do_not_disturb = False
        old_sockets = set(xelion._conns)
        await core.apply_settings(new)
        assert not core.pop.held
        # Nothing of Xelion changed: the same websocket carries the next ring, at once.
        assert set(xelion._conns) == old_sockets
        second = xelion.ring(KNOWN["person_mobile"].written[0])
        await until(lambda: opener.urls, what="the card with do not disturb not followed")
        xelion.hangup(second, recording=False)

        # A flat message (no wrapper) switching it off.
        core.settings.pop.follow_do_not_disturb = True
        core._xelion_stream[1].handle_message(json.dumps(
            {"notificationType": "doNotDisturbEvent", "doNotDisturbOn": "false"}))
        assert not core.pop.do_not_disturb and not core.pop.held


def test_pause_for_an_hour_ends_by_itself() -> None:
    now = [1000.0]
    opener = RecordingOpener()
    gate = PopGate(opener, Settings, clock=lambda: now[0])
    gate.pause(3600)
    gate.unknown_caller(UnknownCaller("0201234567", "+31201234567", None))
    gate.open_url("https://x/?BcId=1")
    assert gate.paused and opener.calls == []
    now[0] += 3599
    assert gate.paused
    now[0] += 2
    assert not gate.paused and gate.paused_until is None
    gate.open_url("https://x/?BcId=1")
    assert opener.urls == ["https://x/?BcId=1"]


def test_only_the_caller_card_leaves_the_browser_closed() -> None:
    settings = Settings()
    settings.card.open_browser = False
    opener = RecordingOpener()
    gate = PopGate(opener, lambda: settings)
    gate.open_url("https://x/?BcId=1")
    gate.unknown_caller(UnknownCaller("0201234567", "+31201234567", None))
    assert opener.urls == [] and len(opener.unknown) == 1  # the notice is not the browser


def test_do_not_disturb_payload_shapes() -> None:
    assert dnd_from_payload({"doNotDisturb": True}) is True
    assert dnd_from_payload({"doNotDisturbOn": "false"}) is False
    assert dnd_from_payload({"status": "ON"}) is True
    assert dnd_from_payload({"user": {"dnd": 0}}) is False
    assert dnd_from_payload({"something": "else"}) is None


def test_new_settings_parse_validate_and_survive_a_round_trip() -> None:
    from afas_tray.config import from_dict, set_value, to_dict, validate

    s = Settings()
    assert (s.card.open_browser, s.card.show, s.reports.min_duration_seconds,
            s.reports.log_outgoing) == (True, False, 0, True)  # today's behaviour by default
    set_value(s, "card.show", "ja")
    set_value(s, "card.position", " Top_Right ")
    set_value(s, "reports.min_duration_seconds", "30")
    set_value(s, "reports.never_log_numbers", "06-12345678, +32 2 555 01 04")
    set_value(s, "pop.follow_do_not_disturb", "on")
    again = from_dict(to_dict(s))
    assert again.card.show and again.card.position == "top_right"
    assert again.reports.never_log_numbers == ["06-12345678", "+32 2 555 01 04"]
    assert again.pop.follow_do_not_disturb
    s.card.position = "somewhere"
    s.card.seconds = -1
    s.reports.never_log_numbers = ["geen nummer"]
    errors = validate(s)
    assert {"card.position", "card.seconds", "reports.never_log_numbers"} <= set(errors)
    assert "geen nummer" in errors["reports.never_log_numbers"].nl


def test_numbers_read_nationally_at_home_and_internationally_abroad() -> None:
    from afas_tray.numbers import display

    assert display("+31201234567", "NL") == "020 123 4567"
    assert display("0031 6 12345678", "NL") == "06 12345678"
    assert display("+3221234567", "NL") == "+32 2 123 45 67"
    assert display("+3221234567", "BE") == "02 123 45 67"
    assert display("anoniem", "NL") == "anoniem"  # not a number: as written
