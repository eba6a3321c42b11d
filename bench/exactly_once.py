"""Benchmark: exactly-once call reports against the simulated AFAS's Profit semantics.

Four scenarios, each counting the reports AFAS ends up holding (by the outbox's marker line):

1. SIGKILL: the outbox process is killed at random points of a drain of ``--reports`` (200)
   reports, ``--kills`` times per run, then restarted to the end; ``--runs`` (50) runs.
2. Outage: AFAS is unreachable for 10 minutes in the middle of a drain (the request in flight
   when it starts reached AFAS, its answer is lost).
3. Slow answer: one POST is answered after 120 s (AFAS goes on processing it after the client's
   60 s timeout gave up; the simulator's ``"slow"`` failure).
4. Storm: a run of 503 (maintenance) and 500 answers; a 500 fails the report with AFAS's own
   text, which the user sees; retried, it arrives once.

Time in scenarios 2-4 is compressed ``--scale`` (60) times: the outbox runs with the app's own
settings (2 s settle, AFAS's 900 s processing window, 5-900 s backoff) on a clock that runs
``scale`` times as fast, and the real waits (client timeout 60 s, AFAS's 120 s answer, retry
delays) are divided by ``scale``. The printed times are in that compressed (AFAS) time.
The simulated AFAS runs on its own thread; the killed outbox in scenario 1 is a child process.

    python bench/exactly_once.py [--runs 50] [--reports 200] [--kills 2] [--scale 60]

Target: 0 lost, 0 doubled, every failed report visible with AFAS's own text.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import logging
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from _common import REPO

from afas_tray.afas import AfasClient
from afas_tray.demo.afas import AfasSimulator, SimulatorThread
from afas_tray.demo.sample_data import KNOWN, ORG_BCID_BASE, ORG_NUMBER_BASE
from afas_tray.models import ReportItem
from afas_tray.reports.outbox import DossierLookup, Outbox, OutboxState

TOKEN = "E1E1E1E1C0FFEE00E1E1E1E1C0FFEE00E1E1E1E1C0FFEE00E1E1E1E1C0FFEE00"
SUBJECTS = "Profit_Subjects"
MARKER_RE = re.compile(r"\{afas-tray:([a-z0-9-]+)\}")
AFAS_500_TEXT = "Er is een onverwachte fout opgetreden."  # the simulator's (Profit's) 500 message
# The app links by number (afas.connectors.link_by): the lookup then also filters on OrgPersId.
ORG_NUMBER = str(ORG_NUMBER_BASE + (int(KNOWN["org_unique"].bcids[0]) - ORG_BCID_BASE) // 2)


def item(key: str) -> ReportItem:
    """A small report (no recording): the scenarios are about when requests arrive, not size."""
    return ReportItem(key=key, call_id=f"call-{key}", bcid=ORG_NUMBER, subject=f"Gesprek {key}",
                      text="Klant belde over de offerte.", date="2026-11-25T14:03:00",
                      dossier_type=7, link_by="number")


def counts_for(sim: AfasSimulator, keys: Iterable[str]) -> tuple[int, int]:
    """(lost, doubled) among ``keys`` in what the simulated AFAS holds."""
    seen: collections.Counter[str] = collections.Counter()
    for subject in list(sim.subjects):
        seen.update(MARKER_RE.findall(subject.text))
    wanted = list(keys)
    return sum(1 for k in wanted if seen[k] == 0), sum(1 for k in wanted if seen[k] > 1)


@dataclass
class Figures:
    name: str
    reports: int = 0
    lost: int = 0
    doubled: int = 0
    failed_seen: int = 0  # reports that went 'failed' on the way (then retried)
    failed_with_afas_text: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.doubled == 0 and self.failed_seen == self.failed_with_afas_text


# --- 1. SIGKILL ---------------------------------------------------------------------------------


def start_child(db: Path, url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, __file__, "--child", str(db), url],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=REPO)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        raise SystemExit(f"child did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}")
    return proc


def sending_rows(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM outbox_items WHERE state=?",
                                (OutboxState.SENDING.value,)).fetchone()[0])
    finally:
        conn.close()


def sigkill_scenario(root: Path, runs: int, reports: int, kills: int, seed: int) -> Figures:
    rng = random.Random(seed)
    fig = Figures("SIGKILL")
    sim = AfasSimulator(relations=200, seed=3, token_data=TOKEN, latency=0.005)
    total_kills = mid_post = 0
    started = time.perf_counter()
    drain_estimate = 0.0
    with SimulatorThread(sim) as server:
        for run in range(runs):
            db = root / f"kill-{run}.sqlite3"
            outbox = Outbox(db)
            keys = [f"k{run}-{n}" for n in range(reports)]
            for key in keys:
                outbox.enqueue(item(key))
            outbox.close()
            for _ in range(kills):
                proc = start_child(db, server.url)
                # Anywhere in the drain: from before the first POST to near its end.
                time.sleep(rng.uniform(0.0, drain_estimate or 0.5))
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)
                total_kills += 1
                mid_post += sending_rows(db) > 0
            t0 = time.perf_counter()
            proc = start_child(db, server.url)
            out, err = proc.communicate(timeout=300)
            if proc.returncode != 0:
                raise SystemExit(f"child failed: {err}")
            drain_estimate = max(drain_estimate, time.perf_counter() - t0)
            last = [json.loads(x) for x in out.splitlines() if x.startswith("{")][-1]
            lost, doubled = counts_for(sim, keys)
            fig.reports += reports
            fig.lost += lost
            fig.doubled += doubled
            fig.failed_seen += int(last["failed"])
    fig.notes.append(f"{runs} runs x {reports} reports, {total_kills} kills "
                     f"({mid_post} with a POST in flight, the 'sending' mark on disk), "
                     f"{time.perf_counter() - started:.0f} s")
    return fig


async def child(db: str, url: str) -> None:
    # Short waits, said in the output: settle 0.3 s, processing window 1.5 s (AFAS: 900 s; the
    # simulator answers at once, so only a kill before the request left leaves nothing to find).
    outbox = Outbox(db, settle_seconds=0.3, processing_window=1.5, backoff_base=0.05,
                    backoff_cap=0.2)
    async with AfasClient(url, TOKEN, timeout=5.0, backoff_base=0.01, backoff_cap=0.05) as client:
        print("ready", flush=True)
        while True:
            result = await outbox.drain(client, lookup=DossierLookup(SUBJECTS))
            print(json.dumps({"sent": result.sent, "recovered": result.recovered,
                              "failed": result.failed, "backlog": result.backlog}), flush=True)
            if result.backlog == 0 or result.paused:
                break
            await asyncio.sleep(result.next_due or 0.01)
    outbox.close()


# --- 2-4: in-process, on a compressed clock -----------------------------------------------------


class Clock:
    """AFAS time running ``scale`` times as fast as the wall clock."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self._t0 = time.time()
        self._p0 = time.perf_counter()

    def now(self) -> float:
        return self._t0 + (time.perf_counter() - self._p0) * self.scale

    def real(self, afas_seconds: float) -> float:
        return afas_seconds / self.scale


class OutageTransport(httpx.AsyncBaseTransport):
    """Real HTTP to the simulator, except during the outage: AFAS unreachable. The request in
    flight when the outage starts reached AFAS; its answer is lost."""

    def __init__(self, clock: Clock, starts_when: Callable[[], bool], length: float) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.clock = clock
        self.starts_when = starts_when
        self.length = length
        self.start: float | None = None
        self.refused = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        now = self.clock.now()
        if self.start is None and self.starts_when():
            self.start = now
            response = await self._inner.handle_async_request(request)
            await response.aclose()
            raise httpx.ReadError("connection reset (outage begins)", request=request)
        if self.start is not None and now < self.start + self.length:
            self.refused += 1
            raise httpx.ConnectError("AFAS unreachable (outage)", request=request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def run_outbox(outbox: Outbox, client: AfasClient, clock: Clock, limit: float = 7200.0,
                     ) -> float:
    """Drain until empty (or only failed rows left); AFAS seconds it took."""
    begin = clock.now()
    while clock.now() - begin < limit:
        result = await outbox.drain(client, lookup=DossierLookup(SUBJECTS))
        if result.backlog == 0 or result.paused:
            break
        await asyncio.sleep(max(0.001, clock.real(result.next_due or 0.5)))
    return clock.now() - begin


def app_outbox(db: Path, clock: Clock) -> Outbox:
    """The app's outbox settings (settle 2 s, window 900 s, backoff 5-900 s) on AFAS time."""
    return Outbox(db, clock=clock.now)


def app_client(url: str, clock: Clock, transport: httpx.AsyncBaseTransport | None = None
               ) -> AfasClient:
    """The app's client (60 s timeout, 0.5-20 s retry backoff), its waits scaled to real time."""
    return AfasClient(url, TOKEN, timeout=clock.real(60), backoff_base=clock.real(0.5),
                      backoff_cap=clock.real(20), max_retry_after=60, transport=transport)


def failed_texts(outbox: Outbox) -> tuple[int, int]:
    rows = outbox.items(OutboxState.FAILED)
    with_text = sum(1 for r in rows if r.last_message and AFAS_500_TEXT in r.last_message.nl)
    return len(rows), with_text


async def outage_scenario(root: Path, reports: int, scale: float) -> Figures:
    fig = Figures("10-minute outage")
    clock = Clock(scale)
    sim = AfasSimulator(relations=200, seed=3, token_data=TOKEN)
    keys = [f"o-{n}" for n in range(reports)]
    with SimulatorThread(sim) as server:
        outbox = app_outbox(root / "outage.sqlite3", clock)
        for key in keys:
            outbox.enqueue(item(key))
        transport = OutageTransport(clock, lambda: len(sim.subjects) >= reports // 4, 600.0)
        async with app_client(server.url, clock, transport) as client:
            took = await run_outbox(outbox, client, clock)
        assert transport.start is not None
        after = clock.now() - (transport.start + 600.0)
        fig.failed_seen, fig.failed_with_afas_text = failed_texts(outbox)
        outbox.close()
        fig.reports = reports
        fig.lost, fig.doubled = counts_for(sim, keys)
    fig.notes.append(f"{reports} reports; outage of 600 s from report {reports // 4} on, "
                     f"{transport.refused} requests refused; all in AFAS {after:.0f} s after it "
                     f"ended (waits grow to at most 60 s during an outage); drain {took:.0f} s")
    return fig


async def slow_scenario(root: Path, reports: int, scale: float) -> Figures:
    fig = Figures("POST answered after 120 s")
    clock = Clock(scale)
    sim = AfasSimulator(relations=200, seed=3, token_data=TOKEN, hang_seconds=clock.real(120))
    keys = [f"s-{n}" for n in range(reports)]
    with SimulatorThread(sim) as server:
        outbox = app_outbox(root / "slow.sqlite3", clock)
        for key in keys:
            outbox.enqueue(item(key))
        sim.fail_next(1, "slow")  # the first POST: AFAS stores it only after 120 s
        posts_before = sim.requests
        async with app_client(server.url, clock) as client:
            took = await run_outbox(outbox, client, clock)
        fig.failed_seen, fig.failed_with_afas_text = failed_texts(outbox)
        recovered = sum(1 for r in outbox.items() if r.state == OutboxState.DONE)
        outbox.close()
        fig.reports = reports
        fig.lost, fig.doubled = counts_for(sim, keys)
        requests = sim.requests - posts_before
    fig.notes.append(f"{reports} reports, the first answered after 120 s (client timeout 60 s); "
                     f"{recovered} done, {requests} requests; drain {took:.0f} s (the slow one "
                     "is found by the lookup, not posted again)")
    return fig


async def storm_scenario(root: Path, reports: int, scale: float) -> Figures:
    fig = Figures("500/503 storm")
    clock = Clock(scale)
    sim = AfasSimulator(relations=200, seed=3, token_data=TOKEN)
    keys = [f"t-{n}" for n in range(reports)]
    with SimulatorThread(sim) as server:
        outbox = app_outbox(root / "storm.sqlite3", clock)
        for key in keys:
            outbox.enqueue(item(key))
        # 503s with AFAS's maintenance body (retry_after 0: the wait is scaled away), then 500s.
        for _ in range(3):
            sim.fail_next(6, 503, retry_after=0)
            sim.fail_next(3, 500)
        retried = rounds = 0
        async with app_client(server.url, clock) as client:
            took = await run_outbox(outbox, client, clock)
            while rounds < 10:
                failed, with_text = failed_texts(outbox)
                if not failed:
                    break
                fig.failed_seen += failed
                fig.failed_with_afas_text += with_text
                retried += outbox.retry_failed()  # what the user does from the outbox window
                rounds += 1
                took += await run_outbox(outbox, client, clock)
        left_failed = len(outbox.items(OutboxState.FAILED))
        outbox.close()
        fig.reports = reports
        fig.lost, fig.doubled = counts_for(sim, keys)
        fig.lost += left_failed
    fig.notes.append(f"{reports} reports; 18 x 503 and 9 x 500; {fig.failed_seen} failed with "
                     f"AFAS's text \"{AFAS_500_TEXT}\", {retried} retried by the user in {rounds} "
                     f"round(s); drain "
                     f"{took:.0f} s")
    return fig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50, help="SIGKILL runs (default 50)")
    parser.add_argument("--reports", type=int, default=200, help="reports per SIGKILL run (200)")
    parser.add_argument("--kills", type=int, default=2, help="kills per run (default 2)")
    parser.add_argument("--other-reports", type=int, default=40,
                        help="reports in the outage, slow and storm scenarios (default 40)")
    parser.add_argument("--scale", type=float, default=60.0,
                        help="time compression of scenarios 2-4 (default 60)")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--child", nargs=2, metavar=("DB", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    # The simulator logs each connection a SIGKILL cut; that is the point here, not news.
    logging.getLogger("aiohttp").setLevel(logging.CRITICAL)
    if args.child:
        asyncio.run(child(*args.child))
        return 0

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="afas-tray-bench-") as tmp:
        root = Path(tmp)
        figures = [sigkill_scenario(root, args.runs, args.reports, args.kills, args.seed)]
        for scenario in (outage_scenario, slow_scenario, storm_scenario):
            figures.append(asyncio.run(scenario(root, args.other_reports, args.scale)))
    print(f"exactly-once against the simulated AFAS (Profit semantics); CPUs: {os.cpu_count()}; "
          f"scenarios 2-4 on AFAS time compressed {args.scale:g}x (app settings unchanged)")
    for fig in figures:
        print(f"{fig.name:28s} reports {fig.reports:6d}  lost {fig.lost}  doubled {fig.doubled}  "
              f"failed {fig.failed_seen} (with AFAS's text {fig.failed_with_afas_text})")
        for note in fig.notes:
            print(f"    {note}")
    ok = all(f.ok for f in figures)
    lost = sum(f.lost for f in figures)
    doubled = sum(f.doubled for f in figures)
    print(f"verdict: {'PASS' if ok else 'FAIL'}: {lost} lost, {doubled} doubled, every failed "
          f"report {'visible' if all(f.failed_seen == f.failed_with_afas_text for f in figures) else 'NOT all visible'} "
          f"with AFAS's own text ({time.perf_counter() - started:.0f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
