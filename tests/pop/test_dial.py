"""Dialling through Xelion (``me/device/pbx_call``) from the CLI, links and the core Dialler,
against the simulated Xelion on loopback."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from afas_tray.cli import main as cli
from afas_tray.config import Settings
from afas_tray.demo.xelion import SimulatorThread, XelionSimulator
from afas_tray.pop.dial import DialError, Dialler, dial_target, number_from_url
from afas_tray.system.profile import Profile

USER, PASSWORD = "jan", "Dial-Wachtwoord-5521"


@pytest.fixture
def sim() -> Iterator[XelionSimulator]:
    simulator = XelionSimulator({USER: PASSWORD}, tenant="demo")
    with SimulatorThread(simulator):
        yield simulator


def _save(sim: XelionSimulator, *, device_number: str = "+31612345678",
          prefer_softphone: bool = False) -> Settings:
    settings = Settings()
    settings.xelion.host = sim.base_url
    settings.xelion.tenant = "demo"
    settings.xelion.username = USER
    settings.xelion.password = PASSWORD
    settings.dial.device_number = device_number
    settings.dial.prefer_softphone = prefer_softphone
    Profile.open().save(settings)
    return settings


def test_cli_dial_sends_one_call_request_in_xelions_format(
        sim: XelionSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    _save(sim)
    assert cli.main(["dial", "020-622 12 34"]) == 0
    assert [r.number for r in sim.dial.requests] == ["+31206221234"]
    assert sim.dial.requests[0].device_number == "+31612345678"
    assert sim.counts["POST me/device/pbx_call"] == 1
    assert sim.counts["POST me/device/register"] == 1
    assert sim.counts["POST me/login"] == 1
    assert sim.counts["POST me/logout"] == 1  # the short session does not linger
    out = capsys.readouterr().out
    assert "+31 20 622 1234" in out


@pytest.mark.parametrize("link", ["tel:+31206221234", "TEL:%2B31-20-622-1234",
                                  "callto://+31206221234/", "callto:0206221234"])
def test_tel_and_callto_links_dial_the_same(sim: XelionSimulator, link: str) -> None:
    _save(sim)
    assert cli.main([link]) == 0
    assert [r.number for r in sim.dial.requests] == ["+31206221234"]


def test_refused_dial_shows_xelions_reason(
        sim: XelionSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    _save(sim, device_number="")  # no device registered with the session
    assert cli.main(["dial", "020 622 12 34"]) == 1
    err = capsys.readouterr().err
    assert "No device is registered with the session." in err  # Xelion's own words
    assert sim.dial.requests == []


def test_missing_capability_is_explained(
        sim: XelionSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    _save(sim)
    sim.dial.without_capability.add(USER)
    assert cli.main(["dial", "+31206221234"]) == 1
    err = capsys.readouterr().err
    assert "PBX-Call-Initiation" in err
    assert sim.dial.requests == []


def test_junk_is_refused_before_any_request(
        sim: XelionSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    _save(sim)
    assert cli.main(["dial", "hello; rm -rf /"]) == 2
    assert cli.main(["dial"]) == 2
    assert cli.main(["tel:anonymous"]) == 2
    assert "afas-tray:" in capsys.readouterr().err
    assert sim.counts["POST me/login"] == 0


def test_extension_is_kept(sim: XelionSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    _save(sim)
    assert cli.main(["dial", "020 622 12 34 toestel 12"]) == 0
    assert [r.number for r in sim.dial.requests] == ["+31206221234"]
    assert "12" in capsys.readouterr().out.split("1234", 1)[1]


def test_internal_extension_goes_as_digits(sim: XelionSimulator) -> None:
    _save(sim)
    assert cli.main(["dial", "123"]) == 0
    assert [r.number for r in sim.dial.requests] == ["123"]


def test_session_renewal_registers_the_device_again(sim: XelionSimulator) -> None:
    """A device belongs to one session: after a new login it is registered again."""
    import asyncio

    from afas_tray.pop.dial import xelion_call_through
    from afas_tray.xelion import XelionClient

    settings = _save(sim)

    async def go() -> None:
        async with XelionClient(sim.base_url, "demo", USER, PASSWORD, "space-a") as client:
            dialler = Dialler(settings, xelion_call_through(client, settings))
            assert (await dialler.dial("0206221234")).ok
            sim.expire_sessions()
            assert (await dialler.dial("0206221235")).ok

    asyncio.run(go())
    assert [r.number for r in sim.dial.requests] == ["+31206221234", "+31206221235"]
    assert sim.counts["POST me/device/register"] == 2


def test_prefer_softphone_hands_a_tel_uri_to_the_os(sim: XelionSimulator) -> None:
    import asyncio

    settings = _save(sim, prefer_softphone=True)
    opened: list[str] = []
    dialler = Dialler(settings, None, open_uri=lambda uri: opened.append(uri) is None)
    result = asyncio.run(dialler.dial("+31 (0)20 622 12 34 x 7"))
    assert result.ok and result.via == "softphone"
    assert opened == ["tel:+31206221234;ext=7"]
    assert sim.counts["POST me/login"] == 0


def test_loop_guard_stops_a_tel_ping_pong(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from afas_tray.pop.dial import LOOP_GUARD_ENV

    settings = Settings()
    settings.dial.prefer_softphone = True
    monkeypatch.setenv(LOOP_GUARD_ENV, "1")
    opened: list[str] = []
    result = asyncio.run(Dialler(settings, None, lambda u: opened.append(u) is None)
                         .dial("0206221234"))
    assert not result.ok and opened == []
    assert "tel:" in result.text.en and "tel:" in result.text.nl


@pytest.mark.parametrize(("url", "expected"), [
    ("tel:+31-20-622-1234;phone-context=example.com", "+31-20-622-1234"),
    ("tel:0206221234;ext=55", "0206221234;ext=55"),
    ("callto:+31206221234?call", "+31206221234"),
])
def test_number_from_url(url: str, expected: str) -> None:
    assert number_from_url(url) == expected


@pytest.mark.parametrize("raw", ["", "   ", "abc", "+31 20 \x00 622", "1" * 80, "anoniem"])
def test_dial_target_refuses_bad_input(raw: str) -> None:
    with pytest.raises(DialError) as info:
        dial_target(raw)
    assert info.value.text.en and info.value.text.nl


def test_without_xelion_and_without_softphone_nothing_is_opened() -> None:
    import asyncio

    opened: list[str] = []
    result = asyncio.run(Dialler(Settings(), None, lambda u: opened.append(u) is None)
                         .dial("0206221234"))
    assert not result.ok and opened == []
    assert "Xelion" in result.text.en and "Xelion" in result.text.nl


def test_dial_lines_for_the_running_app() -> None:
    from afas_tray.events import CallEvent
    from afas_tray.handoff import event_to_line
    from afas_tray.pop.dial import dial_from_line, dial_to_line

    assert dial_from_line(dial_to_line("tel:+31206221234")) == "tel:+31206221234"
    assert dial_from_line(event_to_line(CallEvent("+31206221234"))) is None
    assert dial_from_line('{"v":1,"kind":"dial","number":"rm -rf"}') is None
    assert dial_from_line('{"v":1,"kind":"dial","number":5}') is None


@pytest.mark.skipif(sys.platform == "win32", reason="Unix socket stand-in for the app")
def test_tel_link_goes_to_the_running_app(sim: XelionSimulator) -> None:
    """With the app running, a link's number is handed over instead of dialled here."""
    import threading

    from afas_tray.pop.dial import dial_from_line
    from afas_tray.system.instance_client import instance_name, socket_path
    from afas_tray.system.paths import app_paths

    _save(sim)
    import socket

    path = socket_path(instance_name(app_paths().ensure()))
    got: list[str] = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        server.listen(1)

        def answer() -> None:
            conn, _ = server.accept()
            with conn:
                got.append(conn.recv(4096).decode().strip())
                conn.sendall(b"ok\n")

        worker = threading.Thread(target=answer, daemon=True)
        worker.start()
        assert cli.main(["tel:+31206221234"]) == 0
        worker.join(5)
    assert [dial_from_line(line) for line in got] == ["tel:+31206221234"]
    assert sim.dial.requests == []  # the app dials, not this process


def test_linux_entry_offers_afas_tray_for_phone_links(tmp_path: object) -> None:
    from pathlib import Path

    from afas_tray.system.url_links import install

    folder = Path(str(tmp_path)) / "applications"
    path = install(["/opt/afas tray/afas-tray"], folder=folder)
    text = path.read_text(encoding="utf-8")
    assert "MimeType=x-scheme-handler/tel;x-scheme-handler/callto;x-scheme-handler/afas-tray;" \
        in text
    assert 'Exec="/opt/afas tray/afas-tray" %u' in text
    assert install(["/opt/afas tray/afas-tray"], folder=folder) == path  # idempotent
