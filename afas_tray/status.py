"""What the tray shows: one snapshot of the app's state, pushed to listeners on change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

from afas_tray.i18n import Text


class State(StrEnum):
    IDLE = "idle"
    SYNCING = "syncing"
    ERROR = "error"
    PAUSED = "paused"
    NOT_CONFIGURED = "not_configured"


@dataclass(frozen=True)
class Status:
    state: State = State.NOT_CONFIGURED
    message: Text | None = None  # the error or hint the user should read
    last_sync: float | None = None  # epoch seconds of the last good phone-book refresh
    book_size: int = 0  # relations in the phone book
    outbox_backlog: int = 0  # reports waiting to go up
    progress: float | None = None  # 0..1 during a sync, when known
    xelion: Text | None = None  # websocket state, when Xelion is configured
    reports_failed: int = 0  # reports AFAS refused: they wait for the operator's Retry
    reports_failed_message: Text | None = None  # AFAS's own words for the newest refusal
    reports_waiting: int = 0  # finished calls held back: a pick, a relation or a type missing
    xelion_connected: bool | None = None  # None when Xelion is not configured
    last_call_event: float | None = None  # epoch seconds of the last call event from any source

    @property
    def needs_attention(self) -> bool:
        """Something only the operator can fix: an error, a report AFAS refused, or settings
        not filled in yet (`afas-tray status` exits 1 on a desk nobody set up)."""
        return self.state in (State.ERROR, State.NOT_CONFIGURED) or self.reports_failed > 0

    @property
    def can_sync(self) -> bool:
        """Whether a sync can do anything: not before AFAS's host and token are filled in."""
        return self.state is not State.NOT_CONFIGURED

    @property
    def shown_state(self) -> State:
        """The state the icon shows: a refused report turns a quiet tray into 'needs attention'."""
        if self.reports_failed > 0 and self.state in (State.IDLE, State.PAUSED):
            return State.ERROR
        return self.state


Listener = Callable[[Status], None]


class StatusBoard:
    """Holds the current Status; listeners hear every change (UI, CLI progress)."""

    def __init__(self) -> None:
        self._status = Status()
        self._listeners: list[Listener] = []

    @property
    def current(self) -> Status:
        return self._status

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def update(self, **changes: object) -> None:
        new = replace(self._status, **changes)  # type: ignore[arg-type]
        if new != self._status:
            self._status = new
            for listener in list(self._listeners):
                listener(new)
