"""The whole core on one loop, against both simulated servers: ring -> card, hang up -> report."""

from __future__ import annotations

import asyncio

from afas_tray.core import AppCore
from afas_tray.demo.afas import AfasSimulator
from afas_tray.demo.sample_data import KNOWN
from afas_tray.demo.xelion import XelionSimulator
from afas_tray.models import ReportItem
from afas_tray.pop.opener import RecordingOpener
from afas_tray.status import State
from afas_tray.system.paths import app_paths
from afas_tray.system.profile import Profile
from tests.helpers.core import running_core, settings_for
from tests.helpers.wait import until


async def test_ring_opens_card_and_report_reaches_afas_once(
        servers: tuple[AfasSimulator, XelionSimulator]) -> None:
    afas, xelion = servers
    async with running_core(afas, xelion) as (core, opener):
        assert core.board.current.state is State.IDLE
        known = KNOWN["org_unique"]
        call_id = xelion.ring(known.written[0])
        await until(lambda: opener.urls)
        xelion.answer(call_id)
        xelion.transfer(call_id)
        await asyncio.sleep(0.3)
        assert opener.urls == [f"{afas.url}/insite/verkooprelatie-prs?BcId={known.bcids[0]}"]
        assert [c.match_bcid for c in core.recent_calls()] == [known.bcids[0]]

        xelion.hangup(call_id, recording=False)
        core.save_report(call_id, "Offerte besproken", "Belt morgen terug.", None)
        await until(lambda: afas.subjects, timeout=30)
        await asyncio.sleep(0.5)
        [item] = afas.subjects
        assert item.subject == "Offerte besproken" and "Belt morgen terug." in item.text
        assert item.bcid == known.bcids[0] and item.st_id == 7
        # The link carried the relation's number (afas.connectors.link_by = number), not its BcId.
        relation = afas.data.find_relation(known.bcids[0])
        assert relation is not None and afas.sent_link_ids == [relation.number]
        await until(lambda: core.board.current.outbox_backlog == 0)


async def test_refused_token_shows_error_and_settings_fix_it(
        servers: tuple[AfasSimulator, XelionSimulator]) -> None:
    afas, xelion = servers
    profile = Profile(app_paths().ensure())
    settings = settings_for(afas, xelion)
    settings.afas.token = "AB" * 32
    core = AppCore(profile, settings, RecordingOpener())
    await core.start()
    try:
        await until(lambda: core.board.current.state is State.ERROR)
        message = core.board.current.message
        assert message is not None and "token" in message.en.lower() and "token" in message.nl.lower()
        assert "AB" * 32 not in message.en
        fixed = settings.copy()
        fixed.afas.token = afas.token
        await core.apply_settings(fixed)
        await until(lambda: core.board.current.state is State.IDLE and core.board.current.book_size > 0)
    finally:
        await core.stop()


async def test_doctor_checks_xelion_without_disturbing_the_running_session(
        servers: tuple[AfasSimulator, XelionSimulator]) -> None:
    from afas_tray.doctor import run_checks

    afas, xelion = servers
    settings = settings_for(afas, xelion)
    async with running_core(afas, xelion, settings) as (core, _):
        results = {r.key: r async for r in run_checks(settings)}
        assert results["xelion"].ok and "op" in results["xelion"].detail.en
        wrong = settings.copy()
        wrong.xelion.password = "fout-wachtwoord"
        results = {r.key: r async for r in run_checks(wrong)}
        assert not results["xelion"].ok and "fout-wachtwoord" not in str(results["xelion"].detail)
        call_id = xelion.ring(KNOWN["org_unique"].written[0])
        await until(lambda: any(c.call_id == call_id for c in core.recent_calls()))


async def test_loopback_trigger_pops_through_the_core_and_refuses_strangers(
        servers: tuple[AfasSimulator, XelionSimulator]) -> None:
    import httpx

    afas, xelion = servers
    settings = settings_for(afas, xelion)
    settings.xelion.host = ""  # calls come from a desk phone's action URL only
    settings.xelion.tenant = settings.xelion.username = settings.xelion.password = ""
    settings.trigger.http_enabled = True
    settings.trigger.secret = "s3cret-s3cret-s3cret"
    opener = RecordingOpener()
    core = AppCore(Profile(app_paths().ensure()), settings, opener)
    await core.start()
    try:
        await until(lambda: core.board.current.book_size > 0 and core.trigger_port)
        base = f"http://127.0.0.1:{core.trigger_port}/call"
        number = KNOWN["org_unique"].written[0]
        async with httpx.AsyncClient() as http:
            bad = await http.get(base, params={"number": number, "secret": "wrong"})
            assert bad.status_code == 403 and not opener.urls
            evil = await http.get(base, params={"number": "https://evil.example/", "secret": settings.trigger.secret})
            assert evil.status_code == 400 and not opener.urls
            ok = await http.get(base, params={"number": number, "callId": "desk-1",
                                              "secret": settings.trigger.secret})
            assert ok.status_code == 200
        await until(lambda: opener.urls)
        assert opener.urls == [f"{afas.url}/insite/verkooprelatie-prs?BcId={KNOWN['org_unique'].bcids[0]}"]
    finally:
        await core.stop()


async def test_a_queued_report_leaves_on_the_wake_of_its_enqueue_not_a_poll(
        servers: tuple[AfasSimulator, XelionSimulator]) -> None:
    """The drain loop sleeps until a report is queued (issue 14): the report goes up on the pass
    its enqueue started, and an idle outbox does not wake at all (the loop used to poll every 2 s)."""
    afas, xelion = servers
    async with running_core(afas, xelion) as (core, _):
        await until(lambda: core.drain_wakeups > 0)
        await asyncio.sleep(0.3)  # the first sync cycle's wake-up has passed
        before = core.drain_wakeups
        core.outbox.enqueue(ReportItem(
            key="wake-1", call_id="wake-1", bcid=KNOWN["org_unique"].bcids[0],
            subject="Teruggebeld", text="Kort gesprek.", date="2026-11-25T14:03:00",
            dossier_type=7))
        await until(lambda: afas.subjects, timeout=10)
        assert [s.subject for s in afas.subjects] == ["Teruggebeld"]
        assert core.drain_wakeups == before + 1  # the enqueue's own wake-up carried it
        await asyncio.sleep(2.5)  # longer than the old poll: nothing to send, so no wake-up
        assert core.drain_wakeups == before + 1
        await until(lambda: core.board.current.outbox_backlog == 0)
