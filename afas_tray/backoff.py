"""The one retry delay every client of the app uses (AFAS requests, outbox rows, Xelion
reconnects): exponential, capped, and jittered over its upper half so that many desks that
failed together do not come back in lockstep; and the one way a loop sleeps until woken."""

from __future__ import annotations

import asyncio
import contextlib
import random


def jittered_backoff(attempt: int, base: float, cap: float) -> float:
    """Seconds to wait before retry number ``attempt`` (0 = the first retry)."""
    return random.uniform(0.5, 1.0) * min(cap, base * 2.0 ** max(0, attempt))


async def wait_or_wake(event: asyncio.Event, seconds: float | None) -> None:
    """Until ``event`` is set or ``seconds`` have passed (None: no time limit).

    ``asyncio.timeout``, not ``wait_for``: on Python 3.11 a wake-up and a cancel in the same
    turn make ``wait_for`` return normally, the cancel is lost and the app's stop waits forever.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(None if seconds is None else max(0.0, seconds)):
            await event.wait()
