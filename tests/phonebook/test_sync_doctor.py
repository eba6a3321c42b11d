"""The phone book fed from the simulated AFAS over loopback: sync engine, doctor, and the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from afas_tray.afas import AfasClient
from afas_tray.config import Settings
from afas_tray.demo.afas import AfasSimulator, SimulatorThread
from afas_tray.demo.sample_data import KNOWN
from afas_tray.doctor import run_checks
from afas_tray.models import CheckResult
from afas_tray.phonebook import PhoneBook, SyncEngine, SyncError, default_client, full_refresh
from afas_tray.status import State, StatusBoard
from afas_tray.system.paths import app_paths
from tests.helpers.servers import serving


def settings_for(url: str, token: str) -> Settings:
    s = Settings()
    s.afas.host = url
    s.afas.token = token
    s.afas.insite_url_template = f"{url}/insite/verkooprelatie-prs?BcId=<BCID>"
    return s


@pytest.fixture
async def sim() -> AsyncIterator[AfasSimulator]:
    async with serving(AfasSimulator(relations=300, seed=5)) as server:
        yield server


@pytest.fixture
def book(tmp_path: Path) -> Iterator[PhoneBook]:
    with PhoneBook(tmp_path / "book.sqlite3") as b:
        yield b


async def test_full_refresh_finds_known_numbers_in_any_format(sim: AfasSimulator, book: PhoneBook) -> None:
    settings = settings_for(sim.url, sim.token)
    seen: list[tuple[str, int]] = []
    async with default_client(settings) as client:
        result = await full_refresh(client, settings, book, lambda role, n: seen.append((role, n)))
    assert set(result.rows) == {"organisations", "persons", "contacts"}
    assert {role for role, _ in seen} == set(result.rows)
    org = KNOWN["org_unique"]
    for typed in ("020-5550101", "+31 20 555 0101", "0031205550101", "+31 (0)20 5550101"):
        matches = book.lookup(typed)
        assert [m.bcid for m in matches] == list(org.bcids), typed
    assert book.lookup(KNOWN["no_match"].written[0]) == []
    shared = {m.bcid for m in book.lookup(KNOWN["shared_two_orgs"].e164)}
    assert shared == set(KNOWN["shared_two_orgs"].bcids)


async def test_failing_connector_is_named_and_old_book_stays(sim: AfasSimulator, book: PhoneBook) -> None:
    settings = settings_for(sim.url, sim.token)
    async with default_client(settings) as client:
        await full_refresh(client, settings, book)
    before = book.size()
    sim.remove_connector(settings.afas.connectors.contacts)
    async with default_client(settings) as client:
        with pytest.raises(SyncError) as err:
            await full_refresh(client, settings, book)
    assert settings.afas.connectors.contacts in err.value.text.en
    assert "contactpersonen" in err.value.text.nl
    assert book.size() == before and book.lookup(KNOWN["org_unique"].e164)


async def test_401_on_the_contacts_connector_names_it_and_the_others_still_sync(
        sim: AfasSimulator, book: PhoneBook) -> None:
    settings = settings_for(sim.url, sim.token)
    board = StatusBoard()
    engine = SyncEngine(settings, book, board)
    await engine.sync_once()  # full refresh: all three
    contact = KNOWN["contact_direct"]
    assert book.lookup(contact.e164)
    contacts_id = settings.afas.connectors.contacts
    sim.leave_app_connector(contacts_id)  # a consultant rebuilt the App connector without it
    renamed = KNOWN["org_unique"].bcids[0]
    sim._mutate({"op": "rename", "id": renamed, "value": "Nieuwe Naam B.V."})
    full = await engine.refresh_once()  # a full refresh: the others refresh, contacts are kept
    assert set(full.kept) == {"contacts"} and contacts_id in full.kept["contacts"].en
    assert "App connector" in full.kept["contacts"].en
    assert book.lookup(contact.e164), "the contact persons' previous data stays"
    assert any(m.name == "Nieuwe Naam B.V." for m in book.lookup(KNOWN["org_unique"].e164))
    status = board.current
    assert status.state == State.IDLE and status.message is not None
    assert contacts_id in status.message.en
    cycle = await engine.sync_once()  # incremental: the same, and no fatal stop
    assert cycle.kind == "incremental" and set(cycle.kept) == {"contacts"}
    assert set(cycle.rows) == {"organisations", "persons"}
    assert book.lookup(contact.e164)


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of 40 rows and a read-ahead of two: the 300-relation sample spans many pages, so
    the download runs ahead of the phone book and waits for it."""
    import afas_tray.afas.client as client_module
    import afas_tray.phonebook.refresh as sync_module

    monkeypatch.setattr(client_module, "MAX_ROWS_PER_PAGE", 40)
    monkeypatch.setattr(sync_module, "PAGES_AHEAD", 2)


async def test_refresh_of_many_pages_reports_each_stored_page_in_order(
    sim: AfasSimulator, book: PhoneBook, small_pages: None
) -> None:
    settings = settings_for(sim.url, sim.token)
    seen: list[tuple[str, int]] = []
    async with default_client(settings) as client:
        result = await full_refresh(client, settings, book, lambda role, n: seen.append((role, n)))
    roles = [role for role, _ in seen]
    assert roles == sorted(roles, key=["organisations", "persons", "contacts"].index)
    for role, total in result.rows.items():
        counts = [n for r, n in seen if r == role]
        assert counts == sorted(counts) and counts[-1] == total and len(counts) > 1, role
    assert book.last_refresh is not None and book.last_refresh.rows == result.rows
    assert [m.bcid for m in book.lookup("020-5550101")] == list(KNOWN["org_unique"].bcids)


async def test_phone_book_failure_midway_stops_the_download_and_keeps_the_old_book(
    sim: AfasSimulator, book: PhoneBook, small_pages: None
) -> None:
    settings = settings_for(sim.url, sim.token)
    async with default_client(settings) as client:
        await full_refresh(client, settings, book)
    before = (book.size(), book.last_refresh)
    requests = sim.requests

    def broken(role: str, count: int) -> None:
        if count > 40:
            raise OSError("disk full")

    async with default_client(settings) as client:
        with pytest.raises(OSError, match="disk full"):
            await full_refresh(client, settings, book, broken)
    assert (book.size(), book.last_refresh) == before
    # stopped within the read-ahead, not after downloading everything
    assert sim.requests - requests < 10
    async with default_client(settings) as client:  # nothing left half-done
        await full_refresh(client, settings, book)
    assert book.size() == before[0]


async def test_cancelled_refresh_keeps_the_old_book_and_the_next_one_runs(
    sim: AfasSimulator, book: PhoneBook, small_pages: None
) -> None:
    settings = settings_for(sim.url, sim.token)
    async with default_client(settings) as client:
        await full_refresh(client, settings, book)
    before = (book.size(), book.last_refresh)
    started = asyncio.Event()
    async with default_client(settings) as client:
        task = asyncio.ensure_future(
            full_refresh(client, settings, book, lambda role, n: started.set())
        )
        await asyncio.wait_for(started.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert (book.size(), book.last_refresh) == before
    async with default_client(settings) as client:
        result = await full_refresh(client, settings, book)
    assert book.size() == result.relations == before[0]


async def test_engine_reports_state_and_stops_on_refused_token(sim: AfasSimulator, book: PhoneBook) -> None:
    settings = settings_for(sim.url, sim.token)
    board = StatusBoard()
    states: list[State] = []
    board.subscribe(lambda s: states.append(s.state))
    engine = SyncEngine(settings, book, board)
    task = asyncio.ensure_future(engine.run())
    try:
        for _ in range(200):
            if engine.refreshes:
                break
            await asyncio.sleep(0.02)
        assert engine.refreshes == 1
        assert State.SYNCING in states and board.current.state is State.IDLE
        assert board.current.book_size == book.size() > 0 and board.current.last_sync
        sim.revoke_token()
        requests = sim.requests
        engine.sync_now()
        for _ in range(200):
            if board.current.state is State.ERROR:
                break
            await asyncio.sleep(0.02)
        assert board.current.state is State.ERROR and board.current.message is not None
        assert "token" in board.current.message.en.lower()
        after_error = sim.requests
        await asyncio.sleep(0.3)
        assert sim.requests == after_error > requests  # refused token: no retry storm
    finally:
        task.cancel()


async def test_doctor_names_each_connector(sim: AfasSimulator) -> None:
    settings = settings_for(sim.url, sim.token)
    results = [r async for r in run_checks(settings)]
    assert all(r.ok for r in results), [str(r.detail) for r in results if not r.ok]
    connectors = [r for r in results if r.key.split(".")[-1] in settings.afas.connectors.ids()]
    assert [settings.afas.connectors.ids()[r.key.split(".")[1]] in r.title.en for r in connectors] == [True] * 3
    by_key = {r.key: r for r in results}
    assert by_key["connector.knsubject"].ok
    assert by_key["connector.dossier_items"].ok and "SubjectId" in by_key["connector.dossier_items"].detail.en
    sim.remove_connector(settings.afas.connectors.persons)
    results = [r async for r in run_checks(settings)]
    failed = [r for r in results if not r.ok]
    assert [r.key for r in failed] == ["connector.persons"]
    assert settings.afas.connectors.persons in failed[0].title.en
    # Every connector the app uses is checked, KnSubject among /MetaInfo's updateConnectors.
    sim.remove_connector(settings.afas.connectors.persons, False)
    sim.leave_app_connector("KnSubject")
    sim.leave_app_connector("Profit_Subjects")
    failed = [r for r in [r async for r in run_checks(settings)] if not r.ok]
    assert [r.key for r in failed] == ["connector.knsubject", "connector.dossier_items"]
    assert "KnSubject" in failed[0].detail.en and "Profit_Subjects" in failed[1].detail.en


async def test_doctor_wrong_token_and_unreachable_host(sim: AfasSimulator) -> None:
    wrong = settings_for(sim.url, "0" * 64)
    results = {r.key: r for r in [r async for r in run_checks(wrong)]}
    assert results["host"].ok and not results["token"].ok
    assert "0" * 64 not in str(results["token"].detail)
    down = settings_for("http://127.0.0.1:9", sim.token)
    results = {r.key: r for r in [r async for r in run_checks(down)]}
    assert not results["host"].ok and "token" not in results


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "afas_tray", *args], capture_output=True,
                          text=True, env=os.environ.copy(), timeout=120)


def test_cli_doctor_sync_lookup_end_to_end(tmp_path: Path) -> None:
    with SimulatorThread(AfasSimulator(relations=300, seed=5)) as thread:
        url = thread.url
        preset = tmp_path / "preset.json"
        preset.write_text(json.dumps({"afas": {
            "host": url, "insite_url_template": f"{url}/insite/verkooprelatie-prs?BcId=<BCID>"}}))
        assert _cli("config", "import", str(preset)).returncode == 0
        token = thread.simulator.token
        r = subprocess.run([sys.executable, "-m", "afas_tray", "config", "set", "afas.token", "-"],
                           input=token, capture_output=True, text=True, env=os.environ.copy(), timeout=60)
        assert r.returncode == 0
        doctor = _cli("doctor")
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        assert doctor.stdout.count("[OK  ] GetConnector") == 4  # three + the dossier connector
        sync = _cli("sync", "--once")
        assert sync.returncode == 0 and "Phone book synced" in sync.stdout
        hit = _cli("lookup", "020 555 0101")
        assert hit.returncode == 0
        bcid = KNOWN["org_unique"].bcids[0]
        assert f"BcId {bcid}" in hit.stdout and f"{url}/insite/verkooprelatie-prs?BcId={bcid}" in hit.stdout
        miss = _cli("lookup", KNOWN["no_match"].written[0])
        assert miss.returncode == 1
        thread.simulator.remove_connector("AfasTray_Personen")
        doctor = _cli("doctor")
        assert doctor.returncode == 1 and "[FAIL] GetConnector AfasTray_Personen" in doctor.stdout
    log_text = "".join(p.read_text() for p in app_paths().log_dir.glob("*.log*"))
    assert thread.simulator.token_data not in log_text


async def test_doctor_shows_the_link_value_and_card_of_a_sample_relation(sim: AfasSimulator) -> None:
    settings = settings_for(sim.url, sim.token)
    first = min(sim.data.rows(settings.afas.connectors.organisations), key=lambda r: r["Nummer"])
    number, bcid = first["Nummer"], str(first["BcId"])
    assert number != bcid
    by_key = {r.key: r for r in [r async for r in run_checks(settings)]}
    sample = by_key["link.sample"]
    assert sample.ok and not sample.warning
    assert f"BcId {number} (number)" in sample.detail.en  # the number by default
    assert f"verkooprelatie-prs?BcId={bcid}" in sample.detail.en  # <BCID>: the internal id
    settings.afas.connectors.link_by = "id"
    settings.afas.insite_url_template = f"{sim.url}/insite/verkooprelatie-prs?BcId=<BCCO>"
    sample = {r.key: r for r in [r async for r in run_checks(settings)]}["link.sample"]
    assert f"BcId {bcid} (id)" in sample.detail.en
    assert f"verkooprelatie-prs?BcId={number}" in sample.detail.nl  # <BCCO>: the number
    # A standard connector (Profit_OrgPer) has only the number: link and <BCCO> use it.
    settings.afas.connectors.organisations = "Profit_OrgPer"
    settings.afas.connectors.link_by = "number"
    sample = {r.key: r for r in [r async for r in run_checks(settings)]}["link.sample"]
    assert sample.ok and "(number)" in sample.detail.en


async def test_passing_403s_do_not_stop_the_sync_a_lasting_one_does(
        sim: AfasSimulator, book: PhoneBook) -> None:
    settings = settings_for(sim.url, sim.token)
    sim.fail_next(2, 403)  # AFAS under load: two passing refusals
    async with AfasClient(settings.afas.host, settings.afas.token, backoff_base=0.01) as client:
        result = await full_refresh(client, settings, book)
    assert result.rows["organisations"] > 0 and book.lookup(KNOWN["org_unique"].e164)
    sim.fail_next(4, 403)  # more than the client's retries: the IP restriction is believed
    async with AfasClient(settings.afas.host, settings.afas.token, backoff_base=0.01) as client:
        with pytest.raises(SyncError) as err:
            await full_refresh(client, settings, book)
    assert err.value.fatal and "IP" in err.value.text.en
    assert book.lookup(KNOWN["org_unique"].e164)  # the old book stays


async def test_doctor_reads_the_dossier_item_type_settings(sim: AfasSimulator) -> None:
    from afas_tray.demo.afas import SubjectType

    settings = settings_for(sim.url, sim.token)
    settings.afas.dossier_item_type = 7

    async def check() -> CheckResult:
        return {r.key: r for r in [r async for r in run_checks(settings)]}["dossier_type"]

    result = await check()
    assert result.ok and not result.warning and "text allowed" in result.detail.en
    assert "organisation + contact (16)" in result.detail.en  # named: the connector cannot show it
    sim.subject_types[7] = SubjectType(attachments=False)
    settings.afas.sync_mp3 = True
    result = await check()
    assert result.ok and result.warning and "Bestand koppelen" in result.detail.nl
    sim.subject_types[7] = SubjectType(text=False)
    assert not (await check()).ok
    settings.afas.dossier_item_type = 8
    result = await check()
    assert not result.ok and "8" in result.detail.en
    settings.afas.dossier_item_type = -5  # AFAS: integrations may insert on free types and -5
    result = await check()
    assert result.ok and "-5" in result.detail.en
    sim.leave_app_connector("Profit_SubjectTypes")  # the token may not read it: a warning
    settings.afas.dossier_item_type = 7
    result = await check()
    assert result.ok and result.warning and "Profit_SubjectTypes" in result.detail.en


async def test_full_refresh_sorts_on_the_integer_key_and_pages_by_key(
        sim: AfasSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """AFAS: sort on integer fields; past large offsets "key > last" instead of deep skips.
    A refresh that leaves skip early builds the same book as one that never does."""
    import afas_tray.afas.client as client_module
    from afas_tray.phonebook import DetectedMapping, detect_mapping

    monkeypatch.setattr(client_module, "MAX_ROWS_PER_PAGE", 40)  # many pages of a small book

    settings = settings_for(sim.url, sim.token)
    async with default_client(settings) as client:
        orgs, _ = await detect_mapping(client, settings, "organisations")
        contacts, _ = await detect_mapping(client, settings, "contacts")
    assert isinstance(orgs, DetectedMapping) and isinstance(contacts, DetectedMapping)
    assert (orgs.sort_key, orgs.sort_int) == ("BcId", True)  # not Nummer (a string)
    assert contacts.sort_key == "Contact_id"
    books = []
    for keyset_after in (None, 50):
        with PhoneBook(tmp_path / f"book-{keyset_after}.sqlite3") as book:
            async with AfasClient(settings.afas.host, settings.afas.token) as client:
                client.keyset_after = keyset_after
                sim.reset_stats()
                result = await full_refresh(client, settings, book)
                assert sim.stats()["requests"] > 10  # many pages, each way
            books.append((book.size(), book.numbers(), dict(result.rows),
                          [m.bcid for m in book.lookup(KNOWN["org_unique"].e164)]))
    assert books[0] == books[1] and books[0][0] > 0
