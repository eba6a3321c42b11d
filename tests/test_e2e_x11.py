"""End to end on a real X server: Xvfb + tint2 (a tray host), the real app, a stand-in browser.

The icon appears in the tray, a left click starts a sync, and a call handed to `afas-tray call`
opens the caller's card through xdg-open. Needs Xvfb, tint2 and xdotool (`.ci/run` installs them).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from x11_fixtures import (
    afas_settings,
    running_app,
    stand_in_browser,
    tint2_panel,
    wait_for,
    x_server,
)

from afas_tray.demo.afas import AfasSimulator, SimulatorThread
from afas_tray.demo.sample_data import KNOWN
from afas_tray.paths import app_paths
from afas_tray.profile import Profile

TOOLS = ("Xvfb", "tint2", "xdotool", "xwininfo")
pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in TOOLS), reason="needs Xvfb, tint2, xdotool, xwininfo"
)


@pytest.fixture
def xdisplay() -> Iterator[dict[str, str]]:
    with x_server() as env, tint2_panel(env):
        yield env


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
    bin_dir, opened = stand_in_browser(tmp_path)
    env = dict(xdisplay, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    with SimulatorThread(AfasSimulator(relations=300, seed=2)) as afas:
        Profile(app_paths().ensure()).save(afas_settings(afas))
        with running_app(env, stop_timeout=10):
            where = wait_for(lambda: tray_icon_geometry(env), 90, "the tray icon in tint2")
            assert isinstance(where, tuple)
            log = app_paths().log_file
            wait_for(lambda: log.exists() and "phone book refreshed" in log.read_text(), 60,
                     "the first sync")
            # A click runs one sync cycle: a full refresh or an incremental update.
            def cycles() -> int:
                text = log.read_text()
                return text.count("phone book refreshed") + text.count("phone book updated")

            before = cycles()
            subprocess.run(["xdotool", "mousemove", str(where[0]), str(where[1]), "click", "1"],
                           env=env, check=True)
            wait_for(lambda: "activated: Trigger" in log.read_text(), 30, "the click on the icon")
            wait_for(lambda: cycles() > before, 30,
                     "a sync after the click")

            number = KNOWN["org_unique"].written[0]
            call = subprocess.run([sys.executable, "-m", "afas_tray", "call", number, "--call-id", "e2e-1"],
                                  env=env, capture_output=True, text=True, timeout=30)
            assert call.returncode == 0, call.stderr
            wait_for(lambda: opened.exists() and opened.read_text().strip(), 10, "the card to open")
            bcid = KNOWN["org_unique"].bcids[0]
            assert opened.read_text().splitlines() == [
                f"{afas.url}/insite/verkooprelatie-prs?BcId={bcid}"]
