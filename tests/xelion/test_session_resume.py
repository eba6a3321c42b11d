"""A crashed run leaves its Xelion session behind; the next start must not be locked out."""

from __future__ import annotations

import pytest

from afas_tray.demo.xelion import XelionSimulator
from afas_tray.xelion import XelionAlreadyLoggedIn, XelionClient


async def test_next_start_ends_the_crashed_session_instead_of_being_refused() -> None:
    sim = XelionSimulator({"op": "wachtwoord-123"}, tenant="acme")
    await sim.start()
    kept: dict[str, str | None] = {}
    try:
        crashed = XelionClient(sim.base_url, "acme", "op", "wachtwoord-123", "afas-tray-desk1",
                               on_session=lambda t: kept.__setitem__("token", t))
        await crashed.login()
        assert kept["token"]
        # The process dies: no logout. A plain new client with the same userSpace is refused …
        async with XelionClient(sim.base_url, "acme", "op", "wachtwoord-123", "afas-tray-desk1") as fresh:
            with pytest.raises(XelionAlreadyLoggedIn):
                await fresh.login()
        # … but one that remembers the old session's token takes over at once.
        async with XelionClient(sim.base_url, "acme", "op", "wachtwoord-123", "afas-tray-desk1",
                                previous_session=kept["token"],
                                on_session=lambda t: kept.__setitem__("token", t)) as resumed:
            await resumed.login()
            assert resumed.logged_in and kept["token"]
        # No logout on a normal quit (me_logout.html): the token stays for the next start.
        assert kept["token"]
    finally:
        await sim.stop()
