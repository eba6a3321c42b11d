"""Single instance: `afas-tray call …` reaches the running app of this user and profile only."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import gc
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtNetwork import QLocalSocket
from pytestqt.qtbot import QtBot

from afas_tray.handoff import event_from_line, event_to_line, parse_call_args
from afas_tray.system.instance_client import (
    MAX_SOCKET_PATH,
    ask_status,
    instance_name,
    send_to_instance,
)
from afas_tray.system.paths import app_paths
from afas_tray.ui.single_instance import SingleInstanceServer
from tests.helpers import REPO

unix_only = pytest.mark.skipif(sys.platform == "win32", reason="Unix socket files")


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    # The client blocks until the server answers, and the server answers from the Qt event
    # loop of this thread: the client runs beside it, as a second process would.
    with ThreadPoolExecutor(max_workers=2) as executor:
        yield executor


@pytest.fixture
def make_server(qtbot: QtBot) -> Iterator[Callable[[str], SingleInstanceServer]]:
    servers: list[SingleInstanceServer] = []

    def make(name: str) -> SingleInstanceServer:
        server = SingleInstanceServer(name)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def deliver(qtbot: QtBot, pool: ThreadPoolExecutor, name: str, line: str) -> bool:
    future: Future[bool] = pool.submit(send_to_instance, name, line, 2.0)
    qtbot.waitUntil(future.done, timeout=5000)
    return future.result()


def heard(qtbot: QtBot, pool: ThreadPoolExecutor, server: SingleInstanceServer, name: str,
          line: str) -> None:
    """``line`` sent to ``name`` arrives at ``server``, and nothing else does."""
    got: list[str] = []
    server.received.connect(got.append)
    assert deliver(qtbot, pool, name, line)
    qtbot.waitUntil(lambda: got == [line], timeout=2000)


def profile_name(tmp_path: Path, profile: str) -> str:
    return instance_name(app_paths(tmp_path / profile))


def listening(make_server: Callable[[str], SingleInstanceServer],
              tmp_path: Path) -> tuple[str, SingleInstanceServer, list[str]]:
    """A listening instance for profile "op1": its name, the server, and the lines it received."""
    name = profile_name(tmp_path, "op1")
    server = make_server(name)
    assert server.listen()
    got: list[str] = []
    server.received.connect(got.append)
    return name, server, got


def test_running_instance_receives_the_call_and_says_ok(
    qtbot: QtBot,
    pool: ThreadPoolExecutor,
    make_server: Callable[[str], SingleInstanceServer],
    tmp_path: Path,
) -> None:
    name, _server, got = listening(make_server, tmp_path)

    line = event_to_line(parse_call_args(["call", "+31 20 123 4567", "--call-id", "c1"]))
    assert deliver(qtbot, pool, name, line)
    qtbot.waitUntil(lambda: len(got) == 1, timeout=2000)
    event = event_from_line(got[0])
    assert (event.number, event.call_id) == ("+31 20 123 4567", "c1")

    # The next call is a new connection and arrives just the same.
    assert deliver(qtbot, pool, name, event_to_line(parse_call_args(["call", "0201234567"])))
    qtbot.waitUntil(lambda: len(got) == 2, timeout=2000)


def test_no_instance_means_false_quickly(tmp_path: Path) -> None:
    started = time.monotonic()
    assert not send_to_instance(profile_name(tmp_path, "nobody-home"), "{}", timeout=2.0)
    assert time.monotonic() - started < 0.5


def test_second_instance_detects_the_first(
    qtbot: QtBot,
    pool: ThreadPoolExecutor,
    make_server: Callable[[str], SingleInstanceServer],
    tmp_path: Path,
) -> None:
    name = profile_name(tmp_path, "op1")
    first = make_server(name)
    assert first.listen()
    second = make_server(name)
    assert not second.listen()
    assert not second.is_listening()

    # The first one still owns the channel.
    heard(qtbot, pool, first, name, "hello")


@unix_only
def test_stale_socket_of_a_crashed_instance_is_recovered(
    qtbot: QtBot,
    pool: ThreadPoolExecutor,
    make_server: Callable[[str], SingleInstanceServer],
    tmp_path: Path,
) -> None:
    name = profile_name(tmp_path, "crashed")
    # What a killed instance leaves behind: the socket file, with nobody listening on it.
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(name)
    dead.listen(1)
    dead.close()
    assert Path(name).exists()
    assert not send_to_instance(name, "x", timeout=0.5)

    server = make_server(name)
    assert server.listen()
    heard(qtbot, pool, server, name, "after crash")


@unix_only
def test_socket_is_closed_to_other_users(
    make_server: Callable[[str], SingleInstanceServer], tmp_path: Path
) -> None:
    name = profile_name(tmp_path, "op1")
    assert make_server(name).listen()
    mode = os.stat(name).st_mode
    assert stat.S_ISSOCK(mode)
    assert mode & 0o077 == 0
    assert os.stat(os.path.dirname(name)).st_mode & 0o077 == 0


def test_two_profiles_never_reach_each_other(
    qtbot: QtBot,
    pool: ThreadPoolExecutor,
    make_server: Callable[[str], SingleInstanceServer],
    tmp_path: Path,
) -> None:
    name_a, name_b = profile_name(tmp_path, "operator-a"), profile_name(tmp_path, "operator-b")
    assert name_a != name_b
    server_a, server_b = make_server(name_a), make_server(name_b)
    assert server_a.listen() and server_b.listen()  # neither sees the other as "running"
    got_a: list[str] = []
    got_b: list[str] = []
    server_a.received.connect(got_a.append)
    server_b.received.connect(got_b.append)

    assert deliver(qtbot, pool, name_a, "for a")
    assert deliver(qtbot, pool, name_b, "for b")
    qtbot.waitUntil(lambda: got_a == ["for a"] and got_b == ["for b"], timeout=2000)
    qtbot.wait(50)
    assert got_a == ["for a"] and got_b == ["for b"]


def test_instance_name_is_stable_per_profile_and_fits_a_socket_path(tmp_path: Path) -> None:
    assert profile_name(tmp_path, "p") == profile_name(tmp_path, "p")
    deep = tmp_path / ("x" * 60) / ("y" * 60)
    name = instance_name(app_paths(deep))
    assert len(os.fsencode(name)) <= MAX_SOCKET_PATH
    assert name != profile_name(tmp_path, "p")


def test_over_long_message_is_dropped_and_server_keeps_serving(
    qtbot: QtBot,
    pool: ThreadPoolExecutor,
    make_server: Callable[[str], SingleInstanceServer],
    tmp_path: Path,
) -> None:
    name, _server, got = listening(make_server, tmp_path)
    assert not deliver(qtbot, pool, name, "x" * 200_000)
    assert deliver(qtbot, pool, name, "fine")
    qtbot.waitUntil(lambda: got == ["fine"], timeout=2000)


def live_local_sockets() -> set[int]:
    gc.collect()
    return {id(obj) for obj in gc.get_objects() if isinstance(obj, QLocalSocket)}


def test_connections_that_have_gone_leave_nothing_behind(
    qtbot: QtBot,
    pool: ThreadPoolExecutor,
    make_server: Callable[[str], SingleInstanceServer],
    tmp_path: Path,
) -> None:
    """A tray app runs for weeks and every phone call is one connection: once a caller has hung
    up, nothing of its connection may stay in the app (PySide6 kept the Python side of every
    accepted socket, about 1 KB a call, until the server built them itself)."""
    name, server, got = listening(make_server, tmp_path)
    server.status_provider = lambda: '{"state": "idle"}'
    before = live_local_sockets()

    for i in range(20):
        assert deliver(qtbot, pool, name, f"call {i}")
    assert not deliver(qtbot, pool, name, "x" * 200_000)  # dropped by the server
    status: Future[str | None] = pool.submit(ask_status, name, 2.0)
    qtbot.waitUntil(status.done, timeout=5000)
    assert status.result() == '{"state": "idle"}'
    qtbot.waitUntil(lambda: len(got) == 20, timeout=2000)

    # Qt deletes a closed socket on a later turn of the event loop.
    qtbot.waitUntil(lambda: not (live_local_sockets() - before), timeout=3000)
    assert not server.findChildren(QLocalSocket) and not server.findChildren(QTimer)
    assert not server._buffers
    # The door still works after all of them.
    assert deliver(qtbot, pool, name, "still there")
    qtbot.waitUntil(lambda: got[-1:] == ["still there"], timeout=2000)


def test_call_hand_off_process_stays_free_of_qt(
    qtbot: QtBot,
    pool: ThreadPoolExecutor,
    make_server: Callable[[str], SingleInstanceServer],
    tmp_path: Path,
) -> None:
    """The phone hook's process: parse, send, exit — without loading Qt (that alone is slower
    than the 150 ms budget). Runs as a real second process against the listening instance."""
    name, _server, got = listening(make_server, tmp_path)
    script = (
        "import sys\n"
        "from afas_tray.handoff import event_to_line, parse_call_url\n"
        "from afas_tray.system.instance_client import send_to_instance\n"
        "ok = send_to_instance(sys.argv[1], event_to_line(parse_call_url(sys.argv[2])))\n"
        "assert not any(m.startswith('PySide6') for m in sys.modules), 'Qt loaded'\n"
        "sys.exit(0 if ok else 3)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    future = pool.submit(
        subprocess.run,
        [sys.executable, "-c", script, name, "afas-tray://call?number=%2B3120123&callId=u1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
    )
    qtbot.waitUntil(future.done, timeout=20000)
    proc = future.result()
    assert proc.returncode == 0, proc.stderr
    qtbot.waitUntil(lambda: len(got) == 1, timeout=2000)
    assert event_from_line(got[0]).number == "+3120123"


@unix_only
@pytest.mark.skipif(
    not hasattr(os, "fork") or os.geteuid() != 0, reason="needs root to be another user"
)
def test_another_user_cannot_reach_the_instance(
    make_server: Callable[[str], SingleInstanceServer], tmp_path: Path
) -> None:
    """Two operators on one terminal server: the other user's process is turned away."""
    name = profile_name(tmp_path, "op1")
    assert make_server(name).listen()
    pid = os.fork()
    if pid == 0:  # the other operator (uid "nobody"); only plain sockets, no Qt, then _exit
        code = 2
        try:
            os.setgid(65534)
            os.setuid(65534)
            code = 1 if send_to_instance(name, "intruder", timeout=0.5) else 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
