"""A missed call of a known relation with both "always sync" and "missed calls to the dossier"
on: one dossier item ("Gemiste oproep"), not a second empty "Telefoongesprek" from the call log."""

from __future__ import annotations

import asyncio

from afas_tray.core import AppCore
from afas_tray.demo.afas import AfasSimulator
from afas_tray.demo.sample_data import KNOWN
from afas_tray.demo.xelion import XelionSimulator
from afas_tray.reports.rules import Outcome
from tests.helpers.core import settings_for, started_core
from tests.helpers.wait import until


async def _core(afas: AfasSimulator, xelion: XelionSimulator, *, to_dossier: bool) -> AppCore:
    settings = settings_for(afas, xelion)
    settings.afas.always_sync = True
    settings.reports.min_duration_seconds = 0
    settings.dial.missed_to_dossier = to_dossier
    core, _opener = await started_core(afas, xelion, settings)
    return core


async def _missed_call_filed(afas: AfasSimulator, xelion: XelionSimulator, core: AppCore,
                             outcome: Outcome) -> str:
    """A missed call of a known relation, read from the call log: decided ``outcome``, and
    the dossier item's subject (the only one AFAS got)."""
    call_id = xelion.dial.missed_call(KNOWN["org_unique"].written[0], "Receptie klant")
    core.reports.xelion_call_ended(call_id)  # the hang-up makes the app read the log now
    assert await _settled(core, call_id) is outcome
    await until(lambda: afas.subjects, timeout=30, what="the dossier item")
    await asyncio.sleep(1.0)
    [item] = afas.subjects
    assert item.bcid == KNOWN["org_unique"].bcids[0] and core.outbox.backlog() == 0
    return item.subject


async def _settled(core: AppCore, call_id: str) -> Outcome | None:
    await until(lambda: (core.reports.state_of(call_id) or ("", None))[1] is not None,
                timeout=30, what="the call log's entry for the missed call")
    state = core.reports.state_of(call_id)
    assert state is not None
    return state[1]


async def test_always_sync_does_not_double_a_missed_call(
        servers: tuple[AfasSimulator, XelionSimulator]) -> None:
    afas, xelion = servers
    core = await _core(afas, xelion, to_dossier=True)
    try:
        assert await _missed_call_filed(afas, xelion, core, Outcome.MISSED_CALL) == (
            "Gemiste oproep")
    finally:
        await core.stop()


async def test_without_missed_filing_always_sync_logs_the_call_once(
        servers: tuple[AfasSimulator, XelionSimulator]) -> None:
    afas, xelion = servers
    core = await _core(afas, xelion, to_dossier=False)
    try:
        assert await _missed_call_filed(afas, xelion, core, Outcome.UPLOAD) == "Telefoongesprek"
    finally:
        await core.stop()
