"""Running a simulated server on its own event loop: on a thread, or in the foreground until Ctrl+C.

Both simulators (AFAS and Xelion) share this; their ``SimulatorThread`` classes add the names
their callers use. A thread of its own keeps the server's work off the client's loop, as a real
server elsewhere would be.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable
from typing import Any, Protocol, Self


class Simulator(Protocol):
    async def start(self, host: str, port: int) -> str: ...

    async def stop(self) -> None: ...


class ServerThread:
    """Runs a simulator on its own event loop in a daemon thread."""

    def __init__(self, server: Simulator, *, name: str,
                 start_timeout: float | None = None) -> None:
        self._server = server
        self._name = name
        self._start_timeout = start_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def start(self) -> str:
        return self._start("127.0.0.1", 0)

    def _start(self, host: str, port: int) -> str:
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name=self._name, daemon=True)
        self._loop, self._thread = loop, thread
        thread.start()
        try:
            self.url = asyncio.run_coroutine_threadsafe(
                self._server.start(host, port), loop).result(self._start_timeout)
        except BaseException:
            self._halt()  # the server did not start: nothing of it to stop
            raise
        return self.url

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one of the simulator's (synchronous) control methods on its loop; its result."""
        if self._loop is None:
            raise RuntimeError("the simulator thread is not running")
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:
                future.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        return future.result(10)

    def stop(self) -> None:
        """Stop the server and its thread; a second call (or one before ``start``) does nothing."""
        if self._loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._server.stop(), self._loop).result(10)
        finally:
            self._halt()

    def _halt(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        if not thread.is_alive():  # a loop still running cannot be closed
            loop.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_until_interrupted(server: Simulator, host: str, port: int,
                            announce: Callable[[str], None]) -> None:
    """Serve in the foreground; ``announce(url)`` once listening; Ctrl+C stops it cleanly."""

    async def serve() -> None:
        url = await server.start(host, port)
        announce(url)
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
