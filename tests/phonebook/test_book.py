"""The local phone book: column detection, ranked lookups, atomic refresh, incremental changes."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from afas_tray import store
from afas_tray.config import ColumnMapping
from afas_tray.demo.sample_data import CONNECTORS, KNOWN, SampleData
from afas_tray.models import Match, RelationKind
from afas_tray.phonebook import (
    ColumnError,
    FieldInfo,
    PhoneBook,
    PhoneBookError,
    detect_columns,
    fields_from_metainfo,
)
from tests.helpers.phonebook import count_parses


def F(id: str, label: str = "", data_type: str = "string") -> FieldInfo:
    return FieldInfo(id, label or id, data_type)


# --- connector metadata as Profit describes it ------------------------------------------------

PROFIT_ORGPER = [
    F("BcCo", "Nummer"), F("Type", "Soort basic contact"), F("SearchName", "Zoeknaam"),
    F("Name", "Naam"), F("AdressLine3", "Adresregel 3"), F("TelWork", "Telefoonnr. werk"),
    F("MobWork", "Mobiel werk"), F("MailWork", "E-mail werk"), F("FaxWork", "Fax werk"),
]
PROFIT_CONTACTS = [
    F("Type", "Soort contact code"), F("ContactId", "Contactid", "int"), F("Name", "Naam"),
    F("OrgNumber", "orgnummer"), F("PerNumber", "persnummer"),
    F("Blocked", "Geblokkeerd", "boolean"), F("TelWork", "Telefoonnr. werk"),
    F("MobWork", "Mobiel werk"), F("TelPrivate", "Telefoonnr. privé"),
    F("MobPrivate", "Mobiel privé"), F("ModifiedDate", "Gewijzigd op", "date"),
]
PROFILE_CONTACTS = [F("BcId", "BcId", "int"), F("CtId", "Contact", "int"), F("TeWo", "Telefoon"),
                    F("TeMb", "Mobiel")]
CUSTOM_ORGS = [
    F("BcId", "Organisatie/persoon (intern)", "int"), F("Nummer", "Nummer"), F("Naam", "Naam"),
    F("Telefoon_werk", "Telefoonnr. werk"), F("Mobiel_werk", "Mobiel werk"),
    F("Gewijzigd_op", "Gewijzigd op", "date"),
]
CUSTOM_PERSONS = [
    F("BcId", "Organisatie/persoon (intern)", "int"), F("Nummer", "Nummer"), F("Naam", "Naam"),
    F("Telefoon_werk", "Telefoonnr. werk"), F("Mobiel_werk", "Mobiel werk"),
    F("Telefoon_prive", "Telefoonnr. privé"), F("Mobiel_prive", "Mobiel privé"),
    F("Gewijzigd_op", "Gewijzigd op", "date"),
]
CUSTOM_CONTACTS = [
    F("Contact_id", "Contact", "int"), F("Organisatie_BcId", "Organisatie (intern)", "int"),
    F("Persoon_BcId", "Persoon (intern)", "int"), F("Naam", "Naam"),
    F("Telefoon_werk", "Telefoonnr. werk"), F("Mobiel_werk", "Mobiel werk"),
    F("Geblokkeerd", "Geblokkeerd", "boolean"), F("Gewijzigd_op", "Gewijzigd op", "date"),
]


def test_detects_standard_profit_connectors() -> None:
    orgs = detect_columns("organisations", "Profit_OrgPer", PROFIT_ORGPER, ColumnMapping())
    assert (orgs.id, orgs.bcid, orgs.name) == ("BcCo", "BcCo", "Name")
    assert orgs.phones == ["TelWork", "MobWork"]  # no e-mail, no fax, no search name

    contacts = detect_columns("contacts", "Profit_Contacts", PROFIT_CONTACTS, ColumnMapping())
    assert contacts.id == "ContactId"
    assert contacts.organisation == "OrgNumber"
    assert contacts.person == "PerNumber"
    assert contacts.name == "Name"
    assert contacts.blocked == "Blocked"
    assert contacts.modified == "ModifiedDate"
    assert contacts.phones == ["TelWork", "MobWork", "TelPrivate", "MobPrivate"]

    # ProfitProfileContacts has CtId and CtCd: which is KnSubjectLink's CdId is not guessed.
    with pytest.raises(ColumnError) as caught:
        detect_columns("contacts", "ProfitProfileContacts", PROFILE_CONTACTS, ColumnMapping())
    assert caught.value.missing == ("id",) and "CdId" in caught.value.text.nl
    profile = detect_columns("contacts", "ProfitProfileContacts", PROFILE_CONTACTS,
                             ColumnMapping(id="CtId"))
    assert (profile.id, profile.organisation) == ("CtId", "BcId")
    assert profile.phones == ["TeWo", "TeMb"]


def test_detects_custom_dutch_connectors() -> None:
    orgs = detect_columns("organisations", "AfasTray_Organisaties", CUSTOM_ORGS, ColumnMapping())
    assert (orgs.id, orgs.bcid, orgs.name, orgs.modified) == ("Nummer", "BcId", "Naam",
                                                               "Gewijzigd_op")
    assert orgs.phones == ["Telefoon_werk", "Mobiel_werk"]

    persons = detect_columns("persons", "AfasTray_Personen", CUSTOM_PERSONS, ColumnMapping())
    assert persons.bcid == "BcId"
    assert persons.phones == ["Telefoon_werk", "Mobiel_werk", "Telefoon_prive", "Mobiel_prive"]

    contacts = detect_columns("contacts", "AfasTray_Contactpersonen", CUSTOM_CONTACTS,
                              ColumnMapping())
    assert contacts.id == "Contact_id"
    assert contacts.organisation == "Organisatie_BcId"
    assert contacts.person == "Persoon_BcId"
    assert contacts.blocked == "Geblokkeerd"
    assert contacts.modified == "Gewijzigd_op"
    assert contacts.phones == ["Telefoon_werk", "Mobiel_werk"]


def test_detects_by_label_when_ids_say_nothing() -> None:
    fields = [
        F("U0A1", "Nummer"), F("U0A2", "Naam"), F("U0A3", "Titel"),
        F("U0A4", "Mobiel privé"), F("U0A5", "Telefoonnr. werk"), F("U0A6", "Telefax"),
        F("U0A7", "Teller bezoeken", "int"), F("U0A8", "Gewijzigd op", "date"),
    ]
    found = detect_columns("organisations", "Klant_Relaties", fields, ColumnMapping())
    assert (found.id, found.name, found.modified) == ("U0A1", "U0A2", "U0A8")
    assert found.phones == ["U0A5", "U0A4"]  # work before private; no fax, title or counter


def test_detects_the_connectors_of_the_simulated_server() -> None:
    roles = {"AfasTray_Organisaties": "organisations", "AfasTray_Personen": "persons",
             "AfasTray_Contactpersonen": "contacts", "Profit_OrgPer": "organisations",
             "Profit_Contacts": "contacts"}
    for connector, role in roles.items():
        meta = {"fields": [f.meta() for f in CONNECTORS[connector].fields]}
        found = detect_columns(role, connector, fields_from_metainfo(meta), ColumnMapping())
        assert found.id and found.phones


def test_settings_override_wins() -> None:
    override = ColumnMapping(name="Nummer", phones=["Mobiel_werk"], modified="")
    found = detect_columns("organisations", "AfasTray_Organisaties", CUSTOM_ORGS, override)
    assert found.name == "Nummer"
    assert found.phones == ["Mobiel_werk"]
    assert found.modified == "Gewijzigd_op"  # empty override: still detected


def test_override_naming_a_column_the_connector_lacks() -> None:
    override = ColumnMapping(phones=["Telefoon_thuis"])
    with pytest.raises(ColumnError) as caught:
        detect_columns("organisations", "AfasTray_Organisaties", CUSTOM_ORGS, override)
    assert "Telefoon_thuis" in caught.value.text.en
    assert "Telefoon_thuis" in caught.value.text.nl
    assert "AfasTray_Organisaties" in caught.value.text.nl


def test_missing_phone_column_names_the_connector() -> None:
    fields = [f for f in CUSTOM_CONTACTS if "Telefoon" not in f.id and "Mobiel" not in f.id]
    with pytest.raises(ColumnError) as caught:
        detect_columns("contacts", "AfasTray_Contactpersonen", fields, ColumnMapping())
    err = caught.value
    assert err.connector == "AfasTray_Contactpersonen"
    assert err.missing == ("phones",)
    assert "AfasTray_Contactpersonen" in err.text.en and "telefoonnummer" in err.text.nl
    assert "contactpersonen" in err.text.nl and "contact persons" in err.text.en


def test_connector_without_key_or_owner_is_refused() -> None:
    with pytest.raises(ColumnError) as caught:
        detect_columns("contacts", "Profit_OrgPer", PROFIT_ORGPER, ColumnMapping())
    assert set(caught.value.missing) == {"id", "organisation"}
    with pytest.raises(ColumnError):
        detect_columns("organisations", "Leeg", [], ColumnMapping())


# --- a small book ------------------------------------------------------------------------------

ORG_MAP = detect_columns("organisations", "AfasTray_Organisaties", CUSTOM_ORGS, ColumnMapping())
PERSON_MAP = detect_columns("persons", "AfasTray_Personen", CUSTOM_PERSONS, ColumnMapping())
CONTACT_MAP = detect_columns("contacts", "AfasTray_Contactpersonen", CUSTOM_CONTACTS,
                             ColumnMapping())


def org(bcid: int, name: str, tel: str | None = None, mob: str | None = None) -> dict[str, Any]:
    return {"BcId": bcid, "Nummer": str(100000 + bcid), "Naam": name, "Telefoon_werk": tel,
            "Mobiel_werk": mob, "Gewijzigd_op": "2024-05-01T10:00:00Z"}


def person(bcid: int, name: str, mob_private: str | None = None,
           tel: str | None = None) -> dict[str, Any]:
    return {"BcId": bcid, "Nummer": str(200000 + bcid), "Naam": name, "Telefoon_werk": tel,
            "Mobiel_werk": None, "Telefoon_prive": None, "Mobiel_prive": mob_private,
            "Gewijzigd_op": "2024-05-01T10:00:00Z"}


def contact(cid: int, name: str, org_bcid: int | None, person_bcid: int | None,
            tel: str | None = None, mob: str | None = None,
            blocked: bool = False) -> dict[str, Any]:
    return {"Contact_id": cid, "Organisatie_BcId": org_bcid, "Persoon_BcId": person_bcid,
            "Naam": name, "Telefoon_werk": tel, "Mobiel_werk": mob, "Geblokkeerd": blocked,
            "Gewijzigd_op": "2024-05-01T10:00:00Z"}


ORGS = [
    org(10, "Bouwbedrijf Jansen", "010-5550303"),
    org(12, "Huisartsenpraktijk De Linde", "030-5550202"),
    org(14, "Apotheek De Linde", "+31 (0)30 555 02 02"),
    org(16, "Stichting Leeg", "n.v.t.", "-"),
    org(18, "Alleen Plus", "+31"),
]
PERSONS = [
    person(11, "Pieter Jansen", mob_private="06 12345678"),
    person(13, "Sanne Bakker"),
    person(15, "Karel Zonder", tel="0031 20 5551111"),
]
CONTACTS = [
    contact(501, "Pieter Jansen", 10, 11, tel="010 555 03 03"),  # the main number again
    contact(502, "Marieke Jansen", 10, 13, tel="010-5550399", mob="06-87654321"),
    contact(503, "Geblokkeerd Persoon", 10, 13, tel="010-5550400", blocked=True),
    contact(504, "Karel Zonder", None, 15, tel="020-5551234"),  # a person's contact, no org
]


def build(book: PhoneBook, orgs: list[dict[str, Any]] = ORGS,
          persons: list[dict[str, Any]] = PERSONS,
          contacts: list[dict[str, Any]] = CONTACTS) -> None:
    builder = book.begin_refresh()
    builder.add_rows("organisations", "AfasTray_Organisaties", ORG_MAP, orgs)
    builder.add_rows("persons", "AfasTray_Personen", PERSON_MAP, persons)
    builder.add_rows("contacts", "AfasTray_Contactpersonen", CONTACT_MAP, contacts)
    builder.commit()


@pytest.fixture
def book(tmp_path: Path) -> Iterator[PhoneBook]:
    with PhoneBook(tmp_path / "book.sqlite") as pb:
        build(pb)
        yield pb


def test_lookup_finds_a_number_in_any_format(book: PhoneBook) -> None:
    for typed in ("+31105550303", "010-5550303", "0031 10 555 03 03", "+31 (0)10 5550303"):
        found = book.lookup(typed)
        assert found and found[0].bcid == "10" and found[0].name == "Bouwbedrijf Jansen"


def test_organisation_own_number_ranks_before_its_contacts(book: PhoneBook) -> None:
    found = book.lookup("+31105550303")
    assert [(m.kind, m.bcid, m.contact_id) for m in found] == [
        (RelationKind.ORGANISATION, "10", ""),
        (RelationKind.CONTACT, "10", "501"),
    ]
    own = found[0]
    assert (own.phone, own.column, own.connector) == ("010-5550303", "Telefoon_werk",
                                                      "AfasTray_Organisaties")


def test_contact_resolves_to_its_organisation_card(book: PhoneBook) -> None:
    [m] = book.lookup("010-5550399")
    assert m.kind is RelationKind.CONTACT
    assert m.bcid == "10" and m.name == "Bouwbedrijf Jansen"
    assert (m.contact_id, m.contact_name) == ("502", "Marieke Jansen")
    assert m.connector == "AfasTray_Contactpersonen"
    [mobile] = book.lookup("+31687654321")
    assert (mobile.bcid, mobile.contact_id, mobile.column) == ("10", "502", "Mobiel_werk")


def test_lookup_gives_whole_matches(book: PhoneBook) -> None:
    """The lookup fills its matches in directly (not through ``__init__``): each must be the
    very ``Match`` the constructor makes — every field there, equal, hashable, still frozen."""
    for typed in ("+31105550303", "010-5550399", "020-5551234", "030 555 02 02"):
        for found in book.lookup(typed):
            fields = {f: getattr(found, f) for f in Match.__dataclass_fields__}
            made = Match(**fields)
            assert found == made and hash(found) == hash(made) and repr(found) == repr(made)
            assert vars(found) == vars(made)
            with pytest.raises(dataclasses.FrozenInstanceError):
                found.name = "changed"  # type: ignore[misc]


def test_a_match_names_the_connector_its_row_now_comes_from(book: PhoneBook) -> None:
    """The book keeps the connectors at hand between lookups; a refresh or an incremental
    change that brings a role from another connector shows in the very next lookup."""
    assert book.lookup("010-5550303")[0].connector == "AfasTray_Organisaties"
    builder = book.begin_refresh()
    builder.add_rows("organisations", "Profit_Organisaties", ORG_MAP, ORGS)
    builder.add_rows("persons", "AfasTray_Personen", PERSON_MAP, PERSONS)
    builder.add_rows("contacts", "AfasTray_Contactpersonen", CONTACT_MAP, CONTACTS)
    builder.commit()
    assert [m.connector for m in book.lookup("010-5550303")] == [
        "Profit_Organisaties", "AfasTray_Contactpersonen"]
    book.apply_changes("contacts", "Eigen_Contacten", CONTACT_MAP, CONTACTS[:1])
    assert [m.connector for m in book.lookup("010-5550303")] == [
        "Profit_Organisaties", "Eigen_Contacten"]


def test_warming_the_lookups_from_another_thread_changes_no_answer(book: PhoneBook) -> None:
    """The app reads the lookup's pages in on a worker thread while the loop may look up."""
    before = [book.lookup(n) for n in ("010-5550303", "010-5550399", "030 555 02 02")]
    warmer = threading.Thread(target=book.warm_lookups)
    warmer.start()
    during = [book.lookup(n) for n in ("010-5550303", "010-5550399", "030 555 02 02")]
    warmer.join()
    assert during == before
    book.close()
    book.warm_lookups()  # closed meanwhile: nothing to warm, no error


def test_closing_the_book_during_a_warm_up_waits_for_it(tmp_path: Path) -> None:
    """Quitting the app while the start-up warm-up still walks the book: close() ends the walk
    and then closes (closing a connection in the middle of another thread's statement made
    SQLite crash the whole process)."""
    path = tmp_path / "big.sqlite"
    with PhoneBook(path) as pb:
        build(pb, orgs=[org(i, f"Org {i}", f"020{5000000 + i:07d}", f"06{10000000 + i:08d}")
                        for i in range(40_000)], persons=[], contacts=[])
    for delay in (0.0, 0.001, 0.003, 0.006, 0.01):
        pb = PhoneBook(path)
        warmer = threading.Thread(target=pb.warm_lookups)
        warmer.start()
        time.sleep(delay)
        pb.close()
        warmer.join(10)
        assert not warmer.is_alive()
        assert [m.bcid for m in pb.lookup("020 500 0001")] == ["1"]  # opens again on demand
        pb.close()


def test_contact_without_organisation_resolves_to_its_person(book: PhoneBook) -> None:
    [m] = book.lookup("020-5551234")
    assert (m.bcid, m.name, m.contact_id) == ("15", "Karel Zonder", "504")


def test_two_organisations_sharing_a_number_both_match(book: PhoneBook) -> None:
    found = book.lookup("030 555 02 02")
    assert sorted(m.bcid for m in found) == ["12", "14"]
    assert all(m.kind is RelationKind.ORGANISATION for m in found)


def test_person_private_mobile(book: PhoneBook) -> None:
    [m] = book.lookup("+31612345678")
    assert (m.kind, m.bcid, m.name, m.column) == (RelationKind.PERSON, "11", "Pieter Jansen",
                                                  "Mobiel_prive")


def test_blocked_contact_never_matches(book: PhoneBook) -> None:
    assert book.lookup("010-5550400") == []


@pytest.mark.parametrize("typed", ["", "-", "n.v.t.", "+31", "anonymous", "0", "12345"])
def test_empty_or_junk_fields_never_match(book: PhoneBook, typed: str) -> None:
    assert book.lookup(typed) == []


def test_unknown_number(book: PhoneBook) -> None:
    assert book.lookup("+31205559999") == []


def test_counts_and_refresh_info(book: PhoneBook) -> None:
    assert book.size() == 5 + 3 + 3  # the blocked contact is left out
    assert book.numbers() == 3 + 2 + 4  # junk fields give no number
    info = book.last_refresh
    assert info is not None and info.kind == "full"
    assert (info.relations, info.numbers) == (11, 9)
    assert info.rows == {"organisations": 5, "persons": 3, "contacts": 4}


def test_book_survives_a_restart(tmp_path: Path) -> None:
    with PhoneBook(tmp_path / "book.sqlite") as first:
        build(first)
    with PhoneBook(tmp_path / "book.sqlite") as again:
        assert again.lookup("010-5550303")[0].bcid == "10"
        assert again.last_refresh is not None


def test_standard_contacts_link_organisations_by_number(tmp_path: Path) -> None:
    """Profit_Contacts gives the organisation's number (BcCo), not its BcId."""
    contacts_map = detect_columns("contacts", "Profit_Contacts", PROFIT_CONTACTS, ColumnMapping())
    with PhoneBook(tmp_path / "book.sqlite") as pb:
        builder = pb.begin_refresh()
        builder.add_rows("organisations", "AfasTray_Organisaties", ORG_MAP, ORGS)
        builder.add_rows("contacts", "Profit_Contacts", contacts_map, [
            {"ContactId": 9, "Name": "Eva Smit", "OrgNumber": "100010", "PerNumber": "200099",
             "Blocked": False, "TelWork": "010-5550999", "MobWork": None, "TelPrivate": None,
             "MobPrivate": None, "ModifiedDate": "2024-01-01T00:00:00Z"},
            {"ContactId": 10, "Name": "Bas Blok", "OrgNumber": "100010", "PerNumber": "2000100",
             "Blocked": True, "TelWork": "010-5550888"},
        ])
        builder.commit()
        [m] = pb.lookup("010 5550999")
        assert (m.bcid, m.name, m.contact_name) == ("10", "Bouwbedrijf Jansen", "Eva Smit")
        assert pb.lookup("010 5550888") == []


def test_known_numbers_of_the_simulated_data(tmp_path: Path) -> None:
    data = SampleData(relations=1000, seed=3)
    with PhoneBook(tmp_path / "book.sqlite") as pb:
        builder = pb.begin_refresh()
        for role, connector in (("organisations", "AfasTray_Organisaties"),
                                ("persons", "AfasTray_Personen"),
                                ("contacts", "AfasTray_Contactpersonen")):
            fields = [FieldInfo(f.id, f.label, f.data_type) for f in CONNECTORS[connector].fields]
            mapping = detect_columns(role, connector, fields, ColumnMapping())
            rows = list(data.rows(connector))
            for start in range(0, len(rows), 100):
                builder.add_rows(role, connector, mapping, rows[start:start + 100])
        builder.commit()
        for entry in KNOWN.values():
            for typed in (*entry.written, entry.e164):
                found = pb.lookup(typed)
                assert sorted({m.bcid for m in found}) == sorted(entry.bcids), typed
                contact_ids = {m.contact_id for m in found if m.contact_id}
                assert contact_ids == set(entry.contact_ids), typed


# --- refresh: atomic, abortable ----------------------------------------------------------------


def test_abort_keeps_the_previous_book(book: PhoneBook) -> None:
    builder = book.begin_refresh()
    builder.add_rows("organisations", "AfasTray_Organisaties", ORG_MAP,
                     [org(99, "Nieuw B.V.", "020-5550000")])
    assert book.lookup("020-5550000") == []  # not visible while building
    builder.abort()
    assert book.lookup("020-5550000") == []
    assert book.lookup("010-5550303")[0].name == "Bouwbedrijf Jansen"
    assert book.size() == 11
    build(book, orgs=[org(99, "Nieuw B.V.", "020-5550000")], persons=[], contacts=[])
    assert book.lookup("010-5550303") == []
    assert book.lookup("020-5550000")[0].name == "Nieuw B.V."


def test_failure_inside_the_builder_context_keeps_the_previous_book(book: PhoneBook) -> None:
    with pytest.raises(RuntimeError), book.begin_refresh() as builder:
        builder.add_rows("organisations", "AfasTray_Organisaties", ORG_MAP, [])
        raise RuntimeError("GetConnector AfasTray_Personen failed")
    assert book.lookup("010-5550303")[0].bcid == "10"
    build(book)  # and the next refresh can start


def test_one_refresh_at_a_time(book: PhoneBook) -> None:
    builder = book.begin_refresh()
    with pytest.raises(PhoneBookError):
        book.begin_refresh()
    builder.abort()
    builder.abort()  # twice is harmless
    book.begin_refresh().abort()


def _generation(tag: str, size: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A book where every field says which generation it came from; the contact of the shared
    number belongs to a different organisation in each generation."""
    orgs = [org(2 * i, f"{tag} org {i}", f"020{5000000 + i:07d}") for i in range(size)]
    orgs.append(org(2 * size, f"{tag} main", "0301234567"))
    owner = 1 if tag == "A" else 2
    contacts = [contact(1, f"{tag} contact", 2 * owner, None, tel="0301234567")]
    return orgs, contacts


def test_lookups_see_the_old_or_the_new_book_never_a_mix(tmp_path: Path) -> None:
    with PhoneBook(tmp_path / "book.sqlite") as pb:
        generations = {tag: _generation(tag, 3000) for tag in ("A", "B")}
        build(pb, orgs=generations["A"][0], persons=[], contacts=generations["A"][1])
        stop = threading.Event()
        seen: dict[str, int] = {"A": 0, "B": 0}
        problems: list[str] = []

        def hammer() -> None:
            while not stop.is_set():
                try:
                    found = pb.lookup("+31301234567")
                except Exception as exc:  # pragma: no cover - reported below
                    problems.append(repr(exc))
                    continue
                tags = {m.name[0] for m in found} | {m.contact_name[0] for m in found
                                                     if m.contact_name}
                if len(found) != 2 or len(tags) != 1:
                    problems.append(repr(found))
                    continue
                seen[tags.pop()] += 1

        thread = threading.Thread(target=hammer)
        thread.start()
        try:
            for tag in ("B", "A", "B", "A", "B"):
                orgs, contacts = generations[tag]
                build(pb, orgs=orgs, persons=[], contacts=contacts)
        finally:
            stop.set()
            thread.join()
        assert problems == []
        assert seen["A"] > 0 and seen["B"] > 0
        final = pb.lookup("+31301234567")
        assert {m.name for m in final} == {"B main", "B org 2"}


async def test_refresh_in_a_worker_thread_while_lookups_answer(tmp_path: Path) -> None:
    """How the sync engine drives it: pages go to a worker thread, lookups stay on the loop."""
    with PhoneBook(tmp_path / "book.sqlite") as pb:
        build(pb)
        builder = await asyncio.to_thread(pb.begin_refresh)
        rows = [org(1000 + 2 * i, f"Nieuw {i}", f"020{6000000 + i:07d}") for i in range(5000)]
        for start in range(0, len(rows), 500):
            task = asyncio.ensure_future(asyncio.to_thread(
                builder.add_rows, "organisations", "AfasTray_Organisaties", ORG_MAP,
                rows[start:start + 500]))
            while not task.done():
                assert pb.lookup("010-5550303")[0].bcid == "10"  # the old book, meanwhile
                assert pb.lookup("0206000000") == []
                await asyncio.sleep(0)
            await task
        await asyncio.to_thread(builder.commit)
        assert pb.lookup("0206000000")[0].name == "Nieuw 0"
        assert pb.lookup("010-5550303") == []
        assert pb.size() == 5000


# --- incremental changes -------------------------------------------------------------------


def test_changed_number_is_found_after_apply(book: PhoneBook) -> None:
    changed = org(10, "Bouwbedrijf Jansen & Zn.", "010-5550304")
    assert book.apply_changes("organisations", "AfasTray_Organisaties", ORG_MAP, [changed]) == 1
    assert [m.contact_id for m in book.lookup("010-5550303")] == ["501"]  # only the contact now
    [m] = book.lookup("010-5550304")
    assert (m.bcid, m.name) == ("10", "Bouwbedrijf Jansen & Zn.")
    # a contact of that organisation shows the new name at once
    assert book.lookup("010-5550399")[0].name == "Bouwbedrijf Jansen & Zn."
    assert book.size() == 11
    info = book.last_update
    assert info is not None and info.kind == "incremental" and info.relations == 11


def test_apply_adds_new_relations_and_drops_newly_blocked_contacts(book: PhoneBook) -> None:
    book.apply_changes("organisations", "AfasTray_Organisaties", ORG_MAP,
                       [org(20, "Nieuwe Klant", "050-5551212")])
    assert book.lookup("050 555 12 12")[0].bcid == "20"
    book.apply_changes("contacts", "AfasTray_Contactpersonen", CONTACT_MAP,
                       [contact(502, "Marieke Jansen", 10, 13, tel="010-5550399", blocked=True)])
    assert book.lookup("010-5550399") == []
    assert book.lookup("06-87654321") == []
    assert book.size() == 11  # one added, one blocked away


def test_remove_missing_deletes_relations_gone_from_afas(book: PhoneBook) -> None:
    removed = book.remove_missing("organisations", {"100010", "100012", "100016", "100018"})
    assert removed == 1  # Apotheek De Linde (100014)
    assert [m.bcid for m in book.lookup("030-5550202")] == ["12"]
    assert book.lookup("010-5550303")[0].bcid == "10"
    assert book.remove_missing("contacts", [501, 502, 504]) == 0  # keys as Profit's ints
    assert book.remove_missing("contacts", ["501"]) == 2
    assert book.lookup("010-5550399") == []
    assert book.lookup("020-5551234") == []
    assert book.size() == 5 + 3 + 3 - 1 - 2


# --- refresh speed-ups: numbers known from the last refresh, early indexes ------------------


def test_next_refresh_takes_unchanged_numbers_from_the_book(
    book: PhoneBook, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed = count_parses(monkeypatch)
    orgs = [*ORGS[:-1], org(18, "Alleen Plus", "0513-123456")]  # one number changed
    build(book, orgs=orgs)
    # Only the new number and the junk (which never becomes a key) are parsed again.
    assert "0513-123456" in parsed
    assert not {"010-5550303", "06 12345678", "06-87654321", "020-5551234"} & set(parsed)
    assert set(parsed) <= {"0513-123456", "n.v.t.", "-", "+31"}
    # and the book is the same as one built from scratch
    assert book.lookup("0513 123456")[0].bcid == "18"
    assert {m.bcid for m in book.lookup("+31 (0)30 555 02 02")} == {"12", "14"}
    assert (book.size(), book.numbers()) == (11, 10)


def test_numbers_keyed_for_another_region_are_parsed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with PhoneBook(tmp_path / "book.sqlite", region="NL") as dutch:
        build(dutch)
        assert dutch.lookup("+31105550303")
    parsed = count_parses(monkeypatch)
    with PhoneBook(tmp_path / "book.sqlite", region="BE") as belgian:
        build(belgian)
        assert "010-5550303" in parsed
        # "010…" without a country code is now a Belgian number
        assert belgian.lookup("+32105550303")[0].bcid == "10"
        assert belgian.lookup("+31105550303") == []


def test_incremental_change_in_another_region_stops_the_reuse(
    book: PhoneBook, monkeypatch: pytest.MonkeyPatch
) -> None:
    book.apply_changes("organisations", "AfasTray_Organisaties", ORG_MAP,
                       [org(20, "Belgische Klant", "02 123 45 67")], region="BE")
    assert book.lookup("+3221234567")[0].bcid == "20"
    parsed = count_parses(monkeypatch)
    build(book)
    assert "010-5550303" in parsed  # the book's keys were no longer all made the NL way


def test_indexes_built_before_the_last_connector(book: PhoneBook) -> None:
    builder = book.begin_refresh()
    builder.add_rows("organisations", "AfasTray_Organisaties", ORG_MAP, ORGS)
    builder.add_rows("persons", "AfasTray_Personen", PERSON_MAP, PERSONS)
    builder.build_indexes()
    builder.build_indexes()  # twice is harmless
    builder.add_rows("contacts", "AfasTray_Contactpersonen", CONTACT_MAP, CONTACTS)
    builder.commit()
    assert [m.contact_id for m in book.lookup("010-5550399")] == ["502"]
    assert book.lookup("010-5550303")[0].bcid == "10"
    assert (book.size(), book.numbers()) == (11, 9)


def test_the_book_file_does_not_grow_with_every_refresh(tmp_path: Path) -> None:
    path = tmp_path / "book.sqlite"
    rows = list(SampleData(relations=400, seed=3).rows("AfasTray_Organisaties"))
    with PhoneBook(path) as pb:
        sizes = []
        for _ in range(5):
            builder = pb.begin_refresh()
            builder.add_rows("organisations", "AfasTray_Organisaties", ORG_MAP, rows)
            builder.commit()
            pages = pb._reader().execute("PRAGMA page_count").fetchone()[0]
            sizes.append(int(pages))
        # the previous book is dropped by the next refresh; its pages are reused
        assert sizes[4] <= sizes[2] + 2, sizes


def test_a_match_carries_both_the_bcid_and_the_number(tmp_path: Path) -> None:
    """KnSubjectLink takes the number by default, InSite pages may take either: keep both."""
    with PhoneBook(tmp_path / "book.sqlite") as pb:
        build(pb)
        m = pb.lookup("010-5550303")[0]  # the organisation, before its contact person
        assert (m.bcid, m.number, m.contact_id) == ("10", "100010", "")
        # A contact's match carries its organisation's number (Profit_Contacts: OrgNumber).
        contacts_map = detect_columns("contacts", "Profit_Contacts", PROFIT_CONTACTS,
                                      ColumnMapping())
        builder = pb.begin_refresh()
        builder.add_rows("organisations", "AfasTray_Organisaties", ORG_MAP, ORGS)
        builder.add_rows("contacts", "Profit_Contacts", contacts_map, [
            {"ContactId": 9, "Name": "Eva Smit", "OrgNumber": "100010", "Blocked": False,
             "TelWork": "010-5550999"}])
        builder.commit()
        [c] = pb.lookup("010 5550999")
        assert (c.bcid, c.number, c.contact_id) == ("10", "100010", "9")


def test_standard_connector_without_internal_id_keeps_the_number(tmp_path: Path) -> None:
    orgs = detect_columns("organisations", "Profit_OrgPer", PROFIT_ORGPER, ColumnMapping())
    with PhoneBook(tmp_path / "book.sqlite") as pb:
        builder = pb.begin_refresh()
        builder.add_rows("organisations", "Profit_OrgPer", orgs, [
            {"BcCo": "100077", "Name": "Gemeente Zuid", "TelWork": "020-5557777"}])
        builder.commit()
        [m] = pb.lookup("020 5557777")
        assert (m.bcid, m.number) == ("100077", "100077")


def _back_to_before_the_lookup_table(conn: sqlite3.Connection) -> None:
    """The book as the previous version left it: no lookup table, no owner-reference indexes,
    the numbers' own index (covering, as it made them) instead."""
    names = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE name LIKE 'pb_relations_org_g%'"
        " OR name LIKE 'pb_relations_person_g%'")]
    for name in names:
        conn.execute(f"DROP INDEX {name}")
    conn.executescript(
        "DROP TABLE pb_lookup;"
        "CREATE INDEX pb_numbers_number_g9 ON pb_numbers(number, rel, col, raw, pos);"
        "UPDATE schema_versions SET version = 3 WHERE module = 'phonebook';")


def test_a_book_from_before_the_lookup_table_answers_as_it_did(tmp_path: Path) -> None:
    """An upgrade fills the lookup table from the book as it is: every number answers as
    before, contacts with their organisation, and incremental changes follow it."""
    path = tmp_path / "book.sqlite"
    with PhoneBook(path) as pb:
        build(pb)
        numbers = [r[0] for r in pb._reader().execute("SELECT DISTINCT number FROM pb_numbers")]
        before = {n: pb.lookup(n) for n in numbers}
    assert any(m.contact_id for found in before.values() for m in found)
    conn = sqlite3.connect(path)
    _back_to_before_the_lookup_table(conn)
    conn.commit()
    conn.close()
    with PhoneBook(path) as again:
        assert {n: again.lookup(n) for n in numbers} == before
        # the numbers' own index is gone (nothing reads it; it misled the planner of writes)
        assert not again._reader().execute(
            "SELECT name FROM sqlite_master WHERE name LIKE 'pb_numbers_number_g%'").fetchall()
        # an organisation renamed afterwards: its contact shows the new name at once
        again.apply_changes("organisations", "AfasTray_Organisaties", ORG_MAP,
                            [org(10, "Bouwbedrijf Jansen & Zn.", "010-5550303")])
        assert again.lookup("010-5550399")[0].name == "Bouwbedrijf Jansen & Zn."


def test_a_book_written_by_an_older_version_since_gets_its_lookup_table_again(
    tmp_path: Path,
) -> None:
    """Back to the previous version (which writes relations, not the lookup table) and forward
    again: the lookups answer from what the older version wrote, not from before it."""
    path = tmp_path / "book.sqlite"
    with PhoneBook(path) as pb:
        build(pb)
        assert pb.lookup("010-5550399")[0].name == "Bouwbedrijf Jansen"
    _older_version_writes(path)
    with PhoneBook(path) as again:
        assert again.lookup("010-5550399")[0].name == "Jansen Bouw"  # its contact
        assert again.lookup("010-5550303")[0].name == "Jansen Bouw"
        # the contacts' owner indexes its refresh did not make are back
        names = {r[0] for r in again._reader().execute("SELECT name FROM sqlite_master")}
        assert {"pb_relations_org_g1", "pb_relations_person_g1"} <= names


def _older_version_writes(path: Path) -> None:
    """What the previous version did to the book: a refresh (the live relations without the
    contacts' owner indexes), then an incremental change of a relation, and their records."""
    conn = sqlite3.connect(path)
    conn.executescript(
        "DROP INDEX pb_relations_org_g1; DROP INDEX pb_relations_person_g1;"
        "UPDATE pb_relations SET name = 'Jansen Bouw' WHERE role = 0 AND bcid = '10';"
        "INSERT OR REPLACE INTO pb_refresh(kind, at, relations, numbers, seconds, rows)"
        " VALUES('incremental', 1.5, 11, 10, 0.1, '{}');")
    conn.commit()
    conn.close()


def test_a_book_that_cannot_be_written_still_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only profile: the mend due at open is left for later, the lookups answer."""
    path = tmp_path / "book.sqlite"
    with PhoneBook(path) as pb:
        build(pb)
    _older_version_writes(path)
    keep = sqlite3.connect(path)  # the app, running: the WAL files stay
    keep.execute("SELECT 1 FROM pb_relations").fetchall()
    connect = sqlite3.connect

    def read_only(target: str, **kw: Any) -> sqlite3.Connection:
        return connect(f"file:{target}?mode=ro", uri=True, **kw)

    monkeypatch.setattr(store.sqlite3, "connect", read_only)
    try:
        with PhoneBook(path) as again:
            assert again.lookup("010-5550303")[0].bcid == "10"
    finally:
        keep.close()


def test_a_book_from_before_numbers_keeps_working(tmp_path: Path) -> None:
    """The schema migration keeps an old book answering and makes the next sync a full one."""
    path = tmp_path / "book.sqlite"
    with PhoneBook(path) as pb:
        build(pb)
    conn = sqlite3.connect(path)
    # Back to the book as it was before issue 12: no number column (nor lookup table).
    _back_to_before_the_lookup_table(conn)
    conn.executescript(
        "ALTER TABLE pb_relations DROP COLUMN number;"
        "UPDATE schema_versions SET version = 2 WHERE module = 'phonebook';")
    conn.close()
    with PhoneBook(path) as again:
        m = again.lookup("010-5550303")[0]
        assert (m.bcid, m.name, m.number) == ("10", "Bouwbedrijf Jansen", "")
        assert again.last_refresh is None  # the next sync refreshes fully, filling the numbers
        build(again)
        assert again.lookup("010-5550303")[0].number == "100010"
