"""A simulated server for the length of a ``with`` block: what every server fixture does."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Protocol, TypeVar


class Server(Protocol):
    async def start(self, host: str = ..., port: int = ...) -> str: ...
    async def stop(self) -> None: ...


S = TypeVar("S", bound=Server)


@contextlib.asynccontextmanager
async def serving(server: S) -> AsyncIterator[S]:
    """Start ``server`` on loopback; stop it on the way out, also when the test failed."""
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
