"""Shared by the whole-core tests: both simulated servers, settings pointing at them, waiting.

Import the names a test module uses (``servers_fixture`` registers the ``servers`` fixture).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest

from afas_tray.config import Settings
from afas_tray.core import AppCore
from afas_tray.demo.afas import AfasSimulator
from afas_tray.demo.xelion import XelionSimulator
from afas_tray.pop.opener import RecordingOpener
from afas_tray.system.paths import app_paths
from afas_tray.system.profile import Profile

XELION_USER, XELION_PASSWORD, XELION_TENANT = "op", "geheim-wachtwoord", "acme"


@pytest.fixture(name="servers")
async def servers_fixture() -> AsyncIterator[tuple[AfasSimulator, XelionSimulator]]:
    """A simulated AFAS (300 relations) and a simulated Xelion with one operator."""
    afas = AfasSimulator(relations=300, seed=4)
    xelion = XelionSimulator({XELION_USER: XELION_PASSWORD}, tenant=XELION_TENANT)
    await afas.start()
    await xelion.start()
    try:
        yield afas, xelion
    finally:
        await xelion.stop()
        await afas.stop()


def settings_for(afas: AfasSimulator, xelion: XelionSimulator) -> Settings:
    s = Settings()
    s.afas.host = afas.url
    s.afas.token = afas.token
    s.afas.insite_url_template = f"{afas.url}/insite/verkooprelatie-prs?BcId=<BCID>"
    s.afas.dossier_item_type = 7
    s.xelion.host = xelion.base_url
    s.xelion.tenant = XELION_TENANT
    s.xelion.username = XELION_USER
    s.xelion.password = XELION_PASSWORD
    return s


async def until(check: Callable[[], object], timeout: float = 30.0, what: str = "") -> float:
    """Wait on the running loop for ``check``; returns the seconds it took."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not check():
        if loop.time() - start > timeout:
            raise AssertionError(f"timed out waiting for {what or 'the condition'}")
        await asyncio.sleep(0.05)
    return loop.time() - start


def wait_for(check: Callable[[], object], timeout: float, what: str) -> object:
    """Block until ``check`` gives something true (other processes at work); returns it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def started_core(afas: AfasSimulator, xelion: XelionSimulator,
                       settings: Settings | None = None) -> tuple[AppCore, RecordingOpener]:
    """An AppCore on a fresh profile with ``settings`` (default ``settings_for``), started, its
    first sync done and its websocket up; stopped again if it does not get there."""
    profile = Profile(app_paths().ensure())
    settings = settings or settings_for(afas, xelion)
    profile.save(settings)
    opener = RecordingOpener()
    core = AppCore(profile, settings, opener)
    await core.start()
    try:
        await until(lambda: core.board.current.book_size > 0 and xelion.websocket_count > 0,
                    what="the first sync and the websocket")
    except BaseException:
        await core.stop()
        raise
    return core, opener
