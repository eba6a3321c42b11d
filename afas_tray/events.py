"""The one call event every call source produces (websocket, CLI, URL scheme, HTTP trigger)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum


class CallState(StrEnum):
    RINGING = "ringing"
    ANSWERED = "answered"
    HUNG_UP = "hung_up"
    TRANSFERRED = "transferred"


class Direction(StrEnum):
    INCOMING = "in"
    OUTGOING = "out"
    UNKNOWN = "unknown"


class CallSource(StrEnum):
    XELION = "xelion"
    CLI = "cli"
    URL = "url"
    HTTP = "http"
    DEMO = "demo"


@dataclass(frozen=True)
class CallEvent:
    number: str
    call_id: str = ""
    direction: Direction = Direction.INCOMING
    state: CallState = CallState.RINGING
    source: CallSource = CallSource.CLI
    time: float = field(default_factory=time.time)
    name: str = ""  # caller name as the telephony system knows it, if any
