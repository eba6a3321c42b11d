"""Field capture: what one desk's Xelion websocket and REST replies really look like, redacted.

``afas-tray xelion capture`` records the raw websocket frames and the REST replies the app reads
(``Capture``), so a consultant can check a new tenant in minutes and send the file; ``replay``
feeds a capture through the event stream again (the tests replay files from
``tests/data/xelion/``). Tokens, passwords, renewal tokens and websocket addresses are always
replaced; phone numbers are replaced by stable stand-ins unless ``keep_numbers``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from afas_tray.events import CallEvent

FORMAT = 1
_SECRET_KEYS = {"authentication", "renewaltoken", "password", "appkey", "token", "sessionid",
                "session", "cookie"}
# A phone number inside any text: digits with separators, at least 6 digits, not part of a word
# (SIP call ids and hex oids stay).
_NUMBER = re.compile(r"(?<![\w@.%/])(?:\+|%2[bB])?\d[\d \-()]{4,}\d(?![\w@.])")
_ID_KEYS = {"oid", "id", "nextid", "previousid", "callid", "channelid", "version",
            "date", "validuntil", "callendtime"}
_WS_URL = re.compile(r"\bwss?://\S+")


@dataclass
class Redactor:
    keep_numbers: bool = False
    _numbers: dict[str, str] = field(default_factory=dict)

    def number(self, match: re.Match[str]) -> str:
        raw = match.group(0)
        if sum(c.isdigit() for c in raw) < 6:
            return raw
        key = re.sub(r"\D", "", raw)
        stand_in = self._numbers.get(key)
        if stand_in is None:
            # The same number always gets the same stand-in, so a replay pops consistently.
            stand_in = self._numbers[key] = f"+3185{len(self._numbers) + 1:07d}"
        return stand_in

    def text(self, value: str) -> str:
        value = _WS_URL.sub("wss://***", value)
        return value if self.keep_numbers else _NUMBER.sub(self.number, value)

    def value(self, obj: Any, key: str = "") -> Any:
        if key.lower() in _SECRET_KEYS and obj not in (None, ""):
            return "***"
        if isinstance(obj, dict):
            return {k: self.value(v, str(k)) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.value(v) for v in obj]
        if isinstance(obj, str):
            return obj if key.lower() in _ID_KEYS else self.text(obj)
        return obj


@dataclass
class Capture:
    """Collects frames, REST replies and the call events they gave, redacted as they come."""

    keep_numbers: bool = False
    frames: list[dict[str, Any]] = field(default_factory=list)
    rest: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, str]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self._redact = Redactor(self.keep_numbers)

    def _t(self) -> float:
        return round(time.monotonic() - self.started, 3)

    def frame(self, text: str) -> None:
        try:
            data: Any = json.loads(text)
            self.frames.append({"t": self._t(), "json": self._redact.value(data)})
        except ValueError:
            self.frames.append({"t": self._t(), "text": self._redact.text(text[:2000])})

    def exchange(self, method: str, path: str, status: int, body: bytes) -> None:
        entry: dict[str, Any] = {"t": self._t(), "method": method,
                                 "path": self._redact.text(path), "status": status}
        if path.rstrip("/").endswith("/audio"):
            entry["bytes"] = len(body)  # recordings: only their size
        else:
            try:
                entry["json"] = self._redact.value(json.loads(body or b"null"))
            except ValueError:
                entry["bytes"] = len(body)
        self.rest.append(entry)

    def event(self, event: CallEvent) -> None:
        self.events.append({"state": event.state.value, "number": self._redact.text(
            event.number), "call_id": event.call_id, "direction": event.direction.value})

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "numbers_kept": self.keep_numbers, "frames": self.frames,
                "rest": self.rest, "events": self.events}

    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".part")
        tmp.write_text(json.dumps(self.to_json(), indent=1, ensure_ascii=False),
                       encoding="utf-8")
        tmp.replace(path)


def frame_texts(data: dict[str, Any]) -> list[str]:
    """The websocket frames of a capture, as text again."""
    out: list[str] = []
    for frame in data.get("frames") or []:
        if "json" in frame:
            out.append(json.dumps(frame["json"]))
        elif "text" in frame:
            out.append(str(frame["text"]))
    return out


def active_channels_reply(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The first ``GET communications/active_channels`` reply of a capture (its objects)."""
    for entry in data.get("rest") or []:
        if str(entry.get("path", "")).split("?")[0].endswith("communications/active_channels"):
            rows = (entry.get("json") or {}).get("data") or []
            return [r.get("object", r) for r in rows if isinstance(r, dict)]
    return []


def replay(data: dict[str, Any], feed: Callable[[str], None]) -> None:
    """Feed every captured frame, in order."""
    for text in frame_texts(data):
        feed(text)
