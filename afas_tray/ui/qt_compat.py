"""Work-arounds for defects of the Qt binding that would take the whole app down.

PySide6 6.12.0 on CPython 3.11 drops one reference to ``True`` on every ``Signal.emit()`` made
from Python, and one to ``None`` each time Qt calls a Python override that returns nothing
(``timerEvent``: qasync runs every loop callback through one). These are static objects, but
CPython aborts the process once a count reaches zero ("Fatal Python error: bool_dealloc" /
"none_dealloc"). qasync emits a signal each time a worker thread hands a result back to the
loop (every ``asyncio.to_thread``, every outbox database step) and the single-instance server
one per hand-off: the tray app died after about a thousand of them, or a few thousand loop
callbacks — found by ``bench/local_doors_fuzz.py``.

CPython 3.12 made ``None``/``True``/``False`` immortal, which is what ``guard_bool_refcounts``
does here for older versions when (and only when) a probe shows a leak: it raises the counts so
far that no run of the app can use them up. Nothing else changes; a fixed binding is left alone.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

_BANK = 1 << 40  # references; at one per emit, more than any process will ever make
_PROBE_EMITS = 16
_guarded: bool | None = None


def guard_bool_refcounts() -> bool:
    """Make ``True``/``False`` immortal if this PySide6 leaks their references on emit.

    Idempotent; True when the work-around is in place.
    """
    global _guarded
    if _guarded is not None:
        return _guarded
    _guarded = False
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return False  # immortal bools: a dropped reference is harmless
    from PySide6.QtCore import QCoreApplication, QObject, QTimerEvent, Signal

    class _Probe(QObject):
        ping = Signal()

        def timerEvent(self, event: QTimerEvent) -> None:
            pass

    probe = _Probe()
    singletons = (True, False, None)
    before = [sys.getrefcount(o) for o in singletons]
    for _ in range(_PROBE_EMITS):
        probe.ping.emit()
        QCoreApplication.sendEvent(probe, QTimerEvent(1))  # Qt calls the Python override
    after = [sys.getrefcount(o) for o in singletons]
    if any(was - now >= _PROBE_EMITS // 2 for was, now in zip(before, after, strict=True)):
        for obj in singletons:
            # ob_refcnt is the first field of every CPython object.
            ctypes.c_ssize_t.from_address(id(obj)).value += _BANK
        _guarded = True
    if _guarded:
        import PySide6

        log.warning("PySide6 %s drops references to None/True on signal emits and calls into "
                    "Python; guarded (see afas_tray/ui/qt_compat.py)", PySide6.__version__)
    return _guarded
