"""Talk to the running AFAS Tray from a short-lived process, without Qt.

``afas-tray call`` is started by a phone hook on every ringing call, so it must be done in well
under 150 ms including Python start: importing Qt alone would cost more. This speaks the same
endpoint QLocalServer listens on (``afas_tray.ui.single_instance``): a Unix domain socket at the
full path the name gives, or on Windows the named pipe ``\\\\.\\pipe\\<name>``.

The name is per user and per profile, so on a terminal server one operator's call can never
reach another operator's instance (and the server side restricts the socket to its user too).
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import os
import socket
import stat
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import platformdirs

from afas_tray import APP_ID
from afas_tray.system.paths import AppPaths

# sun_path is 108 bytes on Linux and 104 on macOS/BSD; stay clear of both.
MAX_SOCKET_PATH = 100
REPLY_OK = b"ok"
STATUS_REQUEST = "status"  # a line no call event can be (those are JSON objects)
MAX_STATUS_BYTES = 256 * 1024


def user_identity() -> str:
    """What tells two operators on one machine apart (uid on Unix; domain\\user on Windows)."""
    if hasattr(os, "getuid"):
        return f"uid:{os.getuid()}"
    domain = os.environ.get("USERDOMAIN", "")
    try:
        user = getpass.getuser()
    except Exception:  # no login name in the environment: the profile path still differs
        user = os.environ.get("USERPROFILE", "")
    return f"user:{domain}\\{user}".lower()


def _private_dir(path: Path) -> bool:
    """Create ``path`` (mode 0700) if needed; True only if it is ours and closed to others."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = path.stat()
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode):
        return False
    if hasattr(os, "getuid"):
        if st.st_uid != os.getuid():
            return False  # someone else made it first: do not put our socket there
        try:
            parent = path.parent.stat()
        except OSError:
            return False
        # A parent another user may write to (and that is not sticky, like /tmp) would let them
        # swap our folder out from under us.
        if parent.st_uid not in (0, os.getuid()) or (
            parent.st_mode & 0o022 and not parent.st_mode & stat.S_ISVTX
        ):
            return False
    return not st.st_mode & 0o077


def instance_name(paths: AppPaths) -> str:
    """The single-instance endpoint name for this user and this profile (``AFAS_TRAY_HOME``).

    Windows: a pipe name (pipe names are machine-wide, so the user is hashed in). Unix: a full
    socket path, which QLocalServer uses as given, in the per-user runtime dir, else the data
    dir, else a private folder under the temp dir — the first whose path fits ``sun_path``.
    """
    key = f"{user_identity()}\n{os.path.normcase(os.path.abspath(paths.data_dir))}"
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    leaf = f"{APP_ID}-{digest}"
    if sys.platform == "win32":
        return leaf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        runtime = Path(platformdirs.user_runtime_dir(APP_ID, appauthor=False))
    uid = os.getuid() if hasattr(os, "getuid") else 0
    candidates = [runtime, paths.data_dir, Path(tempfile.gettempdir()) / f"{APP_ID}-{uid}"]
    for folder in candidates:
        path = folder / f"{leaf}.sock"
        if len(os.fsencode(path)) <= MAX_SOCKET_PATH and _private_dir(folder):
            return str(path)
    # Last resort: a short relative name; QLocalServer puts it in the temp dir, still per user.
    return f"{leaf}.sock"


def socket_path(name: str) -> str:
    """Where QLocalServer puts a Unix socket for ``name`` (a full path is used as is)."""
    if os.path.isabs(name):
        return name
    return os.path.join(tempfile.gettempdir(), name)


def send_to_instance(name: str, line: str, timeout: float = 2.0) -> bool:
    """Send one line to the instance listening on ``name``; True once it answered ``ok``.

    False when no instance runs (or it did not answer in time): the caller then starts one.
    """
    if "\n" in line or "\r" in line:
        raise ValueError("a message is exactly one line")
    payload = line.encode("utf-8") + b"\n"
    try:
        if sys.platform == "win32":
            return _send_pipe(name, payload, timeout)
        return _send_unix(name, payload, timeout)
    except OSError:
        return False


def _send_unix(name: str, payload: bytes, timeout: float) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(socket_path(name))
        sock.sendall(payload)
        return _read_reply(sock.recv, deadline=time.monotonic() + timeout)


def _read_reply(recv: Callable[[int], bytes | None], deadline: float) -> bool:
    reply = b""
    while b"\n" not in reply and len(reply) < 64 and time.monotonic() < deadline:
        chunk = recv(64)
        if not chunk:
            break
        reply += chunk
    return reply.split(b"\n", 1)[0].strip() == REPLY_OK


def _send_pipe(name: str, payload: bytes, timeout: float) -> bool:
    """Windows named pipe: a plain file open; reads block, so they run in a helper thread."""
    deadline = time.monotonic() + timeout
    path = rf"\\.\pipe\{name}"
    while True:
        try:
            pipe = open(path, "r+b", buffering=0)  # noqa: SIM115 - closed below, in every path
            break
        except (FileNotFoundError, PermissionError):
            return False  # no instance, or one of another user (its pipe DACL turns us away)
        except OSError:
            # ERROR_PIPE_BUSY: every listening instance is taken for a moment; try again.
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
    result: list[bool] = []

    def talk() -> None:
        with contextlib.suppress(OSError):
            pipe.write(payload)
            result.append(_read_reply(pipe.read, deadline))

    worker = threading.Thread(target=talk, daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    with contextlib.suppress(OSError):
        pipe.close()
    return bool(result and result[0])


def ask_status(name: str, timeout: float = 3.0) -> str | None:
    """The running instance's state as its JSON line; None when no instance answers."""
    payload = STATUS_REQUEST.encode("ascii") + b"\n"
    deadline = time.monotonic() + timeout
    try:
        if sys.platform == "win32":
            return _ask_pipe(name, payload, deadline)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(socket_path(name))
            sock.sendall(payload)
            return _read_line(sock.recv, deadline)
    except OSError:
        return None


def _read_line(recv: Callable[[int], bytes | None], deadline: float) -> str | None:
    data = b""
    while b"\n" not in data and len(data) < MAX_STATUS_BYTES and time.monotonic() < deadline:
        chunk = recv(65536)
        if not chunk:
            break
        data += chunk
    if b"\n" not in data:
        return None
    return data.split(b"\n", 1)[0].decode("utf-8", errors="replace")


def _ask_pipe(name: str, payload: bytes, deadline: float) -> str | None:
    try:
        pipe = open(rf"\\.\pipe\{name}", "r+b", buffering=0)  # noqa: SIM115 - closed below
    except OSError:
        return None
    result: list[str | None] = []

    def talk() -> None:
        with contextlib.suppress(OSError):
            pipe.write(payload)
            result.append(_read_line(pipe.read, deadline))

    worker = threading.Thread(target=talk, daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    with contextlib.suppress(OSError):
        pipe.close()
    return result[0] if result else None
