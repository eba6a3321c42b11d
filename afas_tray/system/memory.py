"""The C allocator's part in a long-running desktop app.

glibc raises its mmap threshold to the size of the largest block freed so far (up to 32 MB).
After a big transient buffer — a GetConnector page, a recording, a junk request body on the
loopback trigger — blocks of that size come from the heap instead of their own mapping, and
fragments of the heap stay resident: the app's memory creeps for weeks without an object kept
(bench/local_doors_fuzz.py: about 0.1 KB a request on the HTTP trigger, tracemalloc flat).
Pinning the thresholds at glibc's own default (128 KB), as ``MALLOC_MMAP_THRESHOLD_`` and
``MALLOC_TRIM_THRESHOLD_`` would, keeps big blocks in mappings that go back to the system.
Other allocators (macOS, Windows, musl) are left alone.
"""

from __future__ import annotations

import sys

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
PINNED_THRESHOLD = 128 * 1024


def pin_allocator_thresholds() -> str:
    """Pin glibc's mmap and trim thresholds; says what was done (for the log and benches)."""
    if not sys.platform.startswith("linux"):
        return "allocator: the platform's own"
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return "allocator: no mallopt (not glibc), left as it is"
    if mallopt(_M_MMAP_THRESHOLD, PINNED_THRESHOLD) != 1 \
            or mallopt(_M_TRIM_THRESHOLD, PINNED_THRESHOLD) != 1:
        return "allocator: mallopt refused, left as it is"
    return "allocator: glibc, mmap and trim thresholds pinned at 128 KB"
