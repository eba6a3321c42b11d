"""Fleet load: 200 desks sharing one AFAS token, incremental sync against plain full refreshes.

One simulated AFAS (its own process, 100,000 relations plus ~30,000 contact persons, with the
consultant-made key-only connectors) serves every desk. Each desk is a real ``SyncEngine`` with
its own phone book file in a temp folder, its own client, its own jittered schedule; all run in
this process on one event loop, on a compressed clock (``--speed``: simulated seconds per real
second), so one simulated hour takes a few real minutes. Every request is real HTTP over loopback.

Phase 1, incremental (the new engine, default policy), all ``--desks`` desks for ``--hours``: the
books start as copies of one full refresh, with each desk's last full refresh and key-only pass
set at a random earlier moment (the steady state of a running fleet, so the hour holds its share
of nightly full refreshes and 8-hourly key passes). Desks start at random moments within the
first interval. Meanwhile ``--change-rate`` of the relations (1 %) get a new mobile number at
random moments, dated with the simulated Amsterdam time, as AFAS would.

Phase 2, plain full refreshes (``SyncPolicy(incremental=False)``, what the engine did before),
on ``--full-desks`` desks for ``--full-minutes`` at ``--full-speed``: 200 desks each reading
130,000 rows every 5 minutes is 312 M rows an hour, which no laptop simulates in minutes. Its
rows and requests per desk are measured and multiplied by the fleet size (printed as such);
every full refresh reads every row, so the rows figure is exact; freshness is measured.

Freshness: after every cycle of every desk, each change made since that desk last saw it is
looked up by its new number in that desk's book; the first cycle it matches gives the time from
change to visible (simulated time). A change older than one interval that a desk never shows by
the end counts as infinitely late.

Concurrency: the simulated AFAS serves from one thread (a big page holds up the rest), so the
peak it counts says little about the real one. Instead each request's departure (simulated time)
and row count are recorded, and AFAS is modelled as taking ``--afas-latency`` (0.3 s) plus
``--afas-row-ms`` (0.1 ms) per row for each, from the moment it leaves: the peak and mean number
in flight follow (a desk's own requests at most two at a time, as its client allows). The
peak is the least trustworthy figure: one process runs 200 desks, and a second of its event
loop held up by a full refresh bunches 24 simulated seconds of requests; the 99th percentile
over time is printed beside it.

    python bench/fleet_load.py [--desks 200] [--relations 100000] [--speed 24]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from _common import percentile

from afas_tray.afas.client import AfasClient, ConnectorMeta
from afas_tray.afas.dates import AMSTERDAM
from afas_tray.config import Settings
from afas_tray.demo.afas import DEFAULT_TOKEN_DATA, AfasSimulator, token_xml
from afas_tray.demo.sample_data import SampleData, org_bcid, person_bcid
from afas_tray.phonebook import (
    BACKGROUND_IN_FLIGHT,
    CycleResult,
    PhoneBook,
    SyncClock,
    SyncEngine,
    SyncPolicy,
)
from afas_tray.status import StatusBoard

SEED = 1
START = dt.datetime(2026, 3, 3, 9, 0, tzinfo=AMSTERDAM).timestamp()  # a Tuesday morning
INTERVAL = 300.0  # the default sync interval, seconds


# --- the simulated AFAS in its own process --------------------------------------------------------


def serve(relations: int) -> None:
    """``--serve``: run the simulator until stdin closes (the bench's process ends)."""

    async def main() -> None:
        sim = AfasSimulator(relations=relations, seed=SEED, key_connectors=True)
        url = await sim.start()
        print(url, flush=True)
        await asyncio.to_thread(sys.stdin.read)
        await sim.stop()

    asyncio.run(main())


def start_simulator(relations: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, __file__, "--serve", "--relations", str(relations)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        raise SystemExit(f"simulator did not start: {url!r}")
    return proc, url


# --- clocks ---------------------------------------------------------------------------------------


class CompressedClock(SyncClock):
    """Simulated time from ``start``, running ``speed`` times faster than the real clock."""

    def __init__(self, start: float, speed: float) -> None:
        self.start, self.speed = start, speed
        self._real0 = time.monotonic()

    def time(self) -> float:
        return self.start + (time.monotonic() - self._real0) * self.speed

    async def wait(self, event: asyncio.Event, seconds: float) -> None:
        await super().wait(event, seconds / self.speed)

    async def sleep_until(self, moment: float) -> None:
        await asyncio.sleep(max(0.0, (moment - self.time()) / self.speed))


class FixedClock(SyncClock):
    def __init__(self, moment: float) -> None:
        self.moment = moment

    def time(self) -> float:
        return self.moment


class RecordingClient(AfasClient):
    """The engine's client, noting when (simulated time) each request left and how many rows
    came back, for the concurrency model."""

    def __init__(self, settings: Settings, clock: SyncClock, log: list[tuple[float, int]]) -> None:
        super().__init__(settings.afas.host, settings.afas.token, max_in_flight=BACKGROUND_IN_FLIGHT)
        self._clock, self._log = clock, log

    async def get_page(self, connector_id: str, params: dict[str, str]) -> list[dict[str, Any]]:
        sent = self._clock.time()
        rows = await super().get_page(connector_id, params)
        self._log.append((sent, len(rows)))
        return rows

    async def metainfo(self, connector_id: str) -> ConnectorMeta:
        self._log.append((self._clock.time(), 0))
        return await super().metainfo(connector_id)

    async def list_connectors(self) -> list[dict[str, Any]]:
        self._log.append((self._clock.time(), 0))
        return await super().list_connectors()


def concurrency(logs: list[list[tuple[float, int]]], latency: float, per_row: float,
                seconds: float) -> tuple[int, int, float]:
    """(peak, 99th percentile over time, mean) requests in flight if AFAS served each request in ``latency`` plus
    ``per_row`` per row returned. ``logs`` holds one list per client (one sync cycle of one
    desk): there a request starts when it was sent, but not before the one two places earlier
    ended (at most two in flight per desk). A sweep over start/end events gives the peak."""
    events = []
    busy = 0.0
    for log in logs:
        ends: list[float] = []
        for sent, rows in log:
            start = max(sent, ends[-2]) if len(ends) >= 2 else sent
            service = latency + rows * per_row
            ends.append(start + service)
            busy += service
            events += [(start, 1), (start + service, -1)]
    events.sort(key=lambda e: (e[0], e[1]))  # an end before a start at the same moment
    peak = level = 0
    held: Counter[int] = Counter()  # level -> simulated seconds spent at it
    last = events[0][0] if events else 0.0
    for moment, step in events:
        held[level] += moment - last
        last = moment
        level += step
        peak = max(peak, level)
    total, acc, p99 = sum(held.values()), 0.0, 0
    for lvl in sorted(held):
        acc += held[lvl]
        if acc >= 0.99 * total:
            p99 = lvl
            break
    return peak, p99, busy / seconds


def afas_stamp(moment: float) -> str:
    """Amsterdam local time written with a Z, as AFAS dates its rows."""
    return dt.datetime.fromtimestamp(moment, AMSTERDAM).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- changes and freshness ------------------------------------------------------------------------


@dataclass
class Change:
    bcid: str
    number: str
    at: float  # simulated time it was made


@dataclass
class Desk:
    engine: SyncEngine
    seen_upto: int = 0  # changes[:seen_upto] have been queued for checking
    pending: list[int] = field(default_factory=list)


@dataclass
class Freshness:
    delays: list[float] = field(default_factory=list)
    lookups: int = 0


class ChangeFeed:
    """Makes ``count`` changes at random moments of [start, end) through the simulator's control
    API, each a new mobile number (06-5559xxxx: a block no generated number uses)."""

    def __init__(self, url: str, data: SampleData, count: int, start: float, end: float,
                 rng: random.Random) -> None:
        self.url = url
        self.changes: list[Change] = []
        orgs = [(org_bcid(i), "Mobiel_werk") for i in rng.sample(range(data.n_org),
                                                                  count * 2 // 5)]
        persons = [(person_bcid(j), "Mobiel_werk") for j in rng.sample(range(data.n_person),
                                                                       count - len(orgs))]
        targets = orgs + persons
        rng.shuffle(targets)
        self.plan = sorted(zip((rng.uniform(start, end) for _ in targets), targets, strict=True))
        self._serial = rng.randrange(10_000)

    async def run(self, clock: CompressedClock) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as http:
            for moment, (bcid, column) in self.plan:
                await clock.sleep_until(moment)
                self._serial = (self._serial + 1) % 10_000
                number = f"06-5559{self._serial:04d}"
                now = clock.time()
                r = await http.post("/_sim/mutate", json={
                    "op": "phone", "id": bcid, "column": column, "value": number,
                    "when": afas_stamp(now)})
                r.raise_for_status()
                self.changes.append(Change(str(bcid), number, now))


def checker(desk: Desk, feed: ChangeFeed, fresh: Freshness) -> Callable[[CycleResult], None]:
    def check(cycle: CycleResult) -> None:
        desk.pending += range(desk.seen_upto, len(feed.changes))
        desk.seen_upto = len(feed.changes)
        book = desk.engine.book
        still = []
        for index in desk.pending:
            change = feed.changes[index]
            fresh.lookups += 1
            if any(m.bcid == change.bcid for m in book.lookup(change.number)):
                fresh.delays.append(cycle.at - change.at)
            else:
                still.append(index)
        desk.pending = still

    return check


# --- running a fleet ------------------------------------------------------------------------------


@dataclass
class Outcome:
    desks: int
    hours: float
    server: dict[str, int]
    rows: dict[str, int]  # full / incremental / keys, summed over desks
    requests: int
    cycles: int
    full_refreshes: int
    key_passes: int
    fresh: Freshness
    late: int  # (desk, change) pairs older than one interval and never visible
    pairs: int  # (desk, change) pairs that should have been visible by the end
    cycle_seconds: list[float]  # real seconds per cycle
    reasons: Counter[str]  # why full refreshes ran
    sent: list[list[tuple[float, int]]]  # per client: (simulated time a request left, rows)
    seconds: float  # simulated seconds run

    def p(self, q: float) -> float:
        """Freshness percentile; never-visible pairs count as infinitely late."""
        return percentile(self.fresh.delays + [math.inf] * self.late, q)

    def model(self, args: argparse.Namespace) -> tuple[int, int, float]:
        return concurrency(self.sent, args.afas_latency, args.afas_row_ms / 1000, self.seconds)


async def run_fleet(url: str, settings: Settings, books: list[PhoneBook], data: SampleData, *,
                    policy: SyncPolicy, speed: float, seconds: float, change_rate: float,
                    seed: int) -> Outcome:
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=url) as http:
        (await http.post("/_sim/reset")).raise_for_status()
    clock = CompressedClock(START, speed)
    end = START + seconds
    count = round(data.relations * change_rate * seconds / 3600)
    feed = ChangeFeed(url, data, count, START, end, rng)
    fresh = Freshness()
    desks: list[Desk] = []
    cycle_seconds: list[float] = []
    reasons: Counter[str] = Counter()
    sent: list[list[tuple[float, int]]] = []

    def new_log() -> list[tuple[float, int]]:
        sent.append([])
        return sent[-1]

    for n, book in enumerate(books):
        engine = SyncEngine(settings, book, StatusBoard(), policy=policy, clock=clock,
                            client_factory=lambda st: RecordingClient(st, clock, new_log()),
                            rng=random.Random(seed * 1000 + n))
        desk = Desk(engine)
        engine.on_cycle.append(checker(desk, feed, fresh))
        engine.on_cycle.append(lambda c: cycle_seconds.append(c.seconds))
        engine.on_cycle.append(lambda c: reasons.update([c.reason]) if c.kind == "full" else None)
        desks.append(desk)

    async def start_desk(desk: Desk) -> None:
        # Desks were switched on at different moments: first cycles spread over an interval.
        await clock.sleep_until(START + rng.uniform(0, INTERVAL))
        await desk.engine.run()

    tasks = [asyncio.ensure_future(start_desk(d)) for d in desks]
    feeding = asyncio.ensure_future(feed.run(clock))
    await clock.sleep_until(end)
    for task in [*tasks, feeding]:
        task.cancel()
    await asyncio.gather(*tasks, feeding, return_exceptions=True)
    async with httpx.AsyncClient(base_url=url) as http:
        server = (await http.get("/_sim/stats")).json()
    due = [i for i, c in enumerate(feed.changes) if c.at <= end - INTERVAL]
    late = sum(1 for d in desks for i in d.pending if i in set(due))
    stats = [d.engine.stats for d in desks]
    return Outcome(
        desks=len(desks), hours=seconds / 3600, server=server,
        rows={"full": sum(s.rows_full for s in stats),
              "incremental": sum(s.rows_incremental for s in stats),
              "keys": sum(s.rows_keys for s in stats)},
        requests=sum(s.requests for s in stats), cycles=sum(s.cycles for s in stats),
        full_refreshes=sum(s.full_refreshes for s in stats),
        key_passes=sum(s.key_passes for s in stats), fresh=fresh, late=late,
        pairs=len(due) * len(desks), cycle_seconds=cycle_seconds, reasons=reasons,
        sent=sent, seconds=seconds,
    )


def copy_books(template: Path, folder: Path, desks: int, rng: random.Random,
               steady: bool) -> list[PhoneBook]:
    """``desks`` copies of the template book; with ``steady``, each desk's last full refresh at a
    random earlier moment within its period, and its last key-only pass where it falls then."""
    books = []
    policy = SyncPolicy()
    for n in range(desks):
        path = folder / f"desk{n:03d}" / "phonebook.sqlite3"
        path.parent.mkdir(parents=True)
        shutil.copyfile(template, path)
        book = PhoneBook(path)
        if steady:
            # A full refresh restarts the key-only pass's period (it saw every key itself).
            since_full = rng.uniform(0, policy.full_refresh_hours * 3600)
            key_period = policy.key_pass_hours * 3600
            since_keys = since_full - key_period * (since_full // key_period)
            book.set_state({"sync.full_at": repr(START - since_full),
                            "sync.keys_at": repr(START - since_keys)})
        books.append(book)
    return books


async def seed_book(settings: Settings, path: Path) -> tuple[float, int]:
    """One full refresh at START into ``path``; (real seconds, rows read)."""
    book = PhoneBook(path)
    engine = SyncEngine(settings, book, StatusBoard(), clock=FixedClock(START))
    started = time.perf_counter()
    result = await engine.refresh_once()
    seconds = time.perf_counter() - started
    book.close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return seconds, sum(result.rows.values())


# --- report ---------------------------------------------------------------------------------------


def minutes(seconds: float) -> str:
    return "never" if math.isinf(seconds) else f"{seconds / 60:.1f} min"


def per_hour(value: float, outcome: Outcome, scale: float = 1.0) -> float:
    return value / outcome.hours * scale


def report(args: argparse.Namespace, inc: Outcome, full: Outcome, book_rows: int) -> bool:
    scale = args.desks / full.desks  # the full-refresh fleet is measured on a sample
    inc_rows = per_hour(inc.server["rows_served"], inc)
    full_rows = per_hour(full.server["rows_served"], full, scale)
    inc_req = per_hour(inc.server["requests"], inc)
    full_req = per_hour(full.server["requests"], full, scale)
    ratio = full_rows / inc_rows if inc_rows else math.inf
    p99_inc, p99_full = inc.p(99), full.p(99)
    print()
    print(f"Fleet: {args.desks} desks, {args.relations:,} relations (+ contact persons; "
          f"{book_rows:,} rows per full read), interval {INTERVAL / 60:.0f} min, "
          f"{args.change_rate:.0%} of relations changed per hour")
    print(f"\nIncremental sync: all {inc.desks} desks for {inc.hours:g} simulated hour(s) at "
          f"{args.speed:g}x, real requests")
    print(f"  rows read / hour      {inc_rows:>14,.0f}   (changed rows {per_hour(inc.rows['incremental'], inc):,.0f}, "
          f"key-only {per_hour(inc.rows['keys'], inc):,.0f}, full refreshes {per_hour(inc.rows['full'], inc):,.0f})")
    why = ", ".join(f"{n} {r}" for r, n in inc.reasons.most_common())
    print(f"  requests / hour       {inc_req:>14,.0f}   ({inc.cycles:,} cycles, {inc.full_refreshes} full "
          f"refreshes ({why or 'none'}), {inc.key_passes} key-only passes)")
    print(f"  bytes served / hour   {per_hour(inc.server['bytes_served'], inc) / 2**20:>14,.1f} MB")
    inc_peak, inc_p99, inc_mean = inc.model(args)
    print(f"  concurrent requests   {inc_peak:>14}   peak, {inc_p99} or fewer 99% of the time, "
          f"{inc_mean:.2f} on average (model; the one-threaded simulator saw "
          f"{inc.server['peak_concurrent']})")
    print(f"  freshness             p50 {minutes(inc.p(50))}, p99 {minutes(p99_inc)}, max "
          f"{minutes(inc.p(100))}  ({len(inc.fresh.delays):,} desk x change pairs seen, "
          f"{inc.late} late of {inc.pairs:,} due)")
    print(f"\nPlain full refreshes: measured on {full.desks} desks for {full.hours * 60:g} simulated "
          f"min at {args.full_speed:g}x, rows and requests x{scale:g} for {args.desks} desks")
    print(f"  rows read / hour      {full_rows:>14,.0f}   ({full.full_refreshes} refreshes measured, "
          f"{per_hour(full.server['rows_served'], full) / full.desks:,.0f} rows per desk-hour)")
    print(f"  requests / hour       {full_req:>14,.0f}")
    print(f"  bytes served / hour   {per_hour(full.server['bytes_served'], full, scale) / 2**20:>14,.1f} MB")
    full_peak, _p99, full_mean = full.model(args)
    print(f"  concurrent requests   {full_peak:>14}   peak with {full.desks} desks (model); "
          f"{args.desks} desks: ~{full_mean * scale:.1f} in flight on average")
    print(f"  freshness             p50 {minutes(full.p(50))}, p99 {minutes(p99_full)}, max "
          f"{minutes(full.p(100))}")
    ok = ratio >= 50 and p99_inc <= INTERVAL
    print(f"\nRows read: {ratio:,.0f}x fewer with incremental sync (target >= 50x); p99 freshness "
          f"{minutes(p99_inc)} (target <= {INTERVAL / 60:.0f} min).")
    print(f"VERDICT: {'PASS' if ok else 'FAIL'} - {ratio:,.0f}x fewer rows read, p99 freshness "
          f"{minutes(p99_inc)}, {inc_mean:.1f} requests in flight on average (p99 {inc_p99}, "
          f"peak {inc_peak}) for {args.desks} desks on one token, against "
          f"~{full_mean * scale:.0f} on average with full refreshes")
    return ok


async def main(args: argparse.Namespace) -> int:
    proc, url = start_simulator(args.relations)
    try:
        settings = Settings()
        settings.afas.host = url
        settings.afas.token = token_xml(DEFAULT_TOKEN_DATA)
        data = SampleData(args.relations, SEED)  # the same rows the server makes (to pick targets)
        with tempfile.TemporaryDirectory(prefix="fleet-load-") as tmp:
            folder = Path(tmp)
            template = folder / "template.sqlite3"
            print(f"seeding one book from {args.relations:,} relations …", flush=True)
            seed_seconds, book_rows = await seed_book(settings, template)
            print(f"  full refresh: {seed_seconds:.1f} s, {book_rows:,} rows, "
                  f"{template.stat().st_size / 2**20:.0f} MB; copying to {args.desks} desks …",
                  flush=True)
            rng = random.Random(args.seed)
            books = copy_books(template, folder / "incremental", args.desks, rng, steady=True)
            print(f"phase 1: incremental, {args.desks} desks, {args.hours:g} h at {args.speed:g}x "
                  f"(~{args.hours * 3600 / args.speed:.0f} s) …", flush=True)
            inc = await run_fleet(url, settings, books, data, policy=SyncPolicy(),
                                  speed=args.speed, seconds=args.hours * 3600,
                                  change_rate=args.change_rate, seed=args.seed)
            for book in books:
                book.close()
            shutil.rmtree(folder / "incremental")
            books = copy_books(template, folder / "full", args.full_desks, rng, steady=False)
            print(f"phase 2: plain full refreshes, {args.full_desks} desks, {args.full_minutes:g} min "
                  f"at {args.full_speed:g}x (~{args.full_minutes * 60 / args.full_speed:.0f} s) …",
                  flush=True)
            full = await run_fleet(url, settings, books, data,
                                   policy=SyncPolicy(incremental=False), speed=args.full_speed,
                                   seconds=args.full_minutes * 60, change_rate=args.change_rate,
                                   seed=args.seed + 1)
            for book in books:
                book.close()
        return 0 if report(args, inc, full, book_rows) else 1
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--desks", type=int, default=200)
    parser.add_argument("--relations", type=int, default=100_000)
    parser.add_argument("--hours", type=float, default=1.0, help="simulated hours, incremental")
    parser.add_argument("--speed", type=float, default=24.0, help="simulated seconds per second")
    parser.add_argument("--change-rate", type=float, default=0.01,
                        help="share of relations changed per simulated hour")
    parser.add_argument("--full-desks", type=int, default=2)
    parser.add_argument("--full-minutes", type=float, default=15.0)
    parser.add_argument("--full-speed", type=float, default=6.0)
    parser.add_argument("--afas-latency", type=float, default=0.3,
                        help="concurrency model: seconds AFAS takes per request (an assumption)")
    parser.add_argument("--afas-row-ms", type=float, default=0.1,
                        help="concurrency model: milliseconds AFAS takes per row returned")
    parser.add_argument("--seed", type=int, default=8)
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse()
    if arguments.serve:
        serve(arguments.relations)
    else:
        sys.exit(asyncio.run(main(arguments)))

