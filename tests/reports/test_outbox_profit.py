"""The outbox against the stricter simulator (issue 12): recovery through the dossier connector's
real columns, AFAS's 900 s processing window, and lookups that cannot run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from afas_tray.afas import FieldMeta
from afas_tray.demo.afas import AfasSimulator
from afas_tray.reports.outbox import (
    DossierColumnError,
    DossierLookup,
    Outbox,
    OutboxState,
    detect_dossier_fields,
    lookup_filters,
)
from tests.helpers.outbox import (
    ORG_BCID,
    ORG_NUMBER,
    SUBJECTS,
    TOKEN_DATA,
    fast_client,
    make_item,
    marker_counts,
)
from tests.helpers.servers import serving


@pytest.fixture
async def sim() -> AsyncIterator[AfasSimulator]:
    async with serving(AfasSimulator(relations=200, seed=5, token_data=TOKEN_DATA)) as simulator:
        yield simulator


def make_outbox(tmp_path: Path, window: float) -> Outbox:
    return Outbox(tmp_path / "db.sqlite3", settle_seconds=0.2, processing_window=window,
                  backoff_base=0.05, backoff_cap=0.2)


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    box = make_outbox(tmp_path, 4.0)
    yield box
    box.close()


async def drain_for(box: Outbox, sim: AfasSimulator, seconds: float,
                    lookup: DossierLookup | None = None) -> None:
    deadline = time.monotonic() + seconds
    async with fast_client(sim.url) as client:
        while time.monotonic() < deadline:
            result = await box.drain(client, lookup=lookup or DossierLookup(SUBJECTS))
            if result.backlog == 0 or result.paused:
                return
            await asyncio.sleep(min(result.next_due or 0.01, 0.5))


def test_profit_subjects_columns_are_detected_from_metainfo() -> None:
    meta = [FieldMeta("TypeId", "Type", "int"), FieldMeta("SubjectId", "Dossieritem", "int"),
            FieldMeta("DateCreated", "Datum", "date"), FieldMeta("Subject", "Onderwerp", "string"),
            FieldMeta("Comment", "Toelichting", "string"),
            FieldMeta("OrgPersId", "Org/pers", "string")]
    fields = detect_dossier_fields(SUBJECTS, meta, DossierLookup(SUBJECTS))
    assert (fields.id, fields.type, fields.text, fields.date, fields.relation) == (
        "SubjectId", "TypeId", "Comment", "DateCreated", "OrgPersId")
    item = make_item("7001")
    filters = lookup_filters(fields, item, "{afas-tray:7001}")
    assert [(f.field, int(f.op)) for f in filters] == [
        ("TypeId", 1), ("DateCreated", 2), ("OrgPersId", 1), ("Comment", 6)]
    assert filters[1].value == "2026-11-24T00:00:00"  # the call's day minus one
    assert filters[2].value == ORG_NUMBER  # OrgPersId holds the number the link carried
    # A link by internal id (or one the item cannot vouch for) is not what OrgPersId holds.
    for held in ("id", ""):
        other = lookup_filters(fields, make_item("7001", bcid=ORG_BCID, link_by=held), "m")
        assert "OrgPersId" not in [f.field for f in other]
    # A custom connector: the consultant's own names, found through the Profit field ids.
    custom = [FieldMeta("Nr", "Dossieritem", "int", field_id="SbId"),
              FieldMeta("Tekst", "Toelichting", "string", field_id="SbTx")]
    assert detect_dossier_fields("Mijn_Dossier", custom, DossierLookup("Mijn_Dossier")).text == "Tekst"
    with pytest.raises(DossierColumnError) as missing:
        detect_dossier_fields("Mijn_Dossier", meta[:2], DossierLookup("Mijn_Dossier"))
    assert "Mijn_Dossier" in missing.value.text.en and "text" in missing.value.text.en
    with pytest.raises(DossierColumnError):
        detect_dossier_fields(SUBJECTS, meta, DossierLookup(SUBJECTS, text="SbTx"))


async def test_lost_answer_recovered_through_the_real_columns(sim: AfasSimulator,
                                                              outbox: Outbox) -> None:
    outbox.enqueue(make_item("7101"))
    sim.fail_next(1, "timeout")  # stored, the answer never comes
    async with fast_client(sim.url, timeout=0.5) as client:
        first = await outbox.drain(client, lookup=DossierLookup(SUBJECTS))
    assert first.sent == 0
    started = time.monotonic()
    await drain_for(outbox, sim, 10)
    row = outbox.get("7101")
    assert row is not None and row.state == OutboxState.DONE
    assert row.sb_id == str(sim.subjects[0].sb_id)
    assert marker_counts(sim) == {"7101": 1}
    assert time.monotonic() - started < 2.0  # found at once, not after the window
    # The lookup asked Profit_Subjects by its own columns, narrowed by type and date.
    gets = [line for line in sim.log if line.startswith("GET /ProfitRestServices/connectors/")]
    assert gets and all("Profit_Subjects" in line for line in gets)


async def test_slow_answer_is_not_posted_twice(sim: AfasSimulator, outbox: Outbox) -> None:
    outbox.enqueue(make_item("7201"))
    outbox.enqueue(make_item("7202"))
    sim.hang_seconds = 1.5  # Profit stores the item 1.5 s in, long after the client gave up
    sim.fail_next(1, "slow")
    async with fast_client(sim.url, timeout=0.3) as client:
        await outbox.drain(client, lookup=DossierLookup(SUBJECTS))
    assert marker_counts(sim) == {}  # not there yet: the first lookup finds nothing
    await drain_for(outbox, sim, 10)
    assert marker_counts(sim) == {"7201": 1, "7202": 1}
    assert outbox.get("7201").state == OutboxState.DONE  # type: ignore[union-attr]


async def test_lost_request_is_posted_again_after_the_window(sim: AfasSimulator,
                                                             tmp_path: Path) -> None:
    box = make_outbox(tmp_path, 1.5)
    try:
        box.enqueue(make_item("7301"))
        sim.fail_next(1, "timeout")  # the answer is lost ...
        sim.hang_seconds = 0.6
        async with fast_client(sim.url, timeout=0.3) as client:
            await box.drain(client, lookup=DossierLookup(SUBJECTS))
        sim.subjects.clear()  # ... and Profit never processed it after all
        started = time.monotonic()
        await drain_for(box, sim, 10)
        assert marker_counts(sim) == {"7301": 1}
        assert time.monotonic() - started >= 0.8  # the window passed before the second POST
    finally:
        box.close()


async def test_lookup_that_cannot_run_fails_the_row_by_name(sim: AfasSimulator,
                                                            outbox: Outbox) -> None:
    outbox.enqueue(make_item("7401"))
    sim.fail_next(1, "timeout")
    async with fast_client(sim.url, timeout=0.5) as client:
        await outbox.drain(client, lookup=DossierLookup(SUBJECTS))
    sim.leave_app_connector(SUBJECTS)  # the token is fine, the dossier connector is not in it
    await drain_for(outbox, sim, 5)
    row = outbox.get("7401")
    assert row is not None and row.state == OutboxState.FAILED and row.unsure
    assert row.last_message is not None and SUBJECTS in row.last_message.en
    assert "App connector" in row.last_message.en and "app connector" in row.last_message.nl
    assert outbox.paused_reason is None  # not the token's fault: uploads are not paused
    assert marker_counts(sim) == {"7401": 1}  # never posted a second time
    assert outbox.status().failed == 1 and outbox.status().last_error is not None
    # The consultant adds the connector; a retry finds the item instead of posting again.
    sim.leave_app_connector(SUBJECTS, False)
    assert outbox.retry("7401")
    await drain_for(outbox, sim, 5)
    assert outbox.get("7401").state == OutboxState.DONE  # type: ignore[union-attr]
    assert marker_counts(sim) == {"7401": 1}
