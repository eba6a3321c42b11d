"""The simulator's dialling and missed calls: ``me/device/register``, ``me/device/pbx_call`` and
``missedCallEvent`` (issue 16), kept apart from ``demo/xelion.py`` and registered there.

Refuses what the guide says the server refuses (``resources/me_device_pbx_call.html``,
``resources/me_device_register.html``, ``common_errors.html``):

- no payload → 400 10200; a payload that is not one phone number (a JSON string) → 400 10202;
- no device registered with *this session* → 400 10050; a device without phone number → 400 10052
  (the guide lists both without an HTTP code of their own: they sit in the 400 block);
- a user without the PBX-Call-Initiation capability → 403 10101 (the pbx_call page only says
  the capability "must be configured"; common_errors' 403 10101 is the closest documented answer);
- registration without payload or ``uuid`` → 400 10200.

A missed call is sent as ``missedCallEvent`` (``websockets/model/CallEvent.html``). The stored
guide shows that model's first fields only (``initiation``, ``date``); the rest of the frame —
caller number and name, call id — is our assumption, and the client reads several spellings.
It also leaves an unanswered incoming CallLog (duration 0), as Xelion's call log would.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from afas_tray.demo.xelion import XelionSimulator

_PHONE = re.compile(r"\+?[0-9]{2,20}")


@dataclass
class DialRequest:
    user: str
    number: str
    device_number: str
    at: float = field(default_factory=time.time)


class DialSimulator:
    def __init__(self, sim: XelionSimulator) -> None:
        self.sim = sim
        self.devices: dict[str, dict[str, Any]] = {}  # session token -> registered device
        self.without_capability: set[str] = set()  # users lacking PBX-Call-Initiation
        self.requests: list[DialRequest] = []  # every accepted pbx_call, oldest first
        self.missed: list[dict[str, Any]] = []  # every missedCallEvent sent

    def routes(self, api: str) -> list[web.RouteDef]:
        return [
            web.post(api + "me/device/register", self._register),
            web.post(api + "me/device/pbx_call", self._pbx_call),
        ]

    # -- control -----------------------------------------------------------------------------

    def missed_call(self, number: str, name: str = "", *, user: str | None = None,
                    call_id: str | None = None) -> str:
        """An incoming call rang out unanswered at ``user``: event + CallLog. Returns the id."""
        from afas_tray.demo.xelion import _Call, _fmt

        sim = self.sim
        user = user or next(iter(sim.users))
        call_id = call_id or f"{int(time.time())}.{secrets.token_hex(3)}"
        now = time.time()
        payload = {
            "initiation": "Incoming",
            "date": _fmt(now),
            "callId": call_id,
            "caller": {"name": name, "number": number},
            "callee": {"name": user, "number": f"sip-{user}"},
        }
        self.missed.append(payload)
        sim._broadcast(user, "missedCallEvent", payload)
        call = _Call(call_id, number, name, user, True, now - 20)  # never answered
        sim._log_call(call, recording=False, end=now)
        return call_id

    def control(self, action: str, body: dict[str, Any]) -> tuple[bool, Any]:
        """``/_sim/<action>`` for the actions of this module: (handled, result)."""
        if action == "missed_call":
            return True, {"callId": self.missed_call(str(body["number"]), str(body.get("name", "")),
                                                     user=body.get("user"),
                                                     call_id=body.get("callId"))}
        if action == "dial_requests":
            return True, {"requests": [vars(r) for r in self.requests]}
        if action == "pbx_capability":
            user = str(body["user"])
            if body.get("enabled", True):
                self.without_capability.discard(user)
            else:
                self.without_capability.add(user)
            return True, None
        return False, None

    # -- HTTP --------------------------------------------------------------------------------

    async def _payload(self, request: web.Request) -> tuple[bool, Any]:
        raw = await request.read()
        if not raw.strip():
            return False, None
        try:
            return True, json.loads(raw)
        except ValueError:
            return True, ValueError

    async def _register(self, request: web.Request) -> web.Response:
        session = self.sim._session_of(request)
        if session is None:
            return self.sim._error(request, 401, 10000, "The user is not authenticated.")
        present, body = await self._payload(request)
        if not present or not isinstance(body, dict) or not body.get("uuid"):
            if body is ValueError:
                return self.sim._error(request, 400, 10202,
                                       "failed to decode the Push Service Attributes object")
            return self.sim._error(request, 400, 10200,
                                   "parameter is missing: no payload or UUID not specified")
        self.devices[session.token] = {"uuid": str(body["uuid"]),
                                       "phoneNumber": str(body.get("phoneNumber") or "")}
        return web.Response(status=200)

    async def _pbx_call(self, request: web.Request) -> web.Response:
        session = self.sim._session_of(request)
        if session is None:
            return self.sim._error(request, 401, 10000, "The user is not authenticated.")
        present, body = await self._payload(request)
        if not present or body in ("", None):
            return self.sim._error(request, 400, 10200, "no phone number is specified.")
        if not isinstance(body, str) or not _PHONE.fullmatch(body.strip()):
            return self.sim._error(request, 400, 10202, "failed to decode the phone number.")
        device = self.devices.get(session.token)
        if device is None:
            return self.sim._error(request, 400, 10050,
                                   "No device is registered with the session.")
        if not device["phoneNumber"]:
            return self.sim._error(request, 400, 10052,
                                   "No phone number is registered with the device.")
        if session.user in self.without_capability:
            return self.sim._error(request, 403, 10101,
                                   "The PBX-Call-Initiation capability is not configured.")
        self.requests.append(DialRequest(session.user, body.strip(), device["phoneNumber"]))
        # The PBX now rings the device, then the number: a call the operator makes.
        self.sim.ring(body.strip(), user=session.user, incoming=False)
        return web.Response(status=200)
