"""The one wait every loop of the app sleeps in: a stop is never lost to a wake-up."""

from __future__ import annotations

import asyncio

import pytest

from afas_tray.backoff import wait_or_wake


async def test_a_cancel_in_the_same_turn_as_a_wake_up_still_stops_the_loop() -> None:
    event = asyncio.Event()
    rounds = 0

    async def loop() -> None:
        nonlocal rounds
        while True:
            await wait_or_wake(event, 60)
            event.clear()
            rounds += 1

    task = asyncio.ensure_future(loop())
    await asyncio.sleep(0)
    event.set()
    task.cancel()  # the app's stop, in the same turn as the wake-up
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 2)


async def test_it_returns_on_the_event_or_after_the_time() -> None:
    event = asyncio.Event()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await wait_or_wake(event, 0.05)
    assert loop.time() - started >= 0.04
    event.set()
    await asyncio.wait_for(wait_or_wake(event, None), 1)
