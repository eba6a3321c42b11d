"""End to end on a real X server: "Call back" in the tray's recent-calls submenu, opened and
chosen with xdotool, makes the real app send one PBX call request to the simulated Xelion.

Needs Xvfb, tint2, xdotool and xwininfo (`.ci/run` installs them), like tests/e2e/test_x11.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from afas_tray.demo.afas import AfasSimulator
from afas_tray.demo.afas import SimulatorThread as AfasThread
from afas_tray.demo.sample_data import KNOWN
from afas_tray.demo.xelion import SimulatorThread as XelionThread
from afas_tray.demo.xelion import XelionSimulator
from afas_tray.numbers import normalise
from afas_tray.system.paths import app_paths
from afas_tray.system.profile import Profile
from tests.helpers.x11 import (
    afas_settings,
    needs_tools,
    running_app,
    tray_icon_geometry,
    wait_for,
    x_server,
)

pytestmark = needs_tools("Xvfb", "tint2", "xdotool", "xwininfo")
USER, PASSWORD = "op", "Terugbel-Wachtwoord-7310"


def shot(env: dict[str, str], name: str) -> None:
    """With E2E_SHOTS=<folder> (and ImageMagick's ``import``), keep a picture of the screen."""
    folder = os.environ.get("E2E_SHOTS")
    if folder and shutil.which("import"):
        subprocess.run(["import", "-window", "root", f"{folder}/{name}.png"], env=env, check=False)


def keys(env: dict[str, str], *names: str) -> None:
    for i, name in enumerate(names):
        subprocess.run(["xdotool", "key", name], env=env, check=True)
        time.sleep(0.4)  # let the menu (and a submenu) open before the next key
        shot(env, f"dial-step{i}")


def test_call_back_from_the_recent_calls_menu_reaches_xelion(
        xdisplay: dict[str, str], tmp_path: Path) -> None:
    number = KNOWN["org_unique"].written[0]
    with AfasThread(AfasSimulator(relations=300, seed=2)) as afas, \
            XelionThread(XelionSimulator({USER: PASSWORD}, tenant="demo")) as xelion:
        sim = xelion.sim
        settings = afas_settings(afas, sim.base_url, "demo", USER, PASSWORD)
        settings.dial.device_number = "+31612345678"
        Profile(app_paths().ensure()).save(settings)
        with running_app(xdisplay, stop_timeout=15):
            where = wait_for(lambda: tray_icon_geometry(xdisplay), 90, "the tray icon in tint2")
            assert isinstance(where, tuple)
            wait_for(lambda: sim.websocket_count > 0, 60, "the Xelion websocket")
            log = app_paths().log_file
            wait_for(lambda: log.exists() and "phone book refreshed" in log.read_text(), 60,
                     "the first sync")
            # One call comes and goes: it is the (only) entry of "Recent calls".
            call_id = xelion.call(sim.ring, number)
            time.sleep(1.5)
            xelion.call(sim.hangup, call_id, False)
            time.sleep(0.5)
            assert sim.dial.requests == []

            subprocess.run(["xdotool", "mousemove", str(where[0]), str(where[1]), "click", "3"],
                           env=xdisplay, check=True)
            time.sleep(1.0)
            shot(xdisplay, "dial-menu")
            # Leave the pointer off the menu so only the keys choose: Down to "Sync now", Down
            # to "Recent calls", Right into it (the call), Right into the call's submenu (its
            # first item), Up to its last item "Call back", Return.
            subprocess.run(["xdotool", "mousemove", "640", "100"], env=xdisplay, check=True)
            keys(xdisplay, "Down", "Down", "Right", "Right", "Up", "Return")
            wait_for(lambda: sim.dial.requests, 30, "the call request at Xelion")
            assert [r.number for r in sim.dial.requests] == [normalise(number)]
            assert sim.dial.requests[0].device_number == "+31612345678"
            wait_for(lambda: "dial via xelion: placed" in log.read_text(), 10, "the app's log")


@pytest.mark.skipif(__import__("importlib.util").util.find_spec("pynput") is None,
                    reason="the optional pynput package is not installed")
def test_dial_hotkey_fires_on_x11(tmp_path: Path) -> None:
    """The global hotkey (pynput) hears <ctrl>+<alt>+d typed anywhere on the X display."""
    import sys

    script = tmp_path / "hotkey.py"
    script.write_text(
        "import sys, threading\n"
        "from afas_tray.system import hotkey\n"
        "done = threading.Event()\n"
        "stop, problem = hotkey.start('<ctrl>+<alt>+d', done.set)\n"
        "print('problem' if problem else 'ready', flush=True)\n"
        "print('pressed' if done.wait(20) else 'timeout', flush=True)\n"
        "stop and stop()\n")
    with x_server() as env:
        wait_for(lambda: subprocess.run(["xwininfo", "-root"], env=env,
                                        capture_output=True).returncode == 0, 30, "the X server")
        proc = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE,
                                text=True)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(1.0)
        subprocess.run(["xdotool", "key", "ctrl+alt+d"], env=env, check=True)
        assert proc.stdout.readline().strip() == "pressed"
        proc.wait(10)
