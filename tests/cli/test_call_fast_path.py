"""`afas-tray call`: the hot path of every ringing call reaches the running app without loading
what it does not need, and says the same as the full parser does."""

from __future__ import annotations

import json
import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from afas_tray.handoff import (
    HandoffError,
    cli_call_line,
    event_from_line,
    event_to_line,
    parse_call_args,
)
from afas_tray.system.instance_client import instance_name, profile_instance_name
from afas_tray.system.paths import HOME_ENV, app_paths
from afas_tray.ui.single_instance import SingleInstanceServer
from tests.helpers import REPO
from tests.test_handoff import BAD_ARGS, GOOD_ARGS

# What the hand-off process must not load (each costs milliseconds or more on every ring).
HEAVY = ("dataclasses", "argparse", "hashlib", "socket", "PySide6", "httpx", "aiohttp",
         "afas_tray.i18n", "afas_tray.system.paths", "afas_tray.config", "afas_tray.cli.main",
         "afas_tray.events", "subprocess", "json")


@pytest.mark.parametrize(("args", "number", "call_id"), GOOD_ARGS)
def test_fast_line_is_the_line_of_the_full_parser(args: list[str], number: str, call_id: str) -> None:
    fast = json.loads(cli_call_line(args))
    full = json.loads(event_to_line(parse_call_args(args)))
    assert abs(fast.pop("time") - full.pop("time")) < 5
    assert fast == full
    event = event_from_line(cli_call_line(args))
    assert (event.number, event.call_id) == (number, call_id)


@pytest.mark.parametrize("args", BAD_ARGS)
def test_fast_line_refuses_what_the_full_parser_refuses(args: list[str]) -> None:
    with pytest.raises(HandoffError) as full:
        parse_call_args(args)
    with pytest.raises(HandoffError) as fast:
        cli_call_line(args)
    assert fast.value.text == full.value.text


@pytest.mark.parametrize("home", [None, "profile", "~/x/../profile"])
def test_profile_endpoint_is_the_apps_endpoint(home: str | None, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.chdir(tmp_path)
    if home is None:
        monkeypatch.delenv(HOME_ENV, raising=False)
    else:
        monkeypatch.setenv(HOME_ENV, home)
    assert profile_instance_name() == instance_name(app_paths())


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=1) as executor:
        yield executor


def run_call(pool: ThreadPoolExecutor, qtbot: QtBot, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), HOME_ENV: str(home)}
    future = pool.submit(subprocess.run, [sys.executable, "-X", "importtime", "-m", "afas_tray",
                                          "call", *args], env=env, cwd=REPO, capture_output=True,
                         text=True, timeout=30, stdin=subprocess.DEVNULL)
    qtbot.waitUntil(future.done, timeout=30000)
    return future.result()


def loaded_after_start(stderr: str) -> set[str]:
    """Modules ``-X importtime`` reports from our package's first import on (site's are not ours)."""
    names = [line.rsplit("|", 1)[1].strip() for line in stderr.splitlines()
             if line.startswith("import time:") and "|" in line]
    return set(names[names.index("afas_tray"):]) if "afas_tray" in names else set()


@pytest.mark.skipif(sys.platform == "win32", reason="the Windows pipe needs no socket module")
def test_call_reaches_the_running_app_loading_only_the_hand_off(
        qtbot: QtBot, pool: ThreadPoolExecutor, tmp_path: Path) -> None:
    home = tmp_path / "home"
    server = SingleInstanceServer(instance_name(app_paths(home)))
    assert server.listen()
    got: list[str] = []
    server.received.connect(got.append)
    try:
        proc = run_call(pool, qtbot, home, "+31", "20", "123", "4567", "--call-id", "c9")
        assert proc.returncode == 0, proc.stderr
        qtbot.waitUntil(lambda: len(got) == 1, timeout=3000)
        event = event_from_line(got[0])
        assert (event.number, event.call_id, event.source.value) == ("+31 20 123 4567", "c9", "cli")
        loaded = loaded_after_start(proc.stderr)
        assert "afas_tray.cli.call" in loaded
        heavy = sorted(m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY))
        assert heavy == []

        # Bad input: the clear message, exit 2, nothing reaches the app.
        bad = run_call(pool, qtbot, home, "06abc45678")
        assert bad.returncode == 2
        assert "afas-tray: Not a phone number" in bad.stderr or "Geen telefoonnummer" in bad.stderr
        qtbot.wait(200)
        assert len(got) == 1
    finally:
        server.close()
