"""The running instance's end of the single-instance channel (QLocalServer, no widgets).

A second ``afas-tray`` (a phone hook's ``afas-tray call …``, a clicked ``afas-tray://`` link)
connects, sends one JSON line per call and gets ``ok``; see ``afas_tray.system.instance_client`` for
the Qt-free sending side and the per-user, per-profile name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtNetwork import QAbstractSocket, QLocalServer, QLocalSocket

from afas_tray.system.instance_client import STATUS_REQUEST
from afas_tray.ui.qt_compat import guard_bool_refcounts

log = logging.getLogger(__name__)

MAX_LINE_BYTES = 64 * 1024
IDLE_TIMEOUT_MS = 5000  # a client that connects and says nothing does not hold a socket forever
PROBE_TIMEOUT_MS = 300


class SingleInstanceServer(QObject):
    """Listens on ``name``; emits ``received`` with each line (without the newline)."""

    received = Signal(str)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        guard_bool_refcounts()  # one emit per message: a leaking binding would abort the app
        self._name = name
        self._server = _Server(self._accept, self)
        # Only this OS user may connect (Unix: socket mode 0700; Windows: pipe DACL).
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._buffers: dict[QLocalSocket, bytes] = {}
        # ``afas-tray status``: answers the request line with one JSON line (no event emitted).
        self.status_provider: Callable[[], str] | None = None

    @property
    def name(self) -> str:
        return self._name

    def is_listening(self) -> bool:
        return self._server.isListening()

    def error_text(self) -> str:
        return self._server.errorString()

    def listen(self) -> bool:
        """Become the instance. False when another live instance already listens on the name.

        A socket file left behind by a crashed instance is detected (nobody answers on it) and
        removed. Windows lets two servers share a pipe name, so a probe comes first everywhere.
        """
        if self._server.isListening():
            return True
        if another_instance_alive(self._name):
            return False
        if self._server.listen(self._name):
            return True
        if self._server.serverError() != QAbstractSocket.SocketError.AddressInUseError:
            log.warning("single instance: cannot listen: %s", self._server.errorString())
            return False
        # Address in use: a live instance started in between, or a stale socket of a crash.
        if another_instance_alive(self._name):
            return False
        log.info("single instance: removing a stale socket left by an earlier run")
        QLocalServer.removeServer(self._name)
        if self._server.listen(self._name):
            return True
        log.warning("single instance: cannot listen: %s", self._server.errorString())
        return False

    def close(self) -> None:
        for sock in list(self._buffers):
            sock.abort()
        self._buffers.clear()
        self._server.close()

    def _accept(self, sock: QLocalSocket) -> None:
        self._buffers[sock] = b""
        timer = QTimer(sock)  # child of the socket: dies with it
        timer.setSingleShot(True)
        # Slots without Python closures over the socket: PySide keeps a connected lambda (and
        # the socket's wrapper it holds) alive after the socket is gone. Bound methods find the
        # socket through sender().
        timer.timeout.connect(self._idle)
        timer.start(IDLE_TIMEOUT_MS)
        sock.readyRead.connect(self._ready_read)
        sock.disconnected.connect(self._disconnected)
        if sock.bytesAvailable():
            self._read(sock)

    def _idle(self) -> None:
        timer = self.sender()
        sock = timer.parent() if timer is not None else None
        if isinstance(sock, QLocalSocket):
            sock.abort()

    def _ready_read(self) -> None:
        sock = self.sender()
        if isinstance(sock, QLocalSocket):
            self._read(sock)

    def _disconnected(self) -> None:
        sock = self.sender()
        if isinstance(sock, QLocalSocket):
            self._drop(sock)

    def _read(self, sock: QLocalSocket) -> None:
        if sock not in self._buffers:
            return
        data = self._buffers[sock] + bytes(sock.readAll().data())
        lines = data.split(b"\n")
        rest = lines.pop()
        if any(len(part) > MAX_LINE_BYTES for part in (*lines, rest)):
            log.warning("single instance: dropped an over-long message")
            self._buffers.pop(sock, None)
            sock.abort()
            return
        self._buffers[sock] = rest
        for raw in lines:
            line = raw.rstrip(b"\r").decode("utf-8", errors="replace")
            if line == STATUS_REQUEST and self.status_provider is not None:
                sock.write(self._status_line())
                sock.flush()
                continue
            # Answer before handing on: the sender is a phone hook waiting to exit, and the
            # receiver may take a moment (opening a browser).
            sock.write(b"ok\n")
            sock.flush()
            if line:
                self.received.emit(line)

    def _status_line(self) -> bytes:
        assert self.status_provider is not None
        try:
            text = self.status_provider()
        except Exception:  # the socket must keep answering whatever the app's state
            log.exception("single instance: the status could not be built")
            text = '{"error": "the status could not be built; see the log"}'
        return text.replace("\n", " ").encode("utf-8") + b"\n"

    def _drop(self, sock: QLocalSocket) -> None:
        self._buffers.pop(sock, None)
        sock.deleteLater()


class _Server(QLocalServer):
    """A QLocalServer whose accepted sockets are made in Python, handed to ``accept`` at once.

    Qt's own ``incomingConnection`` makes the socket in C++, and PySide6 (6.11) then files the
    wrapper ``nextPendingConnection`` returns under the server for good: it outlives the socket's
    ``deleteLater`` and grew the app by about 1 KB per hand-off (bench/local_doors_fuzz.py). A
    socket made here, as the base implementation does (``QLocalSocket(self)`` plus the native
    handle: a Unix socket, or a Windows pipe), is a Python-made child that PySide unhooks from
    the server when Qt deletes it.
    """

    def __init__(self, accept: Callable[[QLocalSocket], None], parent: QObject) -> None:
        super().__init__(parent)
        self._on_accept = accept

    def incomingConnection(self, socketDescriptor: int) -> None:  # Qt's name
        sock = QLocalSocket(self)
        if not sock.setSocketDescriptor(socketDescriptor):
            log.warning("single instance: cannot take a connection: %s", sock.errorString())
            sock.deleteLater()
            return
        self._on_accept(sock)


def another_instance_alive(name: str) -> bool:
    """True if something accepts connections on ``name`` right now."""
    probe = QLocalSocket()
    probe.connectToServer(name)
    alive = probe.waitForConnected(PROBE_TIMEOUT_MS)
    probe.abort()
    return alive
