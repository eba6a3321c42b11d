"""What a ringing call may put on the desk: the browser card, the caller card, or nothing.

``PopGate`` sits between the CallRouter and the real opener (the router calls it like any
opener). It holds back everything while the operator paused the caller pop (for an hour or
until resumed) or while Xelion reports do-not-disturb and the operator asked to follow it;
it leaves out the browser when only the caller card is wanted; and it hands the caller card
its requests. Logging is not its business: the router still records the call and the report
pipeline still sends it up.

No Qt here; the caller card itself lives in ``afas_tray/ui/caller_card.py``.

Fourth step of the ringing walk (README, "Architecture"): receives ``open_url`` / ``choose`` /
``unknown_caller`` from ``pop/router.py`` (``CallRouter.handle``) and ``after(event, decision)``
from ``core.py``; hands what may show to its inner opener, ``ui/qt_opener.py``'s ``QtOpener`` in
the app (``pop/opener.py``'s ``RecordingOpener`` in the tests), and the caller card's request to
``card_sink.show_card`` (the Qt shell sets the sink).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from afas_tray.config import Settings
from afas_tray.events import CallEvent, CallState
from afas_tray.models import Match

if TYPE_CHECKING:
    from afas_tray.pop.opener import Opener
    from afas_tray.pop.router import Choice, Decision, UnknownCaller

log = logging.getLogger(__name__)

PAUSE_HOUR = 3600.0


@dataclass(frozen=True)
class CardRequest:
    """One caller card to show: the relation the router opened, and the call it belongs to."""

    match: Match
    url: str  # the InSite card (the card's "Open card")
    number: str  # as the telephony system sent it
    normalised: str  # E.164
    call_id: str
    event: CallEvent


class CardSink(Protocol):
    def show_card(self, request: CardRequest) -> object: ...
    def call_ended(self, call_id: str, normalised: str) -> None: ...


class PopGate:
    """Implements ``afas_tray.pop.opener.Opener`` around the real one; see the module text."""

    def __init__(self, inner: Opener, settings: Callable[[], Settings],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.inner = inner
        self._settings = settings
        self._clock = clock
        self.card_sink: CardSink | None = None
        self._paused_until: float | None = None  # clock value; inf = until resumed
        self.do_not_disturb = False  # the latest doNotDisturbEvent from Xelion
        self.on_change: list[Callable[[], None]] = []

    # -- pause / do not disturb ------------------------------------------------------------

    def pause(self, seconds: float | None = PAUSE_HOUR) -> None:
        """Pause the caller pop for ``seconds`` (None: until ``resume``)."""
        self._paused_until = float("inf") if seconds is None else self._clock() + seconds
        log.info("caller pop paused %s", "until resumed" if seconds is None else f"for {seconds:g} s")
        self._changed()

    def resume(self) -> None:
        self._paused_until = None
        log.info("caller pop resumed")
        self._changed()

    @property
    def paused(self) -> bool:
        """Paused by the operator (an hour that has passed counts as resumed)."""
        if self._paused_until is None:
            return False
        if self._clock() >= self._paused_until:
            self._paused_until = None
            return False
        return True

    @property
    def paused_until(self) -> float | None:
        """Clock value the pause ends at (inf: until resumed), None when not paused."""
        return self._paused_until if self.paused else None

    def set_do_not_disturb(self, on: bool) -> None:
        """Xelion's doNotDisturbEvent (``websockets/model/NotificationType.html``)."""
        if on != self.do_not_disturb:
            log.info("Xelion do not disturb: %s", "on" if on else "off")
        self.do_not_disturb = on
        self._changed()

    @property
    def held(self) -> bool:
        """True when a ringing call may open nothing at all."""
        follow = self._settings().pop.follow_do_not_disturb
        return self.paused or (follow and self.do_not_disturb)

    def _changed(self) -> None:
        for hook in list(self.on_change):
            try:
                hook()
            except Exception:
                log.exception("pause hook failed")

    # -- Opener ----------------------------------------------------------------------------

    def open_url(self, url: str) -> None:
        if self.held:
            log.info("caller pop paused: card not opened")
            return
        if self._settings().card.open_browser:
            self.inner.open_url(url)

    def choose(self, decision: Choice) -> object:
        if self.held:
            log.info("caller pop paused: no choice shown")
            return None
        return self.inner.choose(decision)

    def unknown_caller(self, notice: UnknownCaller) -> object:
        if self.held:
            log.info("caller pop paused: unknown caller not shown")
            return None
        return self.inner.unknown_caller(notice)

    # -- after the router decided ------------------------------------------------------------

    def after(self, event: CallEvent, decision: Decision) -> None:
        """Show the caller card for an opened relation; close cards of calls that ended."""
        from afas_tray.pop.router import OpenCard

        sink = self.card_sink
        if sink is None:
            return
        try:
            if event.state in (CallState.HUNG_UP, CallState.TRANSFERRED):
                from afas_tray.numbers import normalise

                region = self._settings().phone.default_region
                sink.call_ended(event.call_id, normalise(event.number, region) or "")
            elif isinstance(decision, OpenCard) and self._settings().card.show and not self.held:
                from afas_tray.numbers import normalise

                region = self._settings().phone.default_region
                sink.show_card(CardRequest(
                    decision.match, decision.url, event.number.strip(),
                    normalise(event.number, region) or "", event.call_id, event,
                ))
        except Exception:  # the card must never take the call handling down
            log.exception("caller card failed")


_DND_KEYS = ("doNotDisturb", "doNotDisturbOn", "dnd", "enabled", "active", "on", "status",
             "state", "value")
_logged_dnd_shape = False


def dnd_from_payload(payload: Mapping[str, object]) -> bool | None:
    """On/off from a ``doNotDisturbEvent`` payload; None when it says neither.

    Xelion's guide names the event ("do not disturb of user status is changed",
    ``websockets/model/NotificationType.html``) but its stored copy shows no payload: accept the
    likely field names (the CSTA ``doNotDisturbOn`` of Xelion's telephony side among them) with
    a boolean or a word, and log the first payload that arrives so the real shape is known.
    """
    global _logged_dnd_shape
    if not _logged_dnd_shape:
        _logged_dnd_shape = True
        log.info("Xelion doNotDisturbEvent payload keys: %s", sorted(payload))
    for key in _DND_KEYS:
        if key not in payload:
            continue
        value = payload[key]
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return bool(value)
        if isinstance(value, str):
            word = value.strip().lower()
            if word in ("true", "on", "1", "yes", "enabled", "active", "dnd", "donotdisturb"):
                return True
            if word in ("false", "off", "0", "no", "disabled", "inactive", "available"):
                return False
    for value in payload.values():  # one level down, e.g. {"user": {"doNotDisturb": true}}
        if isinstance(value, dict):
            found = dnd_from_payload(value)
            if found is not None:
                return found
    log.warning("doNotDisturbEvent without a recognisable on/off: %s", sorted(payload))
    return None
