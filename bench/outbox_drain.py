"""Benchmark: drain N queued call reports with 1 MB recordings to the simulated AFAS.

Prints reports/s, peak RSS growth during the drain, the longest event-loop stall while it runs,
and the ratio to bare httpx POSTs of the same bodies in the same run (how much the outbox adds
on top of the server and the network).
The simulated AFAS runs on its own thread (SimulatorThread), as a real server would elsewhere.

    python bench/outbox_drain.py [--count 1000] [--size-mb 1] [--latency 0]

Target: peak RSS growth < 100 MB (one recording in flight) and the drain limited by the server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from pathlib import Path

import httpx
from _common import MB, PeakRss

from afas_tray.afas import AfasClient, auth_header, build_body, marker_for
from afas_tray.demo.afas import AfasSimulator, SimulatorThread
from afas_tray.demo.sample_data import KNOWN
from afas_tray.models import ReportItem
from afas_tray.reports.outbox import Outbox

TOKEN = "B0B0B0B0C0FFEE00B0B0B0B0C0FFEE00B0B0B0B0C0FFEE00B0B0B0B0C0FFEE00"

def make_items(count: int, size: int, spool: Path) -> list[ReportItem]:
    """``count`` reports whose recordings are hard links to one file: the outbox reads (and
    deletes) each as its own file, while the disk holds the bytes once."""
    spool.mkdir(parents=True)
    master = spool / "master.mp3"
    master.write_bytes(os.urandom(size))
    bcid = KNOWN["org_unique"].bcids[0]
    items = []
    for n in range(count):
        path = spool / f"call-{n}.mp3"
        try:
            os.link(master, path)
        except OSError:
            shutil.copyfile(master, path)
        items.append(ReportItem(
            key=str(100000 + n), call_id=f"c{n}", bcid=bcid, subject=f"Gesprek {n}",
            text="Inkomend gesprek van 020-5550101, 4 min 12 s.", date="2026-11-25T14:03:00",
            dossier_type=7, audio_file=str(path), audio_name=f"gesprek-{n}.mp3",
        ))
    return items


async def drain(outbox: Outbox, url: str) -> tuple[int, float, float]:
    """(sent, seconds, longest event-loop stall in seconds). The stall meter is a task sleeping
    5 ms in a loop: in the app that loop also paints the UI."""
    worst = 0.0

    async def ticker() -> None:
        nonlocal worst
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            worst = max(worst, now - last - 0.005)
            last = now

    async with AfasClient(url, TOKEN, timeout=60) as client:
        ticking = asyncio.ensure_future(ticker())
        started = time.perf_counter()
        result = await outbox.drain(client, subjects_connector="Profit_Subjects")
        seconds = time.perf_counter() - started
        ticking.cancel()
        return result.sent, seconds, worst


async def bare_posts(url: str, body: bytes, count: int) -> float:
    headers = {"Authorization": auth_header(TOKEN), "Accept": "application/json",
               "Content-Type": "application/json; charset=utf-8"}
    async with httpx.AsyncClient(base_url=url + "/ProfitRestServices", headers=headers, timeout=60, trust_env=False) as http:
        started = time.perf_counter()
        for _ in range(count):
            response = await http.post("/connectors/KnSubject", content=body)
            response.raise_for_status()
        return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="queued reports (default 1000)")
    parser.add_argument("--size-mb", type=float, default=1.0, help="recording size in MB (default 1)")
    parser.add_argument("--latency", type=float, default=0.0, help="simulated AFAS latency per request, s")
    args = parser.parse_args(argv)
    size = int(args.size_mb * MB)

    with tempfile.TemporaryDirectory(prefix="afas-tray-bench-") as tmp:
        root = Path(tmp)
        items = make_items(args.count, size, root / "spool")
        sim = AfasSimulator(relations=200, seed=1, token_data=TOKEN, latency=args.latency)
        with SimulatorThread(sim) as server:
            outbox = Outbox(root / "outbox.sqlite3")
            for item in items:
                outbox.enqueue(item)
            # The bare run's body, built now: the outbox deletes each recording once it is in AFAS.
            bare_body, info = build_body(items[0], marker=marker_for("bare"))
            body_len = len(bare_body)
            assert info.attached
            # What building one body costs (read + base64 + JSON): work any client has to do.
            started = time.perf_counter()
            for item in items[:20]:
                build_body(item, marker=marker_for(item.key))
            build_ms = (time.perf_counter() - started) / min(20, len(items)) * 1000

            # The outbox first, so its RSS is not flattered by memory the bare run left behind.
            with PeakRss(interval=0.005) as rss:
                sent, seconds, stall = asyncio.run(drain(outbox, server.url))
            stored = len(sim.subjects)
            outbox.close()

            bare_seconds = asyncio.run(bare_posts(server.url, bare_body, args.count))
            bare_stored = len(sim.subjects) - stored

    rate = sent / seconds
    bare_rate = args.count / bare_seconds
    ratio = rate / bare_rate
    # The best the outbox could do with one body in memory: bare POST time plus building it.
    bound = (1 / bare_rate) / (1 / bare_rate + build_ms / 1000)
    growth_mb = rss.growth_mb
    print(f"reports: {args.count} with {args.size_mb:g} MB recordings ({body_len / MB:.2f} MB per request, "
          f"attached: {info.attached}); latency {args.latency:g} s; CPUs: {os.cpu_count()}")
    print(f"outbox drain:  {sent} sent in {seconds:.1f} s = {rate:.1f} reports/s "
          f"({rate * body_len / MB:.1f} MB/s); AFAS holds {stored}")
    print(f"bare POSTs:    {args.count} in {bare_seconds:.1f} s = {bare_rate:.1f} POSTs/s")
    print(f"building one body (read, base64, JSON): {build_ms:.1f} ms")
    print(f"ratio outbox/bare: {ratio:.2f} (bare POST + body build alone would give {bound:.2f})")
    # Informational: the simulated server shares this process's GIL, so its work shows here too.
    print(f"longest event-loop stall during the drain: {stall * 1000:.1f} ms (the outbox's SQLite "
          f"work runs on its own thread; the in-process simulator competes for the GIL)")
    print(f"peak RSS growth during the drain: {growth_mb:.1f} MB (start {rss.start_rss / MB:.0f} MB, "
          f"simulated server included)")
    ok_rss = growth_mb < 100
    ok_all = sent == args.count == stored == bare_stored
    verdict = "PASS" if ok_rss and ok_all else "FAIL"
    print(f"verdict: {verdict}: RSS growth {growth_mb:.0f} MB {'<' if ok_rss else '>='} 100 MB; "
          f"the outbox runs at {ratio:.0%} of bare POSTs of prebuilt bodies; {bound:.0%} is the bound set by "
          f"the server plus base64 encoding ({'within 15% of it: limited by the server' if ratio >= 0.85 * bound else 'the outbox adds its own cost'}); "
          f"{stored}/{args.count} arrived once")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
