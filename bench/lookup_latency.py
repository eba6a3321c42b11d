"""Lookup latency of a phone book holding 1,000,000 numbers.

Builds the book through the same path a full refresh takes (RefreshBuilder.add_rows per page of
1,000 rows, then commit), from the simulated AFAS data (``afas_tray.demo.sample_data``: Dutch
numbers written the many ways people type them, extensions, Belgian numbers, junk). Then looks up
10,000 numbers in mixed formats, hits and misses, timing each ``PhoneBook.lookup`` including
normalisation, with a cold normalisation cache, on a fresh connection whose pages were read in
once as the app does at start (``PhoneBook.warm_lookups``), after a first sync cycle that found
nothing changed (``--unsynced``: before it).

    python bench/lookup_latency.py [--numbers 1000000] [--queries 10000] [--passes 3]
                                   [--keep DIR] [--unsynced]

Target (issue 18): p99 < 50 µs; p50, p99 and max are printed for each pass through the queries
(each with a cold normalisation cache), the verdict is on the median pass. The machine's load shows in the
tail (a descheduled process waits a whole scheduler tick, some 4 ms): note ``uptime`` with it.
So does a virtual machine's own pausing, which the last line measures (a busy loop's gaps over
20 µs): at a few hundred a second of some 50 µs, about 1 % of 20 µs lookups land on one.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import NUMBERS_PER_RELATION, percentile, phones_on, refresh_pages

from afas_tray import numbers as phone
from afas_tray.core import tune_interpreter
from afas_tray.demo.sample_data import SampleData
from afas_tray.phonebook import PhoneBook

TARGET_P99_MS = 0.050


def build(
    book: PhoneBook, data: SampleData, sample: list[str], every: int
) -> tuple[float, float]:
    """Full refresh of ``book`` from ``data``; keeps every ``every``-th written number.
    Returns (total seconds, seconds spent in the phone book rather than generating rows)."""
    started = time.perf_counter()
    in_book = 0.0
    builder = book.begin_refresh()
    seen = 0
    with builder:
        for role, connector, mapping, page in refresh_pages(data):
            t0 = time.perf_counter()
            builder.add_rows(role, connector, mapping, page)
            in_book += time.perf_counter() - t0
            for raw in phones_on(page, mapping):
                seen += 1
                if seen % every == 0:
                    sample.append(raw)
        t0 = time.perf_counter()
        builder.commit()
        in_book += time.perf_counter() - t0
    return time.perf_counter() - started, in_book


def queries(sample: list[str], count: int, rng: random.Random) -> list[str]:
    """Mixed formats: as typed in AFAS, E.164 (what Xelion sends), 0031…, national; plus misses
    (the sample data never uses the 555 block after the area code)."""
    out: list[str] = []
    written = [s for s in sample if phone.normalise(s)]
    while len(out) < count:
        roll = rng.random()
        if roll < 0.25:
            area = rng.choice(("20", "10", "30", "6", "40", "513"))
            tail = "".join(rng.choice("0123456789") for _ in range(9 - len(area) - 3))
            out.append(rng.choice((f"+31{area}555{tail}", f"0{area}-555{tail}")))
            continue
        raw = rng.choice(written)
        key = phone.normalise(raw) or ""
        if roll < 0.5:
            out.append(raw)
        elif roll < 0.8:
            out.append(key)
        elif roll < 0.9:
            out.append("00" + key[1:])
        elif key.startswith("+31"):
            out.append(f"0{key[3:5]} {key[5:8]} {key[8:]}")
        else:
            out.append(key)
    rng.shuffle(out)
    return out


def _faults() -> tuple[int, int] | None:
    """(major, minor) page faults of this process so far, where the system counts them."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_majflt, usage.ru_minflt


def machine_pauses(seconds: float = 1.0, over_ns: int = 20_000) -> tuple[float, float]:
    """(pauses per second, median pause in µs) of a busy loop reading the clock: time this
    process did not run although it wanted to (hypervisor, interrupts, other processes)."""
    clock = time.perf_counter_ns
    gaps: list[int] = []
    last = clock()
    end = last + int(seconds * 1e9)
    while last < end:
        now = clock()
        if now - last > over_ns:
            gaps.append(now - last)
        last = now
    return len(gaps) / seconds, (statistics.median(gaps) / 1000 if gaps else 0.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="build the database here and keep it")
    parser.add_argument("--passes", type=int, default=3,
                        help="times through the lookups; the verdict takes the median pass "
                             "(the machine's pauses come and go)")
    parser.add_argument("--unsynced", action="store_true",
                        help="look up before anything is written to the reopened book (the "
                             "first minute after an app start)")
    args = parser.parse_args()
    if args.passes < 1:
        parser.error("--passes must be at least 1")

    with tempfile.TemporaryDirectory() as tmp:
        db = (args.keep or Path(tmp)) / "phonebook.sqlite"
        db.unlink(missing_ok=True)
        book = PhoneBook(db)
        relations = max(100, int(args.numbers / NUMBERS_PER_RELATION))
        data = SampleData(relations=relations, seed=7)
        sample: list[str] = []
        every = max(1, args.numbers // (args.queries * 2 * args.passes))
        seconds, in_book = build(book, data, sample, every)
        numbers, size = book.numbers(), book.size()
        book.close()
        tune_interpreter()  # as the app at start (collector, allocator)
        book = PhoneBook(db)  # fresh connection, as after an app start …
        book.warm_lookups()  # … which reads the lookup's pages in once (core.start) …
        if not args.unsynced:
            # … and whose first sync writes to the book (AFAS unchanged: only its marks). Until
            # something is written, SQLite asks the file system for the file's size at every
            # read (its log has no size yet): a system call, 1-2 µs here.
            book.apply_cycle([])
        db_mb = sum(p.stat().st_size for p in db.parent.glob(db.name + "*")) / 1e6

        rng = random.Random(11)
        # other numbers in each pass (a share of the sample each): each pass finds its pages
        # as the first did, not mapped in by an earlier one
        todos = [queries(sample[k::args.passes], args.queries, rng) for k in range(args.passes)]
        phone._normalise_cached.cache_clear()  # cold: every number parsed during its lookup
        for number in queries(sample, 200, rng):  # warm the statement cache a little
            book.lookup(number)
        passes: list[list[float]] = []
        faults: list[tuple[int, int] | None] = []
        hits = 0
        for todo in todos:
            phone._normalise_cached.cache_clear()  # each pass as cold as the first
            timings: list[float] = []
            hits = 0
            before = _faults()
            for number in todo:
                t0 = time.perf_counter_ns()
                found = book.lookup(number)
                timings.append((time.perf_counter_ns() - t0) / 1e6)
                hits += bool(found)
            after = _faults()
            passes.append(sorted(timings))
            faults.append((after[0] - before[0], after[1] - before[1]) if before and after else None)
        book.close()

    print(f"book: {numbers:,} numbers, {size:,} relations; built in {seconds:.1f} s, of which "
          f"{in_book:.1f} s in the phone book ({numbers / in_book:,.0f} numbers/s, the rest "
          f"generating rows); database {db_mb:,.0f} MB")
    print(f"lookups: {len(passes)} passes of {args.queries:,} in mixed formats, each from its own"
          f" share of the book's numbers (the last: {hits:,} hits / {args.queries - hits:,}"
          " misses)")
    p99s = []
    for n, (timings, fault) in enumerate(zip(passes, faults, strict=True), start=1):
        p99s.append(percentile(timings, 99))
        line = (f"pass {n}: p50 {statistics.median(timings) * 1000:.0f} µs, p99 "
                f"{p99s[-1] * 1000:.0f} µs, max {timings[-1]:.2f} ms")
        if fault is not None:
            line += f"; page faults: {fault[0]:,} read from disk, {fault[1]:,} mapped in"
        print(line)
    middle = sorted(range(len(passes)), key=lambda n: p99s[n])[len(passes) // 2]
    p50 = statistics.median(passes[middle])
    rate, pause = machine_pauses()
    print(f"machine: {rate:,.0f} pauses/s over 20 µs (median {pause:.0f} µs) while idle; a "
          f"lookup of the median length meets one {rate * p50 / 1000 * 100:.1f} % of the time")
    p99 = p99s[middle]
    ok = p99 < TARGET_P99_MS
    print(f"verdict: {'PASS' if ok else 'FAIL'} — p99 {p99 * 1000:.0f} µs (the median pass, "
          f"{middle + 1}) "
          f"{'<' if ok else '>='} {TARGET_P99_MS * 1000:g} µs target")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
