"""Saving the settings reconnects Xelion only when the Xelion account or the trigger changed:
another login per Save is a request Xelion counts, and a ring in between would be lost."""

from __future__ import annotations

from afas_tray.demo.afas import AfasSimulator
from afas_tray.demo.sample_data import KNOWN
from afas_tray.demo.xelion import XelionSimulator
from tests.helpers.core import running_core, settings_for
from tests.helpers.wait import until


def logins(xelion: XelionSimulator) -> int:
    return sum(n for endpoint, n in xelion.counts.items() if endpoint.endswith("login"))


async def test_unrelated_change_keeps_the_connection_and_the_next_ring_pops(
        servers: tuple[AfasSimulator, XelionSimulator]) -> None:
    afas, xelion = servers
    settings = settings_for(afas, xelion)
    async with running_core(afas, xelion, settings) as (core, opener):
        await until(lambda: any("activeChannelEvent" in c.subscriptions for c in xelion._conns))
        before, sockets = logins(xelion), set(xelion._conns)
        assert before >= 1
        new = settings.copy()
        new.card.position = "top_left"
        new.sync.interval_minutes = 30
        await core.apply_settings(new)
        call_id = xelion.ring(KNOWN["org_unique"].written[0])  # right after Save
        await until(lambda: opener.urls, what="the card of the ring right after Save")
        xelion.hangup(call_id, recording=False)
        assert logins(xelion) == before and set(xelion._conns) == sockets

        changed = new.copy()
        changed.xelion.user_space = "afas-tray-other-desk"
        await core.apply_settings(changed)
        await until(lambda: logins(xelion) == before + 1, what="a login with the new account")
