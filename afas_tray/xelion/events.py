"""Xelion websocket → CallEvents, with heartbeats, reconnects and de-duplication.

The stream asks the REST client for the websocket address (``POST me/websocket``), subscribes
with a ``multiNotificationRequest`` to ``activeChannelEvent`` and the trigger events
(``openDocumentEvent``/``executeCommandEvent``), and turns channel inserts/removes into one
RINGING, ANSWERED and HUNG_UP per call id. Xelion repeats the hang-up of a call id when a call is
transferred; this module delivers the first HUNG_UP only and reports the call's return as
TRANSFERRED, so consumers see each state at most once per call id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import shlex
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

import aiohttp

from afas_tray.backoff import jittered_backoff
from afas_tray.events import CallEvent, CallSource, CallState, Direction
from afas_tray.i18n import T, Text
from afas_tray.xelion.errors import XelionError

log = logging.getLogger(__name__)

SUBSCRIBED_EVENTS = ("activeChannelEvent", "openDocumentEvent", "executeCommandEvent",
                     "doNotDisturbEvent", "missedCallEvent")
_TRIGGER_EVENTS = {"openDocumentEvent", "executeCommandEvent"}
_RINGING_STATES = {"ring", "ringing", "dialing"}
_ANSWERED_STATES = {"up", "connected"}
_NUMBER_LIKE = re.compile(r"^\+?[0-9]{2,}$")
_NUMBER_IN_TEXT = re.compile(r"(?<![\w/.=])\+?[0-9][0-9 ()\-]{3,}[0-9](?![\w.])")
_NUMBER_KEYS = ("number", "callerphonenumber", "phonenumber", "phone", "caller", "nummer", "from")
_CALL_ID_KEYS = ("callid", "call_id", "call-id")
_MAX_CALLS = 500  # remembered call ids, for de-duplication across transfers


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


class _SessionSource(Protocol):
    """What the stream needs from ``XelionClient``."""

    username: str

    async def ensure_session(self) -> None: ...

    async def websocket_url(self) -> str: ...


def _digits(value: str) -> str:
    return re.sub(r"[\s\-().]", "", value)


def _is_number(value: str) -> bool:
    return bool(_NUMBER_LIKE.match(_digits(value)))


@dataclass
class _Call:
    channels: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    number: str = ""
    name: str = ""
    direction: Direction = Direction.UNKNOWN
    rang: bool = False
    answered: bool = False
    hung_up: bool = False
    transferred: bool = False
    first_seen: float = field(default_factory=time.time)


class ChannelTracker:
    """Pure mapping of Xelion channel events to CallEvents (no I/O; easy to test)."""

    def __init__(self, own_user: str = "") -> None:
        self.own_user = own_user.strip().lower()
        self._calls: OrderedDict[str, _Call] = OrderedDict()
        self._version: int | None = None

    def _call(self, call_id: str) -> _Call:
        call = self._calls.get(call_id)
        if call is None:
            call = self._calls[call_id] = _Call()
            while len(self._calls) > _MAX_CALLS:
                self._calls.popitem(last=False)
        else:
            self._calls.move_to_end(call_id)
        return call

    def reset_channels(self) -> None:
        """Forget live channels (after a reconnect or a version reset), keep what was emitted."""
        for call in self._calls.values():
            call.channels.clear()

    def _is_own(self, channel: Mapping[str, Any]) -> bool:
        user = str(channel.get("phoneUser") or "").strip().lower()
        return bool(user) and bool(self.own_user) and user == self.own_user

    def _foreign(self, call: _Call) -> bool:
        """Another user's call: channels name their phone users and none of them is us."""
        if not self.own_user:
            return False
        users = [str(c.get("phoneUser") or "").strip() for c in call.channels.values()]
        named = [u for u in users if u]
        return bool(named) and not any(u.lower() == self.own_user for u in named)

    @staticmethod
    def _number_of(channel: Mapping[str, Any]) -> str:
        """The channel's phone number: ``phone``, else a ``name`` that is just a number."""
        for key in ("phone", "name"):
            value = str(channel.get(key) or "").strip()
            if _is_number(value):
                return value
        return ""

    def _learn_party(self, call: _Call) -> None:
        if call.number:
            return  # the first remote party is the caller; transfer targets do not replace it
        others = [c for c in call.channels.values()
                  if not self._is_own(c) and self._number_of(c)]
        if not others:
            return
        remote = next((c for c in others if str(c.get("role") or "").lower() == "caller"),
                      others[0])
        role = str(remote.get("role") or "").lower()
        call.number = self._number_of(remote)
        name = str(remote.get("name") or "")
        call.name = "" if name == call.number else name
        call.direction = (Direction.INCOMING if role == "caller"
                          else Direction.OUTGOING if role == "callee" else Direction.UNKNOWN)

    def _event(self, call_id: str, call: _Call, state: CallState) -> CallEvent:
        return CallEvent(number=call.number, call_id=call_id, direction=call.direction,
                         state=state, source=CallSource.XELION, name=call.name)

    def feed(self, update_type: str, channel: Mapping[str, Any],
             version: int | None = None) -> list[CallEvent]:
        if version is not None:
            if self._version is not None and version < self._version:
                self.reset_channels()  # the guide: a lower version means "reset active channels"
            self._version = version
        call_id = str(channel.get("callId") or "")
        if not call_id:
            return []
        call = self._call(call_id)
        channel_id = str(channel.get("channelId")
                         or f"{channel.get('role')}:{channel.get('phone')}")
        if str(update_type).lower() == "remove":
            call.channels.pop(channel_id, None)
            if not call.channels and (call.rang or call.answered) and not call.hung_up:
                call.hung_up = True
                return [self._event(call_id, call, CallState.HUNG_UP)]
            return []
        call.channels[channel_id] = channel
        if call.hung_up:
            # The same call id back after its hang-up: Xelion's way of showing a transfer.
            if not call.transferred:
                call.transferred = True
                return [self._event(call_id, call, CallState.TRANSFERRED)]
            return []
        self._learn_party(call)
        if not call.number or (not call.rang and not call.answered and self._foreign(call)):
            return []
        state = str(channel.get("state") or "").strip().lower()
        out: list[CallEvent] = []
        if state in _RINGING_STATES and not call.rang and not call.answered:
            call.rang = True
            out.append(self._event(call_id, call, CallState.RINGING))
        elif state in _ANSWERED_STATES and not call.answered:
            call.answered = True
            out.append(self._event(call_id, call, CallState.ANSWERED))
        return out

    def trigger(self, value: str) -> list[CallEvent]:
        """A trigger's ``value`` (a command line or a URL) that carries a number → RINGING."""
        number, call_id = parse_trigger_value(value)
        if not number:
            return []
        if call_id:
            call = self._call(call_id)
            if call.rang or call.answered:
                return []
            call.rang = True
            call.number = call.number or number
            call.direction = Direction.INCOMING
        else:
            # No call id: the channel events may already have shown this call moments ago.
            key = _digits(number)
            now = time.time()
            for call in self._calls.values():
                if call.rang and _digits(call.number) == key and now - call.first_seen < 10:
                    return []
        return [CallEvent(number=number, call_id=call_id, direction=Direction.INCOMING,
                          state=CallState.RINGING, source=CallSource.XELION)]


def parse_trigger_value(value: str) -> tuple[str, str]:
    """Number and call id from a trigger value such as ``afas-tray call +3120… --call-id X``
    or ``afas-tray://call?number=…&callId=…``. Empty strings when absent."""
    value = value.strip()
    if not value:
        return "", ""
    number = call_id = ""
    if "?" in value or "://" in value:
        query = parse_qs(urlsplit(value).query)
        lowered = {k.lower(): v for k, v in query.items() if v}
        for key in _NUMBER_KEYS:
            if key in lowered and lowered[key][0].strip():
                number = lowered[key][0].strip()
                break
        for key in _CALL_ID_KEYS:
            if key in lowered:
                call_id = lowered[key][0].strip()
                break
        if number:
            return (number if _is_number(number) else ""), call_id
        if "://" in value and " " not in value:
            return "", call_id  # a URL without a number parameter
    try:
        tokens = shlex.split(value, posix=True)
    except ValueError:
        tokens = value.split()
    for i, tok in enumerate(tokens):
        low = tok.lower()
        if low in ("--call-id", "--callid") and i + 1 < len(tokens):
            call_id = tokens[i + 1]
        elif low.startswith(("--call-id=", "--callid=")):
            call_id = tok.split("=", 1)[1]
    for i, tok in enumerate(tokens):
        if tok.lower() == "call":
            # ``call +31 20 123 4567 --call-id X``: the number may hold spaces.
            parts: list[str] = []
            for part in tokens[i + 1:]:
                if part.startswith("--"):
                    break
                parts.append(part)
            candidate = " ".join(parts)
            if _is_number(candidate):
                return candidate, call_id
    rest = " ".join(t for t in tokens if t != call_id)
    match = _NUMBER_IN_TEXT.search(rest)
    if match and _is_number(match.group(0)):
        return match.group(0).strip(), call_id
    return "", call_id


def subscription_message() -> dict[str, Any]:
    return {
        "messageType": "multiNotificationRequest",
        "notifications": [{"notificationType": name, "toggle": "true"}
                          for name in SUBSCRIBED_EVENTS],
    }


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
        heartbeat: float = 5.0,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        stable_after: float = 10.0,
        auth_retry_delay: float = 600.0,
    ) -> None:
        self._client = client
        self._on_event = on_event
        self._on_status = on_status
        self._heartbeat = heartbeat
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._stable_after = stable_after
        self._auth_retry_delay = auth_retry_delay
        self.tracker = ChannelTracker(getattr(client, "username", ""))
        self._stopping = False
        self._kicked = False
        self._wake: asyncio.Event | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._close_task: asyncio.Task[bool] | None = None
        self.status = StreamStatus(StreamState.STOPPED, _TEXT_STOPPED)
        self.connects = 0  # successful websocket connects, for diagnostics and tests
        # Other user-level notifications (doNotDisturbEvent) go here as (type, payload).
        self.on_notification: Callable[[str, dict[str, Any]], None] | None = None

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
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
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
                self.tracker.reset_channels()
                self._set_status(StreamStatus(StreamState.CONNECTED, _TEXT_CONNECTED))
                if self._stopping or self._kicked:
                    return connected_at
                async for msg in ws:
                    if msg.type == aiohttp.WSMsgType.TEXT:
                        self.handle_message(msg.data)
                    elif msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED,
                                      aiohttp.WSMsgType.CLOSING):
                        break
                log.info("Xelion websocket closed (code %s)", ws.close_code)
                return connected_at
            finally:
                self._ws = None

    def handle_message(self, text: str) -> None:
        """Handle one websocket text frame (public so tests and tools can feed samples)."""
        try:
            msg = json.loads(text)
        except ValueError:
            log.debug("Xelion websocket: ignoring a frame that is not JSON")
            return
        if not isinstance(msg, dict):
            return
        kind = str(msg.get("notificationType") or "")
        if not kind and str(msg.get("messageType") or "").endswith("Event"):
            kind = str(msg["messageType"])
        payload: Any = msg
        for key in ("notificationObject", "notification", "object", "data"):
            inner = msg.get(key)
            if isinstance(inner, dict):
                payload = inner
                kind = kind or str(inner.get("notificationType") or "")
                break
        if kind == "activeChannelEvent":
            channel = payload.get("activeChannel")
            if isinstance(channel, dict):
                version = payload.get("version")
                self._emit(self.tracker.feed(
                    str(payload.get("updateType") or "insert"), channel,
                    int(version) if isinstance(version, int | float | str)
                    and str(version).lstrip("-").isdigit() else None))
        elif kind in _TRIGGER_EVENTS:
            value = payload.get("value")
            if isinstance(value, str):
                self._emit(self.tracker.trigger(value))
        elif kind == "doNotDisturbEvent" and self.on_notification is not None:
            try:
                self.on_notification(kind, payload)
            except Exception:
                log.exception("Xelion notification callback failed")
        elif kind == "missedCallEvent" and self.on_missed_call is not None:
            self.on_missed_call(payload)
