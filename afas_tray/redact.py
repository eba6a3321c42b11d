"""Secrets masked out of any text before it is logged (shared by the log setup and the API
clients, which register the tokens and passwords they hold)."""

from __future__ import annotations

import re
import threading

_known: set[str] = set()
_lock = threading.Lock()
_PATTERNS = [
    re.compile(r"(AfasToken\s+)[A-Za-z0-9+/=]+"),
    re.compile(r"(xelion\s+)[A-Za-z0-9._\-+/=]{16,}", re.IGNORECASE),  # Xelion auth header
    re.compile(r"(<data>)[^<]*"),
    re.compile(r'("?(?:password|token|authentication|renewalToken|secret)"?\s*[:=]\s*"?)[^",}\s&]+',
               re.IGNORECASE),
]
MASK = "***"


def register_secret(value: str) -> None:
    """Remember a secret so every later log line masks it (short values would over-match)."""
    if value and len(value) >= 4:
        with _lock:
            _known.add(value)


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    with _lock:
        secrets = sorted(_known, key=len, reverse=True)
    for s in secrets:
        if s in text:
            text = text.replace(s, MASK)
    return text
