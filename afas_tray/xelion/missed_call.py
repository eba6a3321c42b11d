"""``missedCallEvent`` (websocket) → the plain fields of a missed call.

``websockets/model/CallEvent.html``: "The missed call event can be used to show a missed call
notification to an end user"; the model starts with ``initiation`` and ``date`` (datetime). The
stored copy of the guide stops there, so where the caller's number, name and the call id sit is
not documented: this reads the spellings Xelion uses elsewhere (``callId``; participants with
``name``/``commonName`` and ``number``/``phoneNumber``/``address``; ``caller``/``remote``/``from``
objects or flat ``callerNumber``/``callerName``) and logs the field names of the first event it
sees, so the real shape shows in the log once. Returns a plain dict, no app state.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from afas_tray.xelion.client import parse_xelion_date

log = logging.getLogger(__name__)

EVENT = "missedCallEvent"
_PARTY_KEYS = ("caller", "remote", "from", "remoteParticipant", "callerParticipant", "initiator")
_NUMBER_KEYS = ("number", "phoneNumber", "phone_number", "address", "telephone", "phone")
_NAME_KEYS = ("name", "commonName", "displayName", "remoteName")
_FLAT_NUMBER = ("callerNumber", "callerPhoneNumber", "remoteNumber", "phoneNumber", "number",
                "fromNumber")
_FLAT_NAME = ("callerName", "remoteName", "commonName", "name")
_logged_shape = False


def _first_str(obj: Mapping[str, Any], keys: tuple[str, ...]) -> str:
    for key in keys:
        value = obj.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
    return ""


def unwrap(message: str | Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
    """(notification type, payload) of a websocket frame: Xelion's ``notificationObject``
    wrapper, the web-chat client's ``notification``, or a flat message."""
    if isinstance(message, str):
        try:
            message = json.loads(message)
        except ValueError:
            return None
    if not isinstance(message, Mapping):
        return None
    kind = str(message.get("notificationType") or "")
    payload: Mapping[str, Any] = message
    for key in ("notificationObject", "notification", "object", "data"):
        inner = message.get(key)
        if isinstance(inner, Mapping):
            payload = inner
            kind = kind or str(inner.get("notificationType") or "")
            break
    return kind, payload


def parse_missed_call(message: str | Mapping[str, Any]) -> dict[str, Any] | None:
    """``{"number", "name", "time", "call_id"}`` of a missedCallEvent frame (or its payload);
    None for other frames and for a missed call without any number."""
    global _logged_shape
    found = unwrap(message)
    if found is None:
        return None
    kind, payload = found
    if kind and kind != EVENT:
        return None
    if not _logged_shape:
        _logged_shape = True
        log.info("first missedCallEvent: fields %s", sorted(str(k) for k in payload))
    number = name = ""
    for key in _PARTY_KEYS:
        party = payload.get(key)
        if isinstance(party, Mapping):
            number = _first_str(party, _NUMBER_KEYS)
            name = _first_str(party, _NAME_KEYS)
            addressable = party.get("addressable")
            if not name and isinstance(addressable, Mapping):
                name = _first_str(addressable, ("commonName", "name"))
            if number:
                break
    if not number:
        number = _first_str(payload, _FLAT_NUMBER)
        name = name or _first_str(payload, _FLAT_NAME)
    if not number:
        return None
    when = parse_xelion_date(payload.get("date"))
    return {
        "number": number,
        "name": name,
        "time": when.timestamp() if when is not None else 0.0,
        "call_id": _first_str(payload, ("callId", "call_id", "id")),
    }
