"""The one retry delay every client of the app uses (AFAS requests, outbox rows, Xelion
reconnects): exponential, capped, and jittered over its upper half so that many desks that
failed together do not come back in lockstep."""

from __future__ import annotations

import random


def jittered_backoff(attempt: int, base: float, cap: float) -> float:
    """Seconds to wait before retry number ``attempt`` (0 = the first retry)."""
    return random.uniform(0.5, 1.0) * min(cap, base * 2.0 ** max(0, attempt))
