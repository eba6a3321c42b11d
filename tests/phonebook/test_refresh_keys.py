"""A full refresh takes unchanged numbers' keys from the live book page by page (issue 18): the
new book is the same as one built from nothing, only changed numbers are normalised again, and
what it remembers stays bounded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import afas_tray.phonebook.book as book_module
from afas_tray.config import ColumnMapping
from afas_tray.demo.sample_data import CONNECTORS, SampleData
from afas_tray.phonebook import FieldInfo, PhoneBook, detect_columns
from tests.helpers.phonebook import count_parses

SOURCES = {"organisations": "AfasTray_Organisaties", "persons": "AfasTray_Personen",
           "contacts": "AfasTray_Contactpersonen"}


def _mapping(role: str) -> Any:
    connector = SOURCES[role]
    fields = [FieldInfo(f.id, f.label, f.data_type) for f in CONNECTORS[connector].fields]
    return detect_columns(role, connector, fields, ColumnMapping())


def _refresh(book: PhoneBook, rows: dict[str, list[dict[str, Any]]], page: int = 300) -> None:
    with book.begin_refresh() as builder:
        for role, connector in SOURCES.items():
            mapping = _mapping(role)
            for start in range(0, len(rows[role]), page):
                builder.add_rows(role, connector, mapping, rows[role][start:start + page])
        builder.commit()


def _rows(data: SampleData) -> dict[str, list[dict[str, Any]]]:
    return {role: list(data.rows(connector)) for role, connector in SOURCES.items()}


def test_second_refresh_reuses_keys_and_builds_the_same_book(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = SampleData(relations=1500, seed=4)
    rows = _rows(data)
    with PhoneBook(tmp_path / "live.sqlite") as live:
        _refresh(live, rows)
        # Between two refreshes: numbers changed in AFAS, a relation gone, one new.
        changed = {"0513-771122", "+31 6 11223344", "020 - 555 1234 toestel 12"}
        orgs = [dict(r) for r in rows["organisations"]]
        orgs[3]["Telefoon_werk"] = "0513-771122"
        orgs[10]["Mobiel_werk"] = "+31 6 11223344"
        del orgs[20]
        new = dict(orgs[0])
        new.update(BcId=99_000_001, Nummer="99000001", Telefoon_werk="020 - 555 1234 toestel 12")
        orgs.append(new)
        rows["organisations"] = orgs
        parsed = count_parses(monkeypatch)
        _refresh(live, rows, page=170)  # other page borders than the first time
        monkeypatch.undo()
        # Only the changed numbers and what never became a key (junk) were normalised again.
        assert changed <= set(parsed)
        keys = {r[0] for r in live._reader().execute("SELECT raw FROM pb_numbers")}
        assert not (set(parsed) - changed) & keys
        assert len(parsed) < 0.2 * live.numbers()
        with PhoneBook(tmp_path / "fresh.sqlite") as fresh:
            _refresh(fresh, rows)
            assert live.entries() == fresh.entries()
            assert (live.size(), live.numbers()) == (fresh.size(), fresh.numbers())
            assert live.lookup("0513 77 11 22")[0].bcid == str(orgs[3]["BcId"])
            assert live.lookup("+31205551234")[0].bcid == "99000001"


def test_a_small_memory_gives_the_same_book(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the refresh remembers is cleared past its bound: slower, never different."""
    rows = _rows(SampleData(relations=800, seed=9))
    with PhoneBook(tmp_path / "a.sqlite") as wide:
        _refresh(wide, rows)
        _refresh(wide, rows)
        monkeypatch.setattr(book_module, "_KNOWN_CAP", 10)
        with PhoneBook(tmp_path / "b.sqlite") as narrow:
            _refresh(narrow, rows)
            _refresh(narrow, rows)
            assert narrow.entries() == wide.entries()


def test_keys_made_for_another_region_are_not_reused(tmp_path: Path) -> None:
    rows = _rows(SampleData(relations=300, seed=2))
    path = tmp_path / "book.sqlite"
    with PhoneBook(path, region="NL") as dutch:
        _refresh(dutch, rows)
    with PhoneBook(path, region="BE") as belgian:
        _refresh(belgian, rows)
        with PhoneBook(tmp_path / "fresh.sqlite", region="BE") as fresh:
            _refresh(fresh, rows)
            assert belgian.entries() == fresh.entries()
