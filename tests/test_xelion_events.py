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
from afas_tray.xelion.client import XelionClient
from afas_tray.xelion.errors import XelionAuthError
from afas_tray.xelion.events import (
    ChannelTracker,
    StreamState,
    XelionEventStream,
    parse_trigger_value,
)

pytest.register_assert_rewrite("xelion_fixtures")
pytest_plugins = ["xelion_fixtures"]

from xelion_fixtures import OTHER_USER, Collector, until  # noqa: E402

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


async def test_a_ringing_call_gives_exactly_one_ringing_event(xelion_sim: XelionSimulator,
                                                              start_stream: Any) -> None:
    run: Running = await start_stream()
    call_id = xelion_sim.ring("+31201234567", name="Bakkerij de Vries")
    await until(lambda: run.got.events)
    await asyncio.sleep(0.3)  # nothing else may follow for the two ringing channels
    assert len(run.got.events) == 1
    event = run.got.events[0]
    assert event.state is CallState.RINGING
    assert event.number == "+31201234567" and event.call_id == call_id
    assert event.direction is Direction.INCOMING and event.source is CallSource.XELION
    assert event.name == "Bakkerij de Vries"

    run.stream.stop()  # the app quits: the stream ends and the websocket closes
    await asyncio.wait_for(run.task, timeout=3)
    assert run.stream.status.state is StreamState.STOPPED
    await until(lambda: xelion_sim.websocket_count == 0)


async def test_answer_and_hangup_are_mapped_once(xelion_sim: XelionSimulator,
                                                 start_stream: Any) -> None:
    run: Running = await start_stream()
    call_id = xelion_sim.ring("+31201234567")
    xelion_sim.answer(call_id)
    xelion_sim.hangup(call_id)
    await until(lambda: len(run.got.events) >= 3)
    await asyncio.sleep(0.2)
    assert run.got.states(call_id) == ["ringing", "answered", "hung_up"]
    assert {e.number for e in run.got.events} == {"+31201234567"}


async def test_transfer_repeats_no_hangup_and_reports_the_transfer(
        xelion_sim: XelionSimulator, start_stream: Any) -> None:
    run: Running = await start_stream()
    call_id = xelion_sim.ring("+31201234567")
    xelion_sim.answer(call_id)
    xelion_sim.transfer(call_id)  # Xelion: the call id hangs up, then comes back
    xelion_sim.hangup(call_id)  # the colleague finishes: the same call id hangs up again
    await until(lambda: len(run.got.events) >= 4)
    await asyncio.sleep(0.2)
    assert run.got.states(call_id) == ["ringing", "answered", "hung_up", "transferred"]


async def test_outgoing_call_names_the_dialled_number(xelion_sim: XelionSimulator,
                                                      start_stream: Any) -> None:
    run: Running = await start_stream()
    xelion_sim.ring("+31651112223", incoming=False)
    await until(lambda: run.got.events)
    assert run.got.events[0].direction is Direction.OUTGOING
    assert run.got.events[0].number == "+31651112223"


async def test_another_users_call_does_not_arrive(xelion_sim: XelionSimulator,
                                                  start_stream: Any) -> None:
    run: Running = await start_stream()
    xelion_sim.ring("+31209999999", user=OTHER_USER)
    own = xelion_sim.ring("+31201234567")
    await until(lambda: run.got.events)
    await asyncio.sleep(0.2)
    assert [(e.number, e.call_id) for e in run.got.events] == [("+31201234567", own)]


def test_tracker_skips_channels_of_another_phone_user() -> None:
    # A tenant-wide feed: the call's only phone user is someone else.
    tracker = ChannelTracker("jan")
    caller = {"callId": "c1", "channelId": "c1-ext", "role": "caller", "phone": "+31201234567",
              "state": "Ring"}
    other = {"callId": "c1", "channelId": "c1-piet", "role": "callee", "phone": "sip-piet",
             "phoneUser": "piet", "state": "Ringing"}
    assert tracker.feed("insert", other) == []
    assert tracker.feed("insert", caller) == []
    mine = {**other, "callId": "c2", "channelId": "c2-jan", "phoneUser": "jan"}
    events = tracker.feed("insert", {**caller, "callId": "c2", "channelId": "c2-ext"}) + \
        tracker.feed("insert", mine)
    assert [(e.call_id, e.state) for e in events] == [("c2", CallState.RINGING)]
    # A trunk channel whose phone is the trunk's account and whose name is the caller's number.
    trunk = {"callId": "c3", "channelId": "c3-ext", "role": "caller", "phone": "kpn-trunk",
             "name": "+31 20 765 4321", "state": "Ring"}
    (event,) = tracker.feed("insert", trunk)
    assert (event.number, event.name, event.direction) == ("+31 20 765 4321", "",
                                                           Direction.INCOMING)


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
    # The channel events of a call whose trigger already rang do not ring it again.
    xelion_sim.ring("+31201234567", call_id="abc123")
    xelion_sim.trigger("showNotificationEvent", "not subscribed")
    await asyncio.sleep(0.3)
    assert len(run.got.events) == 2


def test_trigger_values() -> None:
    assert parse_trigger_value("afas-tray call 0201234567") == ("0201234567", "")
    assert parse_trigger_value('"C:\\Program Files\\AFAS Tray\\afas-tray.exe" call '
                               "+31 20 123 4567 --call-id=x1") == ("+31 20 123 4567", "x1")
    assert parse_trigger_value("https://12345.afasinsite.nl/zoek?nummer=0612345678") == (
        "0612345678", "")
    assert parse_trigger_value("https://12345.afasinsite.nl/start") == ("", "")
    assert parse_trigger_value("afas-tray://call?number=anonymous&callId=9") == ("", "9")
    assert parse_trigger_value("") == ("", "")


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
    assert rest == {"POST me/login": 1, "POST me/websocket": 1}


def test_frame_shapes_are_parsed_tolerantly() -> None:
    got: list[Any] = []
    stream = XelionEventStream(_NoClient(), got.append)
    channel = {"callId": "c9", "channelId": "c9-ext", "role": "CALLER",
               "phone": "+31201234567", "state": "RINGING"}
    # The event at top level, without the notification wrapper:
    stream.handle_message(json.dumps({"notificationType": "activeChannelEvent",
                                      "updateType": "insert", "version": 3,
                                      "activeChannel": channel}))
    stream.handle_message("not json")
    stream.handle_message(json.dumps(["a list"]))
    assert [(e.call_id, e.state) for e in got] == [("c9", CallState.RINGING)]


class _NoClient:
    username = "jan"

    async def ensure_session(self) -> None:  # pragma: no cover - never called here
        raise AssertionError

    async def websocket_url(self) -> str:  # pragma: no cover
        raise AssertionError
