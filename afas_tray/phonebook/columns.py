"""Column detection: which GetConnector columns hold the key, name, phone numbers and dates of
each role, read from the connector's metainfo (labels in Dutch or English) or set in the settings.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Protocol

from afas_tray.config import (
    ROLE_TEXT,
    ROLES,
    ColumnMapping,
)
from afas_tray.errors import AppError
from afas_tray.i18n import T, Text

# --- errors ----------------------------------------------------------------------------------


class PhoneBookError(AppError):
    """A phone-book problem with a message in Dutch and English."""


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


__all__ = [
    "ROLE_TEXT",
    "ColumnError",
    "DetectedMapping",
    "FieldInfo",
    "FieldLike",
    "PhoneBookError",
    "detect_columns",
    "fields_from_metainfo",
]
