"""Fetching finished calls from the simulated Xelion: no history on first start, no gaps and no
repeats across restarts, one request per burst of hang-ups, a safety poll that stays polite, and
recordings that arrive late."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from afas_tray.demo.xelion import XelionSimulator, fake_mp3
from afas_tray.reports.calllog import MIN_POLL_SECONDS, CallFetcher, RecordingFetcher
from afas_tray.store import open_db
from afas_tray.xelion import CallDetails, XelionClient
from tests.helpers.servers import serving
from tests.helpers.wait import until

USER, PASSWORD, TENANT = "jan", "Geheim-Wachtwoord-8431", "demo"
LIST = "GET communications"


@pytest.fixture
async def sim() -> AsyncIterator[XelionSimulator]:
    async with serving(XelionSimulator({USER: PASSWORD}, tenant=TENANT, audio_size=200_000)) as simulator:
        yield simulator


@pytest.fixture
async def client(sim: XelionSimulator) -> AsyncIterator[XelionClient]:
    async with XelionClient(sim.base_url, TENANT, USER, PASSWORD, "afas-tray-test") as c:
        yield c


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "afas-tray.sqlite3"


class Handed:
    """The test's consumer: records every call it is handed, optionally failing at one oid."""

    def __init__(self, fail_at: str | None = None) -> None:
        self.calls: list[CallDetails] = []
        self.fail_at = fail_at

    async def __call__(self, call: CallDetails) -> None:
        if call.oid == self.fail_at:
            raise RuntimeError("process died while handling this call")
        self.calls.append(call)

    @property
    def oids(self) -> list[str]:
        return [c.oid for c in self.calls]


@contextlib.asynccontextmanager
async def running(fetcher: CallFetcher) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.ensure_future(fetcher.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def finished_call(sim: XelionSimulator, number: str, *, recording: bool = True) -> tuple[str, str]:
    """Ring, answer, hang up: (call id, oid)."""
    call_id = sim.ring(number)
    sim.answer(call_id)
    oid = sim.hangup(call_id, recording=recording)
    assert oid
    return call_id, oid


async def test_first_start_skips_history_then_hands_over_new_calls(
    sim: XelionSimulator, client: XelionClient, db_path: Path
) -> None:
    [sim.log_call(f"+3120123450{i}", started=time.time() - 3600 + i) for i in range(3)]
    handed = Handed()
    fetcher = CallFetcher(client, open_db(db_path), handed)
    assert await fetcher.fetch_now() == 0
    assert fetcher.has_cursor
    _, oid = finished_call(sim, "+31201234599")
    assert await fetcher.fetch_now() == 1
    assert handed.oids == [oid]
    assert handed.calls[0].number == "+31201234599"
    assert handed.calls[0].incoming is True


async def test_paging_and_restart_in_the_middle_leave_no_gap_and_no_repeat(
    sim: XelionSimulator, client: XelionClient, db_path: Path
) -> None:
    conn = open_db(db_path)
    await CallFetcher(client, conn, Handed()).fetch_now()  # first start: empty log
    now = time.time()
    oids = [sim.log_call(f"+3120765432{i}", started=now - 70 + i) for i in range(7)]

    # The process dies while handling the 5th call (page size 2: four pages, newest first).
    first = Handed(fail_at=oids[4])
    with pytest.raises(RuntimeError):
        await CallFetcher(client, conn, first, page_size=2).fetch_now()
    assert first.oids == oids[:4]  # handed oldest first
    conn.close()

    # A new fetcher on the same database, as after a restart.
    later = [sim.log_call("+31207654329", started=now - 5)]
    second = Handed()
    sim.reset_counts()
    fetcher = CallFetcher(client, open_db(db_path), second, page_size=2)
    assert await fetcher.fetch_now() == 4
    assert second.oids == oids[4:] + later
    assert await fetcher.fetch_now() == 0  # nothing twice
    assert first.oids + second.oids == oids + later


async def test_a_long_call_logged_after_a_shorter_later_one_is_not_skipped(
    sim: XelionSimulator, client: XelionClient, db_path: Path
) -> None:
    handed = Handed()
    fetcher = CallFetcher(client, open_db(db_path), handed, page_size=2)
    await fetcher.fetch_now()
    long_call = sim.ring("+31201110000")  # starts first and goes on for a while
    sim.answer(long_call)
    await asyncio.sleep(1.1)  # Xelion's dates have whole seconds
    _, short_oid = finished_call(sim, "+31202220000")  # starts later, ends first
    for i in range(3):
        sim.log_call(f"+3120333000{i}", started=time.time() + i, duration=1)
    assert await fetcher.fetch_now() == 4
    long_oid = sim.hangup(long_call)
    # Descending by date: the long call now sits below the five handled ones (page 3).
    assert await fetcher.fetch_now() == 1
    assert handed.oids[-1] == long_oid and short_oid in handed.oids
    assert await fetcher.fetch_now() == 0


async def test_handled_calls_are_not_repeated(
    sim: XelionSimulator, client: XelionClient, db_path: Path
) -> None:
    conn = open_db(db_path)
    handed = Handed()
    fetcher = CallFetcher(client, conn, handed)
    await fetcher.fetch_now()
    oids = [sim.log_call(f"+3130123456{i}", started=time.time() - 10 + i) for i in range(3)]
    assert await fetcher.fetch_now() == 3
    assert await fetcher.fetch_now() == 0
    assert await CallFetcher(client, conn, handed).fetch_now() == 0
    assert handed.oids == oids


async def test_a_burst_of_hang_ups_gives_one_request(
    sim: XelionSimulator, client: XelionClient, db_path: Path
) -> None:
    handed = Handed()
    fetcher = CallFetcher(client, open_db(db_path), handed, debounce=0.3)
    async with running(fetcher):
        await until(lambda: fetcher.fetches == 1)
        await asyncio.sleep(0.05)
        sim.reset_counts()
        oids = []
        for i in range(5):
            call_id, oid = finished_call(sim, f"+3120555000{i}")
            oids.append(oid)
            fetcher.hung_up(call_id)
            await asyncio.sleep(0.02)
        await until(lambda: len(handed.calls) == 5)
        await asyncio.sleep(0.5)  # longer than the debounce: no second fetch follows
    assert sim.counts[LIST] == 1
    # Each hung-up call is asked for by its call id (the guide's route), once.
    assert sim.counts["GET communications/{oid}"] == 5
    assert fetcher.fetches == 2
    assert sorted(handed.oids) == sorted(oids)


async def test_a_call_not_in_the_log_yet_is_looked_for_again(
    sim: XelionSimulator, client: XelionClient, db_path: Path
) -> None:
    handed = Handed()
    fetcher = CallFetcher(client, open_db(db_path), handed, debounce=0.05,
                          follow_ups=(0.6, 2.0))
    async with running(fetcher):
        await until(lambda: fetcher.fetches == 1)
        call_id = sim.ring("+31205550100")
        sim.answer(call_id)
        fetcher.hung_up(call_id)  # the event arrives before Xelion wrote the call log
        await until(lambda: fetcher.fetches == 2)
        await asyncio.sleep(0.2)  # that pass is over
        assert handed.calls == []
        oid = sim.hangup(call_id)
        await until(lambda: len(handed.calls) == 1, timeout=3)
        started = fetcher.fetches
        await asyncio.sleep(1.6)  # found: the remaining follow-up is dropped
    assert handed.oids == [oid]
    assert fetcher.fetches == started == 3


async def test_the_safety_poll_never_runs_more_than_once_a_minute(
    sim: XelionSimulator, client: XelionClient, db_path: Path
) -> None:
    fetcher = CallFetcher(client, open_db(db_path), Handed(), poll_interval=0.05)
    assert fetcher.poll_interval == MIN_POLL_SECONDS
    async with running(fetcher):
        await until(lambda: fetcher.fetches == 1)
        await asyncio.sleep(1.0)
    # The start-up look (the log as it is, then the first pass): nothing more after it.
    assert fetcher.fetches == 1
    assert sim.counts[LIST] == 2
    fetcher.set_live(False)  # no websocket: about once a minute, still never faster
    assert fetcher.poll_interval == MIN_POLL_SECONDS


async def test_the_cursor_belongs_to_the_xelion_account(
    sim: XelionSimulator, client: XelionClient, db_path: Path
) -> None:
    conn = open_db(db_path)
    await CallFetcher(client, conn, Handed()).fetch_now()
    sim.users["piet"] = "x"
    sim.log_call("+31201230000", user="piet")  # piet's history, newer than jan's cursor
    async with XelionClient(sim.base_url, TENANT, "piet", "x", "afas-tray-test") as other:
        handed = Handed()
        await CallFetcher(other, conn, handed).fetch_now()  # another account starts afresh
        assert handed.calls == []
        oid = sim.log_call("+31201230001", user="piet")
        await CallFetcher(other, conn, handed).fetch_now()
    assert handed.oids == [oid]


async def _fetch_with(client: XelionClient, tmp_path: Path, oid: str, wait: float
                      ) -> tuple[Path | None, float]:
    recordings = RecordingFetcher(client, tmp_path / "spool", first_retry=0.2, max_retry=1.0)
    started = time.monotonic()
    path = await recordings.fetch(oid, time.time() + wait)
    return path, time.monotonic() - started


async def test_a_late_recording_is_waited_for_and_streamed_to_the_spool(
    sim: XelionSimulator, client: XelionClient, tmp_path: Path
) -> None:
    sim.recording_delay = 1.0
    _, oid = finished_call(sim, "+31201112222")
    path, took = await _fetch_with(client, tmp_path, oid, wait=10)
    assert path is not None and path.parent == tmp_path / "spool"
    assert path.read_bytes() == fake_mp3(sim.audio_size)
    assert 0.9 < took < 3.0
    assert not list(path.parent.glob("*.part"))
    audio = "GET communications/{oid}/audio"
    assert 3 <= sim.counts[audio] <= 6  # backoff, not a busy loop


async def test_no_recording_gives_up_at_the_deadline(
    sim: XelionSimulator, client: XelionClient, tmp_path: Path
) -> None:
    _, oid = finished_call(sim, "+31201113333", recording=False)
    path, took = await _fetch_with(client, tmp_path, oid, wait=0.8)
    assert path is None
    assert 0.7 < took < 1.5



async def test_the_fetch_loop_ends_when_a_wake_up_and_the_stop_come_together(
        client: XelionClient, db_path: Path) -> None:
    """Quitting the app sets the loop's wake-up (the websocket goes away) in the same turn as it
    cancels the loop: the loop must still end, or the app's stop waits for it (Python 3.11's
    ``asyncio.wait_for`` returns normally then, and the cancel is lost)."""
    fetcher = CallFetcher(client, open_db(db_path), Handed())
    task = asyncio.ensure_future(fetcher.run())
    try:
        await until(lambda: fetcher.has_cursor and fetcher.fetches == 1, what="the first pass")
        await asyncio.sleep(0.05)  # the loop now sleeps until the next pass is due
        fetcher.set_live(False)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=5)
        assert done, "the call-log loop did not end when it was stopped"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def test_an_older_call_log_keeps_its_handled_calls_and_drops_the_unused_cursor(
        tmp_path: Path) -> None:
    """The first version's cursor table goes; the calls already handled stay handled."""
    from afas_tray.reports.calllog import _MIGRATIONS, MODULE
    from afas_tray.store import ensure_schema

    conn = open_db(tmp_path / "afas-tray.sqlite3")
    ensure_schema(conn, MODULE, list(_MIGRATIONS[:2]))  # as the version before this one left it
    conn.execute("INSERT INTO callfetch_cursor VALUES ('acct', 'c1', 1.0)")
    conn.execute("INSERT INTO callfetch_handled(account, oid, at, date) VALUES ('acct', 'o1', 1, 1)")
    ensure_schema(conn, MODULE, list(_MIGRATIONS))
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "callfetch_cursor" not in tables and "callfetch_floor" in tables
    assert [tuple(r) for r in conn.execute("SELECT account, oid FROM callfetch_handled")] == [
        ("acct", "o1")]
    conn.close()
