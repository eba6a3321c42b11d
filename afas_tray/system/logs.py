"""Logging to a rotating file, with secrets redacted before anything is written."""

from __future__ import annotations

import logging
import logging.handlers

from afas_tray.redact import MASK, redact, register_secret
from afas_tray.system.paths import AppPaths

__all__ = ["MASK", "RedactingFormatter", "redact", "register_secret", "setup_logging"]


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
