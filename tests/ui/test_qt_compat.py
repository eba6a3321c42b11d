"""The app survives a binding that leaks a reference to True on every signal emit (PySide6
6.12.0 on CPython 3.11): thousands of emits and worker-thread results on the qasync loop."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
import asyncio, os, sys
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
import qasync
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication
from afas_tray.ui.qt_compat import guard_bool_refcounts

app = QApplication([])
guarded = guard_bool_refcounts()
loop = qasync.QEventLoop(app)
asyncio.set_event_loop(loop)

class Door(QObject):
    received = Signal(str)

door = Door()
door.received.connect(lambda line: None)

async def main():
    for i in range(5000):
        await asyncio.to_thread(lambda: None)  # qasync: one emit per result
        door.received.emit("x")
        await asyncio.sleep(0)  # qasync: a Python timerEvent per callback

with loop:
    loop.run_until_complete(main())
print("survived", guarded)
"""


def test_thousands_of_emits_and_loop_callbacks_do_not_abort_the_process() -> None:
    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         timeout=240)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.startswith("survived")
