"""Field-grade call handling (issue 7) through the whole core, against both simulated servers.

- the network drops under the websocket (server closes it; connections refused for a while):
  the next ringing call still pops;
- after a wake from sleep or a network change, the Xelion session is valid and the websocket
  back within 10 s (``afas_tray.system.wakeup`` notices the sleep by its clocks; ``NetworkWatch`` hears
  it from the OS);
- internal extensions and the company's own numbers ringing over the websocket never pop and
  never become dossier items; a shared main number opens its organisation, a contact's direct
  line is reported on the organisation and the contact.
"""

from __future__ import annotations

import asyncio
import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from afas_tray.config import Settings, new_trigger_secret
from afas_tray.core import AppCore
from afas_tray.demo.afas import AfasSimulator
from afas_tray.demo.sample_data import KNOWN
from afas_tray.demo.xelion import XelionSimulator
from afas_tray.pop.opener import RecordingOpener
from afas_tray.system.paths import app_paths
from afas_tray.system.profile import Profile
from afas_tray.system.wakeup import watch_for_wakeup
from tests.helpers.core import running_core, settings_for
from tests.helpers.wait import until, wait_for

WS_CONNECT = "GET /websocket/{key}"
LOGIN = "POST me/login"
OWN_NUMBER = "06-55501234"  # KNOWN["person_mobile"], written another way


@pytest.fixture
async def running(servers: tuple[AfasSimulator, XelionSimulator]
                  ) -> AsyncIterator[tuple[AppCore, RecordingOpener]]:
    afas, xelion = servers
    settings = settings_for(afas, xelion)
    settings.afas.always_sync = True  # every matched call becomes a dossier item
    # The company itself is a relation in its own AFAS: its numbers are found, yet must not pop.
    settings.pop.own_numbers = [OWN_NUMBER]
    async with running_core(afas, xelion, settings) as (core, opener):
        yield core, opener


def card(afas: AfasSimulator, bcid: str) -> str:
    return f"{afas.url}/insite/verkooprelatie-prs?BcId={bcid}"


def subscribed(xelion: XelionSimulator) -> bool:
    """A websocket is up and has subscribed: a ring now reaches the app."""
    return any("activeChannelEvent" in c.subscriptions for c in xelion._conns)


async def ring_until_popped(xelion: XelionSimulator, opener: RecordingOpener, number: str,
                            what: str) -> str:
    await until(lambda: subscribed(xelion), what="a subscribed websocket")
    call_id = xelion.ring(number)
    before = len(opener.calls)
    await until(lambda: len(opener.calls) > before, what=what)
    return call_id


# --- network under the websocket ---------------------------------------------------------------


async def test_websocket_closed_and_network_refused_then_the_next_ring_still_pops(
        servers: tuple[AfasSimulator, XelionSimulator],
        running: tuple[AppCore, RecordingOpener]) -> None:
    afas, xelion = servers
    _core, opener = running
    known = KNOWN["org_unique"]

    connects = xelion.counts[WS_CONNECT]
    assert xelion.drop_websockets() == 1
    await until(lambda: xelion.counts[WS_CONNECT] > connects and xelion.websocket_count == 1,
                what="the websocket to come back after the server closed it")
    await ring_until_popped(xelion, opener, known.written[0], "the ring after the drop")
    assert opener.urls == [card(afas, known.bcids[0])]

    # Off the network for 3 s: every connection attempt is refused, then the server is back.
    connects = xelion.counts[WS_CONNECT]
    xelion.refuse_connections(3.0)
    await until(lambda: xelion.websocket_count == 0, what="the websocket to go")
    # Reconnects start at 10 s and grow (Xelion blocks clients that retry too often).
    await until(lambda: xelion.counts[WS_CONNECT] > connects and xelion.websocket_count == 1,
                timeout=75, what="the websocket after the network came back")
    other = KNOWN["contact_direct"]
    await ring_until_popped(xelion, opener, other.written[0], "the ring after the outage")
    assert opener.urls[-1] == card(afas, other.bcids[0])


async def test_after_a_wake_the_session_is_valid_and_the_websocket_back_within_10_s(
        servers: tuple[AfasSimulator, XelionSimulator],
        running: tuple[AppCore, RecordingOpener]) -> None:
    afas, xelion = servers
    core, opener = running

    # The machine "sleeps": the wall clock jumps an hour, the monotonic clock does not. The
    # link looks healthy to the app, but after real sleep it rarely is: the wake alone must
    # bring a fresh websocket on a checked session.
    jump = [0.0]
    looks: list[float] = []

    def wall() -> float:
        looks.append(jump[0])
        return time.time() + jump[0]

    watcher = asyncio.ensure_future(watch_for_wakeup(core.network_changed, 0.05, slack=1.0,
                                                     wall=wall))
    try:
        await until(lambda: len(looks) >= 2, what="the watch to run")  # it knows the time now
        connects = xelion.counts[WS_CONNECT]
        jump[0] = 3600.0
        took = await until(lambda: xelion.counts[WS_CONNECT] > connects
                           and xelion.websocket_count == 1, what="a reconnect after the wake")
        assert took < 10
        known = KNOWN["org_unique"]
        await ring_until_popped(xelion, opener, known.written[0], "the ring after the wake")
        assert opener.urls == [card(afas, known.bcids[0])]

        # Slept long enough for Xelion to end the session, and the link is silently dead.
        xelion.mute_websockets()
        xelion.expire_sessions()
        logins = xelion.counts[LOGIN]
        jump[0] += 7200.0
        took = await until(lambda: xelion.counts[LOGIN] > logins and xelion.websocket_count == 1,
                           what="a new session and websocket after the wake")
        assert took < 10
        other = KNOWN["contact_direct"]
        await ring_until_popped(xelion, opener, other.written[0], "the ring on the new session")
        assert opener.urls[-1] == card(afas, other.bcids[0])
    finally:
        watcher.cancel()


async def test_network_change_reconnects_a_silently_dead_link_within_10_s(
        servers: tuple[AfasSimulator, XelionSimulator],
        running: tuple[AppCore, RecordingOpener]) -> None:
    afas, xelion = servers
    core, opener = running
    connects = xelion.counts[WS_CONNECT]
    xelion.mute_websockets()  # Wi-Fi switched: the old socket answers nothing any more
    core.network_changed()
    took = await until(lambda: xelion.counts[WS_CONNECT] > connects, what="a new websocket")
    assert took < 10
    known = KNOWN["org_unique"]
    await ring_until_popped(xelion, opener, known.written[0], "the ring after the change")
    assert opener.urls == [card(afas, known.bcids[0])]


# --- internal calls, own numbers, shared numbers --------------------------------------------


async def test_internal_and_own_calls_never_pop_nor_log_and_shared_numbers_go_to_the_org(
        servers: tuple[AfasSimulator, XelionSimulator],
        running: tuple[AppCore, RecordingOpener]) -> None:
    afas, xelion = servers
    core, opener = running
    internal = xelion.ring("2041", name="Receptie")
    own = xelion.ring(KNOWN["person_mobile"].e164)
    main = KNOWN["org_main_on_contacts"]
    shared = xelion.ring(main.written[1])
    direct = KNOWN["contact_direct"]
    contact = xelion.ring(direct.written[0])
    await until(lambda: len(opener.urls) >= 2, what="the two cards")
    # The main number opens its organisation (no picker), the direct line too; nothing else.
    assert sorted(opener.urls) == sorted([card(afas, main.bcids[0]), card(afas, direct.bcids[0])])
    for call_id in (internal, own, shared, contact):
        xelion.answer(call_id)
    for call_id in (internal, own, shared, contact):
        xelion.hangup(call_id, recording=False)

    await until(lambda: len(afas.subjects) >= 2, timeout=40, what="the two dossier items")
    await asyncio.sleep(0.5)  # a late third item would show up now
    items = {item.bcid: item for item in afas.subjects}
    assert len(afas.subjects) == 2 and set(items) == {main.bcids[0], direct.bcids[0]}
    # The main number: the organisation only. The direct line: the organisation and the contact.
    assert [link.get("CdId") for link in items[main.bcids[0]].links] in ([None], [])
    assert any(str(link.get("CdId")) == direct.contact_ids[0]
               for link in items[direct.bcids[0]].links)
    assert len(opener.calls) == 2  # no picker, no unknown-caller notice for the internal ones
    recent = {c.call_id for c in core.recent_calls()}
    assert internal not in recent and own not in recent


async def test_two_distinct_relations_ask_the_operator_instead_of_guessing(
        servers: tuple[AfasSimulator, XelionSimulator],
        running: tuple[AppCore, RecordingOpener]) -> None:
    _afas, xelion = servers
    _core, opener = running
    shared = KNOWN["shared_two_orgs"]
    await ring_until_popped(xelion, opener, shared.written[1], "the picker")
    [choice] = opener.choices
    assert sorted(c.bcid for c in choice.candidates) == sorted(shared.bcids)
    assert opener.urls == []
    unknown = KNOWN["no_match"]
    await ring_until_popped(xelion, opener, unknown.written[0], "the unknown-caller notice")
    assert opener.calls[-1].kind == "unknown_caller" and opener.urls == []


# --- the wake-up watch ----------------------------------------------------------------------------


class Clocks:
    """Wall and monotonic clocks a test moves; the watcher's sleep advances both."""

    def __init__(self) -> None:
        self.wall_now = 1_700_000_000.0
        self.mono_now = 500.0
        self.script: list[tuple[float, float]] = []  # extra (wall, monotonic) per sleep
        self.done = asyncio.Event()

    def wall(self) -> float:
        return self.wall_now

    def mono(self) -> float:
        return self.mono_now

    async def sleep(self, seconds: float) -> None:
        if not self.script:
            self.done.set()
            await asyncio.Event().wait()  # until cancelled
        extra_wall, extra_mono = self.script.pop(0)
        self.wall_now += seconds + extra_wall
        self.mono_now += seconds + extra_mono
        await asyncio.sleep(0)


async def run_script(script: list[tuple[float, float]]) -> int:
    clocks = Clocks()
    clocks.script = list(script)
    woke: list[float] = []
    task = asyncio.ensure_future(watch_for_wakeup(
        lambda: woke.append(clocks.wall_now), 5.0, wall=clocks.wall, monotonic=clocks.mono,
        sleep=clocks.sleep))
    await asyncio.wait_for(clocks.done.wait(), 5)
    task.cancel()
    return len(woke)


async def test_wakeup_is_noticed_by_the_clocks_and_only_then() -> None:
    on_time = (0.0, 0.0)
    busy = (0.8, 0.8)  # a loaded machine: the sleep overran a little
    assert await run_script([on_time, busy, on_time, busy]) == 0
    # Linux/macOS: the monotonic clock stood still for an hour while the wall clock ran.
    assert await run_script([on_time, (3600.0, 0.0), on_time, on_time]) == 1
    # Windows: monotonic counts suspended time too, so the 5 s sleep took an hour.
    assert await run_script([on_time, (3600.0, 3600.0), on_time]) == 1
    # Two sleeps, two wakes; a clock set back by the user is one (harmless) reconnect.
    assert await run_script([(600.0, 0.0), on_time, (900.0, 0.0), (-3600.0, 0.0)]) == 3


async def test_a_failing_wake_callback_does_not_stop_the_watch() -> None:
    clocks = Clocks()
    clocks.script = [(600.0, 0.0), (600.0, 0.0)]
    calls: list[int] = []

    def boom() -> None:
        calls.append(1)
        raise RuntimeError("reconnect failed")

    task = asyncio.ensure_future(watch_for_wakeup(boom, 5.0, wall=clocks.wall,
                                                  monotonic=clocks.mono, sleep=clocks.sleep))
    await asyncio.wait_for(clocks.done.wait(), 5)
    task.cancel()
    assert calls == [1, 1]


WATCHER = """
import asyncio, time
from afas_tray.system.wakeup import watch_for_wakeup
async def main():
    print("watching", flush=True)
    await watch_for_wakeup(lambda: print("woke", time.monotonic(), flush=True), 0.2, slack=1.5)
asyncio.run(main())
"""


def read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "the watcher said nothing"
    return proc.stdout.readline().strip()


def test_a_frozen_process_notices_it_was_away() -> None:
    """Real clocks: a stopped process (as in a suspend) wakes to find its sleep took too long."""
    proc = subprocess.Popen([sys.executable, "-c", WATCHER], stdout=subprocess.PIPE, text=True)
    try:
        assert read_line(proc, 30) == "watching"
        time.sleep(0.5)  # running normally: a wake reported now would come before the stop
        proc.send_signal(signal.SIGSTOP)
        time.sleep(3.0)
        resumed = time.monotonic()
        proc.send_signal(signal.SIGCONT)
        word, at = read_line(proc, 30).split()
        assert word == "woke" and float(at) >= resumed  # the monotonic clock is system-wide
    finally:
        proc.kill()
        proc.wait(10)


# --- the OS's word on the network (Qt, offscreen) ------------------------------------------------


def test_network_comes_back_or_changes_medium_reconnects_once(qtbot: Any) -> None:
    from PySide6.QtCore import QObject, Signal
    from PySide6.QtNetwork import QNetworkInformation

    from afas_tray.ui.network_watch import NetworkWatch

    R, M = QNetworkInformation.Reachability, QNetworkInformation.TransportMedium

    class StandIn(QObject):
        """The OS backend's signals, which no test can make the real network send."""

        reachabilityChanged = Signal(object)
        transportMediumChanged = Signal(object)

        def backendName(self) -> str:
            return "stand-in"

        def reachability(self) -> QNetworkInformation.Reachability:
            return R.Unknown

    os_info = StandIn()
    calls: list[float] = []
    watch = NetworkWatch(lambda: calls.append(time.monotonic()), settle_ms=100)
    assert watch.start(os_info)  # type: ignore[arg-type]

    os_info.reachabilityChanged.emit(R.Online)  # the backend finding its feet at start
    os_info.reachabilityChanged.emit(R.Disconnected)  # Wi-Fi gone: nothing to reconnect to yet
    for step in (R.Local, R.Disconnected, R.Local, R.Online):  # ... and back, in a burst
        os_info.reachabilityChanged.emit(step)
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=5000)
    qtbot.wait(400)
    assert len(calls) == 1  # one reconnect for the whole burst, none for the start

    os_info.transportMediumChanged.emit(M.Ethernet)  # cable plugged in, Wi-Fi off
    qtbot.waitUntil(lambda: len(calls) == 2, timeout=5000)
    os_info.reachabilityChanged.emit(R.Disconnected)
    os_info.transportMediumChanged.emit(M.WiFi)
    qtbot.wait(400)
    assert len(calls) == 2  # offline: a medium change alone reconnects nothing


def test_the_os_backend_loads_where_there_is_one(qtbot: Any) -> None:
    from PySide6.QtNetwork import QNetworkInformation

    from afas_tray.ui.network_watch import NetworkWatch

    watch = NetworkWatch(lambda: None)
    if watch.start():
        assert watch.backend in QNetworkInformation.availableBackends()
    else:
        assert watch.backend == ""


# --- terminal servers: two operators, two profiles, two running apps -------------------------------


def start_operator(root: Path, name: str, afas_url: str, token: str) -> Operator:
    home = root / name
    paths = app_paths(home).ensure()
    s = Settings()
    s.afas.host = afas_url
    s.afas.token = token
    s.afas.insite_url_template = f"{afas_url}/insite/verkooprelatie-prs?BcId=<BCID>"
    s.sync.interval_minutes = 60
    s.trigger.http_enabled = True
    s.trigger.secret = new_trigger_secret()
    Profile(paths).save(s)
    opened = root / f"{name}-browser.txt"
    opened.touch()
    browser = root / f"{name}-bin" / "xdg-open"
    browser.parent.mkdir()
    browser.write_text(f'#!/bin/sh\necho "$1" >> "{opened}"\n')
    browser.chmod(0o755)
    env = dict(os.environ, AFAS_TRAY_HOME=str(home), QT_QPA_PLATFORM="offscreen",
               BROWSER=str(browser), PATH=f"{browser.parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.Popen([sys.executable, "-m", "afas_tray"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return Operator(name, env, paths.log_file, opened, s.trigger.secret, proc)


class Operator:
    def __init__(self, name: str, env: dict[str, str], log: Path, opened: Path, secret: str,
                 proc: subprocess.Popen[str]) -> None:
        self.name, self.env, self.log, self.opened = name, env, log, opened
        self.secret, self.proc = secret, proc

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def trigger_port(self) -> int:
        found = re.search(r"loopback trigger on 127\.0\.0\.1:(\d+)", self.log_text())
        return int(found.group(1)) if found else 0

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "afas_tray", *args], env=self.env,
                              capture_output=True, text=True, timeout=60)

    def ready(self) -> bool:
        return "phone book refreshed" in self.log_text() and self.trigger_port() > 0

    def browser(self) -> list[str]:
        return self.opened.read_text().splitlines()

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        return self.proc.stdout.read() if self.proc.stdout else ""


def test_two_operators_on_one_host_each_call_reaches_only_its_own_app(tmp_path: Path) -> None:
    from afas_tray.demo.afas import SimulatorThread

    with SimulatorThread(AfasSimulator(relations=300, seed=4)) as afas:
        ops = [start_operator(tmp_path, name, afas.url, afas.simulator.token)
               for name in ("anna", "bert")]
        try:
            for op in ops:
                wait_for(op.ready, 60, f"{op.name}'s app")
            anna, bert = ops
            assert anna.trigger_port() != bert.trigger_port()

            # Anna's phone hook runs in Anna's session (her AFAS_TRAY_HOME): her browser only.
            first, second = KNOWN["org_unique"], KNOWN["contact_direct"]
            done = anna.cli("call", first.written[0], "--call-id", "rds-1")
            assert done.returncode == 0, done.stderr
            wait_for(anna.browser, 30, "Anna's card")
            done = bert.cli("call", second.written[0], "--call-id", "rds-2")
            assert done.returncode == 0, done.stderr
            wait_for(bert.browser, 30, "Bert's card")
            card = f"{afas.url}/insite/verkooprelatie-prs?BcId="
            assert anna.browser() == [card + first.bcids[0]]
            assert bert.browser() == [card + second.bcids[0]]

            # Bert's desk phone knows Bert's port and secret; Anna's port refuses Bert's secret.
            third = KNOWN["person_mobile"]
            url = "http://127.0.0.1:{port}/call?number={number}&callId={call_id}&secret={secret}"
            with httpx.Client(timeout=30) as http:
                ok = http.get(url.format(port=bert.trigger_port(), number=third.e164,
                                         call_id="rds-3", secret=bert.secret))
                refused = http.get(url.format(port=anna.trigger_port(), number=third.e164,
                                              call_id="rds-4", secret=bert.secret))
            assert ok.status_code == 200 and refused.status_code in (401, 403)
            wait_for(lambda: len(bert.browser()) == 2, 30, "Bert's second card")
            assert bert.browser()[1] == card + third.bcids[0]
            assert anna.browser() == [card + first.bcids[0]]

            # One app per operator: a second start in Anna's session leaves hers running alone.
            again = anna.cli()
            assert again.returncode != 0 and anna.proc.poll() is None, again.stderr
        finally:
            outputs = [op.stop() for op in ops]
        assert [op.proc.returncode for op in ops] == [0, 0], outputs
