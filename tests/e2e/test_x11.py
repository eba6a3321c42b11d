"""End to end on a real X server: Xvfb + tint2 (a tray host), the real app, a stand-in browser.

The icon appears in the tray, a left click starts a sync, and a call handed to `afas-tray call`
opens the caller's card through xdg-open. Needs Xvfb, tint2 and xdotool (`.ci/run` installs them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from afas_tray.demo.afas import AfasSimulator, SimulatorThread
from afas_tray.demo.sample_data import KNOWN
from afas_tray.system.paths import app_paths
from afas_tray.system.profile import Profile
from tests.helpers.x11 import (
    afas_settings,
    needs_tools,
    running_app,
    stand_in_browser,
    tray_icon_geometry,
    wait_for,
)

pytestmark = needs_tools("Xvfb", "tint2", "xdotool", "xwininfo")


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


def screenshot(env: dict[str, str], path: Path) -> None:
    """The whole screen as PNG (ImageMagick's ``import``), for the review; best effort."""
    if shutil.which("import"):
        subprocess.run(["import", "-window", "root", str(path)], env=env, timeout=30,
                       capture_output=True)


def window_geometry(env: dict[str, str], title: str) -> tuple[int, int, int, int] | None:
    """(x, y, width, height) of the first mapped window whose name contains ``title``."""
    found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", title], env=env,
                           capture_output=True, text=True).stdout.split()
    if not found:
        return None
    out = subprocess.run(["xdotool", "getwindowgeometry", "--shell", found[0]], env=env,
                         capture_output=True, text=True).stdout
    values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    try:
        return (int(values["X"]), int(values["Y"]), int(values["WIDTH"]), int(values["HEIGHT"]))
    except (KeyError, ValueError):
        return None


def xdo(env: dict[str, str], *args: str) -> None:
    subprocess.run(["xdotool", *args], env=env, check=True, timeout=30)


def test_picker_clicked_report_saved_one_dossier_item_and_refusal_in_the_menu(
        xdisplay: dict[str, str], tmp_path: Path) -> None:
    """A shared number rings (simulated Xelion), the picker is clicked with xdotool, the report
    dialog (opened from the tray menu) is saved: the simulated AFAS receives one dossier item for
    the picked relation. Then AFAS refuses the next report, and the tray menu says so in AFAS's
    words (the menu's head is logged when it opens; the screenshots show it)."""
    from afas_tray.demo.xelion import SimulatorThread as XelionThread
    from afas_tray.demo.xelion import XelionSimulator

    bin_dir, opened = stand_in_browser(tmp_path)
    env = dict(xdisplay, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", LANGUAGE="en",
               LC_ALL="C.UTF-8")
    shots = Path(os.environ.get("AFAS_TRAY_SHOTS", str(tmp_path)))
    shots.mkdir(parents=True, exist_ok=True)
    user, password = "op", "geheim-wachtwoord"
    with SimulatorThread(AfasSimulator(relations=300, seed=2)) as afas, \
            XelionThread(XelionSimulator({user: password}, tenant="acme")) as xelion:
        settings = afas_settings(afas, xelion.url, "acme", user, password)
        settings.afas.dossier_item_type = 7
        settings.ui.language = "en"
        Profile(app_paths().ensure()).save(settings)
        log = app_paths().log_file
        with running_app(env, stop_timeout=15):
            where = wait_for(lambda: tray_icon_geometry(env), 90, "the tray icon in tint2")
            assert isinstance(where, tuple)
            wait_for(lambda: log.exists() and "phone book refreshed" in log.read_text(), 60,
                     "the first sync")
            wait_for(lambda: xelion.sim.websocket_count > 0, 60, "the Xelion websocket")

            shared = KNOWN["shared_two_orgs"]
            call_id = xelion.call(xelion.sim.ring, shared.written[0])
            picker = wait_for(lambda: window_geometry(env, "Choose a relation"), 30, "the picker")
            assert isinstance(picker, tuple)
            screenshot(env, shots / "x11-picker.png")
            x, y, w, _h = picker
            # The list sits under the bold header: its second row is about 2.5 rows below the
            # list's column header. Click it, then the default button with Enter.
            xdo(env, "mousemove", str(x + w // 2), str(y + 74), "click", "1")
            xdo(env, "key", "Return")
            wait_for(lambda: opened.exists() and opened.read_text().strip(), 15,
                     "the picked card to open")
            [url] = opened.read_text().splitlines()
            picked = url.rsplit("=", 1)[1]
            # The picker lists equal-ranked relations by name: the click took the second one.
            assert picked == dict(zip(shared.names, shared.bcids, strict=True))[
                sorted(shared.names)[1]]
            xelion.call(xelion.sim.answer, call_id)
            xelion.call(xelion.sim.hangup, call_id, False)

            # The tray menu (right click), keyboard: Recent calls ▸ the call ▸ Write report….
            xdo(env, "mousemove", str(where[0]), str(where[1]), "click", "3")
            wait_for(lambda: "tray menu opened" in log.read_text(), 15, "the tray menu")
            xdo(env, "key", "Down", "Down", "Right", "Right", "Down", "Return")
            dialog = wait_for(lambda: window_geometry(env, "Call report"), 30, "the report dialog")
            assert isinstance(dialog, tuple)
            xdo(env, "mousemove", str(dialog[0] + dialog[2] // 2), str(dialog[1] + 69),
                "click", "1")  # into the subject line (the second row, under the relation)
            xdo(env, "type", "--delay", "20", "Afspraak gemaakt")
            screenshot(env, shots / "x11-report-dialog.png")
            xdo(env, "key", "ctrl+Return")
            wait_for(lambda: afas.simulator.subjects, 60, "the dossier item in AFAS")
            time.sleep(1)
            [item] = afas.simulator.subjects
            assert item.bcid == picked and item.subject == "Afspraak gemaakt"

            # AFAS refuses the next report: the menu shows it with AFAS's own words.
            unique = KNOWN["org_unique"]
            afas.call(afas.simulator.fail_next, 1, 500)
            second = xelion.call(xelion.sim.ring, unique.written[0])
            wait_for(lambda: len(opened.read_text().splitlines()) == 2, 15, "the second card")
            xelion.call(xelion.sim.answer, second)
            xelion.call(xelion.sim.hangup, second, False)
            xdo(env, "mousemove", str(where[0]), str(where[1]), "click", "3")
            wait_for(lambda: log.read_text().count("tray menu opened") >= 2, 15, "the menu again")
            xdo(env, "key", "Down", "Down", "Right", "Right", "Down", "Return")
            dialog = wait_for(lambda: window_geometry(env, "Call report"), 30, "the second dialog")
            assert isinstance(dialog, tuple)
            xdo(env, "mousemove", str(dialog[0] + dialog[2] // 2), str(dialog[1] + 69),
                "click", "1")
            xdo(env, "type", "--delay", "20", "Klacht")
            xdo(env, "key", "ctrl+Return")
            refused = "Er is een onverwachte fout opgetreden."

            def menu_shows_refusal() -> bool:
                xdo(env, "mousemove", str(where[0]), str(where[1]), "click", "3")
                time.sleep(1)
                lines = [ln for ln in log.read_text().splitlines() if "tray menu opened" in ln]
                xdo(env, "key", "Escape")
                return bool(lines) and "Needs attention" in lines[-1] and \
                    "AFAS refused a report" in lines[-1]

            wait_for(menu_shows_refusal, 60, "the refusal in the tray menu")
            xdo(env, "mousemove", str(where[0]), str(where[1]), "click", "3")
            time.sleep(1)
            screenshot(env, shots / "x11-menu-refused.png")
            head = [ln for ln in log.read_text().splitlines() if "tray menu opened" in ln][-1]
            assert refused in head.replace(" | ", " "), head
            xdo(env, "key", "Escape")
            assert len(afas.simulator.subjects) == 1  # the refused one never arrived
