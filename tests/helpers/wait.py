"""Waiting for what another task, thread or process does: one ``until`` for async tests, one
``wait_for`` for blocking ones."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def until(check: Callable[[], object], timeout: float = 30.0, what: str = "",
                step: float = 0.01) -> float:
    """Wait on the running loop (so Qt runs too, under qasync) until ``check()`` gives something
    true; returns the seconds it took. Fails the test on timeout."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for "
                                 f"{what or 'the condition'}")
        await asyncio.sleep(step)
    return time.monotonic() - start


def wait_for(check: Callable[[], object], timeout: float, what: str) -> object:
    """Block until ``check`` gives something true (other processes at work); returns it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
