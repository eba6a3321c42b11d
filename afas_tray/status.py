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
