"""The local phone book: AFAS relations by E.164 number, in SQLite.

Tables (module ``phonebook``): ``pb_relations`` (one row per organisation, person or contact
person: role, own key, BcId, name, and for a contact the owning organisation/person) and
``pb_numbers`` (match key, relation row, column, number as written). A contact person is
resolved to its organisation (or person) at lookup time, so an incremental change to either side
shows at once.

Atomic full refresh — staging tables and a rename. ``begin_refresh`` creates empty
``pb_stage_*`` tables; each ``add_rows`` appends a page in its own short transaction (no
indexes yet, so appends are cheap and other writers to the same file are never held up for
long); ``commit`` builds the indexes and then, in one transaction, renames the live tables away
and the staging tables in. SQLite (WAL) gives every read transaction one snapshot, and a lookup
reads inside one transaction, so it sees the old book or the new one, never a mix; the old
tables are dropped when the next refresh begins. ``abort`` (or a crash) only ever leaves staging tables behind,
which the next refresh drops: the live book is untouched.

Threads: lookups use a connection per calling thread; a refresh uses its own connection and may
run in a worker thread (``asyncio.to_thread``); incremental changes go through a third one.
Incremental changes (``apply_changes``/``remove_missing``) edit the live tables in place, one
transaction per call; any applied while a full refresh is being built are superseded when that
refresh commits (it read the connectors itself).
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

from afas_tray.config import ROLES, ColumnMapping
from afas_tray.i18n import T, Text
from afas_tray.models import Match, RelationKind
from afas_tray.numbers import KEY_RULES, normalise, normalise_uncached
from afas_tray.store import ensure_schema, open_db

MODULE = "phonebook"

# Roles are stored as small integers: half a million rows do not need the word each time.
_ROLE_CODE = {"organisations": 0, "persons": 1, "contacts": 2}
_ROLE_KIND = {
    0: RelationKind.ORGANISATION,
    1: RelationKind.PERSON,
    2: RelationKind.CONTACT,
}
ROLE_TEXT = {
    "organisations": T("organisations", "organisaties"),
    "persons": T("persons", "personen"),
    "contacts": T("contact persons", "contactpersonen"),
}
# A contact's own number ranks after every organisation/person whose own field holds the number.
_CONTACT_RANK = 100


def _tables_sql(prefix: str, gen: int, *, first: bool = False) -> list[str]:
    # ``first``: the tables as the first migration made them (a later one adds ``number``).
    number = "" if first else ", number TEXT NOT NULL DEFAULT ''"
    return [
        f"CREATE TABLE {prefix}relations (id INTEGER PRIMARY KEY, role INTEGER NOT NULL,"
        " key TEXT NOT NULL, bcid TEXT NOT NULL, name TEXT NOT NULL,"
        f" org TEXT NOT NULL DEFAULT '', person TEXT NOT NULL DEFAULT ''{number})",
        f"CREATE TABLE {prefix}numbers (number TEXT NOT NULL, rel INTEGER NOT NULL,"
        " col TEXT NOT NULL, raw TEXT NOT NULL, pos INTEGER NOT NULL)",
    ]


def _indexes_sql(prefix: str, gen: int) -> list[str]:
    # Index names stay with their table through a rename, so each generation gets its own.
    return _early_indexes_sql(prefix, gen) + _late_indexes_sql(prefix, gen)


def _early_indexes_sql(prefix: str, gen: int) -> list[str]:
    """Indexes a refresh creates with its staging tables: rows arrive in their order (relation
    ids only grow), so each insert appends at the right edge and costs next to nothing."""
    return [f"CREATE INDEX pb_numbers_rel_g{gen} ON {prefix}numbers(rel)"]


def _late_indexes_sql(prefix: str, gen: int) -> list[str]:
    """Indexes built once all rows are in: one sort beats 150,000 inserts in random places."""
    return [
        f"CREATE INDEX pb_numbers_number_g{gen} ON {prefix}numbers(number)",
        f"CREATE INDEX pb_relations_key_g{gen} ON {prefix}relations(role, key)",
        f"CREATE INDEX pb_relations_bcid_g{gen} ON {prefix}relations(role, bcid)",
    ]


MIGRATIONS = [
    ";\n".join(
        [
            *_tables_sql("pb_", 0, first=True),
            *_indexes_sql("pb_", 0),
            "CREATE TABLE pb_sources (role TEXT PRIMARY KEY, connector TEXT NOT NULL)",
            "CREATE TABLE pb_refresh (kind TEXT PRIMARY KEY, at REAL NOT NULL,"
            " relations INTEGER NOT NULL, numbers INTEGER NOT NULL, seconds REAL NOT NULL,"
            " rows TEXT NOT NULL)",
            "CREATE TABLE pb_state (k TEXT PRIMARY KEY, v TEXT NOT NULL)",
        ]
    ),
    # Keys of rows a connector has but the book leaves out (blocked contacts, contacts without
    # a card): a key-only pass must tell them from rows it has never seen.
    "CREATE TABLE pb_skipped (role INTEGER NOT NULL, key TEXT NOT NULL,"
    " PRIMARY KEY(role, key)) WITHOUT ROWID",
    # Issue 12: the relation's number (BcCo) next to its internal BcId; KnSubjectLink takes the
    # number by default. A book from before has no numbers yet: it keeps answering lookups (the
    # link falls back to the BcId it always sent) and forgetting its last full refresh makes
    # the next sync a full one, which fills them.
    "ALTER TABLE pb_relations ADD COLUMN number TEXT NOT NULL DEFAULT '';"
    " DELETE FROM pb_refresh WHERE kind = 'full'",
]


# --- errors ----------------------------------------------------------------------------------


class PhoneBookError(Exception):
    """A phone-book problem with a message in Dutch and English."""

    def __init__(self, text: Text) -> None:
        super().__init__(text.en)
        self.text = text


class ColumnError(PhoneBookError):
    """A connector lacks a column the phone book needs (or names one that does not exist)."""

    def __init__(self, text: Text, *, role: str, connector: str, missing: Sequence[str]) -> None:
        super().__init__(text)
        self.role = role
        self.connector = connector
        self.missing = tuple(missing)


# --- column detection ------------------------------------------------------------------------


class FieldLike(Protocol):
    """One column from GetConnector metainfo."""

    @property
    def id(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def data_type(self) -> str: ...


@dataclass(frozen=True)
class FieldInfo:
    id: str
    label: str = ""
    data_type: str = "string"


def fields_from_metainfo(meta: Mapping[str, Any]) -> list[FieldInfo]:
    """``GET /metainfo/get/{id}`` JSON to field descriptions."""
    out = []
    for raw in meta.get("fields") or []:
        if isinstance(raw, Mapping) and raw.get("id"):
            out.append(
                FieldInfo(
                    str(raw["id"]), str(raw.get("label") or ""), str(raw.get("dataType") or "")
                )
            )
    return out


@dataclass
class DetectedMapping(ColumnMapping):
    """A ColumnMapping plus what detection finds that settings cannot (yet) override."""

    person: str = ""  # contacts: BcId (or number) of the person, used when no organisation
    # organisations/persons: the number (BcCo) column; "" when the connector only has the BcId
    number: str = ""
    # What a full refresh sorts on: an integer column that identifies a row (the BcId, a
    # contact id) where there is one (AFAS: sort on integer fields), else the key; ``sort_int``
    # says it is an integer, so paging can go on from the last key instead of deep skips.
    sort_key: str = ""
    sort_int: bool = False
    blocked: str = ""  # contacts: true when the contact is blocked (skipped)


def _plain(text: str) -> str:
    return "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )


def _words(text: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", _plain(text or ""))
    return [w for w in re.split(r"[^0-9a-z]+", spaced.lower()) if w]


def _norm(text: str) -> str:
    return "".join(_words(text))


_ID_CANDIDATES = {
    "organisations": (
        "bcco", "nummer", "number", "orgnumber", "organisatienummer", "nummerorganisatie",
        "organisationnumber", "relatienummer", "relationnumber", "code",
    ),
    "persons": (
        "bcco", "nummer", "number", "pernumber", "persoonsnummer", "persoonnummer",
        "nummerpersoon", "personnumber", "persnummer", "relatienummer", "relationnumber", "code",
    ),
    "contacts": (
        "contactid", "ctid", "cdid", "contactnummer", "contactpersoonid", "contactpersoonnummer",
        "nummercontact", "nummercontactpersoon", "contactnumber", "idcontact",
    ),
}
_BCID_CANDIDATES = ("bcid", "relatieid", "relationid", "bcidrelatie", "idrelatie")
_ORG_CANDIDATES = (
    "organisatiebcid", "bcidorganisatie", "orgbcid", "bcidorg", "organisationbcid", "bcidco",
    "orgnumber", "orgnummer", "organisatienummer", "nummerorganisatie", "organisationnumber",
    "organisatie", "organisation", "bcid",
)
_PERSON_CANDIDATES = (
    "persoonbcid", "bcidpersoon", "perbcid", "personbcid", "bcidpe", "pernumber", "persnummer",
    "persoonsnummer", "persoonnummer", "nummerpersoon", "personnumber", "persoon", "person",
)
_NAME_CANDIDATES = (
    "naam", "name", "nm", "weergavenaam", "displayname", "volledigenaam", "fullname",
    "organisatienaam", "naamorganisatie", "persoonsnaam", "naampersoon", "contactnaam",
    "naamcontact", "naamcontactpersoon", "omschrijving", "description",
)
_NAME_EXCLUDE = {"zoek", "zoeknaam", "search", "voor", "voornaam", "achter", "achternaam", "first",
                 "last", "roep", "roepnaam", "tussen", "bestand", "file", "user", "gebruiker",
                 "searchname", "firstname", "lastname"}
_MODIFIED_CANDIDATES = (
    "modifieddate", "gewijzigdop", "datumgewijzigd", "gewijzigd", "modified", "lastmodified",
    "datummutatie", "mutatiedatum", "laatstgewijzigd", "datumlaatstgewijzigd", "changedate",
    "modifiedon", "updatedat", "lastupdated",
)
_MODIFIED_WORDS = ("gewijzigd", "modified", "mutatie", "wijzig", "changed", "updated")
_CREATED_CANDIDATES = (
    "createdate", "aangemaaktop", "datumaangemaakt", "aangemaakt", "created", "createdon",
    "creationdate", "datecreated", "createdat",
)
_CREATED_WORDS = ("aangemaakt", "created", "creat")
_BLOCKED_CANDIDATES = ("blocked", "geblokkeerd", "isblocked", "blokkeer", "geblokkeerdjanee")
_PHONE_IDS = {
    "telwork", "mobwork", "telprivate", "mobprivate", "tewo", "temb", "tepr", "tepv", "mbwo",
    "mbpr", "tenr", "mbnr", "ten2", "mbn2", "tel", "telnr", "phone", "mobile", "telephone",
    "telefoon", "mobiel", "gsm", "telefoonnummer", "mobielnummer", "cellphone", "handy",
}
_PRIVATE_WORDS = {"prive", "private", "privat", "priv", "thuis", "home", "pv", "pr"}
_NOT_PHONE_TYPES = {"date", "boolean", "bool", "blob", "datetime"}


def _is_phone_word(word: str) -> bool:
    if "fax" in word or "mail" in word or word.startswith("tell"):
        return False  # Dutch "teller" is a counter
    return (
        word.startswith(("tel", "mobiel", "mobile", "mobil", "phone", "gsm", "handy"))
        or word == "mob"
    )


def _is_phone(f: FieldLike) -> bool:
    if (f.data_type or "").lower() in _NOT_PHONE_TYPES:
        return False
    if _norm(f.id) in _PHONE_IDS:
        return True
    for text in (f.id, f.label):
        words = _words(text)
        if any("fax" in w or "mail" in w for w in words):
            return False
        if any(_is_phone_word(w) for w in words):
            return True
    return False


def _is_private(f: FieldLike) -> bool:
    if _norm(f.id) in {"telprivate", "mobprivate", "tepr", "tepv", "mbpr", "ten2", "mbn2"}:
        return True
    return any(w in _PRIVATE_WORDS for w in _words(f.id) + _words(f.label))


def _pick(fields_: Sequence[FieldLike], candidates: Sequence[str], used: set[str]) -> str:
    """First field whose id, else label, equals a candidate (candidates in priority order)."""
    for cand in candidates:
        for f in fields_:
            if f.id not in used and _norm(f.id) == cand:
                return f.id
        for f in fields_:
            if f.id not in used and _norm(f.label) == cand:
                return f.id
    return ""


def detect_columns(
    role: str,
    connector_id: str,
    fields: Sequence[FieldLike],
    override: ColumnMapping | None = None,
) -> DetectedMapping:
    """Which columns of ``connector_id`` hold the key, BcId, name, phones, owner and
    modification date, from metainfo ``fields``. Non-empty fields of ``override`` (settings)
    win. Raises ColumnError naming the connector when a required column is missing."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    override = override or ColumnMapping()
    known = {f.id for f in fields}
    over = _overrides(override)
    if known:
        for what, col in over:
            if col not in known:
                raise _unknown_column(role, connector_id, col, what)

    used = {col for _what, col in over}
    found = DetectedMapping()

    def choose(attr: str, candidates: Sequence[str]) -> str:
        value = getattr(override, attr, "")
        if not value:
            value = _pick(fields, candidates, used)
        used.add(value)
        return str(value)

    if role == "contacts":
        found.id = choose("id", _ID_CANDIDATES[role])
        found.organisation = choose("organisation", _ORG_CANDIDATES)
        found.person = choose("person", _PERSON_CANDIDATES)
        found.bcid = override.bcid  # a contact's card is its organisation's or person's
        used.add(found.bcid)
    else:
        found.id = choose("id", _ID_CANDIDATES[role])
        found.bcid = choose("bcid", _BCID_CANDIDATES)
        # The key column is the number (BcCo, "Nummer") when there is one.
        found.number = found.id
        # Standard connectors (Profit_OrgPer) have only the number; it is the best key we get.
        found.id = found.id or found.bcid
        found.bcid = found.bcid or found.id
    found.name = choose("name", _NAME_CANDIDATES)
    if not found.name:
        for f in fields:
            words = set(_words(f.id) + _words(f.label))
            if f.id not in used and words & {"naam", "name"} and not words & _NAME_EXCLUDE:
                found.name = f.id
                used.add(f.id)
                break
    found.modified = choose("modified", _MODIFIED_CANDIDATES)
    if not found.modified:
        for f in fields:
            if f.id in used or (f.data_type or "").lower() not in ("date", "datetime"):
                continue
            if any(w.startswith(_MODIFIED_WORDS) for w in _words(f.id) + _words(f.label)):
                found.modified = f.id
                used.add(f.id)
                break
    # "Aangemaakt op" too: incremental sync asks modified OR created, so a new row whose
    # "Gewijzigd op" is still empty (or older) is not missed.
    found.created = choose("created", _CREATED_CANDIDATES)
    if not found.created:
        for f in fields:
            if f.id in used or (f.data_type or "").lower() not in ("date", "datetime"):
                continue
            if any(w.startswith(_CREATED_WORDS) for w in _words(f.id) + _words(f.label)):
                found.created = f.id
                used.add(f.id)
                break
    if role == "contacts":
        found.blocked = choose("blocked", _BLOCKED_CANDIDATES)
    if override.phones:
        found.phones = list(override.phones)
    else:
        phones = [f for f in fields if f.id not in used and _is_phone(f)]
        phones.sort(key=_is_private)  # stable: work numbers first, in connector order
        found.phones = [f.id for f in phones]

    missing = []
    if not found.id:
        missing.append("id")
    if role == "contacts":
        if not (found.organisation or found.person):
            missing.append("organisation")
    elif not found.name:
        missing.append("name")
    if not found.phones:
        missing.append("phones")
    if missing:
        raise _missing_columns(role, connector_id, missing)
    types = {f.id: (f.data_type or "").lower() for f in fields}
    ints = ("int", "integer", "int32", "int64", "long")
    unique = [found.id] if role == "contacts" else [found.bcid, found.id]
    found.sort_key = next((c for c in unique if c and types.get(c) in ints), found.id)
    found.sort_int = types.get(found.sort_key) in ints
    if role == "contacts" and _norm(connector_id) == "profitprofilecontacts" and not override.id:
        # Its CtId ("Contact person", integer) and CtCd ("Number") both look like KnSubjectLink's
        # CdId ("Contact", integer): organisaties-en-personen.openapi.json does not say which it
        # takes, so the consultant chooses (Profit_Contacts has only ContactId, the contact id).
        raise _contact_id_unclear(connector_id)
    return found


def _contact_id_unclear(connector: str) -> ColumnError:
    text = T(
        f"GetConnector {connector} (contact persons): choose which column is the contact id "
        "AFAS links a dossier item to (KnSubjectLink CdId), e.g. CtId, in the column mapping "
        "of the settings (afas.connectors.mapping.contacts.id).",
        f"GetConnector {connector} (contactpersonen): kies welke kolom het contact-id is "
        "waaraan AFAS een dossieritem koppelt (KnSubjectLink CdId), bijv. CtId, in de "
        "kolomindeling van de instellingen (afas.connectors.mapping.contacts.id).",
    )
    return ColumnError(text, role="contacts", connector=connector, missing=["id"])


def _overrides(override: ColumnMapping) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for f in fields(override):
        value = getattr(override, f.name)
        if f.name == "phones":
            out.extend(("phones", str(col)) for col in value if col)
        elif isinstance(value, str) and value:
            out.append((f.name, value))
    return out


_MISSING_TEXT = {
    "id": T("a key column (number, BcId or contact id)", "een sleutelkolom (nummer, BcId of contact-id)"),
    "name": T("a name column", "een naamkolom"),
    "phones": T("phone number columns", "telefoonnummerkolommen"),
    "organisation": T(
        "the organisation or person the contact belongs to",
        "de organisatie of persoon van de contactpersoon",
    ),
}


def _missing_columns(role: str, connector: str, missing: Sequence[str]) -> ColumnError:
    role_text = ROLE_TEXT[role]
    en = ", ".join(_MISSING_TEXT[m].en for m in missing)
    nl = ", ".join(_MISSING_TEXT[m].nl for m in missing)
    text = T(
        f"GetConnector {connector} ({role_text.en}) lacks {en}. Add the column to the "
        "connector in Profit, or choose it in the column mapping of the settings.",
        f"GetConnector {connector} ({role_text.nl}) mist {nl}. Voeg de kolom toe aan de "
        "connector in Profit, of kies hem in de kolomindeling van de instellingen.",
    )
    return ColumnError(text, role=role, connector=connector, missing=missing)


def _unknown_column(role: str, connector: str, column: str, what: str) -> ColumnError:
    role_text = ROLE_TEXT[role]
    text = T(
        f"GetConnector {connector} ({role_text.en}) has no column '{column}' "
        f"(set in the settings as {what}).",
        f"GetConnector {connector} ({role_text.nl}) heeft geen kolom '{column}' "
        f"(ingesteld in de instellingen als {what}).",
    )
    return ColumnError(text, role=role, connector=connector, missing=[what])


# --- rows -> table tuples --------------------------------------------------------------------


_TRUE = {"1", "true", "ja", "yes", "j", "y", "waar", "-1"}


def _text(value: Any) -> str:
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
    return _text(value).lower() in _TRUE


@dataclass
class _Prepared:
    relations: list[tuple[int, int, str, str, str, str, str, str]] = field(default_factory=list)
    numbers: list[tuple[str, int, str, str, int]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # every key seen, also of skipped rows

    def skipped(self, code: int) -> list[tuple[int, str]]:
        """(role, key) of the rows seen but left out."""
        if len(self.keys) == len(self.relations):
            return []
        kept = {r[2] for r in self.relations}
        return [(code, k) for k in dict.fromkeys(self.keys) if k not in kept]


def _prepare(
    role: str,
    mapping: ColumnMapping,
    rows: Iterable[Mapping[str, Any]],
    region: str,
    next_id: int,
    known: dict[str, str | None] | None = None,
) -> _Prepared:
    """Table tuples for ``rows``; ids from ``next_id`` on. Blocked contacts and rows without a
    card to open are left out (their keys still listed, so an update removes them).

    ``known`` memoises raw number -> match key (made with ``region``) and learns the new ones.
    This loop runs for every row of a full refresh, hence the inlined ``_text``."""
    code = _ROLE_CODE[role]
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
    out = _Prepared()
    rel_append, num_append, key_append = out.relations.append, out.numbers.append, out.keys.append
    rel_id = next_id
    for row in rows:
        get = row.get
        value = get(id_col) if id_col else None
        key = value.strip() if value.__class__ is str else _text(value)
        if bcid_col:
            value = get(bcid_col)
            bcid = value.strip() if value.__class__ is str else _text(value)
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
            org = _text(get(org_col)) if org_col else ""
            person = _text(get(person_col)) if person_col else ""
            if not (org or person):
                continue  # no card to open
        else:
            bcid = bcid or key
            if number_col:
                value = get(number_col)
                bcco = value.strip() if value.__class__ is str else _text(value)
        value = get(name_col)
        name = value.strip() if value.__class__ is str else _text(value)
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


def _keys_stamp(region: str) -> str:
    """How the match keys in the book were made: the region plus the normalisation rules."""
    return f"{region} {KEY_RULES}"


# --- the book --------------------------------------------------------------------------------


@dataclass
class ChangeSet:
    """One connector's part of an incremental cycle (see ``PhoneBook.apply_cycle``).

    ``rows``: changed rows, replacing the relations with the same key. ``keys_present``: when
    given (a key-only pass), every key the connector has now; the role's other relations go.
    """

    role: str
    connector_id: str
    mapping: ColumnMapping
    rows: Sequence[Mapping[str, Any]] = ()
    keys_present: Iterable[str | int] | None = None


@dataclass(frozen=True)
class CycleCounts:
    applied: dict[str, int]  # rows applied per role
    removed: dict[str, int]  # relations removed per role (key-only pass)


@dataclass(frozen=True)
class BookEntry:
    """One relation as ``PhoneBook.entries`` reads it; ``numbers`` are (column, E.164) pairs."""

    role: str
    key: str
    bcid: str
    name: str
    org: str  # a contact's organisation reference (BcId or number), else ""
    person: str  # a contact's person reference, else ""
    numbers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class RefreshInfo:
    kind: str  # "full" or "incremental"
    at: float  # epoch seconds
    relations: int
    numbers: int
    seconds: float
    rows: dict[str, int]  # rows read per role


class PhoneBook:
    """Lookups by phone number; full refreshes swapped in atomically; incremental updates.

    ``db_path`` must be a file (several connections share it; ``:memory:`` cannot).
    ``region`` is how numbers without a country code in AFAS are read (settings'
    ``phone.default_region``).
    """

    def __init__(self, db_path: Path | str, region: str = "NL") -> None:
        self.path = Path(db_path)
        self.region = region
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        self._writer_lock = threading.Lock()
        self._writer: sqlite3.Connection | None = None
        self._building = False
        conn = self._reader()
        ensure_schema(conn, MODULE, MIGRATIONS)

    # -- connections ----------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = open_db(self.path)
        with self._guard:
            self._all.append(conn)
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def _write_conn(self) -> sqlite3.Connection:
        if self._writer is None:
            self._writer = self._connect()
        return self._writer

    def close(self) -> None:
        with self._guard:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()
        self._writer = None

    def __enter__(self) -> PhoneBook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading --------------------------------------------------------------------------

    def lookup(self, number: str, region: str | None = None) -> list[Match]:
        """Relations with this number, best first. A contact person's match carries the
        organisation's (or, without one, the person's) BcId and name, the contact in
        ``contact_id``/``contact_name``. Blanks, junk and withheld numbers match nothing."""
        key = normalise(number, region or self.region)
        if key is None:
            return []
        conn = self._reader()
        conn.execute("BEGIN")  # one snapshot for all queries: never half a refresh
        try:
            hits = conn.execute(
                "SELECT n.col, n.raw, n.pos, r.role, r.key, r.bcid, r.name, r.org, r.person,"
                " r.number"
                " FROM pb_numbers n JOIN pb_relations r ON r.id = n.rel WHERE n.number = ?",
                (key,),
            ).fetchall()
            if not hits:
                return []
            sources = dict(conn.execute("SELECT role, connector FROM pb_sources").fetchall())
            best: dict[tuple[str, str], Match] = {}
            for col, raw, pos, code, rkey, bcid, name, org, person, number in hits:
                role = ROLES[code]
                if code == 2:
                    target = self._owner(conn, org, person)
                    bcid_out, name_out, number_out = target if target else (org or person, name, "")
                    match = Match(
                        bcid=bcid_out,
                        number=number_out,
                        name=name_out or name,
                        kind=RelationKind.CONTACT,
                        phone=raw,
                        column=col,
                        contact_id=rkey,
                        contact_name=name,
                        connector=sources.get(role, ""),
                        rank=_CONTACT_RANK + pos,
                    )
                else:
                    match = Match(
                        bcid=bcid,
                        number=number,
                        name=name,
                        kind=_ROLE_KIND[code],
                        phone=raw,
                        column=col,
                        connector=sources.get(role, ""),
                        rank=pos,
                    )
                ident = (match.bcid, match.contact_id)
                if ident not in best or match.rank < best[ident].rank:
                    best[ident] = match
        finally:
            conn.execute("COMMIT")
        return sorted(best.values(), key=lambda m: (m.rank, m.name.lower(), m.bcid, m.contact_id))

    @staticmethod
    def _owner(conn: sqlite3.Connection, org: str, person: str) -> tuple[str, str, str] | None:
        """(BcId, name, number) of a contact's organisation, else its person; by BcId, else
        number."""
        for code, ref in ((0, org), (1, person)):
            if not ref:
                continue
            for column in ("bcid", "key"):
                row = conn.execute(
                    f"SELECT bcid, name, number FROM pb_relations WHERE role = ? AND {column} = ?"
                    " LIMIT 1",
                    (code, ref),
                ).fetchone()
                if row is not None:
                    return str(row[0]), str(row[1]), str(row[2])
        return None

    def size(self) -> int:
        """Relations (organisations, persons and contact persons) in the book."""
        return int(self._reader().execute("SELECT COUNT(*) FROM pb_relations").fetchone()[0])

    def numbers(self) -> int:
        """Phone numbers (match keys per relation) in the book."""
        return int(self._reader().execute("SELECT COUNT(*) FROM pb_numbers").fetchone()[0])

    @property
    def last_refresh(self) -> RefreshInfo | None:
        """The last full refresh that was swapped in."""
        return self._info("full")

    @property
    def last_update(self) -> RefreshInfo | None:
        """The last incremental change (``apply_changes``/``remove_missing``)."""
        return self._info("incremental")

    def _info(self, kind: str) -> RefreshInfo | None:
        row = self._reader().execute(
            "SELECT kind, at, relations, numbers, seconds, rows FROM pb_refresh WHERE kind = ?",
            (kind,),
        ).fetchone()
        if row is None:
            return None
        return RefreshInfo(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]))

    # -- full refresh ---------------------------------------------------------------------

    def begin_refresh(self, region: str | None = None) -> RefreshBuilder:
        """Start building a new book aside. One refresh at a time."""
        with self._guard:
            if self._building:
                raise PhoneBookError(
                    T("A phone book refresh is already running.", "Het telefoonboek wordt al ververst.")
                )
            self._building = True
        try:
            conn = self._connect()
            conn.row_factory = None  # plain tuples: this connection reads 100,000s of rows
            conn.execute("BEGIN IMMEDIATE")
            try:
                for table in ("pb_stage_numbers", "pb_stage_relations", "pb_old_numbers",
                              "pb_old_relations"):
                    conn.execute(f"DROP TABLE IF EXISTS {table}")
                row = conn.execute("SELECT v FROM pb_state WHERE k = 'generation'").fetchone()
                gen = (int(row[0]) if row else 0) + 1
                conn.execute(
                    "INSERT INTO pb_state(k, v) VALUES('generation', ?)"
                    " ON CONFLICT(k) DO UPDATE SET v = excluded.v",
                    (str(gen),),
                )
                for sql in _tables_sql("pb_stage_", gen) + _early_indexes_sql("pb_stage_", gen):
                    conn.execute(sql)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            known = self._known_keys(conn, region or self.region)
        except BaseException:
            with self._guard:
                self._building = False
            raise
        return RefreshBuilder(self, conn, gen, region or self.region, known)

    @staticmethod
    def _known_keys(conn: sqlite3.Connection, region: str) -> dict[str, str | None]:
        """Raw number -> match key from the live book, when its keys were made the way this
        refresh would make them (same region, same rules): most numbers do not change between
        refreshes, and a dictionary hit is far cheaper than normalising again."""
        row = conn.execute("SELECT v FROM pb_state WHERE k = 'keys'").fetchone()
        if row is None or row[0] != _keys_stamp(region):
            return {}
        return dict(conn.execute("SELECT raw, number FROM pb_numbers"))

    def _builder_done(self, conn: sqlite3.Connection) -> None:
        with self._guard:
            self._building = False
            if conn in self._all:
                self._all.remove(conn)
        conn.close()

    # -- incremental ----------------------------------------------------------------------

    def apply_changes(
        self,
        role: str,
        connector_id: str,
        mapping: ColumnMapping,
        rows: Sequence[Mapping[str, Any]],
        region: str | None = None,
    ) -> int:
        """Replace the relations in ``rows`` (by key) in place, in one transaction; blocked or
        emptied rows are removed. Returns the number of rows applied."""
        counts = self.apply_cycle([ChangeSet(role, connector_id, mapping, rows)], region=region)
        return counts.applied[role]

    def remove_missing(self, role: str, keys_present: Iterable[str | int]) -> int:
        """Delete the relations of ``role`` whose key is not in ``keys_present`` (the result of a
        key-only pass over the connector). Returns how many were removed."""
        started = time.monotonic()
        with self._writer_lock:
            conn = self._write_conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                removed = self._remove_missing(conn, _ROLE_CODE[role], keys_present)
                self._record(conn, "incremental", started, {role: removed})
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return removed

    def apply_cycle(
        self,
        changes: Sequence[ChangeSet],
        state: Mapping[str, str] | None = None,
        region: str | None = None,
    ) -> CycleCounts:
        """Apply one sync cycle's changes of every connector, and ``state`` (the sync's marks),
        in ONE transaction: a lookup sees the book before the cycle or after it, never a contact
        moved to an organisation that is not in yet, and a mark never gets ahead of its rows.

        Per change set: with ``keys_present``, the role's relations whose key is neither there
        nor among the changed rows go; then the changed rows replace their relations."""
        started = time.monotonic()
        region = region or self.region
        applied: dict[str, int] = {}
        removed: dict[str, int] = {}
        with self._writer_lock:
            conn = self._write_conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                (top,) = conn.execute("SELECT COALESCE(MAX(id), 0) FROM pb_relations").fetchone()
                next_id = int(top) + 1
                # Keys made another way now sit in the book: the next refresh must not reuse them.
                conn.execute(
                    "DELETE FROM pb_state WHERE k = 'keys' AND v != ?", (_keys_stamp(region),)
                )
                for change in changes:
                    code = _ROLE_CODE[change.role]
                    prepared = _prepare(change.role, change.mapping, change.rows, region, next_id)
                    next_id += len(prepared.relations)
                    if change.keys_present is not None:
                        present = [*change.keys_present, *prepared.keys]
                        removed[change.role] = self._remove_missing(conn, code, present)
                    stale = [(code, k) for k in prepared.keys]
                    conn.executemany(
                        "DELETE FROM pb_numbers WHERE rel IN"
                        " (SELECT id FROM pb_relations WHERE role = ? AND key = ?)",
                        stale,
                    )
                    conn.executemany("DELETE FROM pb_relations WHERE role = ? AND key = ?", stale)
                    conn.executemany("DELETE FROM pb_skipped WHERE role = ? AND key = ?", stale)
                    self._insert(conn, "pb_", prepared)
                    conn.executemany(
                        "INSERT OR IGNORE INTO pb_skipped(role, key) VALUES(?, ?)",
                        prepared.skipped(code),
                    )
                    conn.execute(
                        "INSERT INTO pb_sources(role, connector) VALUES(?, ?)"
                        " ON CONFLICT(role) DO UPDATE SET connector = excluded.connector",
                        (change.role, change.connector_id),
                    )
                    applied[change.role] = applied.get(change.role, 0) + len(prepared.keys)
                self._put_state(conn, state or {})
                self._record(conn, "incremental", started, applied)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return CycleCounts(applied, removed)

    @staticmethod
    def _remove_missing(conn: sqlite3.Connection, code: int, keys: Iterable[str | int]) -> int:
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS pb_present (key TEXT PRIMARY KEY)")
        conn.execute("DELETE FROM temp.pb_present")
        conn.executemany(
            "INSERT OR IGNORE INTO temp.pb_present(key) VALUES(?)", ((_text(k),) for k in keys)
        )
        missing = "key NOT IN (SELECT key FROM temp.pb_present)"
        gone = f"SELECT id FROM pb_relations WHERE role = ? AND {missing}"
        conn.execute(f"DELETE FROM pb_numbers WHERE rel IN ({gone})", (code,))
        count = conn.execute(f"DELETE FROM pb_relations WHERE id IN ({gone})", (code,)).rowcount
        conn.execute(f"DELETE FROM pb_skipped WHERE role = ? AND {missing}", (code,))
        conn.execute("DELETE FROM temp.pb_present")
        return int(count)

    def known_keys(self, role: str) -> set[str]:
        """Every key of ``role`` the book has seen: its relations and the rows it left out."""
        code = _ROLE_CODE[role]
        conn = self._reader()
        conn.execute("BEGIN")
        try:
            keys = {r[0] for r in conn.execute("SELECT key FROM pb_relations WHERE role = ?", (code,))}
            keys.update(r[0] for r in conn.execute("SELECT key FROM pb_skipped WHERE role = ?", (code,)))
        finally:
            conn.execute("COMMIT")
        return keys

    def entries(self) -> list[BookEntry]:
        """Every relation with its match keys (E.164, in column order), read from one snapshot:
        what a push of the book to another address book (Xelion's) compares against."""
        conn = self._reader()
        conn.execute("BEGIN")
        try:
            numbers: dict[int, list[tuple[str, str]]] = {}
            for rel, col, number in conn.execute(
                    "SELECT rel, col, number FROM pb_numbers ORDER BY rel, pos"):
                numbers.setdefault(int(rel), []).append((str(col), str(number)))
            out = [
                BookEntry(ROLES[code], str(key), str(bcid), str(name), str(org), str(person),
                          tuple(numbers.get(int(rid), ())))
                for rid, code, key, bcid, name, org, person in conn.execute(
                    "SELECT id, role, key, bcid, name, org, person FROM pb_relations ORDER BY id")
            ]
        finally:
            conn.execute("COMMIT")
        return out

    # -- sync state -------------------------------------------------------------------------

    def state(self, prefix: str) -> dict[str, str]:
        """Stored values whose key starts with ``prefix`` (the sync's high-water marks)."""
        rows = self._reader().execute(
            "SELECT k, v FROM pb_state WHERE substr(k, 1, ?) = ?", (len(prefix), prefix)
        ).fetchall()
        return {str(k): str(v) for k, v in rows}

    def set_state(self, values: Mapping[str, str]) -> None:
        with self._writer_lock:
            conn = self._write_conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                self._put_state(conn, values)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    @staticmethod
    def _put_state(conn: sqlite3.Connection, values: Mapping[str, str]) -> None:
        conn.executemany(
            "INSERT INTO pb_state(k, v) VALUES(?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v",
            sorted(values.items()),
        )

    # -- shared -----------------------------------------------------------------------------

    @staticmethod
    def _insert(conn: sqlite3.Connection, prefix: str, prepared: _Prepared) -> None:
        conn.executemany(
            f"INSERT INTO {prefix}relations(id, role, key, bcid, name, org, person, number)"
            " VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
            prepared.relations,
        )
        conn.executemany(
            f"INSERT INTO {prefix}numbers(number, rel, col, raw, pos) VALUES(?, ?, ?, ?, ?)",
            prepared.numbers,
        )

    @staticmethod
    def _record(
        conn: sqlite3.Connection,
        kind: str,
        started: float,
        rows: dict[str, int],
        counts: tuple[int, int] | None = None,
    ) -> None:
        if counts is None:
            relations = conn.execute("SELECT COUNT(*) FROM pb_relations").fetchone()[0]
            numbers = conn.execute("SELECT COUNT(*) FROM pb_numbers").fetchone()[0]
        else:
            relations, numbers = counts
        conn.execute(
            "INSERT INTO pb_refresh(kind, at, relations, numbers, seconds, rows)"
            " VALUES(?, ?, ?, ?, ?, ?) ON CONFLICT(kind) DO UPDATE SET at = excluded.at,"
            " relations = excluded.relations, numbers = excluded.numbers,"
            " seconds = excluded.seconds, rows = excluded.rows",
            (kind, time.time(), relations, numbers, time.monotonic() - started, json.dumps(rows)),
        )


class RefreshBuilder:
    """A new book being built aside; nothing is visible to lookups until ``commit``.

    May be driven from a worker thread (one call at a time). Use as a context manager to abort
    on an exception.
    """

    def __init__(
        self,
        book: PhoneBook,
        conn: sqlite3.Connection,
        gen: int,
        region: str,
        known: dict[str, str | None] | None = None,
    ) -> None:
        self._book = book
        self._conn: sqlite3.Connection | None = conn
        self._gen = gen
        self._region = region
        self._known: dict[str, str | None] = {} if known is None else known
        self._indexed = False
        self._lock = threading.Lock()
        self._next_id = 1
        self._numbers = 0
        self._rows: dict[str, int] = {}
        self._sources: dict[str, str] = {}
        self._skipped: list[tuple[int, str]] = []
        self._started = time.monotonic()

    def _live(self) -> sqlite3.Connection:
        if self._conn is None:
            raise PhoneBookError(
                T("This phone book refresh has already ended.", "Deze verversing is al afgelopen.")
            )
        return self._conn

    def add_rows(
        self,
        role: str,
        connector_id: str,
        mapping: ColumnMapping,
        rows: Sequence[Mapping[str, Any]],
    ) -> int:
        """Add one page of connector rows. Returns how many relations it added."""
        with self._lock:
            conn = self._live()
            self._sources[role] = connector_id
            self._rows[role] = self._rows.get(role, 0) + len(rows)
            prepared = _prepare(role, mapping, rows, self._region, self._next_id, self._known)
            conn.execute("BEGIN IMMEDIATE")
            try:
                PhoneBook._insert(conn, "pb_stage_", prepared)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            self._next_id += len(prepared.relations)
            self._numbers += len(prepared.numbers)
            self._skipped += prepared.skipped(_ROLE_CODE[role])
            return len(prepared.relations)

    def keep_role(self, role: str, connector_id: str) -> int:
        """Carry the live book's rows of ``role`` into the new one unchanged: its connector
        could not be read this time (e.g. not in the App connector), the others could."""
        with self._lock:
            conn = self._live()
            code = _ROLE_CODE[role]
            conn.execute("BEGIN IMMEDIATE")
            try:
                try:
                    conn.execute(
                        "CREATE TEMP TABLE keep_map AS SELECT id AS old,"
                        " ? + ROW_NUMBER() OVER (ORDER BY id) - 1 AS new"
                        " FROM pb_relations WHERE role=?", (self._next_id, code))
                except sqlite3.OperationalError:  # no live book yet
                    conn.execute("ROLLBACK")
                    return 0
                kept = int(conn.execute("SELECT COUNT(*) FROM keep_map").fetchone()[0])
                conn.execute(
                    "INSERT INTO pb_stage_relations SELECT m.new, r.role, r.key, r.bcid, r.name,"
                    " r.org, r.person, r.number FROM pb_relations r JOIN keep_map m ON r.id = m.old")
                numbers = conn.execute(
                    "INSERT INTO pb_stage_numbers SELECT n.number, m.new, n.col, n.raw, n.pos"
                    " FROM pb_numbers n JOIN keep_map m ON n.rel = m.old").rowcount
                conn.execute("DROP TABLE keep_map")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            self._sources[role] = connector_id
            self._rows[role] = self._rows.get(role, 0) + kept
            self._next_id += kept
            self._numbers += max(0, numbers)
            return kept

    def build_indexes(self) -> None:
        """Build the lookup indexes now; rows added later are indexed as they go in.

        ``commit`` does this itself when nobody did. A refresh calls it before its last, smaller
        connector, so the index build overlaps that download instead of delaying the swap.
        """
        with self._lock:
            conn = self._live()
            if self._indexed:
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                for sql in _late_indexes_sql("pb_stage_", self._gen):
                    conn.execute(sql)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            self._indexed = True

    def commit(self, state: Mapping[str, str] | None = None) -> RefreshInfo:
        """Index the new book and swap it in, in one transaction, with ``state`` (the sync's
        marks for the rows read). The old one is dropped when the next refresh begins."""
        self.build_indexes()
        with self._lock:
            conn = self._live()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.execute("ALTER TABLE pb_relations RENAME TO pb_old_relations")
                    conn.execute("ALTER TABLE pb_numbers RENAME TO pb_old_numbers")
                    conn.execute("ALTER TABLE pb_stage_relations RENAME TO pb_relations")
                    conn.execute("ALTER TABLE pb_stage_numbers RENAME TO pb_numbers")
                    conn.execute("DELETE FROM pb_sources")
                    conn.executemany(
                        "INSERT INTO pb_sources(role, connector) VALUES(?, ?)",
                        sorted(self._sources.items()),
                    )
                    conn.execute(
                        "INSERT INTO pb_state(k, v) VALUES('keys', ?)"
                        " ON CONFLICT(k) DO UPDATE SET v = excluded.v",
                        (_keys_stamp(self._region),),
                    )
                    conn.execute("DELETE FROM pb_skipped")
                    conn.executemany(
                        "INSERT OR IGNORE INTO pb_skipped(role, key) VALUES(?, ?)", self._skipped
                    )
                    PhoneBook._put_state(conn, state or {})
                    relations = self._next_id - 1
                    PhoneBook._record(
                        conn, "full", self._started, dict(self._rows), (relations, self._numbers)
                    )
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            except BaseException:
                self._close(drop_stage=True)
                raise
            self._known = {}
            # The old tables stay until the next refresh begins and drops them (off the path of
            # this one; the file does not shrink either way, their pages are simply reused).
            info = RefreshInfo(
                "full",
                time.time(),
                relations,
                self._numbers,
                time.monotonic() - self._started,
                dict(self._rows),
            )
            self._close(drop_stage=False)
            return info

    def abort(self) -> None:
        """Throw the new book away; the current one stays as it is. Safe to call twice."""
        with self._lock:
            self._known = {}
            if self._conn is not None:
                self._close(drop_stage=True)

    def _close(self, *, drop_stage: bool) -> None:
        conn = self._conn
        if conn is None:
            return
        self._conn = None
        try:
            if drop_stage:
                self._drop(conn, "pb_stage_")
        finally:
            self._book._builder_done(conn)

    @staticmethod
    def _drop(conn: sqlite3.Connection, prefix: str) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(f"DROP TABLE IF EXISTS {prefix}numbers")
            conn.execute(f"DROP TABLE IF EXISTS {prefix}relations")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def __enter__(self) -> RefreshBuilder:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is not None:
            self.abort()


__all__ = [
    "ChangeSet",
    "ColumnError",
    "CycleCounts",
    "DetectedMapping",
    "FieldInfo",
    "FieldLike",
    "PhoneBook",
    "PhoneBookError",
    "RefreshBuilder",
    "RefreshInfo",
    "detect_columns",
    "fields_from_metainfo",
]
