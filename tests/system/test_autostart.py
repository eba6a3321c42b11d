"""Start at login: the entry each OS reads at login appears, says the right thing, and goes away."""

from __future__ import annotations

import os
import plistlib
import subprocess
import sys
from pathlib import Path

import pytest

from afas_tray.system import autostart
from tests.helpers import REPO

ROOT = REPO


# --- Linux: XDG autostart -----------------------------------------------------------------------


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config" / "autostart" / "afas-tray.desktop"


def _desktop_keys(path: Path) -> dict[str, str]:
    keys = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            k, _, v = line.partition("=")
            keys[k] = v
    return keys


def _parse_exec(value: str) -> list[str]:
    """Read an Exec value back the way the Desktop Entry Specification says a launcher does."""
    # 1. the string escapes of every value
    out, i = "", 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            out += {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}.get(value[i + 1], "\\" + value[i + 1])
            i += 2
        else:
            out += value[i]
            i += 1
    # 2. the quoting rules of Exec
    args: list[str] = []
    cur: str | None = None
    i = 0
    while i < len(out):
        c = out[i]
        if c == '"':
            cur = cur or ""
            i += 1
            while out[i] != '"':
                if out[i] == "\\":
                    i += 1
                cur += out[i]
                i += 1
            i += 1
        elif c == " ":
            if cur is not None:
                args.append(cur)
            cur = None
            i += 1
        else:
            cur = (cur or "") + c
            i += 1
    if cur is not None:
        args.append(cur)
    # 3. field codes: %% is a literal percent
    return [a.replace("%%", "%") for a in args]


def test_linux_entry_is_written_in_xdg_config_home_and_removed(xdg: Path) -> None:
    assert not autostart.is_enabled(platform="linux")
    command = ["/opt/AFAS Tray/afas-tray"]
    autostart.enable(command, platform="linux")
    assert xdg.is_file()
    keys = _desktop_keys(xdg)
    assert keys["Type"] == "Application"
    assert keys["Name"] == "AFAS Tray"
    assert keys["Exec"] == '"/opt/AFAS Tray/afas-tray"'
    assert autostart.is_enabled(platform="linux")

    autostart.disable(platform="linux")
    assert not xdg.exists()
    assert not autostart.is_enabled(platform="linux")
    autostart.disable(platform="linux")  # nothing left to remove: still fine


def test_linux_enable_twice_leaves_one_unchanged_entry(xdg: Path) -> None:
    autostart.enable(["/usr/bin/afas-tray"], platform="linux")
    first = xdg.read_bytes()
    mtime = xdg.stat().st_mtime_ns
    autostart.enable(["/usr/bin/afas-tray"], platform="linux")
    assert xdg.read_bytes() == first
    assert xdg.stat().st_mtime_ns == mtime
    assert [p.name for p in xdg.parent.iterdir()] == ["afas-tray.desktop"]  # no temp files left


def test_linux_entry_switched_off_by_the_desktop_counts_as_off_until_enabled_again(xdg: Path) -> None:
    autostart.enable(["/usr/bin/afas-tray"], platform="linux")
    # GNOME's startup-applications tool flips this key instead of deleting the file.
    xdg.write_text(xdg.read_text().replace("X-GNOME-Autostart-enabled=true",
                                           "X-GNOME-Autostart-enabled=false"))
    assert not autostart.is_enabled(platform="linux")
    autostart.enable(["/usr/bin/afas-tray"], platform="linux")
    assert autostart.is_enabled(platform="linux")
    xdg.write_text(xdg.read_text() + "Hidden=true\n")
    assert not autostart.is_enabled(platform="linux")


def test_relative_xdg_config_home_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/config")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert autostart.entry_path(platform="linux") == tmp_path / ".config" / "autostart" / "afas-tray.desktop"


@pytest.mark.parametrize("command", [
    ["/home/ann/AFAS Tray/afas-tray"],
    ["/usr/bin/python3", "-m", "afas_tray"],
    ["/srv/it's/afas-tray", 'say "hi"', "100%", "$HOME", "back\\slash", "`tick`"],
])
def test_linux_exec_line_reads_back_as_the_same_arguments(xdg: Path, command: list[str]) -> None:
    autostart.enable(command, platform="linux")
    assert _parse_exec(_desktop_keys(xdg)["Exec"]) == command


def test_literal_backslash_in_quoted_argument_is_four_backslashes() -> None:
    # The Desktop Entry Specification's own example of the two escaping layers.
    assert autostart.desktop_exec(["a b\\c"]) == '"a b\\\\\\\\c"'


def test_commands_that_cannot_be_written_are_refused(xdg: Path) -> None:
    with pytest.raises(ValueError):
        autostart.enable([], platform="linux")
    with pytest.raises(ValueError):
        autostart.enable(["/usr/bin/afas-tray", "two\nlines"], platform="linux")
    assert not xdg.exists()


def test_default_command_starts_this_installation() -> None:
    command = autostart.default_command()
    assert command[:1] == [sys.executable] or Path(command[0]).name.startswith("pythonw")
    result = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=60,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("afas-tray ")


# --- macOS: LaunchAgent -------------------------------------------------------------------------


def test_macos_launch_agent_content_and_removal(tmp_path: Path) -> None:
    agents = tmp_path / "LaunchAgents"
    command = ["/Applications/AFAS Tray.app/Contents/MacOS/afas-tray"]
    assert not autostart.is_enabled(platform="darwin", location=agents)
    autostart.enable(command, platform="darwin", location=agents)
    path = agents / "nl.afas-tray.app.plist"
    with path.open("rb") as fh:
        agent = plistlib.load(fh)
    assert agent["Label"] == "nl.afas-tray.app"
    assert agent["ProgramArguments"] == command
    assert agent["RunAtLoad"] is True
    assert agent["KeepAlive"] is False
    assert agent["LimitLoadToSessionType"] == "Aqua"
    assert autostart.is_enabled(platform="darwin", location=agents)

    before = path.read_bytes()
    autostart.enable(command, platform="darwin", location=agents)
    assert path.read_bytes() == before

    agent["Disabled"] = True
    path.write_bytes(plistlib.dumps(agent))
    assert not autostart.is_enabled(platform="darwin", location=agents)

    autostart.disable(platform="darwin", location=agents)
    assert not path.exists()
    assert not autostart.is_enabled(platform="darwin", location=agents)


def test_launch_agent_label_is_the_app_bundle_identifier() -> None:
    with (ROOT / "packaging" / "macos" / "Info.plist").open("rb") as fh:
        info = plistlib.load(fh)
    assert info["CFBundleIdentifier"] == autostart.MAC_LABEL


def test_unreadable_launch_agent_counts_as_off(tmp_path: Path) -> None:
    (tmp_path / "nl.afas-tray.app.plist").write_text("not a plist")
    assert not autostart.is_enabled(platform="darwin", location=tmp_path)


# --- Windows: HKCU Run ---------------------------------------------------------------------------


def test_windows_run_value_quotes_the_program() -> None:
    exe = r"C:\Users\Ann\AppData\Local\Programs\AFAS Tray\afas-tray.exe"
    assert autostart.windows_run_value([exe]) == f'"{exe}"'
    assert autostart.windows_run_value([r"C:\Python\pythonw.exe", "-m", "afas_tray"]) == \
        r'"C:\Python\pythonw.exe" -m afas_tray'
    assert autostart.windows_run_value([r"C:\a\b.exe", "two words"]) == r'"C:\a\b.exe" "two words"'


def test_windows_installer_and_app_use_the_same_run_value() -> None:
    iss = (ROOT / "packaging" / "windows" / "afas-tray.iss").read_text(encoding="utf-8")
    assert 'ValueName: "{#AppName}"' in iss and '#define AppName "AFAS Tray"' in iss
    assert autostart.RUN_VALUE == "AFAS Tray"
    assert autostart.RUN_KEY in iss


def test_task_manager_switch_is_read() -> None:
    assert autostart._approved_disabled(bytes([3] + [0] * 11))
    assert not autostart._approved_disabled(bytes([2] + [0] * 11))
    assert not autostart._approved_disabled(None)


def test_frozen_console_twin_autostarts_the_windowed_program(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "afas-tray.exe").write_bytes(b"")
    (tmp_path / "afas-tray-cli.exe").write_bytes(b"")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "afas-tray-cli.exe"))
    monkeypatch.setattr(sys, "platform", "win32")
    assert autostart.default_command() == [str(tmp_path / "afas-tray.exe")]


@pytest.mark.skipif(sys.platform != "win32", reason="the registry exists only on Windows")
def test_windows_registry_round_trip() -> None:
    was = autostart.is_enabled()
    try:
        autostart.enable([r"C:\Program Files\AFAS Tray\afas-tray.exe"])
        autostart.enable([r"C:\Program Files\AFAS Tray\afas-tray.exe"])
        assert autostart.is_enabled()
        autostart.disable()
        assert not autostart.is_enabled()
        autostart.disable()
    finally:
        if was:
            autostart.enable(autostart.default_command())


def test_entry_paths_per_platform(tmp_path: Path) -> None:
    assert autostart.entry_path(platform="win32") is None
    assert autostart.entry_path(platform="darwin", location=tmp_path) == tmp_path / "nl.afas-tray.app.plist"
    assert os.path.basename(str(autostart.entry_path(platform="linux"))) == "afas-tray.desktop"
