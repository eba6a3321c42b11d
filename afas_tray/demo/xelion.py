"""A simulated Xelion server (REST + websocket) for ``--demo`` mode, the tests and the benchmarks.

It follows Xelion's public API user guide, and refuses what the guide says a server refuses:

* ``me/login``/``me/renew``/``me/logout`` with their error codes; error bodies
  ``{"errorCode", "message", "info"}`` (10000 = not authenticated);
* channels as ``model/ActiveChannel.html`` has them: ``phone`` is a **SIP account** (``jan``,
  ``trunk-kpn``), ``name`` an addressable or line name, ``state`` ``RINGING``/``CONNECTED``,
  ``role`` ``CALLER``/``CALLEE``, ``callId`` an Asterisk-like ``SIP/trunk-kpn-000001d8``, and
  no number anywhere; ``GET communications/active_channels`` lists the whole PBX's channels;
* the ``new_call`` trigger: a ring sends ``executeCommandEvent``/``openDocumentEvent``/
  ``showNotificationEvent`` (by the trigger's action) whose value has the placeholders filled
  in (``${callerPhoneNumber}``, ``${callId}`` …); ``POST triggers`` for administrators only;
* the call log: ``callId`` is the SIP call id, ``caller_``-prefixed for calls the user placed
  (``resources/communications_get.html``), accepted by ``GET communications/<callId>``; paging
  is descending **by date** (the call's start), with ``meta.paging`` cursors;
* ``subject``/``contents`` patchable (``PATCH communications/<oid>``), read back as
  ``subject``/``contentSummary``; recordings only for answered calls, ``audio/x-mp3``;
* ``callTransferredEvent`` and ``missedCallEvent``.

Where the guide is silent (the frame around a notification) it sends the shape a public Xelion
web-chat client reads, ``{"notificationType": …, "notification": {…}}``; ``flat_frames`` sends
the payload's fields at the top level instead.

Control it from Python (``ring``, ``answer``, ``hangup``, ``transfer``, ``drop_websockets``,
``refuse_connections``, ``expire_sessions`` …) or over HTTP under ``/_sim/``. It counts requests
per endpoint so tests can prove the client does not hammer the API.

Run stand-alone: ``python -m afas_tray.demo.xelion --port 8600 --user demo:demo``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

from afas_tray.demo.server_thread import ServerThread, serve_until_interrupted
from afas_tray.demo.xelion_addressables import SimAddressBook

_DATE = "%Y-%m-%d %H:%M:%S"
_API = "/api/v1/{tenant}/"


def _fmt(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime(_DATE)


def fake_mp3(size: int) -> bytes:
    """Bytes that look like an MP3 (ID3 tag, then 128 kbit/s 44.1 kHz MPEG-1 layer III frames)."""
    header = b"ID3\x03\x00\x00\x00\x00\x00\x00"
    frame = b"\xff\xfb\x90\x64" + bytes(413)  # one 417-byte frame of silence
    body = frame * (max(size - len(header), 0) // len(frame) + 1)
    return (header + body)[:max(size, len(header))]


@dataclass
class _Session:
    user: str
    user_space: str
    token: str
    renewal: str
    expires: float
    alive: bool = True


@dataclass(eq=False)  # kept in a set, by identity
class _Conn:
    ws: web.WebSocketResponse
    user: str
    token: str
    queue: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    subscriptions: set[str] = field(default_factory=set)
    muted: bool = False  # stops answering pings: a "dead" connection


@dataclass
class _Call:
    call_id: str  # the SIP call id: what triggers and the call log call it
    number: str
    name: str
    user: str
    incoming: bool
    started: float
    channel_call_id: str = ""  # the channels' callId (Asterisk channel name of the first leg)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    answered_at: float | None = None
    left_at: float | None = None  # our user's part ended (transfer)
    logged: bool = False


@dataclass
class _CallLog:
    oid: str
    user: str
    call_id: str
    number: str
    name: str
    incoming: bool
    date: float
    end: float
    duration: int
    recording: bool
    recording_at: float
    subject: str = ""
    contents: str = ""


# What `afas-tray xelion trigger show` asks for (kept equal to afas_tray.xelion.trigger).
DEFAULT_TRIGGERS: list[dict[str, Any]] = [{
    "type": "new_call", "action": "system_command", "condition": "${incoming}=1",
    "value": "afas-tray://call?number=${callerPhoneNumber}&callId=${callId}",
    "active": True, "commonName": "AFAS Tray", "objectType": "XCCTrigger", "oid": "1801487",
}]
# Which trigger event a trigger action becomes (websockets/model/TriggerEvent.html names the
# three events; the guide shows only the system_command action by name).
_TRIGGER_KINDS = {"system_command": "executeCommandEvent", "open_document": "openDocumentEvent",
                  "open_url": "openDocumentEvent", "show_notification": "showNotificationEvent"}


def _fill(template: str, values: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)


class XelionSimulator:
    def __init__(
        self,
        users: dict[str, str] | None = None,
        tenant: str = "demo",
        *,
        mfa_users: set[str] | frozenset[str] = frozenset(),
        session_seconds: float = 3600.0,
        recording_delay: float = 0.0,
        audio_size: int = 32 * 1024,
        admins: set[str] | frozenset[str] = frozenset(),
        triggers: list[dict[str, Any]] | None = None,
        trigger_first: bool = False,
        flat_frames: bool = False,
        recordings_licensed: bool = True,
    ) -> None:
        """``triggers``: the tenant's triggers (default: the one AFAS Tray asks for, so a ring
        pops); ``trigger_first``: the trigger event comes before the channel events."""
        self.users = dict(users or {"demo": "demo"})
        self.admins = set(admins)
        self.triggers: list[dict[str, Any]] = list(DEFAULT_TRIGGERS if triggers is None
                                                   else triggers)
        self.trigger_first = trigger_first
        self.flat_frames = flat_frames
        self.recordings_licensed = recordings_licensed
        self.busy_requests = 0  # the next N API requests get 429 (10400)
        self.times: dict[str, list[float]] = {}  # request times per endpoint (monotonic)
        self.tenant = tenant
        self.mfa_users = set(mfa_users)
        self.session_seconds = session_seconds
        self.recording_delay = recording_delay
        self.audio_size = audio_size
        self.fail_renewals = False
        self.counts: Counter[str] = Counter()
        self.issued_secrets: list[str] = []  # every token handed out, so tests can look for leaks
        self._sessions: dict[str, _Session] = {}
        self._ws_keys: dict[str, str] = {}  # websocket key -> session token
        self._conns: set[_Conn] = set()
        self._calls: dict[str, _Call] = {}
        self._logs: list[_CallLog] = []
        self._next_oid = 2006001
        self._version = 0
        self._next_channel = 0x1D8
        self._refusing_until = 0.0
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._host = "127.0.0.1"
        self._port = 0
        self._audio_cache: dict[int, bytes] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.addressbook = SimAddressBook(self._new_oid)
        from afas_tray.demo.xelion_dial import DialSimulator

        self.dial = DialSimulator(self)  # me/device/*, missedCallEvent (issue 16)

    def _new_oid(self) -> str:
        self._next_oid += 1
        return str(self._next_oid)

    # -- server lifecycle ------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self._port}"

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        api = _API.format(tenant=self.tenant)
        app.add_routes([
            web.post(api + "me/login", self._login),
            web.post(api + "me/renew", self._renew),
            web.post(api + "me/logout", self._logout),
            web.post(api + "me/websocket", self._websocket_url),
            web.get(api + "communications", self._communications),
            web.get(api + "communications/active_channels", self._active_channels),
            web.get(api + "communications/{oid}", self._communication),
            web.patch(api + "communications/{oid}", self._patch_communication),
            web.get(api + "triggers", self._list_triggers),
            web.post(api + "triggers", self._create_trigger),
            web.get(api + "communications/{oid}/audio", self._audio),
            web.get("/websocket/{key}", self._websocket),
            *self.addressbook.routes(api, self._session_of, self._error),
            web.post("/_sim/{action}", self._control),
            web.get("/_sim/counts", self._control_counts),
        ])
        app.add_routes(self.dial.routes(api))
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(self._app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        self._host = host
        self._site = web.TCPSite(self._runner, host, port)
        await self._site.start()
        self._port = self._site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.base_url

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for conn in list(self._conns):
            with contextlib.suppress(Exception):
                await conn.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._site = None

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- control ---------------------------------------------------------------------------

    def ring(self, number: str, call_id: str | None = None, name: str = "", *,
             user: str | None = None, incoming: bool = True) -> str:
        """A call rings at ``user`` (default: the first user). Returns its SIP call id (the id
        triggers and the call log use; pass it to ``answer``/``hangup``/``transfer``)."""
        user = user or next(iter(self.users))
        call_id = call_id or f"{secrets.token_hex(8)}@sim.xelion.invalid"
        # Like Xelion, a caller in the address book is named in the channel (ActiveChannel.name).
        known, organisation = self.addressbook.name_for(number)
        name = name or known
        seq = f"{self._next_channel:08x}"
        self._next_channel += 2
        trunk = "trunk-kpn"
        first = trunk if incoming else user
        call = _Call(call_id, number, name, user, incoming, time.time(),
                     channel_call_id=f"SIP/{first}-{seq}")
        self._calls[call_id] = call
        remote = {
            "callId": call.channel_call_id, "channelId": f"SIP/{trunk}-{seq}",
            # The guide: "addressable name, phone line name, …": the caller's name when Xelion
            # knows it, else the line the call came in on. Never the number.
            "name": name or "Hoofdnummer", "organisationName": organisation or name,
            "role": "CALLER" if incoming else "CALLEE", "phone": trunk,
            "state": "RINGING", "twinChannel": False,
        }
        own = {
            "callId": call.channel_call_id,
            "channelId": f"SIP/{user}-{int(seq, 16) + 1:08x}",
            "name": user.title(), "role": "CALLEE" if incoming else "CALLER",
            "phone": user, "phoneUser": f"{user.title()} (sim)",
            "state": "RINGING", "twinChannel": False,
        }
        if incoming and self.trigger_first:
            self._fire_triggers(call)
        for channel in ((remote, own) if incoming else (own, remote)):
            self._insert(call, channel)
        if incoming and not self.trigger_first:
            self._fire_triggers(call)
        return call_id

    def _fire_triggers(self, call: _Call) -> None:
        """The user's active ``new_call`` triggers whose condition holds, as trigger events."""
        # Xelion keeps numbers international with the delimiters dropped.
        number = re.sub(r"[^0-9+]", "", call.number)
        values = {
            "callerPhoneNumber": number if call.incoming else call.user,
            "calleePhoneNumber": call.user if call.incoming else number,
            "phoneNumber": number, "callId": call.call_id,
            "commonName": call.name or call.number, "incoming": "1" if call.incoming else "0",
        }
        for trig in self.triggers:
            if not trig.get("active", True) or trig.get("type") != "new_call":
                continue
            cond = str(trig.get("condition") or "")
            if cond and _fill(cond, values).replace(" ", "") not in ("1=1", "0=0"):
                continue
            kind = _TRIGGER_KINDS.get(str(trig.get("action")), "executeCommandEvent")
            self._broadcast(call.user, kind, {"name": str(trig.get("commonName") or "trigger"),
                                              "value": _fill(str(trig.get("value")), values)})

    def answer(self, call_id: str) -> None:
        call = self._calls[call_id]
        call.answered_at = time.time()
        # The guide: a changed channel is removed first and inserted again.
        for channel in list(call.channels.values()):
            self._remove(call, channel)
            self._insert(call, {**channel, "state": "CONNECTED"})

    def transfer(self, call_id: str, to: str = "colleague") -> None:
        """Our user hands the call over: our channel goes, a colleague's comes, our log entry
        is written and a ``callTransferredEvent`` tells the user."""
        call = self._calls[call_id]
        call.left_at = time.time()
        own = [c for c in call.channels.values() if c.get("phone") == call.user]
        for channel in own:
            self._remove(call, channel)
        self._log_call(call)
        self._insert(call, {
            "callId": call.channel_call_id, "channelId": f"SIP/{to}-{self._next_channel:08x}",
            "name": to.title(), "role": "CALLEE" if call.incoming else "CALLER", "phone": to,
            "state": "CONNECTED", "twinChannel": False,
        }, notify=False)
        self._next_channel += 1
        self._broadcast(call.user, "callTransferredEvent", {
            "callId": call.call_id, "transferredTo": {"commonName": to.title()},
        })

    def hangup(self, call_id: str, recording: bool = True) -> str | None:
        """The call ends; a CallLog appears for our user. Returns its oid (None after transfer)."""
        call = self._calls[call_id]
        for channel in list(call.channels.values()):
            self._remove(call, channel, notify=call.left_at is None)
        if call.incoming and call.answered_at is None and call.left_at is None:
            self._broadcast(call.user, "missedCallEvent", {
                "callId": call.call_id, "commonName": call.name or "",
                "phoneNumber": call.number,
            })
        return self._log_call(call, recording)

    def trigger(self, kind: str, value: str, *, user: str | None = None) -> None:
        """A Xelion trigger fires: ``openDocumentEvent`` or ``executeCommandEvent``."""
        user = user or next(iter(self.users))
        self._broadcast(user, kind, {"name": "demo trigger", "value": value})

    def write_report(self, oid: str, subject: str, contents: str) -> None:
        """The operator types a call report into the Xelion log entry (the manual's
        "gespreksverslag")."""
        log = next(lg for lg in self._logs if lg.oid == oid)
        log.subject, log.contents = subject, contents

    def report_of(self, oid: str) -> tuple[str, str]:
        log = next(lg for lg in self._logs if lg.oid == oid)
        return log.subject, log.contents

    def reset_version(self) -> None:
        """The channel version starts again (server restart): clients must reload the list."""
        self._version = 0

    def active_channel_list(self) -> list[dict[str, Any]]:
        return [dict(ch) for call in self._calls.values() for ch in call.channels.values()]

    def requests_within(self, endpoint: str, seconds: float) -> int:
        """The most requests to ``endpoint`` (as in ``counts``) inside any ``seconds`` window."""
        times = sorted(self.times.get(endpoint, []))
        best = 0
        j = 0
        for i, t in enumerate(times):
            while times[j] < t - seconds:
                j += 1
            best = max(best, i - j + 1)
        return best

    def drop_websockets(self) -> int:
        """Close every websocket from the server side. Returns how many were open."""
        conns = list(self._conns)
        for conn in conns:
            self._spawn(conn.ws.close())
        return len(conns)

    def mute_websockets(self) -> None:
        """Open websockets stop answering pings and get no events: a silently dead link."""
        for conn in self._conns:
            conn.muted = True

    def refuse_connections(self, seconds: float) -> None:
        """Go off the network for a while: stop listening, cut open connections, come back."""
        self._refusing_until = time.monotonic() + seconds
        self.drop_websockets()
        self._spawn(self._refuse(seconds))

    def expire_sessions(self) -> None:
        """Every session ends at once (server restart, long sleep); their websockets close."""
        for session in self._sessions.values():
            session.alive = False
        self._sessions.clear()
        self._ws_keys.clear()
        self.drop_websockets()

    def reset_counts(self) -> None:
        self.counts.clear()
        self.times.clear()

    @property
    def websocket_count(self) -> int:
        return len(self._conns)

    def log_call(self, number: str, *, user: str | None = None, incoming: bool = True,
                 duration: int = 30, recording: bool = True, name: str = "",
                 started: float | None = None, call_id: str | None = None) -> str:
        """Add a finished call directly (for paging tests and demos). Returns its oid.
        ``started``: when it began (default: ``duration`` seconds ago)."""
        user = user or next(iter(self.users))
        now = time.time()
        begin = started if started is not None else now - duration
        sip = call_id or f"{secrets.token_hex(8)}@sim.xelion.invalid"
        call = _Call(sip, number, name, user, incoming, begin)
        call.answered_at = call.started if duration > 0 else None
        return self._log_call(call, recording, end=begin + duration) or ""

    # -- internals: calls and events ---------------------------------------------------------

    def _log_call(self, call: _Call, recording: bool = True, end: float | None = None
                  ) -> str | None:
        if call.logged:
            return None
        call.logged = True
        end = end or call.left_at or time.time()
        # An answered call lasts at least a second (durationSec > 0 is how clients tell).
        duration = max(1, round(end - call.answered_at)) if call.answered_at else 0
        oid = str(self._next_oid)
        self._next_oid += 1
        self._logs.append(_CallLog(
            # The guide: prefixed caller_ when the user placed the call.
            oid=oid, user=call.user,
            call_id=call.call_id if call.incoming else "caller_" + call.call_id,
            number=call.number, name=call.name,
            incoming=call.incoming, date=call.started, end=end, duration=duration,
            recording=recording and call.answered_at is not None,
            recording_at=time.time() + self.recording_delay,
        ))
        return oid

    def _insert(self, call: _Call, channel: dict[str, Any], notify: bool = True) -> None:
        call.channels[channel["channelId"]] = channel
        self._channel_event(call, "insert", channel, notify)

    def _remove(self, call: _Call, channel: dict[str, Any], notify: bool = True) -> None:
        call.channels.pop(channel["channelId"], None)
        self._channel_event(call, "remove", channel, notify)

    def _channel_event(self, call: _Call, update_type: str, channel: dict[str, Any],
                       notify: bool = True) -> None:
        self._version += 1
        if not notify:
            return  # a channel of a call our user left: no longer this user's business
        self._broadcast(call.user, "activeChannelEvent", {
            "updateType": update_type, "version": self._version, "activeChannel": dict(channel),
        })

    def _broadcast(self, user: str, kind: str, payload: dict[str, Any]) -> None:
        if self.flat_frames:
            frame = json.dumps({"notificationType": kind, **payload})
        else:
            frame = json.dumps({"notificationType": kind, "notification": payload})
        for conn in self._conns:
            if conn.user == user and kind in conn.subscriptions and not conn.muted:
                conn.queue.put_nowait(frame)

    async def _refuse(self, seconds: float) -> None:
        runner = self._runner
        if self._site is not None:
            await self._site.stop()
            self._site = None
        if runner is not None and runner.server is not None:
            for handler in list(runner.server.connections):
                handler.force_close()
        await asyncio.sleep(seconds)
        if runner is not None and self._runner is runner:
            self._site = web.TCPSite(runner, self._host, self._port)
            await self._site.start()

    # -- internals: HTTP -----------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if time.monotonic() < self._refusing_until and not request.path.startswith("/_sim/"):
            if request.transport is not None:
                request.transport.abort()
            raise web.HTTPServiceUnavailable()
        if not request.path.startswith("/_sim/"):
            route = request.match_info.route.resource
            name = route.canonical if route is not None else request.path
            prefix = _API.format(tenant=self.tenant)
            endpoint = f"{request.method} {name.removeprefix(prefix)}"
            self.counts[endpoint] += 1
            self.times.setdefault(endpoint, []).append(time.monotonic())
            if self.busy_requests > 0 and request.path.startswith(prefix):
                self.busy_requests -= 1
                return self._error(request, 429, 10400,
                                   "too many concurrent requests on this session")
        return await handler(request)

    @staticmethod
    def _error(request: web.Request, status: int, code: int, message: str) -> web.Response:
        return web.json_response(
            {"errorCode": code, "message": message,
             "info": f"resource={request.method} {request.path}"},
            status=status,
        )

    def _session_of(self, request: web.Request) -> _Session | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "xelion" or not token:
            return None
        session = self._sessions.get(token.strip())
        if session is None or not session.alive:
            return None
        if time.time() >= session.expires:
            session.alive = False
            self._sessions.pop(session.token, None)
            return None
        return session

    def _new_session(self, user: str, user_space: str) -> _Session:
        session = _Session(user, user_space, secrets.token_hex(32), secrets.token_hex(20),
                           time.time() + self.session_seconds)
        self._sessions[session.token] = session
        self.issued_secrets += [session.token, session.renewal]
        return session

    def _login_reply(self, session: _Session) -> dict[str, Any]:
        return {
            "authentication": session.token,
            "renewalToken": session.renewal,
            "validUntil": _fmt(session.expires),
            "version": "v1",
            "serverVersion": "simulated",
            "brand": "Xelion (simulated)",
            "buildNumber": "0",
            "host": self._host,
            "tenant": self.tenant,
            "userName": session.user,
        }

    async def _login(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return self._error(request, 400, 10202, "failed to decode the credentials object")
        if not isinstance(body, dict) or not body:
            return self._error(request, 400, 10200, "client request has no payload")
        user = str(body.get("userName") or "")
        password = str(body.get("password") or "")
        space = str(body.get("userSpace") or "")
        if not user:
            return self._error(request, 400, 10002, "no user name specified")
        if not password:
            return self._error(request, 400, 10003, "no password specified")
        if not space:
            return self._error(request, 401, 10011, "the user space is missing")
        if len(space) > 200:
            return self._error(request, 401, 10010, "user space must not exceed 200 characters")
        # A token in the Authorization header ends that session first (guide: me/login).
        previous = self._session_of(request)
        if previous is not None:
            previous.alive = False
            self._sessions.pop(previous.token, None)
        if self.users.get(user) != password:
            return self._error(request, 401, 10004, "Wrong user name, password or tenant")
        if user in self.mfa_users:
            return self._error(request, 401, 10013, "mfa required")
        now = time.time()
        for session in self._sessions.values():
            if session.alive and session.expires > now and session.user == user \
                    and session.user_space == space:
                return self._error(request, 401, 10005,
                                   "multiple logins: user is already logged in")
        return web.json_response(self._login_reply(self._new_session(user, space)))

    async def _renew(self, request: web.Request) -> web.Response:
        session = self._session_of(request)
        if session is None:
            return self._error(request, 401, 10000, "The user is not authenticated.")
        try:
            payload = await request.json()
        except ValueError:
            return self._error(request, 400, 10202, "failed to decode the password")
        if not isinstance(payload, str) or not payload:
            return self._error(request, 400, 10200, "client request has no payload")
        if self.fail_renewals:
            return self._error(request, 401, 10009, "renew failed: server error")
        if payload not in (session.renewal, self.users.get(session.user)):
            return self._error(request, 401, 10020, "Invalid authentication")
        old_token = session.token
        self._sessions.pop(old_token, None)
        session.token = secrets.token_hex(32)
        session.renewal = secrets.token_hex(20)
        session.expires = time.time() + self.session_seconds
        self._sessions[session.token] = session
        self.issued_secrets += [session.token, session.renewal]
        # Renewal keeps the session: its websocket address and open websockets stay valid.
        for key, token in list(self._ws_keys.items()):
            if token == old_token:
                self._ws_keys[key] = session.token
        for conn in self._conns:
            if conn.token == old_token:
                conn.token = session.token
        reply = self._login_reply(session)
        return web.json_response({k: reply[k] for k in
                                  ("authentication", "renewalToken", "validUntil")})

    async def _logout(self, request: web.Request) -> web.Response:
        session = self._session_of(request)
        if session is None:
            return self._error(request, 401, 10000, "The user is not authenticated.")
        session.alive = False
        self._sessions.pop(session.token, None)
        return web.Response(status=200)

    async def _websocket_url(self, request: web.Request) -> web.Response:
        session = self._session_of(request)
        if session is None:
            return self._error(request, 401, 10000, "The user is not authenticated.")
        key = secrets.token_urlsafe(16)
        self._ws_keys[key] = session.token
        self.issued_secrets.append(key)
        return web.json_response({"object": f"ws://{request.host}/websocket/{key}"})

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        token = self._ws_keys.pop(request.match_info["key"], None)
        session = self._sessions.get(token or "")
        if session is None or not session.alive:
            return self._error(request, 403, 10000, "unknown or expired websocket")
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        conn = _Conn(ws, session.user, session.token)
        self._conns.add(conn)
        writer = asyncio.get_running_loop().create_task(self._writer(conn))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.PING:
                    if not conn.muted:
                        await ws.pong(msg.data)
                elif msg.type == WSMsgType.TEXT:
                    self._on_client_message(conn, msg.data)
        finally:
            self._conns.discard(conn)
            conn.queue.put_nowait(None)
            writer.cancel()
        return ws

    def _on_client_message(self, conn: _Conn, text: str) -> None:
        try:
            msg = json.loads(text)
        except ValueError:
            return
        if not isinstance(msg, dict):
            return
        kind = msg.get("messageType")
        requests: list[Any] = []
        if kind == "multiNotificationRequest":
            requests = msg.get("notifications") or []
        elif kind == "notificationRequest":
            requests = [msg]
        elif kind == "test":
            conn.queue.put_nowait(text)  # the guide: a test message is echoed
        for req in requests:
            if not isinstance(req, dict) or not req.get("notificationType"):
                continue
            on = str(req.get("toggle")).lower() in ("true", "1")
            (conn.subscriptions.add if on else conn.subscriptions.discard)(
                str(req["notificationType"]))

    async def _writer(self, conn: _Conn) -> None:
        while True:
            frame = await conn.queue.get()
            if frame is None or conn.ws.closed:
                return
            try:
                await conn.ws.send_str(frame)
            except (ConnectionError, RuntimeError):
                return

    def _visible_logs(self, session: _Session) -> list[_CallLog]:
        return [log for log in self._logs if log.user == session.user]

    def _list_object(self, log: _CallLog, base: str) -> dict[str, Any]:
        arrow = "<-" if log.incoming else "->"
        date = _fmt(log.date)
        return {
            "object": {
                "subject": log.subject,
                "date": date,
                "commonName": f"{log.user} {arrow} {log.name or log.number}, {date[:10]}",
                "oid": log.oid,
                "objectType": "CallLog",
            },
            "links": [{"rel": "self", "href": f"{base}communications/{log.oid}",
                       "method": "GET"}],
        }

    async def _communications(self, request: web.Request) -> web.Response:
        session = self._session_of(request)
        if session is None:
            return self._error(request, 401, 10000, "The user is not authenticated.")
        q = request.query
        try:
            limit = max(1, min(int(q.get("limit", "15")), 1000))
        except ValueError:
            return self._error(request, 400, 10202, "limit is not a number")
        ascending = q.get("order", "descending").lower().startswith("asc")
        logs = self._visible_logs(session)
        for clause in filter(None, q.get("where", "").split(",")):
            key, _, value = clause.partition("=")
            key, value = key.strip(), value.strip()
            if key == "obj_type" and value != "CallLog":
                logs = []
            elif key == "incoming":
                logs = [lg for lg in logs if lg.incoming == (value.lower() == "true")]
            elif key == "callId":
                logs = [lg for lg in logs if lg.call_id == value]
        # The guide: ordered by date ("there is also a date part to consider"), not by oid. A
        # call is logged at its end but dated at its start, so a long call can sit below
        # shorter, later ones.
        logs.sort(key=lambda lg: (lg.date, int(lg.oid)), reverse=not ascending)
        oids = [lg.oid for lg in logs]
        try:
            if q.get("after"):
                if q["after"] not in oids:
                    return self._error(request, 400, 10202, "unknown cursor")
                page = logs[oids.index(q["after"]) + 1:][:limit]
            elif q.get("before"):
                if q["before"] not in oids:
                    return self._error(request, 400, 10202, "unknown cursor")
                page = logs[:oids.index(q["before"])][-limit:]
            else:
                page = logs[:limit]
        except ValueError:
            return self._error(request, 400, 10202, "cursor is not an id")
        base = f"http://{request.host}{_API.format(tenant=self.tenant)}"
        meta: dict[str, Any] = {
            "links": [{"rel": "refresh", "href": str(request.url), "method": "GET"}],
        }
        if page:
            meta["paging"] = {"previousId": page[0].oid, "nextId": page[-1].oid}
        return web.json_response({"data": [self._list_object(lg, base) for lg in page],
                                  "meta": meta})

    def _find_log(self, session: _Session, ident: str) -> _CallLog | None:
        for log in self._visible_logs(session):
            if ident in (log.oid, log.call_id):
                return log
        return None

    async def _communication(self, request: web.Request) -> web.Response:
        session = self._session_of(request)
        if session is None:
            return self._error(request, 401, 10000, "The user is not authenticated.")
        log = self._find_log(session, request.match_info["oid"])
        if log is None:
            return self._error(request, 404, 10100, "Resource not found.")
        remote = {"commonName": log.name, "role": "rtFrom" if log.incoming else "rtTo",
                  "address": log.number, "oid": f"{log.oid}1", "objectType": "Addressee"}
        own = {"commonName": log.user, "role": "rtTo" if log.incoming else "rtFrom",
               "address": log.user, "oid": f"{log.oid}2", "objectType": "Addressee",
               "addressable": {"commonName": log.user, "oid": "1650975",
                               "objectType": "Person"}}
        date = _fmt(log.date)
        arrow = "<-" if log.incoming else "->"
        return web.json_response({"object": {
            "subject": log.subject,
            "contentSummary": log.contents[:500],
            "date": date,
            "durationSec": log.duration,
            "incoming": log.incoming,
            "retrieved": True,
            "displayed": True,
            "flagged": False,
            "hasAttachment": False,
            "callId": log.call_id,
            "callEndTime": _fmt(log.end),
            "participants": [remote, own] if log.incoming else [own, remote],
            "commonName": f"{log.user} {arrow} {log.name or log.number}, {date[:10]}",
            "oid": log.oid,
            "objectType": "CallLog",
        }})

    async def _active_channels(self, request: web.Request) -> web.Response:
        session = self._session_of(request)
        if session is None:
            return self._error(request, 401, 10000, "The user is not authenticated.")
        # "the current active channels on the PBX": everybody's, not only this user's.
        return web.json_response({
            "data": [{"object": ch} for ch in self.active_channel_list()],
            "meta": {"links": [{"rel": "refresh", "href": str(request.url), "method": "GET"}]},
        })

    async def _patch_communication(self, request: web.Request) -> web.Response:
        session = self._session_of(request)
        if session is None:
            return self._error(request, 401, 10000, "The user is not authenticated.")
        log = self._find_log(session, request.match_info["oid"])
        if log is None:
            return self._error(request, 404, 10100, "Resource not found.")
        try:
            body = await request.json()
        except ValueError:
            return self._error(request, 400, 10202, "failed to decode the patch")
        ops = body.get("operations") if isinstance(body, dict) else None
        if not isinstance(ops, list) or not ops:
            return self._error(request, 400, 10200, "client request has no payload")
        changes: dict[str, str] = {}
        for op in ops:
            if not isinstance(op, dict) or op.get("op") != "replace" or \
                    op.get("path") not in ("/subject", "/contents", "/flagged", "/processed",
                                           "/afterCallType", "/displayed", "/retrieved"):
                return self._error(request, 400, 10202, f"unsupported patch operation {op!r}")
            if op["path"] in ("/subject", "/contents"):
                if not isinstance(op.get("value"), str):
                    return self._error(request, 400, 10202, "value must be text")
                changes[op["path"][1:]] = op["value"]
        log.subject = changes.get("subject", log.subject)
        log.contents = changes.get("contents", log.contents)
        return web.Response(status=200)

    def _trigger_guard(self, request: web.Request) -> web.Response | _Session:
        session = self._session_of(request)
        if session is None:
            return self._error(request, 401, 10000, "The user is not authenticated.")
        if session.user not in self.admins:
            # The guide: triggers need "Administration" authorization.
            return self._error(request, 403, 10001, "administration rights required")
        return session

    async def _list_triggers(self, request: web.Request) -> web.Response:
        guard = self._trigger_guard(request)
        if isinstance(guard, web.Response):
            return guard
        return web.json_response({"data": [{"object": t} for t in self.triggers],
                                  "meta": {"links": []}})

    async def _create_trigger(self, request: web.Request) -> web.Response:
        guard = self._trigger_guard(request)
        if isinstance(guard, web.Response):
            return guard
        try:
            body = await request.json()
        except ValueError:
            return self._error(request, 400, 10202, "failed to decode the trigger")
        if not isinstance(body, dict) or not body.get("type") or not body.get("action") \
                or not isinstance(body.get("value"), str):
            return self._error(request, 400, 10200, "type, action and value are required")
        trig = {**body, "oid": str(self._next_oid), "objectType": "XCCTrigger"}
        self._next_oid += 1
        self.triggers.append(trig)
        return web.json_response({"object": trig})

    async def _audio(self, request: web.Request) -> web.Response:
        session = self._session_of(request)
        if session is None:
            return self._error(request, 401, 10000, "The user is not authenticated.")
        accept = request.headers.get("Accept", "*/*")
        if not any(a.strip().split(";")[0] in ("*/*", "audio/*", "audio/x-mp3", "audio/mpeg")
                   for a in accept.split(",")):
            return self._error(request, 406, 10202, "the recording is audio/x-mp3")
        if not self.recordings_licensed:
            return self._error(request, 403, 10101, "no licence for call recordings")
        log = self._find_log(session, request.match_info["oid"])
        if log is None or not log.recording or time.time() < log.recording_at:
            return self._error(request, 404, 10100,
                               "No call with the specified OID exists or it has no recording")
        body = self._audio_cache.get(self.audio_size)
        if body is None:
            body = self._audio_cache[self.audio_size] = fake_mp3(self.audio_size)
        return web.Response(body=body, content_type="audio/x-mp3",
                            headers={"Content-Disposition": "attachment; filename=audio.mp3"})

    # -- /_sim/ control over HTTP ------------------------------------------------------------

    async def _control_counts(self, request: web.Request) -> web.Response:
        return web.json_response(dict(self.counts))

    async def _control(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        try:
            body = await request.json() if request.can_read_body else {}
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        try:
            result: Any = None
            if action == "ring":
                result = {"callId": self.ring(str(body["number"]), body.get("callId"),
                                              str(body.get("name", "")), user=body.get("user"),
                                              incoming=bool(body.get("incoming", True)))}
            elif action == "answer":
                self.answer(str(body["callId"]))
            elif action == "hangup":
                result = {"oid": self.hangup(str(body["callId"]),
                                             bool(body.get("recording", True)))}
            elif action == "transfer":
                self.transfer(str(body["callId"]), str(body.get("to", "colleague")))
            elif action == "trigger":
                self.trigger(str(body["kind"]), str(body["value"]), user=body.get("user"))
            elif action == "drop_websockets":
                result = {"dropped": self.drop_websockets()}
            elif action == "mute_websockets":
                self.mute_websockets()
            elif action == "refuse_connections":
                self.refuse_connections(float(body.get("seconds", 5)))
            elif action == "expire_sessions":
                self.expire_sessions()
            elif action == "reset_counts":
                self.reset_counts()
            elif action == "write_report":
                self.write_report(str(body["oid"]), str(body.get("subject", "")),
                                  str(body.get("contents", "")))
            elif action == "log_call":
                result = {"oid": self.log_call(str(body["number"]), user=body.get("user"))}
            else:
                handled, result = self.dial.control(action, body)
                if not handled:
                    return web.json_response({"error": f"unknown action {action}"}, status=404)
        except KeyError as exc:
            return web.json_response({"error": f"missing or unknown {exc}"}, status=400)
        return web.json_response(result or {"ok": True})


class SimulatorThread(ServerThread):
    """Runs a simulator on its own event loop in a thread (CLI, benchmarks, Qt tests)."""

    def __init__(self, sim: XelionSimulator) -> None:
        super().__init__(sim, name="xelion-sim", start_timeout=10)
        self.sim = sim

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        return self._start(host, port)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Simulated Xelion server (REST + websocket).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tenant", default="demo")
    parser.add_argument("--user", action="append", default=[], metavar="NAME:PASSWORD")
    parser.add_argument("--mfa-user", action="append", default=[], metavar="NAME")
    parser.add_argument("--session-seconds", type=float, default=3600.0)
    parser.add_argument("--recording-delay", type=float, default=0.0)
    parser.add_argument("--audio-size", type=int, default=32 * 1024)
    args = parser.parse_args(argv)
    users = dict(u.split(":", 1) for u in args.user if ":" in u) or {"demo": "demo"}
    sim = XelionSimulator(users, args.tenant, mfa_users=set(args.mfa_user),
                          session_seconds=args.session_seconds,
                          recording_delay=args.recording_delay, audio_size=args.audio_size)

    def announce(url: str) -> None:
        print(f"Simulated Xelion at {url} (tenant {args.tenant}); control under {url}/_sim/",
              flush=True)

    serve_until_interrupted(sim, args.host, args.port, announce)


if __name__ == "__main__":
    main()
