"""Shared Xelion test fixtures: a simulated Xelion server on loopback and clients for it.

The fixtures are registered by ``tests/conftest.py``; import the names and ``Collector``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from afas_tray.demo.xelion import XelionSimulator
from afas_tray.events import CallEvent
from afas_tray.xelion import StreamStatus, XelionClient
from tests.helpers.servers import serving

USER = "jan"
PASSWORD = "Geheim-Wachtwoord-8431"
OTHER_USER = "piet"
OTHER_PASSWORD = "Ander-Wachtwoord-5527"
MFA_USER = "mfa-user"
MFA_PASSWORD = "Mfa-Wachtwoord-1190"
TENANT = "demo"


@pytest.fixture
async def xelion_sim() -> AsyncIterator[XelionSimulator]:
    async with serving(XelionSimulator(
        {USER: PASSWORD, OTHER_USER: OTHER_PASSWORD, MFA_USER: MFA_PASSWORD},
        tenant=TENANT,
        mfa_users={MFA_USER},
    )) as sim:
        yield sim


@pytest.fixture
async def xelion_client_factory(
    xelion_sim: XelionSimulator,
) -> AsyncIterator[Callable[..., XelionClient]]:
    """Make clients for the simulator; they are closed (and logged out) after the test."""
    made: list[XelionClient] = []

    def make(user: str = USER, password: str = PASSWORD, user_space: str = "afas-tray-test",
             **kwargs: Any) -> XelionClient:
        client = XelionClient(xelion_sim.base_url, TENANT, user, password, user_space, **kwargs)
        made.append(client)
        return client

    try:
        yield make
    finally:
        for client in made:
            await client.aclose()


class Collector:
    """Collects what an event stream reports."""

    def __init__(self) -> None:
        self.events: list[CallEvent] = []
        self.statuses: list[StreamStatus] = []

    def on_event(self, event: CallEvent) -> None:
        self.events.append(event)

    def on_status(self, status: StreamStatus) -> None:
        self.statuses.append(status)

    def states(self, call_id: str | None = None) -> list[str]:
        return [e.state.value for e in self.events if call_id is None or e.call_id == call_id]
