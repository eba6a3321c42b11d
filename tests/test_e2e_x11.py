"""End to end on a real X server: Xvfb + tint2 (a tray host), the real app, a stand-in browser.

The icon appears in the tray, a left click starts a sync, and a call handed to `afas-tray call`
opens the caller's card through xdg-open. Needs Xvfb, tint2 and xdotool (`.ci/run` installs them).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from afas_tray.demo.afas import AfasSimulator, SimulatorThread
from afas_tray.demo.sample_data import KNOWN
from afas_tray.paths import app_paths
from afas_tray.profile import Profile
from afas_tray.settings import Settings

TOOLS = ("Xvfb", "tint2", "xdotool", "xwininfo")
pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in TOOLS), reason="needs Xvfb, tint2, xdotool, xwininfo"
)


def wait_for(check: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def xdisplay(tmp_path: Path) -> Iterator[dict[str, str]]:
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x800x24",
                             "-nolisten", "tcp"], pass_fds=(write_fd,), stderr=subprocess.DEVNULL)
    os.close(write_fd)
    # Xvfb writes the number and the newline separately: read up to the newline, or it may
    # fail to write the rest into a closed pipe and give up.
    raw = b""
    while not raw.endswith(b"\n"):
        chunk = os.read(read_fd, 16)
        if not chunk:
            break
        raw += chunk
    number = raw.decode().strip()
    os.close(read_fd)
    env = dict(os.environ, DISPLAY=f":{number}")
    env.pop("QT_QPA_PLATFORM", None)
    wait_for(lambda: subprocess.run(["xwininfo", "-root"], env=env, capture_output=True).returncode == 0,
             30, "the X server")
    tint2 = subprocess.Popen(["tint2"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # A busy machine can take many seconds to bring the panel up (tint2 here waits about
        # 15 s for a window manager that never comes); the app must not race it.
        def panel_up() -> bool:
            nonlocal tint2
            if tint2.poll() is not None:  # it could not open the display yet: start it again
                tint2 = subprocess.Popen(["tint2"], env=env, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
            tree = subprocess.run(["xwininfo", "-root", "-tree"], env=env, capture_output=True,
                                  text=True).stdout
            return '"tint2"' in tree

        wait_for(panel_up, 120, "the tint2 panel")
        time.sleep(1)  # the panel maps first, then claims the tray selection
        yield env
    finally:
        tint2.terminate()
        xvfb.terminate()
        tint2.wait(5)
        xvfb.wait(5)


def tray_icon_geometry(env: dict[str, str]) -> tuple[int, int] | None:
    """Centre of our icon window inside tint2's panel, if it is embedded."""
    tree = subprocess.run(["xwininfo", "-root", "-tree"], env=env, capture_output=True, text=True).stdout
    for line in tree.splitlines():
        if '"AFAS Tray"' in line:
            m = re.search(r"(\d+)x(\d+)\+-?\d+\+-?\d+\s+\+(\d+)\+(\d+)", line)
            if m and int(m.group(1)) > 8:
                w, h, x, y = map(int, m.groups())
                return x + w // 2, y + h // 2
    return None


def test_tray_click_syncs_and_cli_call_opens_card(xdisplay: dict[str, str], tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    opened = tmp_path / "opened.txt"
    stand_in = bin_dir / "xdg-open"
    stand_in.write_text(f'#!/bin/sh\necho "$1" >> "{opened}"\n')
    stand_in.chmod(0o755)
    env = dict(xdisplay, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    with SimulatorThread(AfasSimulator(relations=300, seed=2)) as afas:
        s = Settings()
        s.afas.host = afas.url
        s.afas.token = afas.simulator.token
        s.afas.insite_url_template = f"{afas.url}/insite/verkooprelatie-prs?BcId=<BCID>"
        s.sync.interval_minutes = 60
        Profile(app_paths().ensure()).save(s)
        app = subprocess.Popen([sys.executable, "-m", "afas_tray"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            where = wait_for(lambda: tray_icon_geometry(env), 90, "the tray icon in tint2")
            assert isinstance(where, tuple)
            log = app_paths().log_file
            wait_for(lambda: log.exists() and "phone book refreshed" in log.read_text(), 60,
                     "the first sync")
            before = log.read_text().count("phone book refreshed")
            subprocess.run(["xdotool", "mousemove", str(where[0]), str(where[1]), "click", "1"],
                           env=env, check=True)
            wait_for(lambda: "activated: Trigger" in log.read_text(), 30, "the click on the icon")
            wait_for(lambda: log.read_text().count("phone book refreshed") > before, 30,
                     "a sync after the click")

            number = KNOWN["org_unique"].written[0]
            call = subprocess.run([sys.executable, "-m", "afas_tray", "call", number, "--call-id", "e2e-1"],
                                  env=env, capture_output=True, text=True, timeout=30)
            assert call.returncode == 0, call.stderr
            wait_for(lambda: opened.exists() and opened.read_text().strip(), 10, "the card to open")
            bcid = KNOWN["org_unique"].bcids[0]
            assert opened.read_text().splitlines() == [
                f"{afas.url}/insite/verkooprelatie-prs?BcId={bcid}"]
        finally:
            app.send_signal(signal.SIGTERM)
            try:
                code = app.wait(10)
            except subprocess.TimeoutExpired:
                app.kill()
                raise
            output = app.stdout.read() if app.stdout else ""
        assert code == 0, output
