"""Shared by the tests on a real X server: Xvfb, a tray panel or a window manager, the real app.

Context managers, plus ``xdisplay`` (Xvfb with a tint2 tray host; registered by
``tests/conftest.py``). Timeouts are generous on purpose: a busy 2-core machine takes many
seconds to bring an X desktop up.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from afas_tray.config import Settings
from afas_tray.demo.afas import SimulatorThread
from tests.helpers.wait import wait_for

__all__ = ["afas_settings", "end", "needs_tools", "openbox", "run", "running_app",
           "stand_in_browser", "tint2_panel", "tray_icon_geometry", "wait_for", "x_server",
           "xdisplay"]


def needs_tools(*tools: str) -> pytest.MarkDecorator:
    """Skip the test module where one of these programs is not installed."""
    return pytest.mark.skipif(any(shutil.which(t) is None for t in tools),
                              reason="needs " + ", ".join(tools))


def run(env: dict[str, str], *args: str) -> str:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=30).stdout.strip()


@contextlib.contextmanager
def x_server(**extra_env: str) -> Iterator[dict[str, str]]:
    """Xvfb on a display of its choosing; yields an environment for programs on it."""
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x800x24",
                             "-nolisten", "tcp"], pass_fds=(write_fd,), stderr=subprocess.DEVNULL)
    os.close(write_fd)
    try:
        # Read up to the newline: Xvfb writes the number and the newline separately and dies if
        # the pipe is closed in between.
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = os.read(read_fd, 16)
            if not chunk:
                break
            reply += chunk
        os.close(read_fd)
        number = reply.decode().strip()
        assert number, "Xvfb did not start"
        env = dict(os.environ, DISPLAY=f":{number}", **extra_env)
        env.pop("QT_QPA_PLATFORM", None)
        yield env
    finally:
        xvfb.terminate()
        xvfb.wait(5)


@contextlib.contextmanager
def tint2_panel(env: dict[str, str]) -> Iterator[None]:
    """A tint2 panel (a system tray host) on the display, up and holding the tray selection."""
    wait_for(lambda: subprocess.run(["xwininfo", "-root"], env=env,
                                    capture_output=True).returncode == 0, 30, "the X server")
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
        yield
    finally:
        tint2.terminate()
        tint2.wait(5)


@pytest.fixture
def xdisplay() -> Iterator[dict[str, str]]:
    """An X server with a tray host on it; yields the environment for programs on it."""
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


@contextlib.contextmanager
def openbox(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """openbox (a window manager that does focus) on the display, once it has taken over."""
    with log.open("wb") as out:
        wm = subprocess.Popen(["openbox", "--sm-disable"], env=env, stdout=out,
                              stderr=subprocess.STDOUT)
    try:
        try:
            wait_for(lambda: "window id" in run(env, "xprop", "-root", "_NET_SUPPORTING_WM_CHECK"),
                     60, "openbox")
        except AssertionError:
            raise AssertionError(f"openbox did not start: {log.read_text()}") from None
        yield wm
    finally:
        end(wm)


def end(proc: subprocess.Popen[bytes]) -> None:
    """Ask a helper program to go; kill it if it has not within 5 s."""
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()


def stand_in_browser(tmp_path: Path) -> tuple[Path, Path]:
    """(a folder to put first on PATH, the file its ``xdg-open`` appends each URL to)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    opened = tmp_path / "opened.txt"
    stand_in = bin_dir / "xdg-open"
    stand_in.write_text(f'#!/bin/sh\necho "$1" >> "{opened}"\n')
    stand_in.chmod(0o755)
    return bin_dir, opened


def afas_settings(afas: SimulatorThread, xelion_url: str = "", tenant: str = "",
                  user: str = "", password: str = "") -> Settings:
    """Settings for the simulated AFAS (and with ``xelion_url`` a simulated Xelion); the hourly
    sync leaves the tests' own syncs alone."""
    s = Settings()
    s.afas.host = afas.url
    s.afas.token = afas.simulator.token
    s.afas.insite_url_template = f"{afas.url}/insite/verkooprelatie-prs?BcId=<BCID>"
    s.sync.interval_minutes = 60
    if xelion_url:
        s.xelion.host = xelion_url
        s.xelion.tenant = tenant
        s.xelion.username = user
        s.xelion.password = password
    return s


@contextlib.contextmanager
def running_app(env: dict[str, str], stop_timeout: float) -> Iterator[subprocess.Popen[str]]:
    """``python -m afas_tray`` in ``env``; on the way out it must stop on SIGTERM with code 0."""
    app = subprocess.Popen([sys.executable, "-m", "afas_tray"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield app
    finally:
        app.send_signal(signal.SIGTERM)
        try:
            code = app.wait(stop_timeout)
        except subprocess.TimeoutExpired:
            app.kill()
            raise
        output = app.stdout.read() if app.stdout else ""
    assert code == 0, output
