"""Fixtures for the AFAS client and simulator tests (registered by ``tests/conftest.py``)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from afas_tray.afas import AfasClient
from afas_tray.demo.afas import AfasSimulator
from tests.helpers.servers import serving

# A token whose data is easy to spot in any text it must never appear in.
TOKEN_DATA = "ABCDEF0123456789FEDCBA9876543210ABCDEF0123456789FEDCBA9876543210"


@pytest.fixture(name="afas_sim")
async def afas_sim_fixture() -> AsyncIterator[AfasSimulator]:
    """A simulated Profit on loopback: 200 relations (80 organisations, 120 persons, 60 contacts)."""
    async with serving(AfasSimulator(relations=200, seed=3, token_data=TOKEN_DATA, hang_seconds=5)) as sim:
        yield sim


@pytest.fixture(name="afas_client")
async def afas_client_fixture(afas_sim: AfasSimulator) -> AsyncIterator[AfasClient]:
    """A client for ``afas_sim`` with short timeouts and backoff so failure tests stay fast."""
    async with AfasClient(
        afas_sim.url, TOKEN_DATA, timeout=1.0, backoff_base=0.01, backoff_cap=0.05
    ) as client:
        yield client


def e164(written: str | None) -> str | None:
    """Rough normalisation for checking sample data (the app's own lives in afas_tray.numbers)."""
    if not written:
        return None
    head = re.split(r"[A-Za-z]", written)[0].replace("(0)", "")
    digits = re.sub(r"\D", "", head)
    if len(digits) < 9:
        return None
    if head.strip().startswith("+"):
        return "+" + digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    if digits.startswith("0"):
        return "+31" + digits[1:]
    return None
