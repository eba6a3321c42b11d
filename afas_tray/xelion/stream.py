"""Xelion websocket → CallEvents, with heartbeats, reconnects and de-duplication.

The stream asks the REST client for the websocket address (``POST me/websocket``) and subscribes
with a ``multiNotificationRequest`` to the user-level events of
``websockets/model/NotificationType.html``: ``activeChannelEvent``, the three trigger events, and
``callTransferredEvent``/``missedCallEvent``.

Where things come from (the guide, not our simulator):

* The caller's **number** arrives in the trigger events (``websockets/model/TriggerEvent.html``):
  the value of the ``new_call`` trigger, placeholders filled in, parsed by ``handoff``'s one
  hand-off parser. An ``ActiveChannel`` has no number field: ``phone`` is a SIP account and
  ``name`` an addressable or line name (``model/ActiveChannel.html``); a ``name`` that is
  really a dialable number is used only when no trigger came within a short grace period.
* The call's **state** comes from the channels: inserted (ringing), ``CONNECTED`` (answered),
  gone (hung up). Before processing, and after every reconnect or a ``version`` that went
  backwards, the list is rebuilt from ``GET communications/active_channels``
  (``websockets/model/ActiveChannelEvent.html``); a reconnect during a call is no hang-up.

First step of both walks (README, "Architecture"): receives the websocket notifications from
the Xelion server, through the session of ``xelion/client.py``; hands each call's ``CallEvent``
(ringing, answered, hung up, transferred) to the ``on_event`` callback the core gave it
(``core.py``, ``AppCore.handle_event``), and the oid of every call of ours that ended to
``on_call_end`` (the core wires ``ReportService.xelion_call_ended``, ``reports/service.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import aiohttp

from afas_tray.backoff import jittered_backoff, wait_or_wake
from afas_tray.events import CallEvent, CallSource, CallState, Direction
from afas_tray.handoff import HandoffError, parse_trigger_value
from afas_tray.i18n import T, Text
from afas_tray.xelion.errors import XelionError

log = logging.getLogger(__name__)

TRIGGER_EVENTS = ("openDocumentEvent", "executeCommandEvent", "showNotificationEvent")
NOTICE_EVENTS = ("callTransferredEvent", "missedCallEvent")
SUBSCRIBED_EVENTS = ("activeChannelEvent", *TRIGGER_EVENTS, *NOTICE_EVENTS, "doNotDisturbEvent")
# Call State values (``model/ActiveChannel.html`` types ``state`` as Call State; its example
# writes ``CONNECTED``). The guide lists no other value: these are the usual telephony words,
# and an unknown one on a new channel counts as ringing (logged once).
_ANSWERED_STATES = {"connected", "up", "answered", "talking", "established", "busy_connected"}
_RINGING_STATES = {"ringing", "ring", "alerting", "dialing", "calling", "progress", "early",
                   "offering", "incoming", "outgoing", "new", "setup"}
_HELD_STATES = {"hold", "held", "on_hold", "onhold", "parked"}
_DIALABLE = re.compile(r"^\+?[0-9][0-9 ()\-./]{4,}[0-9]$")
_MIN_FALLBACK_DIGITS = 6  # a name with fewer digits is an extension or an account, never popped
_MAX_CALLS = 500  # remembered calls, for de-duplication across transfers and reconnects
TRIGGER_JOIN_SECONDS = 15.0  # a trigger and a channel this close in time belong together
FALLBACK_GRACE_SECONDS = 1.5  # wait this long for the trigger before popping on a channel name
MIN_HEARTBEAT_SECONDS = 30.0  # politeness: websockets/index.html warns about repeated requests
MIN_RECONNECT_SECONDS = 10.0


class StreamState(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    ERROR = "error"  # needs the user (credentials, MFA, userSpace in use)
    STOPPED = "stopped"


@dataclass(frozen=True)
class StreamStatus:
    state: StreamState
    text: Text
    error: XelionError | None = None
    retry_in: float | None = None  # seconds until the next attempt, when known


@dataclass(frozen=True)
class XelionNotice:
    """A ``missedCallEvent`` or ``callTransferredEvent``: parsed, passed on, not acted on yet."""

    kind: str
    call_id: str
    number: str
    name: str
    payload: Mapping[str, Any]


class _SessionSource(Protocol):
    """What the stream needs from ``XelionClient``."""

    username: str

    async def ensure_session(self) -> None: ...

    async def websocket_url(self) -> str: ...

    async def active_channels(self) -> list[dict[str, Any]]: ...


def dialable(value: object) -> str:
    """``value`` when it really is a dialable number (not a SIP account, not an extension)."""
    text = str(value or "").strip()
    if not _DIALABLE.match(text):
        return ""
    return text if sum(c.isdigit() for c in text) >= _MIN_FALLBACK_DIGITS else ""


@dataclass
class _Call:
    key: str  # the channels' callId
    public_id: str  # the id in our CallEvents: the trigger's callId when one came
    channels: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    number: str = ""
    name: str = ""
    direction: Direction = Direction.UNKNOWN
    triggered: bool = False
    rang: bool = False
    answered: bool = False
    hung_up: bool = False
    transferred: bool = False
    fallback_due: float | None = None  # monotonic time to pop on a channel's number
    seen_ours: bool = False
    seen: float = field(default_factory=time.monotonic)


@dataclass
class _Trigger:
    event: CallEvent
    at: float
    call: _Call | None = None


class ChannelTracker:
    """Pure mapping of Xelion channel and trigger events to CallEvents (no I/O; easy to test).

    ``on_call_end`` hears the key of every call whose channels are all gone, also calls that
    never popped (no number), so the call log can be read soon after any hang-up.
    """

    def __init__(self, grace: float = FALLBACK_GRACE_SECONDS) -> None:
        self.grace = grace
        self._calls: OrderedDict[str, _Call] = OrderedDict()
        self._triggers: list[_Trigger] = []
        self._version: int | None = None
        self._unknown_states: set[str] = set()
        self.needs_resync = True  # the list must be fetched before the first event counts
        self.ended: list[str] = []  # public ids of our calls that ended since the last take
        # Our SIP accounts, learnt from the callee channels of calls a trigger named: the
        # active channels may be the whole PBX's ("current active channels on the PBX",
        # resources/communications_active_channels.html), and phoneUser is not documented to
        # equal the login name, so a channel-only call counts as ours only through these.
        self.own_phones: set[str] = set()

    # -- bookkeeping ---------------------------------------------------------------------------

    def _call(self, key: str) -> _Call:
        call = self._calls.get(key)
        if call is None:
            call = self._calls[key] = _Call(key, key)
            while len(self._calls) > _MAX_CALLS:
                self._calls.popitem(last=False)
            self._claim_trigger(call)
        else:
            self._calls.move_to_end(key)
        return call

    def _claim_trigger(self, call: _Call) -> None:
        """A new channel call: the trigger that came just before it (same id, or the only one)."""
        now = time.monotonic()
        self._triggers = [t for t in self._triggers if now - t.at < TRIGGER_JOIN_SECONDS]
        free = [t for t in self._triggers if t.call is None]
        match = next((t for t in free if t.event.call_id == call.key), None)
        if match is None and free:
            match = free[-1]
        if match is not None:
            self._join(call, match)

    def _learn_own(self, call: _Call) -> None:
        if call.triggered and call.direction is Direction.INCOMING:
            for ch in call.channels.values():
                phone = str(ch.get("phone") or "").strip().lower()
                if phone and str(ch.get("role") or "").lower() == "callee":
                    self.own_phones.add(phone)

    def _ours(self, call: _Call) -> bool:
        if call.triggered:
            return True
        return any(str(ch.get("phone") or "").strip().lower() in self.own_phones
                   for ch in call.channels.values())

    def _join(self, call: _Call, trig: _Trigger) -> None:
        trig.call = call
        call.triggered = True
        call.number = trig.event.number
        call.direction = Direction.INCOMING
        call.fallback_due = None
        if trig.event.call_id and not call.rang:
            call.public_id = trig.event.call_id
        call.rang = True  # the trigger itself was the pop

    def _event(self, call: _Call, state: CallState) -> CallEvent:
        return CallEvent(number=call.number, call_id=call.public_id, direction=call.direction,
                         state=state, source=CallSource.XELION, name=call.name)

    def _state_of(self, channel: Mapping[str, Any]) -> str:
        raw = str(channel.get("state") or "").strip()
        state = raw.lower().replace(" ", "_")
        if state in _ANSWERED_STATES:
            return "answered"
        if state in _HELD_STATES:
            return "held"
        if state not in _RINGING_STATES and state not in self._unknown_states:
            self._unknown_states.add(state)
            log.info("Xelion channel state %r is new to us; a new channel counts as ringing",
                     raw[:40])
        return "ringing"

    def _learn_fallback(self, call: _Call) -> None:
        """No trigger (yet): a channel ``name`` that is a real number may stand in."""
        if call.number:
            return
        chans = sorted(call.channels.values(),
                       key=lambda c: str(c.get("role") or "").lower() != "caller")
        for channel in chans:
            number = dialable(channel.get("name"))
            if not number:
                continue  # ``phone`` is a SIP account (model/ActiveChannel.html): never a number
            call.number = number
            role = str(channel.get("role") or "").lower()
            call.direction = (Direction.INCOMING if role == "caller"
                              else Direction.OUTGOING if role == "callee" else Direction.UNKNOWN)
            call.name = str(channel.get("organisationName") or "")
            return

    # -- input ---------------------------------------------------------------------------------

    def feed(self, update_type: str, channel: Mapping[str, Any],
             version: int | None = None) -> list[CallEvent]:
        if version is not None:
            if self._version is not None and version < self._version:
                self.needs_resync = True  # the guide: lower version → reset the active channels
            self._version = version
        key = str(channel.get("callId") or "")
        if not key:
            return []
        call = self._call(key)
        channel_id = str(channel.get("channelId")
                         or f"{channel.get('role')}:{channel.get('phone')}")
        if str(update_type).lower() == "remove":
            call.channels.pop(channel_id, None)
            return self._maybe_ended(call)
        call.channels[channel_id] = channel
        self._learn_own(call)
        if not self._ours(call):
            return []  # another user's call, or ours before its trigger: nothing to tell yet
        call.seen_ours = True
        return self._progress(call, channel)

    def _progress(self, call: _Call, channel: Mapping[str, Any]) -> list[CallEvent]:
        if call.hung_up:
            return []  # transfers are told by callTransferredEvent, not by a call coming back
        self._learn_fallback(call)
        state = self._state_of(channel)
        out: list[CallEvent] = []
        if state == "answered" and not call.answered:
            call.answered = True
            call.fallback_due = None
            if call.number:
                if not call.rang and not call.triggered:
                    call.rang = True  # answered before any pop: no late pop, just the state
                out.append(self._event(call, CallState.ANSWERED))
        elif state == "ringing" and not call.rang and call.number and call.fallback_due is None:
            call.fallback_due = time.monotonic() + self.grace
        return out

    def _maybe_ended(self, call: _Call) -> list[CallEvent]:
        if call.channels or call.hung_up:
            return []
        call.hung_up = True
        call.fallback_due = None
        if call.seen_ours or call.triggered:
            self.ended.append(call.public_id)
        if call.number and (call.rang or call.answered):
            return [self._event(call, CallState.HUNG_UP)]
        return []

    def due_fallbacks(self, now: float | None = None) -> list[CallEvent]:
        """Pops on a channel's number whose grace period ran out without a trigger."""
        now = time.monotonic() if now is None else now
        out: list[CallEvent] = []
        for call in self._calls.values():
            if call.fallback_due is not None and call.fallback_due <= now:
                call.fallback_due = None
                if not call.rang and not call.hung_up and call.number:
                    call.rang = True
                    log.info("Xelion call %s: no trigger event; using the channel's number",
                             call.key)
                    out.append(self._event(call, CallState.RINGING))
        return out

    def next_fallback(self) -> float | None:
        dues = [c.fallback_due for c in self._calls.values() if c.fallback_due is not None]
        return min(dues) if dues else None

    def trigger(self, value: object) -> list[CallEvent]:
        """A trigger event's value → RINGING, once per call, with the trigger's number."""
        try:
            event = parse_trigger_value(value)
        except HandoffError as exc:
            log.info("Xelion trigger value ignored: %s", exc.text.en)
            return []
        now = time.monotonic()
        if event.call_id:
            for trig in self._triggers:
                if trig.event.call_id == event.call_id and now - trig.at < TRIGGER_JOIN_SECONDS:
                    return []  # the same trigger twice (two trigger event types, say)
        trig = _Trigger(event, now)
        self._triggers.append(trig)
        # A channel call that came first: same id, else the newest unclaimed live one.
        live = [c for c in reversed(self._calls.values())
                if not c.hung_up and not c.triggered and now - c.seen < TRIGGER_JOIN_SECONDS]
        call = next((c for c in live if c.key == event.call_id), None) or \
            next((c for c in live if not c.rang), None)
        if call is not None:
            popped = call.rang
            self._join(call, trig)
            self._learn_own(call)
            call.seen_ours = True
            if popped:
                return []  # the channel's number popped already
        return [event]

    def rebuild(self, channels: Sequence[Mapping[str, Any]]) -> list[CallEvent]:
        """The server's list of active channels replaces ours (after a (re)connect or a version
        reset). Calls that vanished meanwhile hang up; calls still there just continue."""
        self.needs_resync = False
        listed: dict[str, dict[str, Mapping[str, Any]]] = {}
        for ch in channels:
            key = str(ch.get("callId") or "")
            if key:
                cid = str(ch.get("channelId") or f"{ch.get('role')}:{ch.get('phone')}")
                listed.setdefault(key, {})[cid] = ch
        out: list[CallEvent] = []
        for call in list(self._calls.values()):
            if call.key not in listed and call.channels:
                call.channels.clear()
                out += self._maybe_ended(call)
        for key, chans in listed.items():
            known = key in self._calls
            call = self._call(key)
            call.channels = dict(chans)
            self._learn_own(call)
            if self._ours(call) and (not known or not call.hung_up):
                call.seen_ours = True
                for ch in chans.values():
                    out += self._progress(call, ch)
        return out

    def take_ended(self) -> list[str]:
        ended, self.ended = self.ended, []
        return ended

    def public_id(self, key: str) -> str:
        call = self._calls.get(key)
        return call.public_id if call else key

    def transferred(self, call_id: str) -> list[CallEvent]:
        """``callTransferredEvent`` for a call we popped: TRANSFERRED, once."""
        for call in self._calls.values():
            if call_id in (call.key, call.public_id) and call.number and not call.transferred:
                call.transferred = True
                # Our part is over: what the colleague's channels do is not ours to tell.
                call.hung_up = True
                call.channels.clear()
                self.ended.append(call.public_id)
                return [self._event(call, CallState.TRANSFERRED)]
        return []


def parse_notice(kind: str, payload: Mapping[str, Any]) -> XelionNotice:
    """The fields of a missed-call or transfer event we can use, whatever the wrapper.

    The guide names the event types but our stored copy shows no fields for them: take a call
    id and a number from the usual keys or a nested communication/channel object.
    """
    flat: dict[str, Any] = dict(payload)
    for inner in payload.values():
        if isinstance(inner, dict):
            for k, v in inner.items():
                flat.setdefault(k, v)
    call_id = str(flat.get("callId") or "")
    number = ""
    for key in ("phoneNumber", "callerPhoneNumber", "number", "address", "fromAddress", "name"):
        number = dialable(flat.get(key))
        if number:
            break
    name = str(flat.get("commonName") or flat.get("organisationName") or "")
    return XelionNotice(kind, call_id, number, name[:100], payload)


def subscription_message() -> dict[str, Any]:
    return {
        "messageType": "multiNotificationRequest",
        "notifications": [{"notificationType": name, "toggle": "true"}
                          for name in SUBSCRIBED_EVENTS],
    }


def unwrap(msg: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    """(notification type, payload) of a received frame.

    A public Xelion web-chat client reads ``notificationType`` + ``notification``; the guide's
    copy shows no wrapper, so a flat message (fields at the top) and ``notificationObject`` /
    ``object`` / ``data`` wrappers are accepted too.
    """
    kind = str(msg.get("notificationType") or "")
    if not kind and str(msg.get("messageType") or "").endswith("Event"):
        kind = str(msg["messageType"])
    payload: Mapping[str, Any] = msg
    for key in ("notification", "notificationObject", "object", "data"):
        inner = msg.get(key)
        if isinstance(inner, str) and inner.startswith("{"):
            with contextlib.suppress(ValueError):
                inner = json.loads(inner)
        if isinstance(inner, dict):
            payload = inner
            kind = kind or str(inner.get("notificationType") or "")
            break
    return kind, payload


_TEXT_CONNECTING = T("Connecting to Xelion…", "Verbinden met Xelion…")
_TEXT_CONNECTED = T("Connected to Xelion: ringing calls pop up.",
                    "Verbonden met Xelion: binnenkomende gesprekken worden getoond.")
_TEXT_RECONNECTING = T("Connection to Xelion lost; reconnecting…",
                       "Verbinding met Xelion verbroken; opnieuw verbinden…")
_TEXT_STOPPED = T("Xelion call events stopped.", "Xelion-gespreksmeldingen gestopt.")


class XelionEventStream:
    """Keeps one Xelion websocket open and reports call events until cancelled or stopped."""

    # Hears the payload of each missedCallEvent (issue 16: afas_tray.xelion.missed_call reads it).
    on_missed_call: Callable[[Mapping[str, Any]], None] | None = None

    def __init__(
        self,
        client: _SessionSource,
        on_event: Callable[[CallEvent], None],
        on_status: Callable[[StreamStatus], None] | None = None,
        *,
        heartbeat: float = MIN_HEARTBEAT_SECONDS,
        base_delay: float = 2 * MIN_RECONNECT_SECONDS,  # jitter halves it: first wait >= 10 s
        max_delay: float = 300.0,
        stable_after: float = 60.0,
        auth_retry_delay: float = 600.0,
        on_call_end: Callable[[str], None] | None = None,
        on_notice: Callable[[XelionNotice], None] | None = None,
        on_frame: Callable[[str], None] | None = None,
        on_trigger_seen: Callable[[str], None] | None = None,
        fallback_grace: float = FALLBACK_GRACE_SECONDS,
    ) -> None:
        """The defaults are the polite ones (heartbeat every 30 s, reconnects from 10 s on);
        tests pass shorter ones. ``on_call_end`` hears every ended call (also unpopped ones),
        ``on_notice`` missed and transferred calls, ``on_frame`` every raw text frame (capture).
        """
        self._client = client
        self._on_event = on_event
        self._on_status = on_status
        self._on_call_end = on_call_end
        self._on_notice = on_notice
        self._on_frame = on_frame
        self._on_trigger_seen = on_trigger_seen
        self._heartbeat = heartbeat
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._stable_after = stable_after
        self._auth_retry_delay = auth_retry_delay
        self.tracker = ChannelTracker(fallback_grace)
        self._stopping = False
        self._kicked = False
        self._wake: asyncio.Event | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._close_task: asyncio.Task[bool] | None = None
        self._fallback_timer: asyncio.TimerHandle | None = None
        self._logged_kinds: set[str] = set()
        self.status = StreamStatus(StreamState.STOPPED, _TEXT_STOPPED)
        self.connects = 0  # successful websocket connects, for diagnostics and tests
        # Other user-level notifications (doNotDisturbEvent) go here as (type, payload).
        self.on_notification: Callable[[str, Mapping[str, Any]], None] | None = None
        self.trigger_events = 0  # trigger events received: doctor's "seen on this desk"

    # -- control ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask ``run()`` to finish; it closes the websocket and returns. Call on the loop."""
        self._stopping = True
        self._wake_up()

    def kick(self) -> None:
        """Reconnect now: the network changed or the machine woke up.

        The current socket (maybe half dead) is closed, any backoff wait ends, and the next
        attempt re-validates the session first.
        """
        self._kicked = True
        self._wake_up()

    def _wake_up(self) -> None:
        if self._wake is not None:
            self._wake.set()
        ws = self._ws
        if ws is not None and not ws.closed:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # called outside the loop: the wake event alone has to do
            self._close_task = loop.create_task(ws.close())  # keep a reference until done

    def _backoff(self, attempt: int) -> float:
        return jittered_backoff(attempt, self._base_delay, self._max_delay)

    async def _sleep(self, seconds: float) -> None:
        assert self._wake is not None
        if self._wake.is_set():
            self._wake.clear()
            return
        await wait_or_wake(self._wake, seconds)
        self._wake.clear()

    def _set_status(self, status: StreamStatus) -> None:
        self.status = status
        if self._on_status is not None:
            try:
                self._on_status(status)
            except Exception:
                log.exception("Xelion status callback failed")

    def _emit(self, events: list[CallEvent]) -> None:
        for event in events:
            log.info("Xelion call %s: %s (%s)", event.call_id or "-", event.state.value,
                     event.direction.value)
            try:
                self._on_event(event)
            except Exception:
                log.exception("Xelion call event callback failed")
        for call_id in self.tracker.take_ended():
            if self._on_call_end is not None:
                try:
                    self._on_call_end(call_id)
                except Exception:
                    log.exception("Xelion call-end callback failed")
        self._schedule_fallbacks()

    def _schedule_fallbacks(self) -> None:
        due = self.tracker.next_fallback()
        if due is None or self._fallback_timer is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._fallback_timer = loop.call_later(max(0.0, due - time.monotonic()),
                                               self._fire_fallbacks)

    def _fire_fallbacks(self) -> None:
        self._fallback_timer = None
        self._emit(self.tracker.due_fallbacks())

    async def resync(self) -> None:
        """Rebuild the channel list from ``GET communications/active_channels``."""
        try:
            channels = await self._client.active_channels()
        except XelionError as exc:
            log.info("Xelion active channels not read: %s", exc)
            return
        self._emit(self.tracker.rebuild(channels))

    # -- the loop --------------------------------------------------------------------------

    async def run(self) -> None:
        self._stopping = False
        self._wake = asyncio.Event()
        attempt = 0
        first = True
        try:
            async with aiohttp.ClientSession() as session:
                while not self._stopping:
                    self._set_status(StreamStatus(
                        StreamState.CONNECTING if first else StreamState.RECONNECTING,
                        _TEXT_CONNECTING if first else _TEXT_RECONNECTING))
                    first = False
                    connected_at: float | None = None
                    error: XelionError | None = None
                    try:
                        connected_at = await self._connect_and_listen(session)
                    except XelionError as exc:
                        error = exc
                        if exc.needs_user:
                            # Wrong credentials and the like: retrying soon only risks a lock-out.
                            self._set_status(StreamStatus(StreamState.ERROR, exc.text, exc,
                                                          self._auth_retry_delay))
                            await self._sleep(self._auth_retry_delay)
                            self._kicked = False
                            attempt = 0
                            continue
                        log.info("Xelion websocket: %s", exc)
                    except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
                        log.info("Xelion websocket failed: %s", type(exc).__name__)
                    if self._stopping:
                        break
                    if connected_at is not None and time.monotonic() - connected_at >= \
                            self._stable_after:
                        attempt = 0  # it worked for a good while: start the backoff afresh
                    if self._kicked:
                        self._kicked = False
                        attempt = 0
                        delay = 0.0
                    else:
                        delay = self._backoff(attempt)
                        attempt += 1
                    self._set_status(StreamStatus(
                        StreamState.RECONNECTING,
                        error.text if error is not None else _TEXT_RECONNECTING,
                        error, delay))
                    if delay > 0:
                        await self._sleep(delay)
                    else:
                        self._wake.clear()
        finally:
            self._ws = None
            if self._fallback_timer is not None:
                self._fallback_timer.cancel()
                self._fallback_timer = None
            self._set_status(StreamStatus(StreamState.STOPPED, _TEXT_STOPPED))

    async def _connect_and_listen(self, session: aiohttp.ClientSession) -> float | None:
        """One connection's life; returns when it ends, with the time it came up (if it did)."""
        await self._client.ensure_session()
        url = await self._client.websocket_url()
        if self._stopping:
            return None
        self._kicked = False
        timeout = aiohttp.ClientWSTimeout(ws_receive=None, ws_close=5.0)
        async with session.ws_connect(url, heartbeat=self._heartbeat, timeout=timeout,
                                      autoping=True) as ws:
            self._ws = ws
            try:
                await ws.send_str(json.dumps(subscription_message()))
                connected_at = time.monotonic()
                self.connects += 1
                # The guide: fetch the current list before processing channel events; after
                # a reconnect this is also how a call that ended meanwhile is told apart from
                # one that is still going (a reconnect alone is no hang-up).
                await self.resync()
                self._set_status(StreamStatus(StreamState.CONNECTED, _TEXT_CONNECTED))
                if self._stopping or self._kicked:
                    return connected_at
                async for msg in ws:
                    if msg.type == aiohttp.WSMsgType.TEXT:
                        self.handle_message(msg.data)
                        if self.tracker.needs_resync:
                            await self.resync()
                    elif msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED,
                                      aiohttp.WSMsgType.CLOSING):
                        break
                log.info("Xelion websocket closed (code %s)", ws.close_code)
                return connected_at
            finally:
                self._ws = None

    def handle_message(self, text: str) -> None:
        """Handle one websocket text frame (public so tests and capture replays can feed it)."""
        if self._on_frame is not None:
            with contextlib.suppress(Exception):
                self._on_frame(text)
        try:
            msg = json.loads(text)
        except ValueError:
            log.debug("Xelion websocket: ignoring a frame that is not JSON")
            return
        if not isinstance(msg, dict):
            return
        kind, payload = unwrap(msg)
        if kind and kind not in self._logged_kinds:
            # What really arrives, once per kind (field names only: no numbers in the log).
            self._logged_kinds.add(kind)
            log.info("Xelion websocket: first %s; frame keys %s, payload keys %s", kind,
                     sorted(msg)[:12], sorted(payload)[:20])
        if kind == "activeChannelEvent":
            channel = payload.get("activeChannel")
            if isinstance(channel, dict):
                version = payload.get("version")
                self._emit(self.tracker.feed(
                    str(payload.get("updateType") or "insert"), channel,
                    int(version) if isinstance(version, int | float | str)
                    and str(version).lstrip("-").isdigit() else None))
        elif kind in TRIGGER_EVENTS:
            self.trigger_events += 1
            if self.trigger_events == 1 and self._on_trigger_seen is not None:
                with contextlib.suppress(Exception):
                    self._on_trigger_seen(kind)
            self._emit(self.tracker.trigger(payload.get("value")))
        elif kind in NOTICE_EVENTS:
            notice = parse_notice(kind, payload)
            if kind == "callTransferredEvent" and notice.call_id:
                self._emit(self.tracker.transferred(notice.call_id))
            if self._on_notice is not None:
                try:
                    self._on_notice(notice)
                except Exception:
                    log.exception("Xelion notice callback failed")
            if kind == "missedCallEvent" and self.on_missed_call is not None:
                try:
                    self.on_missed_call(payload)
                except Exception:
                    log.exception("missed-call callback failed")
        elif kind == "doNotDisturbEvent" and self.on_notification is not None:
            try:
                self.on_notification(kind, payload)
            except Exception:
                log.exception("Xelion notification callback failed")
