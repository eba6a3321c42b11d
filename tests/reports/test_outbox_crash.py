"""The outbox process is SIGKILLed at random points of a 200-report drain and restarted: the
simulated AFAS must end up with every report exactly once."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from afas_tray.demo.afas import AfasSimulator, SimulatorThread
from afas_tray.reports.outbox import Outbox, OutboxState
from tests.helpers import REPO
from tests.helpers.outbox import TOKEN_DATA, make_item, marker_counts

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

REPORTS = 200


def start_child(db: Path, url: str, settle: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "tests.helpers.outbox", str(db), url, str(settle)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # "ready": imports done, about to drain
    assert line.strip() == "ready", proc.stderr.read() if proc.stderr else line
    return proc


def rows_in_state(db: Path, state: str) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM outbox_items WHERE state=?", (state,)).fetchone()[0])
    finally:
        conn.close()


def test_sigkill_at_random_points_never_doubles_or_loses(tmp_path: Path) -> None:
    rng = random.Random(os.environ.get("OUTBOX_CRASH_SEED", str(time.time_ns())))
    db = tmp_path / "outbox.sqlite3"
    spool = tmp_path / "spool"
    outbox = Outbox(db)
    for n in range(REPORTS):
        # Small recordings of different sizes, so the kill can land in any part of a request.
        outbox.enqueue(make_item(f"{9000 + n}", spool, audio=os.urandom(rng.randint(1_000, 30_000))))
    outbox.close()

    # A little latency so a kill often falls while a POST is in flight; 'settle' covers it.
    sim = AfasSimulator(relations=200, seed=3, token_data=TOKEN_DATA, latency=0.01)
    with SimulatorThread(sim) as server:
        kills = mid_post = 0
        while kills < 5 or (mid_post < 2 and kills < 15):
            proc = start_child(db, server.url, settle=0.3)
            time.sleep(rng.uniform(0.0, 0.35))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            kills += 1
            # Killed between the 'sending' mark and AFAS's answer: the case that must not double.
            mid_post += rows_in_state(db, OutboxState.SENDING) > 0

        proc = start_child(db, server.url, settle=0.3)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        assert lines[-1]["backlog"] == 0 and lines[-1]["failed"] == 0

        counts = marker_counts(sim)
        expected = {str(9000 + n) for n in range(REPORTS)}
        assert set(counts) == expected, f"missing: {sorted(expected - set(counts))[:10]}"
        doubles = {k: c for k, c in counts.items() if c != 1}
        assert not doubles, f"posted more than once: {doubles}"
        assert len(sim.subjects) == REPORTS

    assert mid_post >= 2  # the recovery path was really exercised
    outbox = Outbox(db)
    rows = outbox.items()
    assert all(r.state == OutboxState.DONE for r in rows)
    by_marker = {s.text.rsplit("{afas-tray:", 1)[1].rstrip("}"): str(s.sb_id) for s in sim.subjects}
    assert all(r.sb_id == by_marker[r.key] for r in rows)  # recovered rows carry AFAS's SbId
    assert all(len(s.attachments) == 1 for s in sim.subjects)
    assert not list(spool.iterdir())
    outbox.close()
