"""Pushing the phone book into Xelion's address book, against the simulated Xelion on loopback."""

from __future__ import annotations

import asyncio
import os
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from afas_tray.config import ColumnMapping
from afas_tray.demo.xelion import XelionSimulator
from afas_tray.phonebook import PhoneBook
from afas_tray.phonebook.xelion_push import AddressBookSync
from afas_tray.xelion import AddressablesApi, XelionClient
from tests.helpers.xelion import PASSWORD, TENANT, USER

ORG_MAP = ColumnMapping(id="BcCo", bcid="BcId", name="Name", phones=["TelWork"])
PERSON_MAP = ColumnMapping(id="BcCo", bcid="BcId", name="Name", phones=["TelWork", "MobWork"])
CONTACT_MAP = ColumnMapping(id="CdId", bcid="", name="Name", phones=["TelWork", "MobWork"],
                            organisation="OrgBcId")

ORGS = [
    {"BcCo": "1001", "BcId": "501", "Name": "Bakkerij De Korenschoof", "TelWork": "020-1234567"},
    {"BcCo": "1002", "BcId": "502", "Name": "Garage Van Dijk", "TelWork": "+31 30 765 4321"},
]
PERSONS = [
    {"BcCo": "2001", "BcId": "601", "Name": "Jan de Jager", "TelWork": "010 2223344",
     "MobWork": "06-12345678"},
]
CONTACTS = [
    {"CdId": "3001", "Name": "Petra Smit", "TelWork": "", "MobWork": "06 87654321",
     "OrgBcId": "501"},
]


def fill(book: PhoneBook, orgs: list[dict[str, Any]], persons: list[dict[str, Any]],
         contacts: list[dict[str, Any]]) -> None:
    with book.begin_refresh() as builder:
        builder.add_rows("organisations", "Orgs", ORG_MAP, orgs)
        builder.add_rows("persons", "Persons", PERSON_MAP, persons)
        builder.add_rows("contacts", "Contacts", CONTACT_MAP, contacts)
        builder.commit()


@pytest.fixture
def book(tmp_path: Path) -> PhoneBook:
    b = PhoneBook(tmp_path / "phonebook.sqlite3")
    fill(b, ORGS, PERSONS, CONTACTS)
    return b


@pytest.fixture
async def run(xelion_sim: XelionSimulator, book: PhoneBook, tmp_path: Path
              ) -> AsyncIterator[Callable[..., Any]]:
    """Run one push like the CLI does (own client, own session), return its result."""
    push = AddressBookSync(book, tmp_path / "state.sqlite3")

    async def go(**kwargs: Any) -> Any:
        async with XelionClient(xelion_sim.base_url, TENANT, USER, PASSWORD,
                                "afas-tray-test-addressbook", logout_on_close=True) as client:
            api = AddressablesApi(client, rate=kwargs.pop("rate", 0), concurrency=2)
            return await push.push(api, **kwargs)

    go.push = push  # type: ignore[attr-defined]
    yield go
    push.close()


def writes(sim: XelionSimulator) -> int:
    return sum(n for k, n in sim.counts.items()
               if k.split()[0] in ("POST", "PUT", "DELETE") and "addressables" in k)


def numbers_of(obj: dict[str, Any]) -> set[str]:
    return {t["address"] for t in obj.get("telecomAddresses") or []}


def by_name(sim: XelionSimulator) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for obj in sim.addressbook.objects.values():
        out.setdefault(obj["commonName"], []).append(obj)
    return out


async def test_first_sync_creates_each_relation_once_with_its_numbers(
        xelion_sim: XelionSimulator, run: Callable[..., Any]) -> None:
    result = await run()
    assert result.interrupted is None and result.failed == 0
    assert result.created == 4
    names = by_name(xelion_sim)
    assert {n: len(v) for n, v in names.items()} == {
        "Bakkerij De Korenschoof": 1, "Garage Van Dijk": 1, "Jan de Jager": 1, "Petra Smit": 1}
    # Xelion's format: international, delimiters dropped.
    assert numbers_of(names["Bakkerij De Korenschoof"][0]) == {"+31201234567"}
    jan = names["Jan de Jager"][0]
    assert {(t["address"], t["addressType"]) for t in jan["telecomAddresses"]} == {
        ("+31102223344", "Telephone"), ("+31612345678", "Mobile")}
    # Xelion split the whole name given in familyName.
    assert (jan["givenName"], jan["namePrefix"], jan["familyName"]) == ("Jan", "de", "Jager")
    # The contact person is a person employed by her organisation.
    petra = names["Petra Smit"][0]
    assert [e["organisation"]["oid"] for e in petra["employments"]] == \
        [names["Bakkerij De Korenschoof"][0]["oid"]]
    assert numbers_of(petra) == {"+31687654321"}


async def test_second_sync_without_changes_sends_no_writes(
        xelion_sim: XelionSimulator, run: Callable[..., Any]) -> None:
    await run()
    xelion_sim.reset_counts()
    result = await run()
    assert (result.created, result.updated, result.removed) == (0, 0, 0)
    assert writes(xelion_sim) == 0
    assert not any("addressables" in k for k in xelion_sim.counts)  # not even a read


async def test_changed_number_is_updated_and_hand_added_number_stays(
        xelion_sim: XelionSimulator, run: Callable[..., Any], book: PhoneBook) -> None:
    await run()
    jan = by_name(xelion_sim)["Jan de Jager"][0]
    # A Xelion user adds a private number and a note by hand.
    jan["telecomAddresses"].append({"oid": "999001", "objectType": "TelecomAddress",
                                    "addressType": "Telephone", "address": "+31104445566",
                                    "commonName": "+31104445566", "label": "privé"})
    jan["comments"] = "belt graag 's ochtends"
    changed = [dict(PERSONS[0], MobWork="06-11112222")]
    fill(book, ORGS, changed, CONTACTS)
    xelion_sim.reset_counts()
    result = await run()
    assert result.updated == 1 and result.created == 0
    assert xelion_sim.counts["PUT addressables/{oid}"] == 1
    jan = xelion_sim.addressbook.objects[jan["oid"]]
    assert numbers_of(jan) == {"+31102223344", "+31611112222", "+31104445566"}
    assert jan["comments"] == "belt graag 's ochtends"
    assert len(by_name(xelion_sim)["Jan de Jager"]) == 1


async def test_deleted_relation_is_removed(
        xelion_sim: XelionSimulator, run: Callable[..., Any], book: PhoneBook) -> None:
    await run()
    fill(book, ORGS[:1], PERSONS, CONTACTS)  # Garage Van Dijk is gone from AFAS
    result = await run()
    assert result.removed == 1
    assert "Garage Van Dijk" not in by_name(xelion_sim)
    assert xelion_sim.counts["DELETE addressables/{oid}"] == 1


async def test_hand_made_entry_with_same_name_and_number_is_adopted_not_doubled(
        xelion_sim: XelionSimulator, run: Callable[..., Any], book: PhoneBook) -> None:
    hand = xelion_sim.addressbook.add({
        "objectType": "Organisation", "name": "Garage Van Dijk",
        "telecomAddresses": [{"objectType": "TelecomAddress", "addressType": "Telephone",
                              "address": "030-7654321"}]})
    result = await run()
    assert result.adopted == 1 and result.created == 3
    garages = by_name(xelion_sim)["Garage Van Dijk"]
    assert [g["oid"] for g in garages] == [hand]
    # Not created by this app: when it goes from AFAS it stays in Xelion.
    fill(book, ORGS[:1], PERSONS, CONTACTS)
    result = await run()
    assert result.removed == 0
    assert [g["oid"] for g in by_name(xelion_sim)["Garage Van Dijk"]] == [hand]


def many(n: int) -> list[dict[str, Any]]:
    return [{"BcCo": str(10000 + i), "BcId": str(20000 + i), "Name": f"Relatie {i:04d}",
             "TelWork": f"+3120{5000000 + i:07d}"} for i in range(n)]


async def test_connection_lost_halfway_and_rerun_leave_no_duplicates(
        xelion_sim: XelionSimulator, run: Callable[..., Any], book: PhoneBook) -> None:
    fill(book, many(120), [], [])
    # The 50th create is stored, but its answer never arrives (the network breaks).
    xelion_sim.addressbook.drop_after_creates = 50
    first = await run()
    assert first.interrupted is not None
    assert 50 < len(xelion_sim.addressbook.objects) < 120
    xelion_sim.addressbook.drop_after_creates = None
    second = await run()
    assert second.interrupted is None
    counts = Counter(o["commonName"] for o in xelion_sim.addressbook.objects.values())
    assert len(counts) == 120 and set(counts.values()) == {1}
    # The entry whose answer was lost is still known as this app's own: removable later.
    fill(book, [], [], [])
    third = await run()
    assert third.removed == 120 and not xelion_sim.addressbook.objects


async def test_killed_cli_and_rerun_leave_no_duplicates(
        xelion_sim: XelionSimulator, profile_home: Path) -> None:
    """A real crash: the CLI process is killed in the middle of its first push."""
    from afas_tray.system.profile import Profile

    profile = Profile.open()
    settings = profile.load().settings
    x = settings.xelion
    x.host, x.tenant, x.username, x.password = xelion_sim.base_url, TENANT, USER, PASSWORD
    profile.save(settings)
    book = PhoneBook(profile.paths.phonebook_file)
    fill(book, many(400), [], [])
    book.close()
    cmd = [sys.executable, "-m", "afas_tray", "xelion", "addressbook", "sync",
           "--rate", "200", "--concurrency", "2"]
    env = dict(os.environ)
    proc = await asyncio.create_subprocess_exec(*cmd, env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    for _ in range(600):
        if xelion_sim.addressbook.creates >= 150 or proc.returncode is not None:
            break
        await asyncio.sleep(0.05)
    proc.kill()
    await proc.wait()
    made = len(xelion_sim.addressbook.objects)
    assert 0 < made < 400, made
    proc = await asyncio.create_subprocess_exec(*cmd, env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode == 0, (out, err)
    counts = Counter(o["commonName"] for o in xelion_sim.addressbook.objects.values())
    assert len(counts) == 400 and set(counts.values()) == {1}
    assert b"Xelion address book" in out or b"Xelion-adresboek" in out


async def test_busy_answers_back_off_and_finish(
        xelion_sim: XelionSimulator, run: Callable[..., Any], book: PhoneBook) -> None:
    fill(book, many(60), [], [])
    xelion_sim.addressbook.max_concurrent = 1  # the second request in flight gets 429/10400
    xelion_sim.addressbook.latency = 0.01
    result = await run()
    assert result.interrupted is None and result.created == 60
    assert xelion_sim.addressbook.busy_answers > 0
    assert len(xelion_sim.addressbook.objects) == 60


async def test_dry_run_prints_the_plan_and_writes_nothing(
        xelion_sim: XelionSimulator, profile_home: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from afas_tray.cli.main import main
    from afas_tray.system.profile import Profile

    profile = Profile.open()
    book = PhoneBook(profile.paths.phonebook_file)
    fill(book, ORGS, PERSONS, CONTACTS)
    book.close()
    assert main(["xelion", "addressbook", "sync", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "4 to create" in out or "4 aan te maken" in out
    assert "Garage Van Dijk" in out
    assert not xelion_sim.addressbook.objects and not xelion_sim.counts


async def test_channel_event_carries_the_address_book_name(
        xelion_sim: XelionSimulator, run: Callable[..., Any]) -> None:
    await run()
    call_id = xelion_sim.ring("0201234567")
    channels = xelion_sim._calls[call_id].channels
    remote = next(c for c in channels.values() if c["role"].upper() == "CALLER")
    assert remote["name"] == "Bakkerij De Korenschoof"


async def test_app_pushes_after_sync_and_channel_events_carry_names(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """With the setting on, the running app fills Xelion's address book after its phone-book
    sync, and a known caller's channel then carries the name (what --demo shows)."""
    import afas_tray.phonebook.xelion_push as ab
    from afas_tray.demo.afas import AfasSimulator
    from afas_tray.demo.sample_data import KNOWN
    from tests.helpers.core import (
        XELION_PASSWORD,
        XELION_TENANT,
        XELION_USER,
        settings_for,
        started_core,
    )
    from tests.helpers.wait import until

    monkeypatch.setattr(ab, "APP_RATE", 0.0)
    afas = AfasSimulator(relations=120, seed=4)
    xelion = XelionSimulator({XELION_USER: XELION_PASSWORD}, tenant=XELION_TENANT)
    await afas.start()
    await xelion.start()
    settings = settings_for(afas, xelion)
    settings.xelion.addressbook_sync = True
    try:
        core, _ = await started_core(afas, xelion, settings)
    except BaseException:
        await xelion.stop()
        await afas.stop()
        raise
    try:
        await until(lambda: core.addressbook is not None and core.addressbook.last is not None,
                    timeout=60, what="the address-book push")
        assert core.addressbook.last.created == len(xelion.addressbook.objects) > 0
        known = KNOWN["org_unique"]
        call_id = xelion.ring(known.written[0])
        remote = next(c for c in xelion._calls[call_id].channels.values()
                      if c["role"].upper() == "CALLER")
        assert remote["name"] == core.book.lookup(known.written[0])[0].name
    finally:
        await core.stop()
        await xelion.stop()
        await afas.stop()


async def test_renamed_relation_and_contact_moved_to_another_organisation(
        xelion_sim: XelionSimulator, run: Callable[..., Any], book: PhoneBook) -> None:
    await run()
    names = by_name(xelion_sim)
    garage_oid = names["Garage Van Dijk"][0]["oid"]
    petra_oid = names["Petra Smit"][0]["oid"]
    orgs = [dict(ORGS[0], Name="Bakkerij De Korenschoof B.V."), ORGS[1]]
    moved = [dict(CONTACTS[0], OrgBcId="502")]
    fill(book, orgs, PERSONS, moved)
    result = await run()
    assert result.updated == 2 and result.created == 0
    names = by_name(xelion_sim)
    assert "Bakkerij De Korenschoof B.V." in names and "Bakkerij De Korenschoof" not in names
    petra = xelion_sim.addressbook.objects[petra_oid]
    assert [e["organisation"]["oid"] for e in petra["employments"]] == [garage_oid]
