"""Field capture and replay: a capture of a simulated session is redacted, and replaying a
capture file through the event stream gives the same pops as the live session did."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from afas_tray.cli.xelion import run_capture
from afas_tray.demo.xelion import XelionSimulator
from afas_tray.events import CallEvent
from afas_tray.xelion import Capture, XelionClient, XelionEventStream, active_channels_reply, replay
from tests.helpers import DATA

CAPTURES = DATA / "xelion"


class _ReplayClient:
    """What the stream asks of a client, answered from the capture file."""

    username = "replay"

    def __init__(self, data: dict[str, Any]) -> None:
        self._channels = active_channels_reply(data)

    async def ensure_session(self) -> None:  # pragma: no cover - not connecting
        raise AssertionError

    async def websocket_url(self) -> str:  # pragma: no cover
        raise AssertionError

    async def active_channels(self) -> list[dict[str, Any]]:
        return self._channels


def _replayed(data: dict[str, Any]) -> list[dict[str, str]]:
    got: list[CallEvent] = []
    stream = XelionEventStream(_ReplayClient(data), got.append)
    replay(data, stream.handle_message)
    return [{"state": e.state.value, "number": e.number, "call_id": e.call_id,
             "direction": e.direction.value} for e in got]


@pytest.mark.parametrize("name", sorted(p.name for p in CAPTURES.glob("*.json")))
def test_capture_files_replay_to_the_same_pops(name: str) -> None:
    data = json.loads((CAPTURES / name).read_text(encoding="utf-8"))
    assert data["format"] == 1
    assert _replayed(data) == data["events"]


async def test_a_live_capture_is_redacted_and_replays_alike() -> None:
    sim = XelionSimulator({"jan": "Geheim-Wachtwoord-8431"}, tenant="demo")
    await sim.start()
    stop = asyncio.Event()
    try:
        async with XelionClient(sim.base_url, "demo", "jan", "Geheim-Wachtwoord-8431",
                                "afas-tray-capture") as client:
            async def calls() -> None:
                await asyncio.sleep(0.5)
                call = sim.ring("+31 20 123 4567", name="Bakkerij de Vries")
                sim.answer(call)
                sim.hangup(call)
                await asyncio.sleep(0.5)
                stop.set()

            task = asyncio.ensure_future(calls())
            capture: Capture = await run_capture(client, 0.5, False, stop)
            await task
    finally:
        await sim.stop()
    text = json.dumps(capture.to_json())
    assert "1234567" not in text  # numbers replaced by stand-ins
    assert "Geheim-Wachtwoord-8431" not in text
    assert not any(secret in text for secret in sim.issued_secrets)  # tokens, ws keys
    assert [e["state"] for e in capture.events] == ["ringing", "answered", "hung_up"]
    assert _replayed(capture.to_json()) == capture.events


def test_the_settings_dialog_shows_the_trigger_with_a_copy_button(qtbot: Any) -> None:
    from PySide6.QtGui import QGuiApplication

    from afas_tray.config import Settings
    from afas_tray.ui.settings import SettingsDialog
    from afas_tray.xelion import TRIGGER_VALUE

    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    assert dialog.xelion.xelion_trigger_value.text() == TRIGGER_VALUE
    dialog.xelion.xelion_trigger_copy.click()
    assert QGuiApplication.clipboard().text() == TRIGGER_VALUE
