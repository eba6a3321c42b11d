"""Talk to the running AFAS Tray from a short-lived process, without Qt.

``afas-tray call`` is started by a phone hook on every ringing call, so it must be done in well
under 150 ms including Python start: importing Qt alone would cost more. This speaks the same
endpoint QLocalServer listens on (``afas_tray.ui.single_instance``): a Unix domain socket at the
full path the name gives, or on Windows the named pipe ``\\\\.\\pipe\\<name>``.

The name is per user and per profile, so on a terminal server one operator's call can never
reach another operator's instance (and the server side restricts the socket to its user too).

Cheap to import, on purpose: everything the hot path does not need (hashlib's OpenSSL,
platformdirs, pathlib, tempfile, threading, typing, the ``socket`` module's enum set-up,
``AppPaths``' dataclass) loads inside the function that needs it, and on Linux the folders are
found without platformdirs (which loads pathlib, tempfile and shutil: 15-30 ms where nothing
loaded them yet, as in the frozen bundle). ``python -X importtime -m afas_tray call …`` shows it.
"""

from __future__ import annotations

import os
import stat
import sys
import time

from afas_tray import APP_ID

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

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
    import getpass

    domain = os.environ.get("USERDOMAIN", "")
    try:
        user = getpass.getuser()
    except Exception:  # no login name in the environment: the profile path still differs
        user = os.environ.get("USERPROFILE", "")
    return f"user:{domain}\\{user}".lower()


def _private_dir(path: str | Path) -> bool:
    """Create ``path`` (mode 0700) if needed; True only if it is ours and closed to others."""
    path = os.fspath(path)
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)  # like Path.mkdir(0o700, parents=True)
        st = os.stat(path)
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode):
        return False
    if hasattr(os, "getuid"):
        if st.st_uid != os.getuid():
            return False  # someone else made it first: do not put our socket there
        try:
            parent = os.stat(os.path.dirname(os.path.abspath(path)))
        except OSError:
            return False
        # A parent another user may write to (and that is not sticky, like /tmp) would let them
        # swap our folder out from under us.
        if parent.st_uid not in (0, os.getuid()) or (
            parent.st_mode & 0o022 and not parent.st_mode & stat.S_ISVTX
        ):
            return False
    return not st.st_mode & 0o077


def _sha256_hex(data: bytes) -> str:
    """sha256 hex digest; CPython's built-in module first: ``hashlib`` loads OpenSSL (a few ms
    on every ringing call) and gives the same digest."""
    try:
        from _sha256 import sha256  # CPython 3.11
    except ImportError:
        try:
            from _sha2 import sha256  # CPython 3.12+
        except ImportError:
            from hashlib import sha256
    return str(sha256(data).hexdigest())


def instance_name(paths: AppPaths) -> str:
    """The single-instance endpoint name for this user and this profile (``AFAS_TRAY_HOME``).

    Windows: a pipe name (pipe names are machine-wide, so the user is hashed in). Unix: a full
    socket path, which QLocalServer uses as given, in the per-user runtime dir, else the data
    dir, else a private folder under the temp dir — the first whose path fits ``sun_path``.
    """
    return _endpoint(os.fspath(paths.data_dir))


def profile_instance_name() -> str:
    """``instance_name(app_paths())`` without ``afas_tray.system.paths`` (its dataclass and
    pathlib cost more than the whole hand-off may take): the data folder as ``app_paths`` finds
    it, ``$AFAS_TRAY_HOME/data`` or platformdirs' user data dir. tests/test_handoff.py holds the
    two equal."""
    root = os.environ.get("AFAS_TRAY_HOME") or None  # paths.HOME_ENV
    if root:
        # Path(root).expanduser().resolve() / "data", in os.path terms.
        data_dir = os.path.join(os.path.realpath(os.path.expanduser(root)), "data")
    else:
        data_dir = _user_data_dir()
    return _endpoint(data_dir)


def _user_data_dir() -> str:
    """``platformdirs.user_data_dir(APP_ID, appauthor=False)``; on Linux, in the plain cases,
    without importing it: ``$XDG_DATA_HOME/afas-tray`` for an absolute ``$XDG_DATA_HOME``, else
    ``$HOME/.local/share/afas-tray`` for an absolute ``$HOME`` (the XDG base directory rule).
    Anything else (another OS, a relative or missing variable) asks platformdirs itself.
    tests/test_call_startup.py holds the two equal."""
    if sys.platform.startswith("linux"):
        xdg = os.environ.get("XDG_DATA_HOME", "")
        if os.path.isabs(xdg):
            return os.path.join(xdg, APP_ID)
        home = os.environ.get("HOME", "")
        if not xdg and os.path.isabs(home):
            return os.path.join(home, ".local", "share", APP_ID)
    import platformdirs

    return os.fspath(platformdirs.user_data_dir(APP_ID, appauthor=False))


def _runtime_dirs() -> list[str]:
    """Where the socket may go before the data folder: the per-user runtime folder.

    Linux: ``$XDG_RUNTIME_DIR/afas-tray`` (the XDG base directory rule), else
    ``/run/user/<uid>/afas-tray`` when systemd made that folder, found without platformdirs.
    Elsewhere: platformdirs' user runtime dir. ``_private_dir`` checks each before use.
    """
    if sys.platform.startswith("linux"):
        found = []
        xdg = os.environ.get("XDG_RUNTIME_DIR", "")
        if os.path.isabs(xdg):
            found.append(os.path.join(xdg, APP_ID))
        run_user = f"/run/user/{os.getuid()}"
        if os.path.isdir(run_user) and run_user != xdg.rstrip("/"):
            found.append(os.path.join(run_user, APP_ID))
        return found
    import warnings

    import platformdirs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        return [os.fspath(platformdirs.user_runtime_dir(APP_ID, appauthor=False))]


def _temp_dir() -> str:
    """The temp folder: on Linux ``$TMPDIR`` when absolute, else ``/tmp``, without ``tempfile``
    (which loads shutil and random, and writes a test file); elsewhere ``tempfile``'s."""
    if sys.platform.startswith("linux"):
        tmpdir = os.environ.get("TMPDIR", "")
        return tmpdir if os.path.isabs(tmpdir) else "/tmp"
    import tempfile

    return tempfile.gettempdir()


def _endpoint(data_dir: str) -> str:
    key = f"{user_identity()}\n{os.path.normcase(os.path.abspath(data_dir))}"
    leaf = f"{APP_ID}-{_sha256_hex(key.encode('utf-8'))[:16]}"
    if sys.platform == "win32":
        return leaf
    for folder in [*_runtime_dirs(), data_dir, ""]:
        if not folder:  # the last one: a private folder in the temp dir
            uid = os.getuid() if hasattr(os, "getuid") else 0
            folder = os.path.join(_temp_dir(), f"{APP_ID}-{uid}")
        path = os.path.join(folder, f"{leaf}.sock")
        if len(os.fsencode(path)) <= MAX_SOCKET_PATH and _private_dir(folder):
            return path
    # Last resort: a short relative name; QLocalServer puts it in the temp dir, still per user.
    return f"{leaf}.sock"


def socket_path(name: str) -> str:
    """Where QLocalServer puts a Unix socket for ``name`` (a full path is used as is)."""
    if os.path.isabs(name):
        return name
    import tempfile

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
    # The C module behind ``socket``: the same socket object, without the few milliseconds
    # ``import socket`` spends turning its constants into enums.
    import _socket

    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(socket_path(name))
        sock.sendall(payload)
        return _is_ok(_read_until_newline(sock.recv, time.monotonic() + timeout, 64))
    finally:
        sock.close()


def _read_until_newline(recv: Callable[[int], bytes | None], deadline: float,
                        limit: int) -> bytes:
    """What the instance answered, up to its first newline (or ``limit`` bytes, or the end)."""
    data = b""
    while b"\n" not in data and len(data) < limit and time.monotonic() < deadline:
        chunk = recv(min(limit, 65536))
        if not chunk:
            break
        data += chunk
    return data


def _is_ok(reply: bytes | None) -> bool:
    return reply is not None and reply.split(b"\n", 1)[0].strip() == REPLY_OK


def _status_line(reply: bytes | None) -> str | None:
    if reply is None or b"\n" not in reply:
        return None
    return reply.split(b"\n", 1)[0].decode("utf-8", errors="replace")


def _send_pipe(name: str, payload: bytes, timeout: float) -> bool:
    return _is_ok(_pipe_exchange(name, payload, time.monotonic() + timeout, 64))


def _pipe_exchange(name: str, payload: bytes, deadline: float, limit: int) -> bytes | None:
    """Windows named pipe: a plain file open; reads block, so they run in a helper thread.
    None when no instance (of this user) answers in time."""
    path = rf"\\.\pipe\{name}"
    while True:
        try:
            pipe = open(path, "r+b", buffering=0)  # noqa: SIM115 - closed below, in every path
            break
        except (FileNotFoundError, PermissionError):
            return None  # no instance, or one of another user (its pipe DACL turns us away)
        except OSError:
            # ERROR_PIPE_BUSY: every listening instance is taken for a moment; try again.
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.01)
    import contextlib
    import threading

    result: list[bytes] = []

    def talk() -> None:
        with contextlib.suppress(OSError):
            pipe.write(payload)
            result.append(_read_until_newline(pipe.read, deadline, limit))

    worker = threading.Thread(target=talk, daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    with contextlib.suppress(OSError):
        pipe.close()
    return result[0] if result else None


def ask_status(name: str, timeout: float = 3.0) -> str | None:
    """The running instance's state as its JSON line; None when no instance answers."""
    payload = STATUS_REQUEST.encode("ascii") + b"\n"
    deadline = time.monotonic() + timeout
    try:
        if sys.platform == "win32":
            return _status_line(_pipe_exchange(name, payload, deadline, MAX_STATUS_BYTES))
        import socket

        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(socket_path(name))
            sock.sendall(payload)
            return _status_line(_read_until_newline(sock.recv, deadline, MAX_STATUS_BYTES))
    except OSError:
        return None
