"""Row preparation: connector rows to the phone book's table tuples (keys, names, match keys of
the phone numbers). Runs for every row of a full refresh, so it is written for speed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from afas_tray.config import ColumnMapping
from afas_tray.numbers import KEY_RULES, normalise_uncached

# Roles are stored as small integers: half a million rows do not need the word each time.
ROLE_CODE = {"organisations": 0, "persons": 1, "contacts": 2}


_TRUE = {"1", "true", "ja", "yes", "j", "y", "waar", "-1"}


def cell_text(value: Any) -> str:
    if value.__class__ is str:
        return str(value.strip())
    if value.__class__ is int:
        return str(value)
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return cell_text(value).lower() in _TRUE


@dataclass
class Prepared:
    relations: list[tuple[int, int, str, str, str, str, str, str]] = field(default_factory=list)
    numbers: list[tuple[str, int, str, str, int]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # every key seen, also of skipped rows

    def skipped(self, code: int) -> list[tuple[int, str]]:
        """(role, key) of the rows seen but left out."""
        if len(self.keys) == len(self.relations):
            return []
        kept = {r[2] for r in self.relations}
        return [(code, k) for k in dict.fromkeys(self.keys) if k not in kept]


def prepare_rows(
    role: str,
    mapping: ColumnMapping,
    rows: Iterable[Mapping[str, Any]],
    region: str,
    next_id: int,
    known: dict[str, str | None] | None = None,
) -> Prepared:
    """Table tuples for ``rows``; ids from ``next_id`` on. Blocked contacts and rows without a
    card to open are left out (their keys still listed, so an update removes them).

    ``known`` memoises raw number -> match key (made with ``region``) and learns the new ones.
    This loop runs for every row of a full refresh, hence the inlined ``cell_text``."""
    code = ROLE_CODE[role]
    contacts = code == 2
    id_col, bcid_col, name_col = mapping.id, mapping.bcid, mapping.name
    org_col = mapping.organisation if contacts else ""
    person_col = str(getattr(mapping, "person", "")) if contacts else ""
    blocked_col = str(getattr(mapping, "blocked", "")) if contacts else ""
    # A plain ColumnMapping (no detection) keys organisations/persons by their number.
    number_col = "" if contacts else str(getattr(mapping, "number", id_col))
    phones = list(enumerate(mapping.phones))
    memo: dict[str, str | None] = {} if known is None else known
    remember = memo.get
    out = Prepared()
    rel_append, num_append, key_append = out.relations.append, out.numbers.append, out.keys.append
    rel_id = next_id
    for row in rows:
        get = row.get
        value = get(id_col) if id_col else None
        key = value.strip() if value.__class__ is str else cell_text(value)
        if bcid_col:
            value = get(bcid_col)
            bcid = value.strip() if value.__class__ is str else cell_text(value)
        else:
            bcid = ""
        key = key or bcid
        if not key:
            continue
        key_append(key)
        org = person = bcco = ""
        if contacts:
            if blocked_col and _truthy(get(blocked_col)):
                continue
            org = cell_text(get(org_col)) if org_col else ""
            person = cell_text(get(person_col)) if person_col else ""
            if not (org or person):
                continue  # no card to open
        else:
            bcid = bcid or key
            if number_col:
                value = get(number_col)
                bcco = value.strip() if value.__class__ is str else cell_text(value)
        value = get(name_col)
        name = value.strip() if value.__class__ is str else cell_text(value)
        rel_append((rel_id, code, key, bcid, name, org, person, bcco))
        first = ""  # most relations have one number: a set only for the second and later
        seen: set[str] | None = None
        for pos, col in phones:
            raw = get(col)
            if raw is None or raw == "":
                continue
            raw_text = raw if raw.__class__ is str else str(raw)
            number = remember(raw_text, "")  # "" = not seen yet (no key is empty)
            if number == "":
                number = memo[raw_text] = normalise_uncached(raw_text, region)
            if number is None or number == first:
                continue
            if first:
                if seen is None:
                    seen = {first}
                if number in seen:
                    continue
                seen.add(number)
            else:
                first = number
            num_append((number, rel_id, col, raw_text, pos))
        rel_id += 1
    return out


def row_keys(mapping: ColumnMapping, rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """The relation keys of ``rows`` as ``prepare_rows`` makes them (key column, else BcId)."""
    out = []
    for row in rows:
        key = cell_text(row.get(mapping.id)) if mapping.id else ""
        if not key and mapping.bcid:
            key = cell_text(row.get(mapping.bcid))
        if key:
            out.append(key)
    return out


def keys_stamp(region: str) -> str:
    """How the match keys in the book were made: the region plus the normalisation rules."""
    return f"{region} {KEY_RULES}"
