"""XelionEventStream against the simulated Xelion websocket over loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from afas_tray.demo.xelion import XelionSimulator
from afas_tray.events import CallSource, CallState, Direction
from afas_tray.handoff import HandoffError, parse_trigger_value
from afas_tray.xelion import XelionAuthError, XelionClient
from afas_tray.xelion.stream import (
    ChannelTracker,
    StreamState,
    XelionEventStream,
)
from tests.helpers.wait import until
from tests.helpers.xelion import OTHER_USER, Collector

Factory = Callable[..., XelionClient]


class Running:
    def __init__(self, stream: XelionEventStream, collector: Collector,
                 task: asyncio.Task[None]) -> None:
        self.stream = stream
        self.got = collector
        self.task = task


@pytest.fixture
async def start_stream(xelion_client_factory: Factory
                       ) -> AsyncIterator[Callable[..., Any]]:
    tasks: list[asyncio.Task[None]] = []

    async def start(client: XelionClient | None = None, *, connect: bool = True,
                    **kwargs: Any) -> Running:
        collector = Collector()
        kwargs.setdefault("base_delay", 0.2)
        stream = XelionEventStream(client or xelion_client_factory(), collector.on_event,
                                   collector.on_status, **kwargs)
        task = asyncio.create_task(stream.run())
        tasks.append(task)
        if connect:
            await until(lambda: stream.status.state is StreamState.CONNECTED)
        return Running(stream, collector, task)

    try:
        yield start
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_a_ring_with_only_a_sip_account_and_a_name_pops_through_the_trigger(
        xelion_sim: XelionSimulator, start_stream: Any) -> None:
    run: Running = await start_stream()
    call_id = xelion_sim.ring("+31201234567", name="Bakkerij de Vries")
    await until(lambda: run.got.events)
    await asyncio.sleep(0.3)  # nothing else may follow for the two ringing channels
    # What the channels carry, as the guide has it: SIP accounts and names, no number.
    channels = xelion_sim.active_channel_list()
    assert {c["phone"] for c in channels} == {"trunk-kpn", "jan"}
    assert not any("1234567" in json.dumps(c) for c in channels)
    assert len(run.got.events) == 1
    event = run.got.events[0]
    assert event.state is CallState.RINGING
    assert event.number == "+31201234567" and event.call_id == call_id  # the SIP call id
    assert event.direction is Direction.INCOMING and event.source is CallSource.XELION
    assert run.stream.trigger_events == 1

    run.stream.stop()  # the app quits: the stream ends and the websocket closes
    await asyncio.wait_for(run.task, timeout=3)
    assert run.stream.status.state is StreamState.STOPPED
    await until(lambda: xelion_sim.websocket_count == 0)


async def _answered_and_hung_up(sim: XelionSimulator, run: Running) -> str:
    """A call that rings, is answered and hung up; back once its three events are in and any
    double would have arrived too."""
    call_id = sim.ring("+31201234567")
    sim.answer(call_id)
    sim.hangup(call_id)
    await until(lambda: len(run.got.events) >= 3)
    await asyncio.sleep(0.2)
    return call_id


async def test_the_trigger_before_the_channels_pops_once_too(
        xelion_sim: XelionSimulator, start_stream: Any) -> None:
    xelion_sim.trigger_first = True
    run: Running = await start_stream()
    call_id = await _answered_and_hung_up(xelion_sim, run)
    assert run.got.states(call_id) == ["ringing", "answered", "hung_up"]


async def test_without_a_trigger_nothing_pops_on_a_sip_account(
        xelion_sim: XelionSimulator, start_stream: Any) -> None:
    xelion_sim.triggers = []
    ended: list[str] = []
    run: Running = await start_stream(on_call_end=ended.append, fallback_grace=0.1)
    call_id = xelion_sim.ring("+31201234567", name="Bakkerij de Vries")
    xelion_sim.answer(call_id)
    xelion_sim.hangup(call_id)
    await asyncio.sleep(0.5)
    assert run.got.events == []
    assert run.stream.trigger_events == 0


async def test_answer_and_hangup_are_mapped_once(xelion_sim: XelionSimulator,
                                                 start_stream: Any) -> None:
    run: Running = await start_stream()
    call_id = await _answered_and_hung_up(xelion_sim, run)
    assert run.got.states(call_id) == ["ringing", "answered", "hung_up"]
    assert {e.number for e in run.got.events} == {"+31201234567"}


async def test_transfer_is_told_by_call_transferred_event(
        xelion_sim: XelionSimulator, start_stream: Any) -> None:
    notices: list[Any] = []
    run: Running = await start_stream(on_notice=notices.append)
    call_id = xelion_sim.ring("+31201234567")
    xelion_sim.answer(call_id)
    xelion_sim.transfer(call_id)
    xelion_sim.hangup(call_id)  # the colleague finishes: not our business any more
    await until(lambda: len(run.got.events) >= 3)
    await asyncio.sleep(0.2)
    assert run.got.states(call_id) == ["ringing", "answered", "transferred"]
    assert [n.kind for n in notices] == ["callTransferredEvent"]


async def test_a_missed_call_is_parsed_and_passed_on(
        xelion_sim: XelionSimulator, start_stream: Any) -> None:
    notices: list[Any] = []
    run: Running = await start_stream(on_notice=notices.append)
    call_id = xelion_sim.ring("+31201234567")
    xelion_sim.hangup(call_id)
    await until(lambda: notices)
    assert (notices[0].kind, notices[0].call_id, notices[0].number) == (
        "missedCallEvent", call_id, "+31201234567")
    await until(lambda: len(run.got.events) >= 2)
    assert run.got.states(call_id) == ["ringing", "hung_up"]


async def test_an_outgoing_call_pops_nothing_but_its_end_is_heard(
        xelion_sim: XelionSimulator, start_stream: Any) -> None:
    ended: list[str] = []
    run: Running = await start_stream(on_call_end=ended.append)
    first = xelion_sim.ring("+31201234567")  # the trigger teaches us our SIP account
    xelion_sim.hangup(first)
    await until(lambda: ended)
    out = xelion_sim.ring("+31651112223", incoming=False)
    xelion_sim.answer(out)
    xelion_sim.hangup(out)
    await until(lambda: len(ended) == 2)
    assert [e.call_id for e in run.got.events if e.number == "+31651112223"] == []


async def test_another_users_call_does_not_arrive(xelion_sim: XelionSimulator,
                                                  start_stream: Any) -> None:
    run: Running = await start_stream()
    xelion_sim.ring("+31209999999", user=OTHER_USER)
    own = xelion_sim.ring("+31201234567")
    await until(lambda: run.got.events)
    await asyncio.sleep(0.2)
    assert [(e.number, e.call_id) for e in run.got.events] == [("+31201234567", own)]


def test_tracker_never_pops_on_a_sip_account_and_joins_the_trigger() -> None:
    tracker = ChannelTracker(grace=0.0)
    # Another user's call on the PBX-wide list: no trigger, none of our accounts.
    other = {"callId": "SIP/piet-1", "channelId": "SIP/piet-1", "role": "CALLEE",
             "phone": "piet", "name": "Piet", "state": "RINGING"}
    assert tracker.feed("insert", other) == []
    assert tracker.due_fallbacks(time.monotonic() + 1) == []
    # Our call: channels first (SIP accounts only), then the trigger with number and call id.
    caller = {"callId": "SIP/trunk-2", "channelId": "SIP/trunk-2", "role": "CALLER",
              "phone": "trunk-kpn", "name": "Hoofdnummer", "state": "RINGING"}
    mine = {"callId": "SIP/trunk-2", "channelId": "SIP/jan-3", "role": "CALLEE",
            "phone": "jan", "name": "Jan", "state": "RINGING"}
    assert tracker.feed("insert", caller) + tracker.feed("insert", mine) == []
    (ring,) = tracker.trigger("afas-tray://call?number=+31201234567&callId=abc@pbx")
    assert (ring.number, ring.call_id) == ("+31201234567", "abc@pbx")
    assert "jan" in tracker.own_phones
    (answered,) = tracker.feed("remove", mine) + tracker.feed(
        "insert", {**mine, "state": "CONNECTED"})
    assert (answered.state, answered.call_id) == (CallState.ANSWERED, "abc@pbx")
    # An unknown state on a new channel counts as ringing; a number-like name of our own
    # call pops only after the grace period without a trigger.
    trunk = {"callId": "SIP/trunk-4", "channelId": "SIP/trunk-4", "role": "CALLER",
             "phone": "trunk-kpn", "name": "+31 20 765 4321", "state": "ALERTING_X"}
    own = {"callId": "SIP/trunk-4", "channelId": "SIP/jan-5", "role": "CALLEE",
           "phone": "jan", "name": "Jan", "state": "ALERTING_X"}
    assert tracker.feed("insert", trunk) + tracker.feed("insert", own) == []
    (late,) = tracker.due_fallbacks(time.monotonic() + 1)
    assert (late.number, late.direction) == ("+31 20 765 4321", Direction.INCOMING)


def test_trigger_values_go_through_the_one_hand_off_parser() -> None:
    assert parse_trigger_value("afas-tray://call?number=+31201234567&callId=x@y").number \
        == "+31201234567"  # a literal plus stays a plus
    event = parse_trigger_value('"C:\\Program Files\\AFAS Tray\\afas-tray.exe" call '
                                "+31 20 123 4567 --call-id=x1")
    assert (event.number, event.call_id, event.source) == ("+31 20 123 4567", "x1",
                                                          CallSource.XELION)
    assert parse_trigger_value("start afas-tray://call?number=0201234567").number == \
        "0201234567"
    for bad in ("", "https://12345.afasinsite.nl/start",
                "afas-tray://call?number=${callerPhoneNumber}&callId=${callId}",
                "afas-tray://call?number=anonymous&callId=9"):
        with pytest.raises(HandoffError):
            parse_trigger_value(bad)


async def test_trigger_events_with_a_number_ring(xelion_sim: XelionSimulator,
                                                 start_stream: Any) -> None:
    run: Running = await start_stream()
    xelion_sim.trigger("executeCommandEvent", "afas-tray call +31201234567 --call-id abc123")
    await until(lambda: run.got.events)
    xelion_sim.trigger("openDocumentEvent",
                       "afas-tray://call?number=%2B31651112223&callId=def456")
    await until(lambda: len(run.got.events) >= 2)
    assert [(e.number, e.call_id, e.state) for e in run.got.events] == [
        ("+31201234567", "abc123", CallState.RINGING),
        ("+31651112223", "def456", CallState.RINGING),
    ]
    # The same trigger twice (two trigger kinds, say) rings once.
    xelion_sim.trigger("showNotificationEvent", "afas-tray call +31201234567 --call-id abc123")
    await asyncio.sleep(0.3)
    assert len(run.got.events) == 2


async def test_server_drops_the_websocket_and_the_next_ring_still_arrives(
        xelion_sim: XelionSimulator, start_stream: Any) -> None:
    run: Running = await start_stream()
    assert xelion_sim.drop_websockets() == 1
    await until(lambda: run.stream.connects == 2, timeout=5)
    await until(lambda: run.stream.status.state is StreamState.CONNECTED)
    xelion_sim.ring("+31201234567")
    await until(lambda: run.got.events)
    assert any(s.state is StreamState.RECONNECTING for s in run.got.statuses)
    assert xelion_sim.counts["POST me/login"] == 1  # the session survived; no new login


async def test_network_away_for_a_while_then_back(xelion_sim: XelionSimulator,
                                                  start_stream: Any) -> None:
    run: Running = await start_stream()
    xelion_sim.refuse_connections(1.0)
    await until(lambda: run.stream.status.state is StreamState.RECONNECTING)
    took = await until(lambda: run.stream.connects == 2, timeout=8)
    await until(lambda: run.stream.status.state is StreamState.CONNECTED)
    xelion_sim.ring("+31201234567")
    await until(lambda: run.got.events)
    assert took < 6
    # Backing off: a handful of attempts during the outage, not a tight loop.
    assert xelion_sim.counts["POST me/websocket"] <= 3


async def test_kick_reconnects_a_silently_dead_link_within_seconds(
        xelion_sim: XelionSimulator, start_stream: Any) -> None:
    # A long heartbeat, as if the machine slept: only kick() notices.
    run: Running = await start_stream(heartbeat=60.0)
    xelion_sim.mute_websockets()
    xelion_sim.expire_sessions()  # the session also ran out while "asleep"
    start = time.monotonic()
    run.stream.kick()
    await until(lambda: run.stream.connects == 2, timeout=10)
    await until(lambda: run.stream.status.state is StreamState.CONNECTED)
    assert time.monotonic() - start < 10
    xelion_sim.ring("+31201234567")
    await until(lambda: run.got.events)


async def test_heartbeat_notices_a_dead_link(xelion_sim: XelionSimulator,
                                             start_stream: Any) -> None:
    run: Running = await start_stream(heartbeat=0.5)
    xelion_sim.mute_websockets()
    await until(lambda: run.stream.connects == 2, timeout=5)
    await until(lambda: run.stream.status.state is StreamState.CONNECTED)
    xelion_sim.ring("+31201234567")
    await until(lambda: run.got.events)


async def test_wrong_password_is_an_error_for_the_user_without_retry_storm(
        xelion_sim: XelionSimulator, xelion_client_factory: Factory, start_stream: Any) -> None:
    client = xelion_client_factory(password="wrong")
    run: Running = await start_stream(client, connect=False)
    await until(lambda: run.stream.status.state is StreamState.ERROR)
    await asyncio.sleep(0.5)
    status = run.stream.status
    assert isinstance(status.error, XelionAuthError)
    assert "wachtwoord" in status.text.nl
    assert xelion_sim.counts["POST me/login"] == 1
    # After the user fixes the password, a kick makes it connect straight away.
    xelion_sim.users[client.username] = "wrong"
    run.stream.kick()
    await until(lambda: run.stream.status.state is StreamState.CONNECTED, timeout=3)


async def test_connected_stream_does_not_poll_and_survives_renewals(
        xelion_sim: XelionSimulator, start_stream: Any) -> None:
    xelion_sim.session_seconds = 1.5
    run: Running = await start_stream()
    await asyncio.sleep(2.2)
    xelion_sim.ring("+31201234567")
    await until(lambda: run.got.events)
    assert run.stream.connects == 1
    assert not any(s.state is StreamState.ERROR for s in run.got.statuses)
    rest = {k: v for k, v in xelion_sim.counts.items() if not k.startswith("GET /websocket")}
    assert rest.pop("POST me/renew") >= 1
    # The guide: the active channels are read before processing, once per connect.
    assert rest == {"POST me/login": 1, "POST me/websocket": 1,
                    "GET communications/active_channels": 1}


def test_frame_shapes_are_parsed_tolerantly() -> None:
    got: list[Any] = []
    stream = XelionEventStream(_NoClient(), got.append)
    value = {"name": "AFAS Tray", "value": "afas-tray://call?number=0201234567&callId=c9"}
    # The web-chat client's wrapper, a flat message, and the older notificationObject:
    stream.handle_message(json.dumps({"notificationType": "executeCommandEvent",
                                      "notification": value}))
    stream.handle_message(json.dumps({"notificationType": "openDocumentEvent",
                                      **{**value, "value": value["value"].replace("c9", "c8")}}))
    stream.handle_message(json.dumps({"messageType": "notification",
                                      "notificationType": "showNotificationEvent",
                                      "notificationObject": {**value, "value": value[
                                          "value"].replace("c9", "c7")}}))
    stream.handle_message("not json")
    stream.handle_message(json.dumps(["a list"]))
    assert [(e.call_id, e.state) for e in got] == [("c9", CallState.RINGING),
                                                   ("c8", CallState.RINGING),
                                                   ("c7", CallState.RINGING)]


class _NoClient:
    username = "jan"

    async def ensure_session(self) -> None:  # pragma: no cover - never called here
        raise AssertionError

    async def websocket_url(self) -> str:  # pragma: no cover
        raise AssertionError


async def test_a_reconnect_during_a_call_is_no_hang_up(xelion_sim: XelionSimulator,
                                                       start_stream: Any) -> None:
    run: Running = await start_stream()
    call_id = xelion_sim.ring("+31201234567")
    xelion_sim.answer(call_id)
    await until(lambda: len(run.got.events) == 2)
    xelion_sim.drop_websockets()
    await until(lambda: run.stream.connects == 2)
    await asyncio.sleep(0.3)
    assert run.got.states(call_id) == ["ringing", "answered"]  # still going: no hang-up
    # The call ends while we are away: the list read on reconnect tells it.
    xelion_sim.mute_websockets()
    xelion_sim.hangup(call_id)
    xelion_sim.drop_websockets()
    await until(lambda: run.stream.connects == 3)
    await until(lambda: len(run.got.events) == 3)
    assert run.got.states(call_id) == ["ringing", "answered", "hung_up"]
    # A version that goes backwards (server restart) rebuilds the list, it hangs nothing up.
    second = xelion_sim.ring("+31201234568")
    await until(lambda: len(run.got.events) == 4)
    before = xelion_sim.counts["GET communications/active_channels"]
    xelion_sim.reset_version()
    xelion_sim.answer(second)
    await until(lambda: xelion_sim.counts["GET communications/active_channels"] > before)
    await asyncio.sleep(0.2)
    assert run.got.states(second) == ["ringing", "answered"]


async def test_the_polite_defaults(xelion_sim: XelionSimulator,
                                   xelion_client_factory: Factory) -> None:
    got = Collector()
    stream = XelionEventStream(xelion_client_factory(), got.on_event, got.on_status)
    assert stream._heartbeat >= 30  # websockets/index.html: repeating requests gets a block
    assert all(stream._backoff(0) >= 10 for _ in range(50))
    assert stream._backoff(5) > stream._backoff(0) or stream._backoff(5) >= 10
    task = asyncio.create_task(stream.run())
    try:
        await until(lambda: stream.status.state is StreamState.CONNECTED)
        xelion_sim.drop_websockets()
        await until(lambda: stream.status.state is StreamState.RECONNECTING)
        await asyncio.sleep(2.0)
        # No second websocket request within the first 10 s after a drop.
        assert xelion_sim.requests_within("POST me/websocket", 10.0) == 1
        assert xelion_sim.counts["POST me/login"] == 1
    finally:
        stream.stop()
        await asyncio.wait_for(task, 5)


async def test_doctor_says_whether_a_trigger_event_reached_this_desk(
        xelion_sim: XelionSimulator, start_stream: Any) -> None:
    from afas_tray.doctor import _trigger_check
    from afas_tray.system.paths import app_paths
    from afas_tray.xelion import mark_trigger_seen

    before = _trigger_check()
    assert before.warning and "trigger" in before.detail.en and "trigger" in before.detail.nl
    data_dir = app_paths().ensure().data_dir
    run: Running = await start_stream(
        on_trigger_seen=lambda kind: mark_trigger_seen(data_dir, kind))
    xelion_sim.ring("+31201234567")
    await until(lambda: run.got.events)
    after = _trigger_check()
    assert not after.warning and "executeCommandEvent" in after.detail.en
