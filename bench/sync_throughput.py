"""Full phone-book refresh of 1,000,000 relations from the simulated AFAS over loopback.

Compares our ``full_refresh`` with a bare httpx paged download of the same pages (plain
``httpx`` + ``json``, nothing stored), in the same run, alternating them ``--repeats`` times and
taking medians (this machine is shared; one sample of each is noise). Two refreshes are timed:

* cold: a new, empty phone book (the first refresh after install; every number is normalised);
* warm: the book from the previous refresh, after ``--changes`` numbers changed in AFAS (the
  steady state of a running app: most numbers are the same as last time).

The verdict is issue 18's: both full refreshes, cold and warm, within 1.2x of the bare download
(medians), and the peak RSS growth of this process over either refresh below 150 MB, for
1,000,000 relations (a smaller ``--relations`` gives figures, and says the target is for 1M).

The simulated AFAS runs in its own process by default (``--simulator process``): the real AFAS
is another machine, and a simulator thread in our process would charge its row generation and
JSON encoding to our GIL, during our refresh as during the bare download. ``--simulator thread``
keeps the old in-process setup for comparison (its RSS also counts the simulator's memory).

    python bench/sync_throughput.py [--relations 1000000] [--repeats 3] [--simulator process]

``--paging both`` instead times one cold full refresh each way: ``skip`` (skip/take to the end,
as before) and ``keyset`` (the app's way: sorted on the integer key, and past 100,000 rows
"key > last" instead of deeper skips; AFAS: past 100,000 skip is no longer fast), e.g.

    python bench/sync_throughput.py --relations 1000000 --paging both

The simulated AFAS has no SQL Server behind it: a deep skip costs it nothing extra, so the
figures show what keyset paging costs or saves on our side; the reason to use it is AFAS's.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from _common import PeakRss, afas_simulator

from afas_tray.afas import auth_header, page_size
from afas_tray.config import ROLES, Settings
from afas_tray.demo.sample_data import org_bcid
from afas_tray.phonebook import (
    PhoneBook,
    RefreshResult,
    default_client,
    detect_mapping,
    full_refresh,
)

SEED = 1
TARGET_RATIO = 1.2  # full refresh / bare download (issue 18)
TARGET_RSS_MB = 150
TARGET_RELATIONS = 1_000_000


async def bare_download(settings: Settings, pages: dict[str, tuple[str, int, int]]) -> tuple[float, int]:
    """The same pages, with plain httpx and json, nothing stored: the floor for our refresh."""
    headers = {"Authorization": auth_header(settings.afas.token)}
    rows = 0
    start = time.perf_counter()
    async with httpx.AsyncClient(base_url=settings.afas.host + "/ProfitRestServices", headers=headers,
                                 timeout=60) as client:
        for connector, (order, take, _cols) in pages.items():
            skip = 0
            while True:
                r = await client.get(f"/connectors/{connector}",
                                     params={"skip": skip, "take": take, "orderbyfieldids": order})
                got = r.json()["rows"]
                rows += len(got)
                skip += take
                if len(got) < take:
                    break
    return time.perf_counter() - start, rows


async def prime_simulator(settings: Settings, pages: dict[str, tuple[str, int, int]]) -> None:
    """One row of each connector in the refresh's order: the simulator sorts (and caches) a
    connector's rows on the first request after a change, which must not be charged to the
    refresh that follows a change when the bare download before it did not pay it."""
    headers = {"Authorization": auth_header(settings.afas.token)}
    async with httpx.AsyncClient(base_url=settings.afas.host + "/ProfitRestServices",
                                 headers=headers, timeout=60) as client:
        for connector, (order, _take, _cols) in pages.items():
            r = await client.get(f"/connectors/{connector}",
                                 params={"skip": 0, "take": 1, "orderbyfieldids": order})
            r.raise_for_status()


async def change_numbers(url: str, count: int, rng: random.Random) -> None:
    """Give ``count`` organisations a new main number, as happens between two refreshes."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for i in range(count):
            number = f"0{rng.choice('1234579')}{rng.randrange(10**7, 10**8)}"
            r = await client.post("/_sim/mutate", json={
                "op": "phone", "id": org_bcid(i * 7), "column": "Telefoon_werk", "value": number})
            r.raise_for_status()


async def timed_refresh(settings: Settings, book: PhoneBook) -> tuple[float, float, float, RefreshResult]:
    """(seconds, CPU seconds of this process, peak RSS growth in MB, result) of one full
    refresh into ``book``."""
    with PeakRss() as rss:
        start, cpu = time.perf_counter(), time.process_time()
        async with default_client(settings) as client:
            result = await full_refresh(client, settings, book)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return seconds, cpu, rss.growth_mb, result


async def compare_paging(relations: int, kind: str) -> int:
    """Cold full refreshes with skip paging only and with keyset paging past 100,000 rows, in
    the order skip, keyset, keyset, skip (a shared machine drifts: ABBA cancels the drift)."""
    from afas_tray.afas import KEYSET_AFTER

    times: dict[str, tuple[float, int, int]] = {}
    runs: dict[str, list[float]] = {"skip": [], "keyset": []}
    with afas_simulator(kind, relations, SEED) as (url, token), tempfile.TemporaryDirectory() as tmp:
        s = Settings()
        s.afas.host = url
        s.afas.token = token
        s.afas.insite_url_template = url + "/insite/verkooprelatie-prs?BcId=<BCID>"
        for n, mode in enumerate(("skip", "keyset", "keyset", "skip")):
            path = Path(tmp) / f"book-{n}.sqlite3"
            with PhoneBook(path) as book:
                start = time.perf_counter()
                async with default_client(s) as client:
                    client.keyset_after = None if mode == "skip" else KEYSET_AFTER
                    result = await full_refresh(client, s, book)
                    requests = client.requests_made
                seconds = time.perf_counter() - start
                runs[mode].append(seconds)
                times[mode] = (seconds, sum(result.rows.values()), requests)
                print(f"{mode:6s}: {seconds:.1f} s for {times[mode][1]:,} rows "
                      f"({times[mode][1] / seconds:,.0f} rows/s, {requests} requests); "
                      f"book {book.size():,} relations", flush=True)
            for suffix in ("", "-wal", "-shm"):  # 1M relations: do not keep four books on disk
                Path(str(path) + suffix).unlink(missing_ok=True)
    rows, key_rows = times["skip"][1], times["keyset"][1]
    skip_s, key_s = statistics.mean(runs["skip"]), statistics.mean(runs["keyset"])
    ok = rows == key_rows and key_s <= skip_s * 1.10
    print(f"verdict: {'PASS' if ok else 'FAIL'} — {relations:,} relations: keyset {key_s:.1f} s vs "
          f"skip {skip_s:.1f} s (means of 2 runs each; ratio {key_s / skip_s:.2f}; same rows: {rows == key_rows}); the "
          "simulator has no deep-skip cost, Profit has (AFAS: past 100,000 skip is no longer fast)")
    return 0 if ok else 1


async def main(relations: int, repeats: int, kind: str, changes: int) -> int:
    with afas_simulator(kind, relations, SEED) as (url, token), tempfile.TemporaryDirectory() as tmp:
        s = Settings()
        s.afas.host = url
        s.afas.token = token
        s.afas.insite_url_template = url + "/insite/verkooprelatie-prs?BcId=<BCID>"
        pages: dict[str, tuple[str, int, int]] = {}
        async with default_client(s) as client:
            for role in ROLES:
                mapping, cols = await detect_mapping(client, s, role)
                pages[s.afas.connectors.ids()[role]] = (mapping.id, page_size(cols), cols)
        # A first download warms both sides (imports, the simulator's caches) for both runs.
        await bare_download(s, pages)
        rng = random.Random(SEED)
        bare: list[float] = []
        cold: list[float] = []
        warm: list[float] = []
        rss: list[float] = []
        cpus: dict[str, list[float]] = {"bare": [], "cold": [], "warm": []}
        for n in range(repeats):
            cpu = time.process_time()
            seconds, bare_rows = await bare_download(s, pages)
            bare.append(seconds)
            cpus["bare"].append(time.process_time() - cpu)
            with PhoneBook(Path(tmp) / f"book{n}.sqlite3") as book:
                seconds, cpu, growth, result = await timed_refresh(s, book)
                cold.append(seconds)
                cpus["cold"].append(cpu)
                rss.append(growth)
                await change_numbers(url, changes, rng)
                await prime_simulator(s, pages)
                seconds, cpu, growth, result = await timed_refresh(s, book)
                warm.append(seconds)
                cpus["warm"].append(cpu)
                rss.append(growth)
                numbers = book.numbers()
    rows = sum(result.rows.values())
    bare_s, cold_s, warm_s = (statistics.median(x) for x in (bare, cold, warm))
    cold_ratio, warm_ratio = cold_s / bare_s, warm_s / bare_s
    peak = max(rss)

    def runs(xs: list[float]) -> str:
        return ", ".join(f"{x:.2f}" for x in xs)

    print(f"simulator: {kind}; relations: {relations:,}; rows read: {rows:,} "
          f"(bare download {bare_rows:,}); numbers: {numbers:,}; repeats: {repeats}")
    print(f"bare httpx download: {bare_s:.2f} s median ({runs(bare)})")
    print(f"cold refresh (empty book): {cold_s:.2f} s = {rows / cold_s:,.0f} rows/s "
          f"({runs(cold)}); ratio {cold_ratio:.2f}")
    print(f"warm refresh ({changes} numbers changed): {warm_s:.2f} s = {rows / warm_s:,.0f} rows/s "
          f"({runs(warm)}); ratio {warm_ratio:.2f}")
    print("CPU seconds of this process (medians; the simulator not counted in process mode): "
          + ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in cpus.items()))
    print(f"peak RSS growth: {peak:.1f} MB (target < {TARGET_RSS_MB} MB)")
    ok = (max(cold_ratio, warm_ratio) <= TARGET_RATIO and peak < TARGET_RSS_MB
          and relations >= TARGET_RELATIONS)
    scale = "" if relations >= TARGET_RELATIONS else f" (the target is for {TARGET_RELATIONS:,})"
    print(f"verdict: {'PASS' if ok else 'FAIL'} — {relations:,} relations{scale}: full refresh "
          f"cold {cold_ratio:.2f}x, warm {warm_ratio:.2f}x the bare download (target <= "
          f"{TARGET_RATIO:g}), RSS +{peak:.0f} MB (target < {TARGET_RSS_MB})")
    return 0 if ok else 1


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--relations", type=int, default=TARGET_RELATIONS)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--simulator", choices=("process", "thread"), default="process")
    ap.add_argument("--changes", type=int, default=500, help="numbers changed before a warm refresh")
    ap.add_argument("--paging", choices=("keyset", "both"), default="keyset",
                    help="both: one cold refresh with skip paging and one with keyset paging")
    args = ap.parse_args()
    if args.paging == "both":
        raise SystemExit(asyncio.run(compare_paging(args.relations, args.simulator)))
    raise SystemExit(asyncio.run(main(args.relations, args.repeats, args.simulator, args.changes)))
