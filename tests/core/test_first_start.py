"""A first start with nothing filled in waits for the settings instead of "syncing" forever,
and an AFAS partner's IntegrationId goes with every request the running app makes."""

from __future__ import annotations

import asyncio
import logging

import pytest

from afas_tray.config import Settings
from afas_tray.core import AppCore
from afas_tray.demo.afas import AfasSimulator
from afas_tray.demo.sample_data import KNOWN
from afas_tray.demo.xelion import XelionSimulator
from afas_tray.doctor import run_checks
from afas_tray.pop.opener import RecordingOpener
from afas_tray.status import State
from afas_tray.system.paths import app_paths
from afas_tray.system.profile import Profile
from tests.helpers.core import running_core, settings_for


async def test_a_fresh_profile_says_open_settings_and_does_not_sync(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    profile = Profile(app_paths().ensure())
    core = AppCore(profile, Settings(), RecordingOpener())
    await core.start()
    try:
        await asyncio.sleep(1.5)
        status = core.board.current
        assert status.state is State.NOT_CONFIGURED
        assert "Settings" in str(status.message)
        assert "sync crashed" not in caplog.text
        report = core.status_report()  # `afas-tray status` exits 1: this desk needs setting up
        assert report["needs_attention"] and report["state"] == "not_configured"
    finally:
        await core.stop()


async def test_integration_id_goes_with_every_afas_request(
        servers: tuple[AfasSimulator, XelionSimulator]) -> None:
    afas, xelion = servers
    settings = settings_for(afas, xelion)
    settings.afas.integration_id = "12345_678900"
    async with running_core(afas, xelion, settings) as (core, _opener):
        known = KNOWN["org_unique"]
        await core.recent_dossier_items(known.bcids[0], number=known.written[0])  # the caller card
        async for _ in run_checks(settings):  # "Test connection"
            pass
        assert afas.requests > 5
        assert afas.integration_ids == {"12345_678900": afas.requests}
