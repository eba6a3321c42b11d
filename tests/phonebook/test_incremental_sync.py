"""Incremental phone-book sync against the simulated AFAS over loopback: changes found after one
cycle, deletions after the key-only pass, full-refresh fallback, marks kept across restarts, and
the daylight-saving fall-back hour."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from afas_tray.afas.dates import window_start
from afas_tray.config import Settings
from afas_tray.demo.afas import AfasSimulator
from afas_tray.demo.sample_data import KEY_CONNECTORS, org_bcid, person_bcid
from afas_tray.doctor import run_checks
from afas_tray.phonebook import PhoneBook, SyncClock, SyncEngine, SyncPolicy
from afas_tray.status import StatusBoard
from tests.helpers.servers import serving


class FakeClock(SyncClock):
    """Time that moves only when the test says so (the engine's schedules read it)."""

    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        return self.now


def settings_for(sim: AfasSimulator) -> Settings:
    s = Settings()
    s.afas.host = sim.url
    s.afas.token = sim.token
    s.afas.insite_url_template = f"{sim.url}/insite/verkooprelatie-prs?BcId=<BCID>"
    return s


@pytest.fixture
async def sim() -> AsyncIterator[AfasSimulator]:
    async with serving(AfasSimulator(relations=300, seed=11, key_connectors=True)) as server:
        yield server


def engine_for(sim: AfasSimulator, path: Path, clock: FakeClock,
               settings: Settings | None = None) -> SyncEngine:
    book = PhoneBook(path)
    return SyncEngine(settings or settings_for(sim), book, StatusBoard(), clock=clock,
                      policy=SyncPolicy(key_pass_hours=8, full_refresh_hours=24))


def bcids(engine: SyncEngine, number: str) -> set[str]:
    return {m.bcid for m in engine.book.lookup(number)}


async def test_changed_phone_number_is_found_after_one_cycle(sim: AfasSimulator, tmp_path: Path) -> None:
    engine = engine_for(sim, tmp_path / "book.sqlite3", FakeClock())
    first = await engine.sync_once()
    assert first.kind == "full" and engine.book.size() > 0
    org = str(org_bcid(20))
    old = sim.data.organisation(20).tel_work
    sim.data.change_phone(org, "Telefoon_werk", "020-5558811")
    assert bcids(engine, "020 555 88 11") == set()
    served = sim.rows_served
    cycle = await engine.sync_once()
    assert cycle.kind == "incremental"
    assert bcids(engine, "+31205558811") == {org}
    if old:
        assert org not in bcids(engine, old)  # the old number no longer pops this card
    # Only the changed rows travelled, not the book.
    assert sim.rows_served - served == sum(cycle.rows.values()) < 10
    # After a full refresh a cycle reads metainfo again (3) and asks each connector once (3);
    # later cycles only ask for changes.
    assert cycle.requests == 6
    assert (await engine.sync_once()).requests == 3


async def test_deleted_relation_disappears_after_the_key_only_pass(sim: AfasSimulator, tmp_path: Path) -> None:
    clock = FakeClock()
    engine = engine_for(sim, tmp_path / "book.sqlite3", clock)
    await engine.sync_once()
    person = str(person_bcid(30))
    sim.data.change_phone(person, "Mobiel_prive", "06-55588330")
    await engine.sync_once()
    assert bcids(engine, "0655588330") == {person}
    sim.data.delete_relation(person)
    # A deletion leaves no modification date behind: an ordinary cycle cannot see it...
    cycle = await engine.sync_once()
    assert cycle.kind == "incremental" and not cycle.key_rows
    assert bcids(engine, "0655588330") == {person}
    # ...the key-only pass (due after 8 hours, give or take this desk's jitter) does.
    clock.now += 9 * 3600
    cycle = await engine.sync_once()
    assert cycle.kind == "incremental"
    assert cycle.key_rows["persons"] == sim.data.count("AfasTray_Personen")
    assert cycle.removed["persons"] == 1
    assert bcids(engine, "0655588330") == set()
    assert set(cycle.key_rows) == {"organisations", "persons", "contacts"}
    assert f"{settings_for(sim).afas.connectors.persons}_Sleutels" in KEY_CONNECTORS


async def test_key_only_pass_brings_in_rows_the_book_never_saw(sim: AfasSimulator, tmp_path: Path) -> None:
    """A consultant widens a connector's filter: old rows with old dates appear."""
    clock = FakeClock()
    engine = engine_for(sim, tmp_path / "book.sqlite3", clock)
    await engine.sync_once()
    org = sim.data.organisation(12)
    assert org.tel_work
    number = org.tel_work
    assert str(org.bcid) in bcids(engine, number)
    # Pretend the connector's filter used to leave this organisation out.
    keys = [k for k in engine.book.known_keys("organisations") if k != org.number]
    engine.book.remove_missing("organisations", keys)
    assert str(org.bcid) not in bcids(engine, number)
    clock.now += 9 * 3600
    cycle = await engine.sync_once()
    assert cycle.kind == "incremental" and cycle.removed["organisations"] == 0
    assert str(org.bcid) in bcids(engine, number)


async def test_connector_without_date_column_falls_back_and_says_so(sim: AfasSimulator, tmp_path: Path) -> None:
    settings = settings_for(sim)
    settings.afas.connectors.organisations = "Profit_OrgPer"  # standard connector: no date
    engine = engine_for(sim, tmp_path / "book.sqlite3", FakeClock(), settings)
    assert (await engine.sync_once()).kind == "full"
    second = await engine.sync_once()
    assert second.kind == "full" and "no modification-date column" in second.reason
    assert engine.updates == 0 and engine.refreshes == 2
    checks = {r.key: r async for r in run_checks(settings)}
    orgs, persons = checks["connector.organisations"], checks["connector.persons"]
    assert orgs.ok and orgs.warning
    assert "full refresh only: no modification-date column" in orgs.detail.en
    assert "alleen volledig verversen" in orgs.detail.nl
    assert persons.ok and not persons.warning and "incremental on Gewijzigd_op" in persons.detail.en


async def test_high_water_mark_survives_a_restart(sim: AfasSimulator, tmp_path: Path) -> None:
    path = tmp_path / "book.sqlite3"
    clock = FakeClock()
    engine = engine_for(sim, path, clock)
    await engine.sync_once()
    sim.data.change_phone(str(org_bcid(25)), "Telefoon_werk", "020-5558825")
    await engine.sync_once()
    marks = engine.marks()
    assert marks["organisations"].value.startswith(sim.data.clock()[:10])
    engine.book.close()

    sim.data.change_phone(str(org_bcid(26)), "Telefoon_werk", "020-5558826")
    served = sim.rows_served
    restarted = engine_for(sim, path, clock)  # a new process: only the file is shared
    assert restarted.marks() == marks
    cycle = await restarted.sync_once()
    assert cycle.kind == "incremental"  # no full refresh after a restart
    assert bcids(restarted, "020-5558826") == {str(org_bcid(26))}
    assert bcids(restarted, "020-5558825") == {str(org_bcid(25))}
    assert sim.rows_served - served < 10
    restarted.book.close()


async def test_local_dates_across_the_fall_back_hour_skip_no_rows(sim: AfasSimulator, tmp_path: Path) -> None:
    # 2026-10-25: Amsterdam clocks go from 03:00 CEST back to 02:00 CET. AFAS writes local time,
    # so a change at 02:10 CET carries an earlier date than one an hour before, at 02:50 CEST.
    assert window_start(dt.datetime(2026, 10, 25, 2, 50), dt.timedelta(minutes=10)) == \
        dt.datetime(2026, 10, 25, 1, 40)
    assert window_start(dt.datetime(2026, 10, 24, 2, 50), dt.timedelta(minutes=10)) == \
        dt.datetime(2026, 10, 24, 2, 40)
    engine = engine_for(sim, tmp_path / "book.sqlite3", FakeClock())
    await engine.sync_once()
    sim.data.clock = lambda: "2026-10-25T02:50:00Z"  # first 02:50, still summer time
    sim.data.change_phone(str(org_bcid(30)), "Telefoon_werk", "020-5558830")
    await engine.sync_once()
    assert bcids(engine, "020-5558830") == {str(org_bcid(30))}
    assert engine.marks()["organisations"].value == "2026-10-25T02:50:00"
    sim.data.clock = lambda: "2026-10-25T02:10:00Z"  # 40 minutes later: 02:10 winter time
    sim.data.change_phone(str(org_bcid(31)), "Telefoon_werk", "020-5558831")
    cycle = await engine.sync_once()
    assert cycle.kind == "incremental"
    assert bcids(engine, "020-5558831") == {str(org_bcid(31))}
    # Past the doubled hour the window is back to the plain overlap.
    sim.data.clock = lambda: "2026-10-25T03:20:00Z"
    sim.data.change_phone(str(org_bcid(32)), "Telefoon_werk", "020-5558832")
    await engine.sync_once()
    assert engine.marks()["organisations"].value == "2026-10-25T03:20:00"
    assert bcids(engine, "020-5558832") == {str(org_bcid(32))}


async def test_new_row_without_modified_date_is_found_through_created(
        sim: AfasSimulator, tmp_path: Path) -> None:
    """Profit may write a new row with an empty "Gewijzigd op": a modified-only filter misses it,
    modified OR "Aangemaakt op" does not."""
    import httpx

    person = str(person_bcid(40))
    sim.data.delete_relation(person)  # not there yet at the first sync
    engine = engine_for(sim, tmp_path / "book.sqlite3", FakeClock())
    assert (await engine.sync_once()).kind == "full"
    mark = engine.marks()["persons"].value
    sim.data.create_relation(person)  # created now, "Gewijzigd op" empty
    sim.data.change_phone(person, "Mobiel_prive", "06-55588440")
    sim.data._overrides[(2, 40)]["modified"] = None  # the phone came with the new row itself
    async with httpx.AsyncClient(base_url=sim.url + "/ProfitRestServices", trust_env=False,
                                 headers={"Authorization": _auth(sim)}) as http:
        modified_only = (await http.get("/connectors/AfasTray_Personen", params={
            "filterfieldids": "Gewijzigd_op", "filtervalues": mark, "operatortypes": "2",
            "take": 100})).json()["rows"]
    assert all(str(r["BcId"]) != person for r in modified_only)  # the old way misses it
    cycle = await engine.sync_once()
    assert cycle.kind == "incremental"
    assert bcids(engine, "+31655588440") == {person}


def _auth(sim: AfasSimulator) -> str:
    import base64

    return "AfasToken " + base64.b64encode(sim.token.encode()).decode()
