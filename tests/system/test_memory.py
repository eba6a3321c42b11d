"""The allocator set-up a long-running app needs (system/memory.py), as the app makes it; what it
does to memory over 10,000 requests is bench/local_doors_fuzz.py's to show."""

from __future__ import annotations

import gc
import logging
import sys

import pytest

from afas_tray.core import tune_interpreter
from afas_tray.system.memory import pin_allocator_thresholds


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt only")
def test_the_app_pins_glibcs_thresholds_at_start(caplog: pytest.LogCaptureFixture) -> None:
    said = pin_allocator_thresholds()
    if "no mallopt" in said:
        pytest.skip("not glibc")
    assert said == "allocator: glibc, mmap and trim thresholds pinned at 128 KB"
    switch = sys.getswitchinterval()
    caplog.set_level(logging.INFO)
    try:
        tune_interpreter()  # what the tray shell runs before the core starts
    finally:
        sys.setswitchinterval(switch)
        gc.unfreeze()  # the test process goes on making and dropping objects
    assert "thresholds pinned at 128 KB" in caplog.text
