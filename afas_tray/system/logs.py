"""Logging to a rotating file, with secrets redacted before anything is written."""

from __future__ import annotations

import logging
import logging.handlers
import re
import threading

from afas_tray.system.paths import AppPaths

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


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def setup_logging(paths: AppPaths, *, level: int = logging.INFO, console: bool = False) -> None:
    paths.log_dir.mkdir(parents=True, exist_ok=True)
    fmt = RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_afas_tray", False):
            root.removeHandler(h)
    handler = logging.handlers.RotatingFileHandler(
        paths.log_file, maxBytes=2_000_000, backupCount=5, encoding="utf-8"
    )
    handler.setFormatter(fmt)
    handler._afas_tray = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    if console:
        stream = logging.StreamHandler()
        stream.setFormatter(fmt)
        stream._afas_tray = True  # type: ignore[attr-defined]
        root.addHandler(stream)
    root.setLevel(level)
    # httpx logs every request line at INFO; keep it out of the user's log unless debugging.
    logging.getLogger("httpx").setLevel(logging.WARNING)
