"""The lookup table gives the answers the step-by-step lookup gave (issue 18).

``reference_lookup`` is the lookup as it was before: the numbers and their relations, then the
connectors, then per contact person its owner, each in its own query, on the book's own tables
(``pb_relations``, ``pb_numbers``), not on the lookup table made from them. The book built from the
simulated AFAS (numbers written the many ways people type them, contacts of organisations and
of persons) is asked for every number it holds, in several spellings, plus misses, before and
after incremental changes that leave contacts without their organisation or without any owner.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Any

from afas_tray.config import ROLES, ColumnMapping
from afas_tray.demo.sample_data import CONNECTORS, SampleData
from afas_tray.models import Match, RelationKind
from afas_tray.numbers import normalise
from afas_tray.phonebook import FieldInfo, PhoneBook, detect_columns

_KIND = {0: RelationKind.ORGANISATION, 1: RelationKind.PERSON, 2: RelationKind.CONTACT}
_SOURCES = {"organisations": "AfasTray_Organisaties", "persons": "AfasTray_Personen",
            "contacts": "AfasTray_Contactpersonen"}


def _owner(conn: sqlite3.Connection, org: str, person: str) -> tuple[str, str, str] | None:
    for code, ref in ((0, org), (1, person)):
        if not ref:
            continue
        for column in ("bcid", "key"):
            row = conn.execute(
                f"SELECT bcid, name, number FROM pb_relations WHERE role = ? AND {column} = ?"
                " LIMIT 1", (code, ref)).fetchone()
            if row is not None:
                return str(row[0]), str(row[1]), str(row[2])
    return None


def reference_lookup(path: Path, number: str, region: str = "NL") -> list[Match]:
    key = normalise(number, region)
    if key is None:
        return []
    conn = sqlite3.connect(path)
    try:
        hits = conn.execute(
            "SELECT n.col, n.raw, n.pos, r.role, r.key, r.bcid, r.name, r.org, r.person, r.number"
            " FROM pb_numbers n JOIN pb_relations r ON r.id = n.rel WHERE n.number = ?",
            (key,)).fetchall()
        if not hits:
            return []
        sources = dict(conn.execute("SELECT role, connector FROM pb_sources").fetchall())
        best: dict[tuple[str, str], Match] = {}
        for col, raw, pos, code, rkey, bcid, name, org, person, num in hits:
            role = ROLES[code]
            if code == 2:
                target = _owner(conn, org, person)
                bcid_out, name_out, number_out = target if target else (org or person, name, "")
                match = Match(bcid=bcid_out, number=number_out, name=name_out or name,
                              kind=RelationKind.CONTACT, phone=raw, column=col, contact_id=rkey,
                              contact_name=name, connector=sources.get(role, ""), rank=100 + pos)
            else:
                match = Match(bcid=bcid, number=num, name=name, kind=_KIND[code], phone=raw,
                              column=col, connector=sources.get(role, ""), rank=pos)
            ident = (match.bcid, match.contact_id)
            if ident not in best or match.rank < best[ident].rank:
                best[ident] = match
    finally:
        conn.close()
    return sorted(best.values(), key=lambda m: (m.rank, m.name.lower(), m.bcid, m.contact_id))


def _mapping(role: str) -> Any:
    connector = _SOURCES[role]
    fields = [FieldInfo(f.id, f.label, f.data_type) for f in CONNECTORS[connector].fields]
    return detect_columns(role, connector, fields, ColumnMapping())


def _build(book: PhoneBook, data: SampleData) -> dict[str, list[dict[str, Any]]]:
    rows = {role: list(data.rows(connector)) for role, connector in _SOURCES.items()}
    with book.begin_refresh() as builder:
        for role, connector in _SOURCES.items():
            for start in range(0, len(rows[role]), 250):
                builder.add_rows(role, connector, _mapping(role), rows[role][start:start + 250])
        builder.commit()
    return rows


def _spellings(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        written = [str(r[0]) for r in conn.execute("SELECT raw FROM pb_numbers")]
        keys = [str(r[0]) for r in conn.execute("SELECT DISTINCT number FROM pb_numbers")]
    finally:
        conn.close()
    out = [*written, *keys]
    out += ["00" + k[1:] for k in keys[::3]]
    out += [f"0{k[3:5]} {k[5:8]} {k[8:]}" for k in keys[::5] if k.startswith("+31")]
    rng = random.Random(3)
    out += [f"+3120555{rng.randrange(10**4):04d}" for _ in range(200)]  # misses
    out += ["", "n.v.t.", "anonymous", "+31", "0"]
    return out


def _same_answers(book: PhoneBook, path: Path) -> int:
    checked = 0
    for typed in _spellings(path):
        assert book.lookup(typed) == reference_lookup(path, typed), typed
        checked += 1
    return checked


def test_one_query_lookup_answers_as_the_step_by_step_one(tmp_path: Path) -> None:
    path = tmp_path / "book.sqlite"
    with PhoneBook(path) as book:
        rows = _build(book, SampleData(relations=1200, seed=5))
        assert _same_answers(book, path) > 2000
        # Contacts whose organisation is gone fall back to their person (or to nothing): the
        # change writes their lookup rows again, so the answers follow it at once.
        orgs = rows["organisations"]
        org_map = _mapping("organisations")
        gone = [str(row[org_map.id]) for row in orgs[::4]]
        book.remove_missing("organisations",
                            [str(row[org_map.id]) for row in orgs if str(row[org_map.id]) not in gone])
        # A contact now pointing at an organisation by its number (BcCo) instead of its BcId,
        # and one pointing at nothing the book has.
        contact_map = _mapping("contacts")
        changed = []
        for n, row in enumerate(rows["contacts"][1:40:2]):
            row = dict(row)
            target = orgs[1 + n * 4]
            row[contact_map.organisation] = (
                str(target[org_map.id]) if n % 2 else "999999999")
            changed.append(row)
        book.apply_changes("contacts", _SOURCES["contacts"], contact_map, changed)
        assert _same_answers(book, path) > 2000


def test_a_contact_matched_twice_ranks_as_before(tmp_path: Path) -> None:
    """Hand-made rows: one number on an organisation and on two of its contacts, once via the
    organisation's BcId and once via its number."""
    path = tmp_path / "book.sqlite"
    org_map, person_map, contact_map = (_mapping(r) for r in ROLES)
    org_row = {org_map.id: "100010", org_map.bcid: 10, org_map.name: "Jansen BV",
               org_map.phones[0]: "010-5550303"}
    person_row = {person_map.id: "200011", person_map.bcid: 11, person_map.name: "Piet",
                  person_map.phones[0]: "010 555 03 03"}
    contacts = [
        {contact_map.id: 501, contact_map.organisation: 10, contact_map.name: "Piet Jansen",
         contact_map.phones[0]: "010 5550303", contact_map.phones[1]: "+31105550303"},
        {contact_map.id: 502, contact_map.organisation: "100010", contact_map.name: "Els",
         contact_map.phones[1]: "0031105550303"},
        {contact_map.id: 503, contact_map.person: 11, contact_map.name: "Zus",
         contact_map.phones[0]: "+31 (0)10 555 03 03"},
    ]
    with PhoneBook(path) as book:
        with book.begin_refresh() as builder:
            builder.add_rows("organisations", _SOURCES["organisations"], org_map, [org_row])
            builder.add_rows("persons", _SOURCES["persons"], person_map, [person_row])
            builder.add_rows("contacts", _SOURCES["contacts"], contact_map, contacts)
            builder.commit()
        found = book.lookup("+31105550303")
        assert found == reference_lookup(path, "+31105550303")
        assert [(m.bcid, m.contact_id) for m in found] == [
            ("10", ""), ("11", ""), ("10", "501"), ("11", "503"), ("10", "502")]
        assert found[2].connector == "AfasTray_Contactpersonen"
        assert found[0].number == "100010" and found[4].name == "Jansen BV"


def _random_row(rng: random.Random, role: str, mapping: Any) -> dict[str, Any]:
    """A row of a tiny world where everything collides: six numbers, BcIds shared now and
    then, contacts naming their owner by BcId, by number, or by something not in the book."""
    pool = [f"010-555030{i}" for i in range(6)]
    phones = {col: rng.choice([*pool, None, None]) for col in mapping.phones}
    name = rng.choice(["Jansen BV", "de Linde", "", "Zus", "Ärzte GmbH"])
    if role == "contacts":
        def ref(low: int, high: int, base: int) -> Any:
            bcid = rng.randrange(low, high)
            return rng.choice([bcid, str(base + bcid), "999", None])
        return {mapping.id: rng.randrange(500, 512), mapping.organisation: ref(10, 16, 100000),
                mapping.person: ref(20, 24, 200000), mapping.name: name,
                mapping.blocked: rng.random() < 0.1, **phones}
    base, low, high = (100000, 10, 16) if role == "organisations" else (200000, 20, 24)
    bcid = rng.randrange(low, high)
    key = base + (bcid if rng.random() < 0.8 else rng.randrange(low, high))  # BcId moves
    return {mapping.id: str(key), mapping.bcid: bcid, mapping.name: name, **phones}


def test_the_lookup_table_follows_every_incremental_change(tmp_path: Path) -> None:
    """Random cycles of changes, removals and key-only passes on a tiny book: after each,
    every number answers as the step-by-step lookup over the book's own tables does."""
    from afas_tray.phonebook import ChangeSet

    maps = {role: _mapping(role) for role in ROLES}
    numbers = [f"+3110555030{i}" for i in range(6)]

    def refresh(book: PhoneBook, rng: random.Random) -> None:
        with book.begin_refresh() as builder:
            for role in ROLES:
                builder.add_rows(role, _SOURCES[role], maps[role],
                                 [_random_row(rng, role, maps[role]) for _ in range(6)])
            builder.commit()

    def some_keys(book: PhoneBook, rng: random.Random, role: str) -> list[str]:
        keys = [e.key for e in book.entries() if e.role == role]
        return rng.sample(keys, rng.randrange(len(keys) + 1))

    for seed in range(25):
        rng = random.Random(seed)
        path = tmp_path / f"book{seed}.sqlite"
        with PhoneBook(path) as book:
            refresh(book, rng)
            for step in range(12):
                roll = rng.random()
                if roll < 0.6:
                    changes = []
                    for role in rng.sample(ROLES, rng.randrange(1, 4)):
                        rows = [_random_row(rng, role, maps[role]) for _ in range(rng.randrange(4))]
                        present = some_keys(book, rng, role) if rng.random() < 0.3 else None
                        changes.append(ChangeSet(role, _SOURCES[role], maps[role], rows, present))
                    book.apply_cycle(changes)
                elif roll < 0.9:
                    role = rng.choice(ROLES)
                    book.remove_missing(role, some_keys(book, rng, role))
                else:
                    refresh(book, rng)
                for number in numbers:
                    assert book.lookup(number) == reference_lookup(path, number), (seed, step)
