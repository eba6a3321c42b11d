"""Shared by the whole-core tests: both simulated servers, settings pointing at them, the
started core.

The ``servers`` fixture is registered by ``tests/conftest.py``; import the plain helpers.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from afas_tray.config import Settings
from afas_tray.core import AppCore
from afas_tray.demo.afas import AfasSimulator
from afas_tray.demo.xelion import XelionSimulator
from afas_tray.pop.opener import RecordingOpener
from afas_tray.system.paths import app_paths
from afas_tray.system.profile import Profile
from tests.helpers.servers import serving
from tests.helpers.wait import until

XELION_USER, XELION_PASSWORD, XELION_TENANT = "op", "geheim-wachtwoord", "acme"


@pytest.fixture(name="servers")
async def servers_fixture() -> AsyncIterator[tuple[AfasSimulator, XelionSimulator]]:
    """A simulated AFAS (300 relations) and a simulated Xelion with one operator."""
    async with serving(AfasSimulator(relations=300, seed=4)) as afas, \
            serving(XelionSimulator({XELION_USER: XELION_PASSWORD}, tenant=XELION_TENANT)) as xelion:
        yield afas, xelion


def settings_for(afas: AfasSimulator, xelion: XelionSimulator) -> Settings:
    """Settings for the app against the two simulators (the operator signed in to Xelion)."""
    return settings_at(afas.url, afas.token, xelion.base_url)


def afas_settings_at(afas_url: str, afas_token: str) -> Settings:
    """Settings for a simulated AFAS alone: cards on its InSite pages, dossier item type 7."""
    s = Settings()
    s.afas.host = afas_url
    s.afas.token = afas_token
    s.afas.insite_url_template = f"{afas_url}/insite/verkooprelatie-prs?BcId=<BCID>"
    s.afas.dossier_item_type = 7
    return s


def settings_at(afas_url: str, afas_token: str, xelion_url: str) -> Settings:
    """``settings_for`` by address, for simulators run in a thread of their own."""
    s = afas_settings_at(afas_url, afas_token)
    s.xelion.host = xelion_url
    s.xelion.tenant = XELION_TENANT
    s.xelion.username = XELION_USER
    s.xelion.password = XELION_PASSWORD
    return s


@contextlib.asynccontextmanager
async def running_core(afas: AfasSimulator, xelion: XelionSimulator,
                       settings: Settings | None = None,
                       ) -> AsyncIterator[tuple[AppCore, RecordingOpener]]:
    """``started_core`` for an ``async with``: the core is stopped however the block ends."""
    core, opener = await started_core(afas, xelion, settings)
    try:
        yield core, opener
    finally:
        await core.stop()


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

