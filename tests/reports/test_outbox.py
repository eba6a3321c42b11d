"""Outbox: call reports reach the simulated AFAS exactly once, over real loopback HTTP, through
failures a user would meet (500/503 storms, AFAS down, token revoked, lost answers)."""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from afas_tray.afas import NOTE_TOO_LARGE, build_body, marker_for
from afas_tray.demo.afas import AfasSimulator
from afas_tray.reports.outbox import PAUSED_TOKEN, DrainResult, Outbox, OutboxState, OutboxStatus
from tests.helpers.outbox import (
    CONTACT_BCID,
    CONTACT_ID,
    CONTACT_ORG_NUMBER,
    ORG_NUMBER,
    SUBJECTS,
    TOKEN_DATA,
    CheckingTransport,
    fast_client,
    knsubject_schema,
    make_item,
    marker_counts,
)
from tests.helpers.servers import serving

MP3 = bytes(range(256)) * 40 + b"ID3-end"  # 10 KB that is not valid text, with an odd length


@pytest.fixture
async def sim() -> AsyncIterator[AfasSimulator]:
    async with serving(AfasSimulator(relations=200, seed=3, token_data=TOKEN_DATA, hang_seconds=3)) as simulator:
        yield simulator


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    box = Outbox(tmp_path / "db.sqlite3", settle_seconds=0.2, processing_window=1.0,
                 backoff_base=0.05, backoff_cap=0.2)
    yield box
    box.close()


async def drain_until_empty(box: Outbox, sim: AfasSimulator, transport: CheckingTransport | None = None, *, seconds: float = 10) -> list[DrainResult]:
    """What the sync loop does: drain, wait as told, drain again."""
    results = []
    deadline = time.monotonic() + seconds
    async with fast_client(sim.url, transport=transport) as client:
        while time.monotonic() < deadline:
            result = await box.drain(client, subjects_connector=SUBJECTS)
            results.append(result)
            if result.backlog == 0 or result.paused:
                return results
            await asyncio.sleep(result.next_due or 0.01)
    raise AssertionError(f"outbox not empty after {seconds} s: {results[-1]}")


def test_bodies_validate_against_afas_spec(tmp_path: Path) -> None:
    schema = knsubject_schema()
    long_subject = "Terugbelverzoek " * 30
    plain = make_item("1001", subject=long_subject, text="")
    with_all = make_item("1002", tmp_path, audio=MP3, bcid=CONTACT_ORG_NUMBER, contact_id=CONTACT_ID)
    too_big = make_item("1003", tmp_path, audio=MP3)

    body, info = build_body(plain, marker=marker_for(plain.key))
    doc = json.loads(body)
    jsonschema.validate(doc, schema)
    fields = doc["KnSubject"]["Element"]["Fields"]
    assert "SbId" not in fields
    assert fields["Ds"] == long_subject[:255] and fields["StId"] == 7 and fields["Da"] == "2026-11-25T14:03:00"
    assert fields["SbTx"] == "{afas-tray:1001}"
    assert doc["KnSubject"]["Element"]["Objects"] == [{"KnSubjectLink": {"Element": [{"Fields": {"ToBC": True, "BcId": ORG_NUMBER}}]}}]
    assert not info.attached

    body, info = build_body(with_all, marker=marker_for(with_all.key))
    doc = json.loads(body)
    jsonschema.validate(doc, schema)
    link, attachment = doc["KnSubject"]["Element"]["Objects"]
    assert link["KnSubjectLink"]["Element"][0]["Fields"] == {"ToBC": True, "BcId": CONTACT_ORG_NUMBER, "CdId": int(CONTACT_ID)}
    att = attachment["KnSubjectAttachment"]["Element"][0]["Fields"]
    assert att["FileName"] == "gesprek-1002.mp3"
    assert base64.b64decode(att["FileStream"], validate=True) == MP3
    assert info.attached and info.size == len(body)
    assert doc["KnSubject"]["Element"]["Fields"]["SbTx"].endswith("offerte.\n\n{afas-tray:1002}")

    # A recording that would push the request past the limit stays home; the text says so.
    body, info = build_body(too_big, marker=marker_for(too_big.key), limit=len(MP3))
    doc = json.loads(body)
    jsonschema.validate(doc, schema)
    assert all("KnSubjectAttachment" not in o for o in doc["KnSubject"]["Element"]["Objects"])
    assert NOTE_TOO_LARGE in doc["KnSubject"]["Element"]["Fields"]["SbTx"]
    assert not info.attached and info.note == NOTE_TOO_LARGE

    # The schema check itself bites: a string contact id is not what AFAS accepts.
    doc["KnSubject"]["Element"]["Objects"][0]["KnSubjectLink"]["Element"][0]["Fields"]["CdId"] = "10004"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema)


def test_markers_are_unique_and_filter_safe() -> None:
    assert marker_for("12") != marker_for("123") and marker_for("12") not in marker_for("123")
    odd = marker_for("Call,1;[x]_%")
    assert odd.startswith("{afas-tray:h") and not set(odd) & set(",;[]_%")


async def test_each_report_arrives_once_with_link_and_recording(sim: AfasSimulator, outbox: Outbox, tmp_path: Path) -> None:
    statuses: list[OutboxStatus] = []
    outbox.on_status = statuses.append
    items = [
        make_item("2001"),
        make_item("2002", tmp_path / "spool", audio=MP3, bcid=CONTACT_ORG_NUMBER, contact_id=CONTACT_ID),
        make_item("2003", tmp_path / "spool", audio=MP3 * 3),
    ]
    assert [outbox.enqueue(i) for i in items] == [True, True, True]
    assert outbox.enqueue(items[1]) is False  # a second hang-up of the same call
    assert outbox.backlog() == 3

    transport = CheckingTransport()
    results = await drain_until_empty(outbox, sim, transport)
    assert sum(r.sent for r in results) == 3

    schema = knsubject_schema()
    for body in transport.bodies:
        jsonschema.validate(body, schema)
    assert marker_counts(sim) == {"2001": 1, "2002": 1, "2003": 1}
    by_marker = {s.text.rsplit("\n", 1)[-1]: s for s in sim.subjects}
    contact = by_marker["{afas-tray:2002}"]
    assert contact.links == [{"ToBC": True, "BcId": CONTACT_BCID, "CdId": int(CONTACT_ID)}]
    assert contact.attachments == [("gesprek-2002.mp3", len(MP3))]
    assert by_marker["{afas-tray:2003}"].attachments == [("gesprek-2003.mp3", 3 * len(MP3))]
    assert by_marker["{afas-tray:2001}"].attachments == []

    rows = outbox.items()
    assert [r.state for r in rows] == [OutboxState.DONE] * 3
    assert [r.sb_id for r in rows] == [str(by_marker[marker_for(r.key)].sb_id) for r in rows]
    assert [int(r.sb_id) for r in rows] == sorted(int(r.sb_id) for r in rows)  # sent in order
    assert not list((tmp_path / "spool").iterdir())  # spooled recordings removed once in AFAS
    assert statuses[-1] == OutboxStatus(backlog=0, failed=0, paused_reason=None, last_error=None)

    # Done stays done: queueing the call again or draining again sends nothing.
    assert outbox.enqueue(items[0]) is False
    before = sim.requests
    assert (await drain_until_empty(outbox, sim))[-1].sent == 0
    assert sim.requests == before


async def test_sending_mark_is_on_disk_before_the_post_leaves(sim: AfasSimulator, outbox: Outbox, tmp_path: Path) -> None:
    for n in range(3):
        outbox.enqueue(make_item(f"21{n:02d}", tmp_path / "spool", audio=MP3))
    transport = CheckingTransport(db=tmp_path / "db.sqlite3")  # reads the file as a restart would
    await drain_until_empty(outbox, sim, transport)
    # A crash while any of these requests was in flight leaves a row that is looked up, not re-posted.
    assert transport.rows_at_post == {f"21{n:02d}": ("sending", 1) for n in range(3)}
    assert [r.state for r in outbox.items()] == [OutboxState.DONE] * 3


async def test_the_loop_keeps_running_while_the_database_is_locked(sim: AfasSimulator, outbox: Outbox, tmp_path: Path) -> None:
    """Another writer of the same file (a long phone-book write, a second process) holds the
    write lock: the drain waits for it off the event loop, so the UI on that loop stays live."""
    for n in range(3):
        outbox.enqueue(make_item(f"22{n:02d}"))
    hold = 0.8
    locker = sqlite3.connect(tmp_path / "db.sqlite3", isolation_level=None, check_same_thread=False)
    locker.execute("BEGIN IMMEDIATE")
    release = threading.Timer(hold, locker.execute, ("COMMIT",))
    release.start()
    gaps: list[float] = []

    async def ticker() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    started = time.perf_counter()
    try:
        async with fast_client(sim.url) as client:
            draining = asyncio.create_task(outbox.drain(client, subjects_connector=SUBJECTS))
            await asyncio.sleep(0.2)
            assert not draining.done()  # the 'sending' mark waits for the lock
            t0 = time.perf_counter()
            status = outbox.status()  # what the tray asks meanwhile
            assert time.perf_counter() - t0 < 0.1
            assert status.backlog == 3 and sim.requests == 0  # nothing posted without the mark
            result = await draining
    finally:
        ticking.cancel()
        release.join()
        locker.close()
    assert time.perf_counter() - started >= hold and result.sent == 3 and result.backlog == 0
    assert max(gaps) < 0.2, f"the loop stalled {max(gaps) * 1000:.0f} ms"
    assert marker_counts(sim) == {f"22{n:02d}": 1 for n in range(3)}


async def test_storm_of_500_and_503(sim: AfasSimulator, outbox: Outbox) -> None:
    for n in range(6):
        outbox.enqueue(make_item(f"30{n:02d}"))
    sim.fail_next(4, 503, retry_after=0)
    sim.fail_next(1, 500)
    sim.fail_next(2, 503, retry_after=0)
    await drain_until_empty(outbox, sim)

    failed = outbox.items(OutboxState.FAILED)
    assert [r.key for r in failed] == ["3000"]  # the 500 hit the first report, after the 503s
    message = failed[0].last_message
    assert message is not None and "Er is een onverwachte fout opgetreden." in message.nl
    assert "logreferentie" in message.nl and "log reference" in message.en
    assert outbox.status().failed == 1 and outbox.status().last_error is None
    assert marker_counts(sim) == {f"30{n:02d}": 1 for n in range(1, 6)}

    assert outbox.retry_failed() == 1
    await drain_until_empty(outbox, sim)
    assert marker_counts(sim) == {f"30{n:02d}": 1 for n in range(6)}
    assert outbox.status().failed == 0


async def test_validation_error_keeps_afas_message_and_can_be_fixed(sim: AfasSimulator, outbox: Outbox) -> None:
    outbox.enqueue(make_item("3101", subject="   "))
    outbox.enqueue(make_item("3102"))
    await drain_until_empty(outbox, sim)
    row = outbox.get("3101")
    assert row is not None and row.state == OutboxState.FAILED
    assert row.last_message is not None and "Onderwerp: verplicht veld is niet gevuld." in row.last_message.nl
    assert marker_counts(sim) == {"3102": 1}  # the failed one does not hold back the rest

    assert outbox.update_report("3101", "Terugbelverzoek", "Graag terugbellen.")
    assert outbox.retry("3101")
    await drain_until_empty(outbox, sim)
    assert marker_counts(sim) == {"3101": 1, "3102": 1}
    assert sim.subjects[-1].subject == "Terugbelverzoek"
    assert not outbox.update_report("3101", "Te laat", "")  # done: AFAS has it


async def test_503_retry_after_is_honoured(sim: AfasSimulator, outbox: Outbox) -> None:
    outbox.enqueue(make_item("3201"))
    sim.fail_next(1, 503, retry_after=1)
    started = time.monotonic()
    async with fast_client(sim.url, retries=0) as client:  # the outbox itself waits
        result = await outbox.drain(client, subjects_connector=SUBJECTS)
    assert result.sent == 1 and result.backlog == 0
    assert time.monotonic() - started >= 1.0
    assert marker_counts(sim) == {"3201": 1}


async def test_afas_down_for_a_while(sim: AfasSimulator, outbox: Outbox) -> None:
    for n in range(2):
        outbox.enqueue(make_item(f"40{n:02d}"))
    await drain_until_empty(outbox, sim)
    port = int(sim.url.rsplit(":", 1)[1])
    await sim.stop()
    outbox.backoff_base = 0.5  # long enough to see that an immediate second drain does not try

    for n in range(2, 6):
        outbox.enqueue(make_item(f"40{n:02d}"))
    async with fast_client(sim.url) as client:
        down = await outbox.drain(client, subjects_connector=SUBJECTS)
        assert down.sent == 0 and down.backlog == 4 and down.stopped is not None
        assert down.next_due is not None and down.next_due > 0
        head = outbox.get("4002")
        assert head is not None and head.state == OutboxState.PENDING and head.attempts == 1
        again = await outbox.drain(client, subjects_connector=SUBJECTS)  # backing off: no new try
        assert again.sent == 0
        head = outbox.get("4002")
        assert head is not None and head.attempts == 1
        assert str(outbox.status().last_error) == str(down.stopped)

    await asyncio.sleep(0.3)
    await sim.start(port=port)  # AFAS is back, same address
    await drain_until_empty(outbox, sim)
    assert marker_counts(sim) == {f"40{n:02d}": 1 for n in range(6)}
    rows = outbox.items()
    assert [int(r.sb_id) for r in rows] == sorted(int(r.sb_id) for r in rows)  # order kept


async def test_token_revoked_mid_drain_pauses_and_resumes(sim: AfasSimulator, outbox: Outbox) -> None:
    for n in range(6):
        outbox.enqueue(make_item(f"50{n:02d}"))
    seen: list[OutboxStatus] = []

    def on_status(status: OutboxStatus) -> None:
        seen.append(status)
        if status.backlog == 4 and all(s.backlog != 4 for s in seen[:-1]):
            sim.revoke_token()  # someone regenerates the token in Profit, once

    outbox.on_status = on_status
    result = (await drain_until_empty(outbox, sim))[-1]
    assert result.paused and result.sent == 2 and result.backlog == 4
    assert outbox.paused_reason == PAUSED_TOKEN
    assert PAUSED_TOKEN.en == "AFAS refused the token; uploads paused — check Settings"
    assert seen[-1].paused_reason == PAUSED_TOKEN
    assert marker_counts(sim) == {"5000": 1, "5001": 1}
    assert all(r.state == OutboxState.PENDING for r in outbox.items() if r.key >= "5002")

    before = sim.requests
    still = (await drain_until_empty(outbox, sim))[-1]  # paused: not even one more try
    assert still.paused and sim.requests == before

    sim.revoke_token(False)
    outbox.resume()  # the user saved the settings with a fixed token
    assert outbox.paused_reason is None
    await drain_until_empty(outbox, sim)
    assert marker_counts(sim) == {f"50{n:02d}": 1 for n in range(6)}


async def test_lost_answer_is_not_posted_twice(sim: AfasSimulator, outbox: Outbox) -> None:
    outbox.enqueue(make_item("6001"))
    outbox.enqueue(make_item("6002"))
    sim.fail_next(1, "timeout")  # AFAS stores the item, the answer never comes
    async with fast_client(sim.url, timeout=0.5) as client:
        first = await outbox.drain(client, subjects_connector=SUBJECTS)
    assert first.sent == 0 and first.stopped is not None
    row = outbox.get("6001")
    assert row is not None and row.unsure and row.state == OutboxState.PENDING
    assert marker_counts(sim) == {"6001": 1}
    assert outbox.retry("6001")  # "send now" from the user still waits before the lookup
    row = outbox.get("6001")
    assert row is not None and row.next_try > time.time()

    results = await drain_until_empty(outbox, sim)
    assert sum(r.recovered for r in results) == 1 and sum(r.sent for r in results) == 1
    assert marker_counts(sim) == {"6001": 1, "6002": 1}
    row = outbox.get("6001")
    assert row is not None and row.sb_id == str(sim.subjects[0].sb_id) and not row.unsure


async def test_proxy_413_resends_without_recording(sim: AfasSimulator, outbox: Outbox, tmp_path: Path) -> None:
    outbox.enqueue(make_item("7001", tmp_path, audio=MP3 * 10))
    outbox.enqueue(make_item("7002", tmp_path, audio=MP3))
    transport = CheckingTransport(max_body=len(MP3) * 5)  # a proxy whose limit is below AFAS's
    await drain_until_empty(outbox, sim, transport)
    assert transport.refused == 1
    assert marker_counts(sim) == {"7001": 1, "7002": 1}
    big, small = sim.subjects
    assert big.attachments == [] and NOTE_TOO_LARGE in big.text
    assert small.attachments == [("gesprek-7002.mp3", len(MP3))]
    row = outbox.get("7001")
    assert row is not None and row.attachment_dropped


async def test_cli_lists_and_retries(sim: AfasSimulator) -> None:
    import argparse
    import contextlib
    import io

    from afas_tray.cli import outbox as cli_outbox
    from afas_tray.system.profile import Profile

    box = Outbox(Profile.open().paths.database_file, settle_seconds=0.2, processing_window=1.0)
    box.enqueue(make_item("8001", subject=" "))
    box.enqueue(make_item("8002"))
    await drain_until_empty(box, sim)

    parser = argparse.ArgumentParser(prog="afas-tray")
    cli_outbox.add_parser(parser.add_subparsers(dest="command"))

    def run(*argv: str) -> tuple[int, str]:
        args = parser.parse_args(list(argv))
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = args.func(args)
        return code, out.getvalue()

    code, listing = run("outbox")
    assert code == 0
    failed_line = next(line for line in listing.splitlines() if line.startswith("8001"))
    assert "failed" in failed_line and "Onderwerp: verplicht veld is niet gevuld." in failed_line
    done_line = next(line for line in listing.splitlines() if line.startswith("8002"))
    assert "done" in done_line and str(sim.subjects[0].sb_id) in done_line

    assert run("outbox", "retry", "8002")[0] == 1  # done: nothing to retry
    assert run("outbox", "retry", "nope")[0] == 1
    assert run("outbox", "retry")[0] == 2
    assert run("outbox", "retry", "--failed")[0] == 0
    row = box.get("8001")
    assert row is not None and row.state == OutboxState.PENDING
    assert run("outbox", "--state", "failed")[1].strip() in ("The outbox is empty.", "De outbox is leeg.")
    box.close()


def test_operator_text_is_not_read_as_rich_text_and_stays_readable(tmp_path: Path) -> None:
    """SbTx renders markup (AFAS's "Rich text example" in OASContent's dossier file): what the
    operator typed arrives as typed, only the markup escaped."""
    afas_example = ("**VET**\n_Cursief_\n++Onderstrepen++\n~~Doorhalen~~\n- opsommingsteken\n"
                    "1.Nummering\n# KOP 1\n## KOP 2\nNormaal")
    item = make_item("1101", text=afas_example)
    body, _info = build_body(item, marker=marker_for(item.key))
    sbtx = json.loads(body)["KnSubject"]["Element"]["Fields"]["SbTx"]
    assert sbtx.split("\n")[:9] == [
        r"\*\*VET\*\*", r"\_Cursief\_", r"\+\+Onderstrepen\+\+", r"\~\~Doorhalen\~\~",
        r"\- opsommingsteken", r"1\.Nummering", r"\# KOP 1", r"\## KOP 2", "Normaal"]
    assert sbtx.endswith(marker_for(item.key))  # the marker the lookup searches for, as it was
    plain = ("Klant jan_de_vries@example.nl belde over offerte_2026: 3 * 4 = 12 stuks, 1.5 uur\n"
             "werk, 2-3 dagen; tel. +31 6-1234 5678. Pad C:\\temp\\x.")
    item = make_item("1102", text=plain)
    body, _info = build_body(item, marker=marker_for(item.key))
    assert json.loads(body)["KnSubject"]["Element"]["Fields"]["SbTx"].startswith(plain + "\n")


async def test_lookups_during_an_outage_wait_longer_each_time_up_to_the_cap(
        tmp_path: Path, sim: AfasSimulator, unused_tcp_port: int) -> None:
    """The answer was lost, then AFAS went away: the lookups that must come before any resend
    fail, and nothing is posted, so the report's POST count stays; the waits between them grow
    all the same (politeness), up to ``outage_cap``, instead of staying at the first one."""
    now = [1_000_000.0]
    box = Outbox(tmp_path / "db.sqlite3", settle_seconds=2.0, backoff_base=5.0,
                 backoff_cap=900.0, outage_cap=60.0, clock=lambda: now[0])
    box.enqueue(make_item("4401"))
    sim.fail_next(1, "timeout")  # stored, the answer lost
    async with fast_client(sim.url, timeout=0.3, retries=0) as client:
        await box.drain(client, subjects_connector=SUBJECTS)
    assert box.items()[0].unsure
    waits = []
    async with fast_client(f"http://127.0.0.1:{unused_tcp_port}", retries=0) as client:
        for _ in range(12):
            now[0] += 1000.0  # due again
            result = await box.drain(client, subjects_connector=SUBJECTS)
            assert result.backlog == 1 and result.next_due is not None
            waits.append(result.next_due)
    assert box.items()[0].attempts == 1  # posted once, never again
    assert waits[0] <= 10.0 and max(waits) <= 60.0
    assert min(waits[-4:]) >= 30.0  # grown to the cap (jitter 0.5-1x)
    async with fast_client(sim.url) as client:  # AFAS back: found, not posted again
        now[0] += 1000.0
        result = await box.drain(client, subjects_connector=SUBJECTS)
    assert result.recovered == 1 and marker_counts(sim) == {"4401": 1}
    box.close()


async def test_counts_taken_before_a_retry_do_not_reach_the_tray_after_it(
    sim: AfasSimulator, outbox: Outbox
) -> None:
    """A drain counts on its DB thread while the user presses Retry on the loop: the tray must
    end on the retry's "nothing failed", not on the older count (seen as a second "AFAS
    refused a report" notice)."""
    outbox.enqueue(make_item("7001"))
    sim.fail_next(1, 500)  # Profit refuses it: failed
    await drain_until_empty(outbox, sim)
    assert outbox.failed_count() == 1
    seen: list[OutboxStatus] = []
    outbox.on_status = seen.append
    counted, retried = threading.Event(), threading.Event()
    counts = outbox._counts

    def count_then_wait(read: Any) -> tuple[int, int]:
        found = counts(read)
        if threading.current_thread().name.startswith("outbox-db"):
            counted.set()  # the drain has its (still failed) counts …
            retried.wait(5)  # … and hands them over only after the retry
        return found

    outbox._counts = count_then_wait  # type: ignore[method-assign]
    counting = asyncio.ensure_future(outbox._drain_notify())
    await asyncio.to_thread(counted.wait, 5)
    assert outbox.retry("7001")
    retried.set()
    await counting
    assert [s.failed for s in seen][-1] == 0
