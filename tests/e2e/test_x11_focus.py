"""Never steal focus (issue 7, item 4), on a real X server with a window manager that does focus.

Xvfb + openbox + an xterm the operator is typing in; the real app (``python -m afas_tray``) with
a synced phone book and a stand-in ``xdg-open``. A card pops, a picker shows and an
unknown-caller notice appears: the window manager's active window and the X input focus stay on
the xterm before and after each, and every key typed around the pop reaches the xterm (it writes
what it receives to a file). Needs Xvfb, openbox, xterm, xdotool and xprop (`.ci/run`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from afas_tray.demo.afas import AfasSimulator, SimulatorThread
from afas_tray.demo.sample_data import KNOWN
from afas_tray.system.paths import app_paths
from afas_tray.system.profile import Profile
from tests.helpers.x11 import (
    afas_settings,
    end,
    needs_tools,
    openbox,
    run,
    running_app,
    stand_in_browser,
    wait_for,
    x_server,
)

pytestmark = needs_tools("Xvfb", "openbox", "xterm", "xdotool", "xprop")

TYPING_TITLE = "operator-typing-here"
PICKER_TITLE = "Choose a relation"
NOTICE_TITLE = "Unknown caller"
STATUS_TITLE = "^AFAS Tray$"


def wait_until(check: Callable[[], object], timeout: float) -> bool:
    try:
        wait_for(check, timeout, "")
    except AssertionError:
        return False
    return True


@dataclass
class Desk:
    env: dict[str, str]
    typing_window: str
    typed: Path

    def active(self) -> tuple[str, str]:
        """The window manager's active window and the window that has the X input focus."""
        return run(self.env, "xdotool", "getactivewindow"), run(self.env, "xdotool",
                                                                "getwindowfocus")

    def assert_typing_window_focused(self, when: str) -> None:
        assert self.active() == (self.typing_window, self.typing_window), (
            f"focus left the typing window {when}: {self.describe_focus()}")

    def describe_focus(self) -> str:
        wid = run(self.env, "xdotool", "getwindowfocus")
        return f"window {wid} {run(self.env, 'xdotool', 'getwindowname', wid)!r}"

    def visible(self, title: str) -> list[str]:
        return run(self.env, "xdotool", "search", "--onlyvisible", "--name", title).split()

    def type_keys(self, text: str) -> subprocess.Popen[bytes]:
        """Type into whatever has focus, like a person would (XTEST, not sent events)."""
        return subprocess.Popen(["xdotool", "type", "--delay", "12", text], env=self.env)

    def focus_typing_window(self) -> None:
        run(self.env, "xdotool", "windowactivate", "--sync", self.typing_window)
        wait_for(lambda: self.active() == (self.typing_window, self.typing_window), 30,
                 "the typing window to have focus")

    def received(self) -> str:
        return self.typed.read_text() if self.typed.exists() else ""


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    (tmp_path / "home").mkdir()
    with x_server(HOME=str(tmp_path / "home")) as env, openbox(env, tmp_path / "openbox.log"):
        typed = tmp_path / "typed.txt"
        typed.touch()
        # No line buffering, no echo: every key the xterm gets lands in the file at once.
        xterm = subprocess.Popen(
            ["xterm", "-title", TYPING_TITLE, "-e", "sh", "-c",
             f"stty -icanon -echo; exec cat >> '{typed}'"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            window = wait_for(lambda: run(env, "xdotool", "search", "--onlyvisible", "--name",
                                          TYPING_TITLE), 60, "the xterm")
            assert isinstance(window, str)
            desk = Desk(env, window.split()[0], typed)
            desk.focus_typing_window()
            # The shell in the xterm needs a moment before stty has run: wait for a probe to land.

            def probe() -> bool:
                desk.type_keys("ready;").wait(30)
                return wait_until(lambda: desk.received().endswith("ready;"), 2)

            wait_for(probe, 30, "the xterm to take keys")
            typed.write_text("")  # cat appends, so emptying the file under it is safe
            yield desk
        finally:
            end(xterm)


@dataclass
class TrayApp:
    afas_url: str
    opened: Path  # what the stand-in xdg-open was asked to open, one URL a line

    def card(self, bcid: str) -> str:
        return f"{self.afas_url}/insite/verkooprelatie-prs?BcId={bcid}"

    def opened_urls(self) -> list[str]:
        return self.opened.read_text().splitlines() if self.opened.exists() else []


@pytest.fixture
def tray_app(desk: Desk, tmp_path: Path) -> Iterator[TrayApp]:
    """The real app on the desk, its phone book synced from the simulated AFAS.

    No tray host runs here, so the app also shows its status window (as on GNOME without
    AppIndicator); the xterm keeps the focus the operator gave it.
    """
    bin_dir, opened = stand_in_browser(tmp_path)
    desk.env["PATH"] = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    with SimulatorThread(AfasSimulator(relations=300, seed=2)) as afas:
        s = afas_settings(afas)
        s.pop.unknown_url_template = f"{afas.url}/insite/zoeken?q=<NUMBER>"
        s.ui.language = "en"
        Profile(app_paths().ensure()).save(s)
        with running_app(desk.env, stop_timeout=15):
            log = app_paths().log_file
            wait_for(lambda: log.exists() and "phone book refreshed" in log.read_text(), 60,
                     "the first sync")
            wait_for(lambda: desk.visible(STATUS_TITLE), 30, "the status window")
            yield TrayApp(afas.url, opened)


def call(desk: Desk, number: str, call_id: str) -> None:
    done = subprocess.run([sys.executable, "-m", "afas_tray", "call", number, "--call-id",
                           call_id], env=desk.env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def pop_while_typing(desk: Desk, number: str, call_id: str, shown: Callable[[], object],
                     what: str, tag: str) -> None:
    """Type before, during and after a pop; every key must reach the typing window."""
    desk.assert_typing_window_focused(f"before the {what}")
    before = desk.received()
    # Digits on purpose: a picker that had focus would take 1–9 as a choice.
    during = f"[{tag} during 1 2 3 4 5 the quick brown fox]"
    after = f"[{tag} after 6 7 8 9 jumps over the lazy dog]"
    typing = desk.type_keys(during)
    call(desk, number, call_id)
    wait_for(shown, 30, what)
    assert typing.wait(60) == 0
    desk.assert_typing_window_focused(f"after the {what}")
    typing = desk.type_keys(after)  # the pop is on screen now: keys go on landing in the xterm
    assert typing.wait(60) == 0
    wait_for(lambda: desk.received() == before + during + after, 15,
             f"every key typed around the {what} in the xterm (got {desk.received()!r})")
    desk.assert_typing_window_focused(f"while the {what} is on screen")


def test_card_picker_and_notice_never_take_focus_or_keys(desk: Desk, tray_app: TrayApp) -> None:
    desk.focus_typing_window()  # the operator clicks into their own program

    card = KNOWN["org_unique"]
    pop_while_typing(desk, card.written[0], "focus-card", tray_app.opened_urls, "card pop",
                     "card")
    assert tray_app.opened_urls() == [tray_app.card(card.bcids[0])]

    shared = KNOWN["shared_two_orgs"]
    pop_while_typing(desk, shared.written[0], "focus-picker",
                     lambda: desk.visible(PICKER_TITLE), "picker", "picker")

    pop_while_typing(desk, KNOWN["no_match"].written[0], "focus-unknown",
                     lambda: desk.visible(NOTICE_TITLE), "unknown-caller notice", "notice")
    assert desk.visible(PICKER_TITLE), "the picker stays up until the operator acts"
    # Nothing but the card was opened: no keystroke picked a relation in the picker.
    assert len(tray_app.opened_urls()) == 1


def test_the_status_window_shown_for_want_of_a_tray_leaves_the_focus_alone(
        desk: Desk, tray_app: TrayApp) -> None:
    # The operator was typing before the app started (login, autostart): the status window the
    # app shows by itself a few seconds later must not take the keyboard.
    desk.assert_typing_window_focused("after the status window appeared")
