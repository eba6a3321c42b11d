"""Helpers shared by the benchmarks in bench/.

- ``PeakRss``: samples this process's resident memory on a thread;
- ``percentile``: nearest-rank percentile of a list of numbers;
- ``afas_simulator``: a simulated AFAS in its own process (as the real one is elsewhere) or on a
  thread;
- ``refresh_pages`` / ``phones_on``: the sample data in the pages a full refresh adds;
- ``cached_book``: a phone book of N numbers built once (through the same RefreshBuilder path a
  full refresh takes) and kept in a cache folder, keyed on the sources that shape its bytes, so a
  second run skips the ~30 s build; ``install_book`` copies it into a fresh profile;
- ``qt_app_loop``: a QApplication (offscreen) with a qasync loop, as the tray app runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # run from a checkout, uninstalled

MB = 1024 * 1024
NUMBERS_PER_RELATION = 1.5  # what the sample data gives (blank, junk and mobile-less rows)
PAGE = 1000
BOOK_SEED = 7
# Files whose change can change the book's bytes or its sample: any edit rebuilds the cache.
_BOOK_SOURCES = ("afas_tray/phonebook/book.py", "afas_tray/numbers.py", "afas_tray/store.py",
                 "afas_tray/phonebook/rows.py", "afas_tray/phonebook/columns.py",
                 "afas_tray/demo/sample_data.py", "afas_tray/config/model.py", "bench/_common.py")


class PeakRss:
    """Samples this process's RSS every ``interval`` seconds on a thread; ``peak`` is the most.
    ``peak_private`` is the most of RSS less its shared part (psutil's ``shared``: on Linux the
    mapped files such as the phone book's pages, which are the system's file cache)."""

    def __init__(self, interval: float = 0.01) -> None:
        self._proc = psutil.Process()
        self._interval = interval
        self._stop = threading.Event()
        self.start_rss = self._proc.memory_info().rss
        self.peak = self.start_rss
        self.peak_private = 0
        self._thread = threading.Thread(target=self._run, name="peak-rss", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._sample()

    def _sample(self) -> None:
        info = self._proc.memory_info()
        self.peak = max(self.peak, info.rss)
        self.peak_private = max(self.peak_private, info.rss - getattr(info, "shared", 0))

    def __enter__(self) -> PeakRss:
        self.start_rss = self.peak = self._proc.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start_rss) / MB


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100): a value that was actually measured."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


# --- the simulated AFAS ----------------------------------------------------------------------------


@contextlib.contextmanager
def afas_simulator(kind: str, relations: int, seed: int = 1) -> Iterator[tuple[str, str]]:
    """(base URL, token) of a simulated AFAS with ``relations`` relations; ``kind`` is
    ``"process"`` (its work stays off this process's GIL) or ``"thread"``."""
    from afas_tray.demo.afas import DEFAULT_TOKEN_DATA, AfasSimulator, SimulatorThread, token_xml

    if kind == "thread":
        sim = AfasSimulator(relations=relations, seed=seed)
        with SimulatorThread(sim) as thread:
            yield thread.url, sim.token
        return
    proc = subprocess.Popen(
        [sys.executable, "-m", "afas_tray.demo.afas", "--port", "0", "--relations",
         str(relations), "--seed", str(seed)],
        stdout=subprocess.PIPE, text=True, cwd=REPO,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # "Simulated AFAS Profit at http://…/ProfitRestServices …"
        if " at " not in first:
            raise SystemExit(f"simulator did not start: {first!r}")
        yield first.split(" at ", 1)[1].split("/ProfitRestServices", 1)[0], token_xml(
            DEFAULT_TOKEN_DATA)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --- the big phone book --------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleNumber:
    raw: str  # as written in AFAS
    e164: str  # the match key, as Xelion sends numbers
    bcid: str  # the one relation it opens


@dataclass(frozen=True)
class CachedBook:
    path: Path  # the built database (read-only: copy it with install_book)
    numbers: int
    relations: int
    build_seconds: float  # 0 when it came from the cache
    sample: list[SampleNumber]  # numbers in the book that open exactly one relation


def _cache_key(numbers: int) -> str:
    h = hashlib.sha256(f"{numbers} {BOOK_SEED} {PAGE}".encode())
    for rel in _BOOK_SOURCES:
        p = REPO / rel
        h.update(p.read_bytes() if p.exists() else b"-")
    return h.hexdigest()[:12]


def pages(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Rows in pages of ``PAGE``, as a refresh reads them from AFAS."""
    page: list[dict[str, Any]] = []
    for row in rows:
        page.append(row)
        if len(page) == PAGE:
            yield page
            page = []
    if page:
        yield page


def refresh_pages(data: Any) -> Iterator[tuple[str, str, Any, list[dict[str, Any]]]]:
    """(role, connector, column mapping, page) for every page of ``data`` (a ``SampleData``)
    that a full refresh adds to the book: organisations, persons, contacts."""
    from afas_tray.config import ROLES, ColumnMapping, ConnectorSettings
    from afas_tray.demo.sample_data import CONNECTORS
    from afas_tray.phonebook import FieldInfo, detect_columns

    for role, connector in ConnectorSettings().ids().items():
        if role not in ROLES:
            continue
        fields = [FieldInfo(f.id, f.label, f.data_type) for f in CONNECTORS[connector].fields]
        mapping = detect_columns(role, connector, fields, ColumnMapping())
        for page in pages(data.rows(connector)):
            yield role, connector, mapping, page


def phones_on(page: list[dict[str, Any]], mapping: Any) -> Iterator[str]:
    """Every phone number written on the page's rows, in the mapping's phone columns."""
    for row in page:
        for col in mapping.phones:
            if row.get(col):
                yield str(row[col])


def _build(db: Path, numbers: int, want_sample: int) -> tuple[int, int, list[SampleNumber]]:
    from afas_tray.demo.sample_data import SampleData
    from afas_tray.numbers import normalise
    from afas_tray.phonebook import PhoneBook
    from afas_tray.pop.router import relations as distinct_relations

    data = SampleData(relations=max(100, int(numbers / NUMBERS_PER_RELATION)), seed=BOOK_SEED)
    every = max(1, numbers // (want_sample * 4))
    candidates: list[str] = []
    seen = 0
    book = PhoneBook(db)
    try:
        with book.begin_refresh() as builder:
            for role, connector, mapping, page in refresh_pages(data):
                builder.add_rows(role, connector, mapping, page)
                for raw in phones_on(page, mapping):
                    seen += 1
                    if seen % every == 0:
                        candidates.append(raw)
            builder.commit()
        sample: list[SampleNumber] = []
        keys: set[str] = set()
        for raw in candidates:
            key = normalise(raw)
            if not key or key in keys or not key.startswith("+31"):
                continue
            found = distinct_relations(book.lookup(key))
            if len(found) == 1:  # one relation: the pop opens a card (no picker in between)
                keys.add(key)
                sample.append(SampleNumber(raw, key, found[0].bcid))
        n_numbers, n_relations = book.numbers(), book.size()
    finally:
        book.close()
    # One self-contained file to copy: fold the WAL back into the database.
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return n_numbers, n_relations, sample


def cached_book(numbers: int, cache_dir: Path, want_sample: int = 1000,
                log: Any = print) -> CachedBook:
    """The book of ``numbers`` numbers in ``cache_dir``, built now if missing or stale."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = _cache_key(numbers)
    db = cache_dir / f"book-{numbers}-{key}.sqlite3"
    meta = db.with_suffix(".json")
    if db.exists() and meta.exists():
        info = json.loads(meta.read_text("utf-8"))
        sample = [SampleNumber(**s) for s in info["sample"]]
        if len(sample) >= want_sample:
            return CachedBook(db, info["numbers"], info["relations"], 0.0, sample)
    for old in cache_dir.glob(f"book-{numbers}-*"):
        old.unlink()
    log(f"building a {numbers:,}-number phone book in {cache_dir} (once; reused with --keep)…")
    started = time.perf_counter()
    tmp = db.with_suffix(".building")
    for p in tmp.parent.glob(tmp.name + "*"):
        p.unlink()
    n_numbers, n_relations, sample = _build(tmp, numbers, want_sample)
    seconds = time.perf_counter() - started
    for suffix in ("-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    tmp.replace(db)
    meta.write_text(json.dumps({
        "numbers": n_numbers, "relations": n_relations,
        "sample": [s.__dict__ for s in sample],
    }), "utf-8")
    return CachedBook(db, n_numbers, n_relations, seconds, sample)


def install_book(book: CachedBook, database_file: Path) -> None:
    """Put a copy of the cached book where a profile's database lives (the cache stays clean)."""
    database_file.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(str(database_file) + suffix).unlink(missing_ok=True)
    shutil.copyfile(book.path, database_file)


# --- Qt --------------------------------------------------------------------------------------------


def qt_app_loop() -> tuple[Any, Any]:
    """(QApplication, qasync loop) set as the current asyncio loop; offscreen unless told."""
    import asyncio

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    return app, loop


def fmt_ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:.1f} ms" if ms < 100 else f"{ms:.0f} ms"
