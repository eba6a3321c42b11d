"""Start at login: the HKCU Run key on Windows, a LaunchAgent on macOS, XDG autostart on Linux.

The OS holds the truth (a user may remove the entry from Task Manager, System Settings or their
desktop's startup list), so the settings dialog asks :func:`is_enabled` rather than a setting.
Enabling twice writes the same entry; disabling removes it. Standard library only, no Qt.

Every function takes ``platform`` (default ``sys.platform``) and ``location`` (macOS: the
LaunchAgents folder; Linux: the autostart folder) so tests can aim them at a temp folder.
"""

from __future__ import annotations

import contextlib
import errno
import os
import plistlib
import subprocess
import sys
import tempfile
from pathlib import Path

from afas_tray import APP_ID, APP_NAME

# The Windows installer's "start at login" task writes this same value (packaging/windows).
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
# Task Manager's Startup tab records its on/off switch here, per Run value name.
APPROVED_KEY = r"Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"
RUN_VALUE = APP_NAME
# Same as CFBundleIdentifier in packaging/macos/Info.plist.
MAC_LABEL = "nl.afas-tray.app"
DESKTOP_FILE = f"{APP_ID}.desktop"


class AutostartError(OSError):
    """The entry could not be written or removed (read-only profile, policy, ...)."""


# --- the command --------------------------------------------------------------------------------


def default_command() -> list[str]:
    """How this installation starts the tray app: the frozen program, or ``python -m afas_tray``."""
    exe = Path(sys.executable)
    if getattr(sys, "frozen", False):
        if sys.platform == "win32" and exe.stem.lower().endswith("-cli"):
            # The console twin would open a console window at every login; use the windowed one.
            gui = exe.with_name(exe.stem[: -len("-cli")] + exe.suffix)
            if gui.exists():
                exe = gui
        return [str(exe)]
    if sys.platform == "win32":
        windowed = exe.with_name("pythonw.exe")
        if windowed.exists():
            exe = windowed
    return [str(exe), "-m", "afas_tray"]


def start_detached(args: list[str]) -> None:
    """Start the tray app (``default_command``) with ``args``, detached from this process: no
    console, no shared session, nothing inherited; raises OSError when it cannot start."""
    kwargs: dict[str, object] = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL,
                                 "stderr": subprocess.DEVNULL, "close_fds": True}
    if sys.platform == "win32":
        kwargs["creationflags"] = subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP
    else:
        kwargs["start_new_session"] = True
    subprocess.Popen([*default_command(), *args], **kwargs)  # type: ignore[call-overload]


def windows_run_value(command: list[str]) -> str:
    """The Run value's command line, quoted as Windows' own argument parsing reads it back."""
    _check(command)
    exe, *args = command
    # Always quote the program: an unquoted path with spaces is resolved piece by piece.
    program = f'"{exe}"'
    rest = subprocess.list2cmdline(args)
    return f"{program} {rest}" if rest else program


_DESKTOP_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def desktop_exec(command: list[str]) -> str:
    """The ``Exec=`` value for a .desktop file (Desktop Entry Specification quoting rules).

    An argument with a reserved character is double-quoted, with ``"`` `` ` `` ``$`` ``\\``
    backslash-escaped inside; ``%`` is doubled (field codes); then the value's own string escape
    doubles every backslash once more, so a literal backslash in a quoted argument becomes four.
    """
    _check(command)
    parts = []
    for arg in command:
        if any(c in _DESKTOP_RESERVED for c in arg) or arg == "":
            arg = '"' + "".join("\\" + c if c in '"`$\\' else c for c in arg) + '"'
        parts.append(arg.replace("%", "%%"))
    return " ".join(parts).replace("\\", "\\\\")


def _check(command: list[str]) -> None:
    if not command or not command[0]:
        raise ValueError("the start command needs at least the program")
    if any("\n" in a or "\r" in a or "\0" in a for a in command):
        raise ValueError("a start command argument cannot hold a line break or NUL")


# --- file-based entries (macOS, Linux) ----------------------------------------------------------


def launch_agents_dir() -> Path:
    return Path.home() / "Library" / "LaunchAgents"


def xdg_autostart_dir() -> Path:
    config = os.environ.get("XDG_CONFIG_HOME", "").strip()
    # The spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
    base = Path(config) if config and os.path.isabs(config) else Path.home() / ".config"
    return base / "autostart"


def entry_path(*, platform: str | None = None, location: Path | None = None) -> Path | None:
    """The file that holds the entry (macOS, Linux); None on Windows (a registry value)."""
    plat = platform or sys.platform
    if plat == "win32":
        return None
    if plat == "darwin":
        return (location or launch_agents_dir()) / f"{MAC_LABEL}.plist"
    return (location or xdg_autostart_dir()) / DESKTOP_FILE


def launch_agent_plist(command: list[str]) -> bytes:
    _check(command)
    agent = {
        "Label": MAC_LABEL,
        "ProgramArguments": list(command),
        "RunAtLoad": True,
        # Only in the graphical login session, not for ssh or background sessions.
        "LimitLoadToSessionType": "Aqua",
        # A tray app: launchd must not restart it after the user chose Quit.
        "KeepAlive": False,
        "ProcessType": "Interactive",
    }
    return plistlib.dumps(agent, fmt=plistlib.FMT_XML, sort_keys=True)


def desktop_entry(command: list[str]) -> str:
    return "\n".join([
        "[Desktop Entry]",
        "Type=Application",
        f"Name={APP_NAME}",
        "Comment=Caller pop and call reports for Xelion and AFAS Profit",
        "Comment[nl]=Bellerherkenning en gespreksverslagen voor Xelion en AFAS Profit",
        f"Exec={desktop_exec(command)}",
        "Terminal=false",
        "NoDisplay=true",
        "X-GNOME-Autostart-enabled=true",
        # Give the panel's tray host a moment; started before it, the app shows its window.
        "X-GNOME-Autostart-Delay=5",
        "",
    ])


def _write_atomic(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.read_bytes() == data:
            return  # already so: leave the file (and its timestamp) alone
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        raise AutostartError(exc.errno or 0, f"cannot write {path}: {exc.strerror}") from exc


def _desktop_file_active(path: Path) -> bool:
    """A desktop entry counts unless the user's session switched it off (Hidden, GNOME flag)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    keys: dict[str, str] = {}
    in_main = False
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            in_main = line == "[Desktop Entry]"
        elif in_main and "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            keys[key.strip()] = value.strip()
    return (keys.get("Hidden", "false").lower() != "true"
            and keys.get("X-GNOME-Autostart-enabled", "true").lower() != "false")


def _launch_agent_active(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            agent = plistlib.load(fh)
    except (OSError, plistlib.InvalidFileException, ValueError):
        return False
    return isinstance(agent, dict) and not agent.get("Disabled", False)


# --- Windows registry ---------------------------------------------------------------------------


def _approved_disabled(data: object) -> bool:
    # Task Manager writes 12 bytes; an odd first byte (0x03, 0x01) means switched off there.
    return isinstance(data, bytes) and len(data) > 0 and data[0] & 1 == 1


def _not_windows() -> AutostartError:
    return AutostartError(errno.ENOSYS, "the Windows registry exists only on Windows")


def _win_is_enabled() -> bool:
    if sys.platform != "win32":
        raise _not_windows()
    import winreg

    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
            winreg.QueryValueEx(key, RUN_VALUE)
    except OSError:
        return False
    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, APPROVED_KEY) as key:
            data, _kind = winreg.QueryValueEx(key, RUN_VALUE)
    except OSError:
        return True
    return not _approved_disabled(data)


def _win_enable(command: list[str]) -> None:
    if sys.platform != "win32":
        raise _not_windows()
    import winreg

    value = windows_run_value(command)
    try:
        with winreg.CreateKeyEx(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
            winreg.SetValueEx(key, RUN_VALUE, 0, winreg.REG_SZ, value)
    except OSError as exc:
        raise AutostartError(exc.errno or 0, f"cannot write HKCU\\{RUN_KEY}: {exc.strerror}") from exc
    # Switched on here after being switched off in Task Manager: clear that switch too.
    _win_delete(APPROVED_KEY)


def _win_delete(subkey: str) -> None:
    if sys.platform != "win32":
        raise _not_windows()
    import winreg

    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, subkey, 0, winreg.KEY_SET_VALUE) as key:
            winreg.DeleteValue(key, RUN_VALUE)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise AutostartError(exc.errno or 0, f"cannot change HKCU\\{subkey}: {exc.strerror}") from exc


# --- public API ---------------------------------------------------------------------------------


def is_enabled(*, platform: str | None = None, location: Path | None = None) -> bool:
    """True when the app is set to start at the next login."""
    plat = platform or sys.platform
    if plat == "win32":
        return _win_is_enabled()
    path = entry_path(platform=plat, location=location)
    assert path is not None
    if plat == "darwin":
        return _launch_agent_active(path)
    return _desktop_file_active(path)


def enable(command: list[str], *, platform: str | None = None, location: Path | None = None) -> None:
    """Start ``command`` at every login (use :func:`default_command`). Idempotent."""
    plat = platform or sys.platform
    if plat == "win32":
        _win_enable(command)
        return
    path = entry_path(platform=plat, location=location)
    assert path is not None
    data = launch_agent_plist(command) if plat == "darwin" else desktop_entry(command).encode("utf-8")
    _write_atomic(path, data)


def disable(*, platform: str | None = None, location: Path | None = None) -> None:
    """Stop starting at login. Nothing to remove is fine."""
    plat = platform or sys.platform
    if plat == "win32":
        _win_delete(RUN_KEY)
        _win_delete(APPROVED_KEY)
        return
    path = entry_path(platform=plat, location=location)
    assert path is not None
    try:
        path.unlink()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise AutostartError(exc.errno or 0, f"cannot remove {path}: {exc.strerror}") from exc
