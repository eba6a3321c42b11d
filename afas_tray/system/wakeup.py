"""Notice that the machine slept (or the process was frozen) and say so, without Qt or OS hooks.

After a suspend the Xelion websocket is usually half dead and the session may have ended, but
nothing tells the app: TCP stays silent until a heartbeat times out. Two clocks tell instead.
The monotonic clock stops during suspend on Linux and macOS while the wall clock runs on; where
the monotonic clock does count suspended time (Windows), a short sleep that took far longer than
asked gives it away. Either jump means "woke up": reconnect now (``AppCore.network_changed``).
A wall-clock change by the user or NTP looks the same; the price is one harmless reconnect.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 5.0
# Scheduling delays on a busy machine stay well below this; a suspend is far longer.
DEFAULT_SLACK = 10.0


async def watch_for_wakeup(
    on_wake: Callable[[], None],
    interval: float = DEFAULT_INTERVAL,
    *,
    slack: float = DEFAULT_SLACK,
    wall: Callable[[], float] = time.time,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> None:
    """Run until cancelled; call ``on_wake()`` once after each suspend/resume (or freeze).

    Checks every ``interval`` seconds, so a wake is noticed at most ``interval`` seconds after
    the machine runs again. ``wall``, ``monotonic`` and ``sleep`` are for tests.
    """
    last_wall, last_mono = wall(), monotonic()
    while True:
        await sleep(interval)
        now_wall, now_mono = wall(), monotonic()
        slept = now_mono - last_mono
        drift = (now_wall - last_wall) - slept
        last_wall, last_mono = now_wall, now_mono
        if abs(drift) <= slack and slept <= interval + slack:
            continue
        log.info("woke up or clock jumped (slept %.0f s of %.0f s, clocks %+.0f s apart): "
                 "reconnecting", slept, interval, drift)
        try:
            on_wake()
        except Exception:
            log.exception("wake-up callback failed")
