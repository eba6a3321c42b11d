"""Seeded, realistic Dutch relations for the simulated AFAS Profit server.

Every record is computed from ``(seed, kind, index)`` alone, so a data set of 1,000,000 relations
costs nothing until a row is asked for and the same seed always gives the same rows. Mutations
(changed phone, deleted relation, bumped date) are kept as small overrides on top.

Layout for ``relations = N`` (N >= 100):

* ``2N/5`` organisations, index ``i``: BcId ``1000 + 2i`` (even), number ``1000000 + i``;
* the rest are persons, index ``j``: BcId ``1001 + 2j`` (odd), number ``2000000 + j``;
* the even-indexed persons are contact persons: contact ``k`` (id ``10000 + k``) links person
  ``2k`` to an organisation; odd-indexed persons are private persons with no contact row.

Rows carry BcId and contact ids as JSON integers (AFAS's ``int`` data type); :data:`KNOWN` gives
them as strings, as :class:`afas_tray.models.Match` holds them.

Generated fixed-line numbers never start with ``555`` after the area code, and mobiles never with
``06-555``: that block is reserved for the :data:`KNOWN` entries, so they match exactly what they
say they match whatever the seed and size.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

MIN_RELATIONS = 100

ORG_BCID_BASE = 1000
ORG_NUMBER_BASE = 1_000_000
PERSON_NUMBER_BASE = 2_000_000
CONTACT_ID_BASE = 10_000

_MASK = (1 << 64) - 1
_KIND_ORG, _KIND_PERSON, _KIND_CONTACT, _KIND_NAME, _KIND_MAIN = 1, 2, 3, 4, 5


def _mix(x: int) -> int:
    """splitmix64 finaliser: a fast, well-spread integer hash (cheaper than seeding Random)."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


class _Rng:
    """A tiny deterministic random stream for one record."""

    __slots__ = ("s",)

    def __init__(self, seed: int, kind: int, index: int) -> None:
        self.s = _mix((seed * 0x100000001B3) ^ (kind << 56) ^ index)

    def next(self) -> int:
        self.s = _mix(self.s)
        return self.s

    def below(self, n: int) -> int:
        return self.next() % n

    def pick(self, seq: tuple[str, ...] | list[str]) -> str:
        return seq[self.next() % len(seq)]

    def chance(self, p: float) -> bool:
        return (self.next() & 0xFFFF) < p * 65536


# --- Dutch names and places ------------------------------------------------------------------

FIRST_NAMES = (
    "Jan",
    "Pieter",
    "Kees",
    "Henk",
    "Willem",
    "Johan",
    "Gerrit",
    "Bram",
    "Daan",
    "Sem",
    "Lucas",
    "Thomas",
    "Ruben",
    "Jeroen",
    "Bas",
    "Mark",
    "Sander",
    "Tim",
    "Mohammed",
    "Yusuf",
    "Emma",
    "Sophie",
    "Julia",
    "Anna",
    "Lisa",
    "Sanne",
    "Fleur",
    "Anouk",
    "Eva",
    "Lotte",
    "Marieke",
    "Ingrid",
    "Els",
    "Annemiek",
    "Fatima",
    "Noor",
    "Sara",
    "Femke",
    "Iris",
    "Joke",
    "Ria",
    "Wim",
)
PREFIXES = ("", "", "", "", "", "van", "de", "van der", "van den", "van de", "ter", "den", "van 't")
LAST_NAMES = (
    "Jansen",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "Mulder",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "Dekker",
    "Brouwer",
    "Dijk",
    "Berg",
    "Vries",
    "Boer",
    "Wit",
    "Leeuwen",
    "Graaf",
    "Linden",
    "Veen",
    "Kok",
    "Jacobs",
    "Vermeulen",
    "Willems",
    "Schouten",
    "Hoekstra",
    "Postma",
    "Kuipers",
    "Yilmaz",
    "El Amrani",
    "Wouters",
    "Prins",
    "Huisman",
    "Kramer",
    "Verhoeven",
    "Sluis",
    "Beek",
)
TRADES = (
    "Installatietechniek",
    "Bouwbedrijf",
    "Transport",
    "Accountants",
    "Advocaten",
    "Loodgieters",
    "Schilderwerken",
    "Hoveniers",
    "Autobedrijf",
    "Elektrotechniek",
    "Administratiekantoor",
    "Makelaardij",
    "Tandartspraktijk",
    "Fysiotherapie",
    "Bakkerij",
    "Drukkerij",
    "Metaalbewerking",
)
ORG_PATTERNS = (
    "{last} {trade} B.V.",
    "{trade} {last}",
    "{last} & Zn.",
    "{last} {trade}",
    "Stichting {city}se {trade}",
    "{trade} {city} B.V.",
    "{last} Holding B.V.",
    "Gemeente {city}",
    "{last} en {last2} V.O.F.",
    "{trade} De {noun}",
    "{city} {trade} N.V.",
)
NOUNS = ("Linde", "Eik", "Molen", "Haven", "Brug", "Toren", "Dijk", "Horst", "Kroon", "Zwaan")
# (area code without the trunk 0, city): 2-digit areas have 7-digit subscriber numbers.
AREAS = (
    ("20", "Amsterdam"),
    ("10", "Rotterdam"),
    ("30", "Utrecht"),
    ("70", "Den Haag"),
    ("40", "Eindhoven"),
    ("50", "Groningen"),
    ("24", "Nijmegen"),
    ("26", "Arnhem"),
    ("13", "Tilburg"),
    ("71", "Leiden"),
    ("23", "Haarlem"),
    ("53", "Enschede"),
    ("43", "Maastricht"),
    ("513", "Heerenveen"),
    ("229", "Hoorn"),
    ("418", "Zaltbommel"),
    ("575", "Zutphen"),
)
BE_AREAS = ("2", "3", "9", "16", "50")  # Brussel, Antwerpen, Gent, Leuven, Brugge
JUNK = ("n.v.t.", "-", "+31", "onbekend", "zie e-mail", "0", "nvt", "geen")


# --- phone numbers written the way people type them ------------------------------------------


def _split_groups(digits: str, sizes: tuple[int, ...]) -> str:
    out, pos = [], 0
    for size in sizes:
        out.append(digits[pos : pos + size])
        pos += size
    if pos < len(digits):
        out.append(digits[pos:])
    return " ".join(part for part in out if part)


def _fixed_digits(rng: _Rng, area: str) -> str:
    """National significant number (no trunk 0): 9 digits, never in the reserved 555 block."""
    length = 9 - len(area)
    first = str(2 + rng.below(8))
    rest = f"{rng.below(10 ** (length - 1)):0{length - 1}d}"
    sub = first + rest
    if sub.startswith("555"):
        sub = "4" + sub[1:]
    return area + sub


def _mobile_digits(rng: _Rng) -> str:
    sub = f"{1 + rng.below(5)}{rng.below(10**7):07d}"
    if sub.startswith("555"):
        sub = "4" + sub[1:]
    return "6" + sub


def write_nl(nsn: str, style: int) -> str:
    """Write a Dutch national significant number (``201234567``, ``612345678``) in one of the
    ways people do."""
    mobile = nsn.startswith("6")
    area_len = 1 if mobile else (2 if nsn[:2] in {a for a, _ in AREAS if len(a) == 2} else 3)
    area, sub = nsn[:area_len], nsn[area_len:]
    styles: tuple[Callable[[], str], ...] = (
        lambda: f"0{area}-{sub}",
        lambda: f"0{area} {sub}",
        lambda: f"0{nsn}",
        lambda: f"+31 (0){area} {_split_groups(sub, (3, 2, 2) if len(sub) == 7 else (2, 2, 2))}",
        lambda: f"+31 {area} {sub}",
        lambda: f"+31{nsn}",
        lambda: f"0031{nsn}",
        lambda: f"(0{area}) {sub}",
        lambda: f"0{area} - {_split_groups(sub, (3, 4) if len(sub) == 7 else (3, 3))}",
        lambda: f"0{area}-{_split_groups(sub, (3, 2, 2) if len(sub) == 7 else (2, 2, 2))}",
    )
    if mobile:
        styles = (
            lambda: f"06 {sub}",
            lambda: f"06-{sub}",
            lambda: f"0{nsn}",
            lambda: f"+31 6 {sub}",
            lambda: f"+31{nsn}",
            lambda: f"0031{nsn}",
            lambda: f"06 - {_split_groups(sub, (3, 3, 2))}",
            lambda: f"+31 (0)6 {_split_groups(sub, (2, 2, 2, 2))}",
        )
    return styles[style % len(styles)]()


def _extension(rng: _Rng, written: str) -> str:
    ext = str(10 + rng.below(290))
    form = rng.below(4)
    if form == 0:
        return f"{written} toestel {ext}"
    if form == 1:
        return f"{written} x{ext}"
    if form == 2:
        return f"{written} ext. {ext}"
    return f"{written} tst. {ext}"


def _belgian(rng: _Rng) -> str:
    area = rng.pick(BE_AREAS)
    digits = f"{2 + rng.below(8)}{rng.below(10 ** (7 - len(area))):0{7 - len(area)}d}"
    if rng.chance(0.5):
        return f"+32 {area} {_split_groups(digits, (3, 2, 2) if len(digits) == 7 else (2, 2, 2))}"
    return f"0032 {area} {digits}"


def _phone(
    rng: _Rng, nsn: str, *, p_blank: float, p_junk: float = 0.04, p_ext: float = 0.05
) -> str | None:
    roll = (rng.next() & 0xFFFF) / 65536
    if roll < p_blank:
        # AFAS gives null for an empty field; a few rows carry an empty string instead.
        return "" if rng.chance(0.1) else None
    if roll < p_blank + p_junk:
        return rng.pick(JUNK)
    written = write_nl(nsn, rng.below(32))
    if not nsn.startswith("6") and rng.chance(p_ext):
        written = _extension(rng, written)
    return written


def _modified(rng: _Rng) -> str:
    """Amsterdam local time written with a trailing Z, as AFAS does."""
    start = dt.datetime(2016, 1, 1)
    moment = start + dt.timedelta(seconds=rng.below(9 * 365 * 86400))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def amsterdam_now_z() -> str:
    """Now, Amsterdam local time with a trailing Z (AFAS's way of writing its dates)."""
    try:
        from zoneinfo import ZoneInfo

        now = dt.datetime.now(ZoneInfo("Europe/Amsterdam"))
    except Exception:  # no tz database (some Windows installs): CET is close enough for a demo
        now = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- records ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Organisation:
    index: int
    bcid: int
    number: str
    name: str
    city: str
    tel_work: str | None
    mob_work: str | None
    email: str | None
    modified: str | None
    main_nsn: str  # the main number before formatting (contacts copy it)


@dataclass(slots=True)
class Person:
    index: int
    bcid: int
    number: str
    name: str
    tel_work: str | None
    mob_work: str | None
    tel_private: str | None
    mob_private: str | None
    email: str | None
    modified: str | None


@dataclass(slots=True)
class Contact:
    index: int
    contact_id: int
    org_index: int
    person_index: int
    name: str
    tel_work: str | None
    mob_work: str | None
    blocked: bool
    modified: str | None


def org_bcid(i: int) -> int:
    return ORG_BCID_BASE + 2 * i


def person_bcid(j: int) -> int:
    return ORG_BCID_BASE + 1 + 2 * j


def contact_id(k: int) -> int:
    return CONTACT_ID_BASE + k


# --- the fixed, documented entries other tests rely on --------------------------------------


@dataclass(frozen=True)
class KnownEntry:
    """A number with a known outcome. ``written`` lists how it appears in AFAS (first = main)."""

    written: tuple[str, ...]
    e164: str
    bcids: tuple[str, ...]  # the BcIds whose card should open (organisation/person)
    names: tuple[str, ...]
    contact_ids: tuple[str, ...] = ()
    note: str = ""


KNOWN: dict[str, KnownEntry] = {
    "org_unique": KnownEntry(
        written=("020-5550101",),
        e164="+31205550101",
        bcids=(str(org_bcid(3)),),
        names=("Van Dijk Installatietechniek B.V.",),
        note="Telefoon_werk of exactly one organisation; on no person or contact",
    ),
    "person_mobile": KnownEntry(
        written=("+31 6 55501234",),
        e164="+31655501234",
        bcids=(str(person_bcid(41)),),
        names=("Sanne Bakker",),
        note="Mobiel_prive of exactly one (private) person",
    ),
    "shared_two_orgs": KnownEntry(
        written=("030-5550202", "+31 (0)30 555 02 02"),
        e164="+31305550202",
        bcids=(str(org_bcid(5)), str(org_bcid(6))),
        names=("Huisartsenpraktijk De Linde", "Apotheek De Linde"),
        note="Telefoon_werk of two distinct organisations (same building), written differently",
    ),
    "org_main_on_contacts": KnownEntry(
        written=("010-5550303", "010 555 03 03", "0105550303"),
        e164="+31105550303",
        bcids=(str(org_bcid(7)),),
        names=("Bouwbedrijf Jansen & Zn.",),
        contact_ids=(str(contact_id(1)), str(contact_id(2))),
        note="organisation main number, also typed on two of its own contact persons",
    ),
    "contact_direct": KnownEntry(
        written=("040-5550404",),
        e164="+31405550404",
        bcids=(str(org_bcid(8)),),
        names=("Ahmed El Idrissi",),
        contact_ids=(str(contact_id(4)),),
        note="direct line of contact person 10004 at Stichting Welzijn Oost (org BcId 1016)",
    ),
    "no_match": KnownEntry(
        written=("020-5559999",),
        e164="+31205559999",
        bcids=(),
        names=(),
        note="appears nowhere",
    ),
}

_KNOWN_OVERRIDES: dict[tuple[int, int], dict[str, Any]] = {
    (_KIND_ORG, 3): {
        "name": "Van Dijk Installatietechniek B.V.",
        "city": "Amsterdam",
        "tel_work": "020-5550101",
        "mob_work": None,
    },
    (_KIND_ORG, 5): {
        "name": "Huisartsenpraktijk De Linde",
        "city": "Utrecht",
        "tel_work": "030-5550202",
        "mob_work": None,
    },
    (_KIND_ORG, 6): {
        "name": "Apotheek De Linde",
        "city": "Utrecht",
        "tel_work": "+31 (0)30 555 02 02",
        "mob_work": None,
    },
    (_KIND_ORG, 7): {
        "name": "Bouwbedrijf Jansen & Zn.",
        "city": "Rotterdam",
        "tel_work": "010-5550303",
        "mob_work": None,
    },
    (_KIND_ORG, 8): {"name": "Stichting Welzijn Oost", "city": "Eindhoven"},
    (_KIND_PERSON, 41): {"name": "Sanne Bakker", "mob_private": "+31 6 55501234"},
    (_KIND_PERSON, 2): {"name": "Pieter Jansen"},
    (_KIND_PERSON, 4): {"name": "Marieke Jansen-de Boer"},
    (_KIND_PERSON, 8): {"name": "Ahmed El Idrissi"},
    (_KIND_CONTACT, 1): {
        "org_index": 7,
        "name": "Pieter Jansen",
        "tel_work": "010 555 03 03",
        "blocked": False,
    },
    (_KIND_CONTACT, 2): {
        "org_index": 7,
        "name": "Marieke Jansen-de Boer",
        "tel_work": "0105550303",
        "blocked": False,
    },
    (_KIND_CONTACT, 4): {
        "org_index": 8,
        "name": "Ahmed El Idrissi",
        "tel_work": "040-5550404",
        "blocked": False,
    },
}


# --- connectors ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldDef:
    id: str
    label: str
    data_type: str  # AFAS dataType: string, int, date, boolean
    length: int = 0
    field_id: str = ""

    def meta(self) -> dict[str, Any]:
        control = {"string": 1, "int": 5, "date": 4, "boolean": 3}.get(self.data_type, 1)
        return {
            "id": self.id,
            "fieldId": self.field_id or self.id,
            "dataType": self.data_type,
            "label": self.label,
            "length": self.length,
            "controlType": control,
            "decimals": 0,
            "decimalsFieldId": "",
        }


@dataclass(frozen=True)
class ConnectorDef:
    id: str
    description: str
    fields: tuple[FieldDef, ...]
    key: str  # natural (primary key) order of the rows
    same_order: tuple[str, ...] = ()  # other columns that sort the rows as ``key`` does

    @property
    def columns(self) -> list[str]:
        return [f.id for f in self.fields]


def _f(id: str, label: str, dtype: str = "string", length: int = 0, fid: str = "") -> FieldDef:
    return FieldDef(
        id, label, dtype, length or {"string": 80, "int": 9, "date": 0, "boolean": 1}[dtype], fid
    )


CONNECTORS: dict[str, ConnectorDef] = {
    c.id: c
    for c in (
        ConnectorDef(
            "AfasTray_Organisaties",
            "AFAS Tray - organisaties",
            (
                _f("BcId", "Organisatie/persoon (intern)", "int", fid="BcId"),
                _f("Nummer", "Nummer", length=15, fid="BcCo"),
                _f("Naam", "Naam", length=255, fid="Nm"),
                _f("Telefoon_werk", "Telefoonnr. werk", length=40, fid="TeNr"),
                _f("Mobiel_werk", "Mobiel werk", length=40, fid="MbNr"),
                _f("Gewijzigd_op", "Gewijzigd op", "date", fid="DaMo"),
                _f("Aangemaakt_op", "Aangemaakt op", "date", fid="DaCr"),
            ),
            "BcId",
            ("Nummer",),
        ),
        ConnectorDef(
            "AfasTray_Personen",
            "AFAS Tray - personen",
            (
                _f("BcId", "Organisatie/persoon (intern)", "int", fid="BcId"),
                _f("Nummer", "Nummer", length=15, fid="BcCo"),
                _f("Naam", "Naam", length=255, fid="Nm"),
                _f("Telefoon_werk", "Telefoonnr. werk", length=40, fid="TeNr"),
                _f("Mobiel_werk", "Mobiel werk", length=40, fid="MbNr"),
                _f("Telefoon_prive", "Telefoonnr. privé", length=40, fid="TeN2"),
                _f("Mobiel_prive", "Mobiel privé", length=40, fid="MbN2"),
                _f("Gewijzigd_op", "Gewijzigd op", "date", fid="DaMo"),
                _f("Aangemaakt_op", "Aangemaakt op", "date", fid="DaCr"),
            ),
            "BcId",
            ("Nummer",),
        ),
        ConnectorDef(
            "AfasTray_Contactpersonen",
            "AFAS Tray - contactpersonen",
            (
                _f("Contact_id", "Contact", "int", fid="CdId"),
                _f("Organisatie_BcId", "Organisatie (intern)", "int", fid="BcIdOrg"),
                _f("Persoon_BcId", "Persoon (intern)", "int", fid="BcIdPer"),
                _f("Naam", "Naam", length=255, fid="Nm"),
                _f("Telefoon_werk", "Telefoonnr. werk", length=40, fid="TeNr"),
                _f("Mobiel_werk", "Mobiel werk", length=40, fid="MbNr"),
                _f("Geblokkeerd", "Geblokkeerd", "boolean", fid="Bl"),
                _f("Gewijzigd_op", "Gewijzigd op", "date", fid="DaMo"),
                _f("Aangemaakt_op", "Aangemaakt op", "date", fid="DaCr"),
            ),
            "Contact_id",
        ),
        # The standard connectors carry the columns of AFAS's organisaties-en-personen OpenAPI
        # file, no more: Profit_OrgPer has no mobile number and no date column.
        ConnectorDef(
            "Profit_OrgPer",
            "Organisaties en personen",
            (
                _f("BcCo", "Nummer", length=15),
                _f("Type", "Soort basic contact", length=10),
                _f("SearchName", "Zoeknaam", length=10),
                _f("Name", "Naam", length=255),
                _f("AdressLine1", "Adresregel 1 (straat - huisnummer)", length=255),
                _f("AdressLine3", "Adresregel 3 (postcode - woonplaats)", length=255),
                _f("AdressLine4", "Adresregel 4 (land)", length=255),
                _f("TelWork", "Telefoonnr. werk", length=40),
                _f("MailWork", "E-mail werk", length=255),
                _f("Homepage", "Website", length=255),
                _f("Note", "Opmerking", length=0),
                _f("ChOfCommNr", "KvK-nummer", length=20),
                _f("DateBirth", "Geboortedatum", "date"),
                _f("BSN", "BSN", length=9),
            ),
            "BcCo",
        ),
        ConnectorDef(
            "Profit_Contacts",
            "Contacten",
            (
                _f("Type", "Soort contact code", length=10),
                _f("ContactId", "Contactid", "int"),
                _f("Name", "Naam", length=255),
                _f("OrgNumber", "orgnummer", length=15),
                _f("PerNumber", "persnummer", length=15),
                _f("Department", "Afdeling", length=80),
                _f("Blocked", "Geblokkeerd", "boolean"),
                _f("AddressLine1", "Adresregel 1 (straat - huisnummer)", length=255),
                _f("AddressLine3", "Adresregel 3 (postcode - woonplaats)", length=255),
                _f("AddressLine4", "Adresregel 4 (land)", length=255),
                _f("TelWork", "Telefoonnr. werk", length=40),
                _f("MobWork", "Mobiel werk", length=40),
                _f("MailWork", "E-mail werk", length=255),
                _f("Note", "Opmerking", length=0),
                _f("Function", "Functie", length=10),
                _f("FunctionCard", "Functie visitekaart", length=80),
                _f("FullName", "Roepnaam voorvoegsel achternaam", length=255),
                _f("Gender", "Geslacht code", length=1),
                _f("TelPrivate", "Telefoonnr. privé", length=40),
                _f("MobPrivate", "Mobiel privé", length=40),
                _f("MailPrivate", "E-mail privé", length=255),
                _f("CreateDate", "Aangemaakt op", "date"),
                _f("ModifiedDate", "Gewijzigd op", "date"),
            ),
            "ContactId",
        ),
    )
}

# Key-only connectors, as a consultant makes them for the app's deletion check: the same filter
# as the main connector, only its key column (GetConnectors cannot select columns per request).
# Named ``<main connector>_Sleutels``; the simulator lists them only when asked to.
KEY_SUFFIX = "_Sleutels"
KEY_CONNECTORS: dict[str, ConnectorDef] = {
    c.id: c
    for c in (
        ConnectorDef(
            "AfasTray_Organisaties" + KEY_SUFFIX,
            "AFAS Tray - organisaties (sleutels)",
            (_f("Nummer", "Nummer", length=15, fid="BcCo"),),
            "Nummer",
        ),
        ConnectorDef(
            "AfasTray_Personen" + KEY_SUFFIX,
            "AFAS Tray - personen (sleutels)",
            (_f("Nummer", "Nummer", length=15, fid="BcCo"),),
            "Nummer",
        ),
        ConnectorDef(
            "AfasTray_Contactpersonen" + KEY_SUFFIX,
            "AFAS Tray - contactpersonen (sleutels)",
            (_f("Contact_id", "Contact", "int", fid="CdId"),),
            "Contact_id",
        ),
    )
}

# Which connector column a record attribute feeds (for the mutation API's column names).
_PHONE_COLUMNS = {
    "Telefoon_werk": "tel_work",
    "TelWork": "tel_work",
    "Mobiel_werk": "mob_work",
    "MobWork": "mob_work",
    "Telefoon_prive": "tel_private",
    "TelPrivate": "tel_private",
    "Mobiel_prive": "mob_private",
    "MobPrivate": "mob_private",
}


class SampleData:
    """A lazily generated AFAS data set; rows are computed on demand from ``seed`` and index."""

    def __init__(self, relations: int = 1000, seed: int = 1) -> None:
        if relations < MIN_RELATIONS:
            raise ValueError(f"relations must be at least {MIN_RELATIONS}")
        self.relations = relations
        self.seed = seed
        self.n_org = relations * 2 // 5
        self.n_person = relations - self.n_org
        self.n_contact = (self.n_person + 1) // 2
        self.version = 0  # bumped on every mutation (caches key on it)
        self._overrides: dict[tuple[int, int], dict[str, Any]] = {
            k: dict(v) for k, v in _KNOWN_OVERRIDES.items()
        }
        self._deleted: dict[int, list[int]] = {_KIND_ORG: [], _KIND_PERSON: [], _KIND_CONTACT: []}
        # What a mutation writes into Gewijzigd_op; tests and the fleet bench set their own time.
        self.clock: Callable[[], str] = amsterdam_now_z
        self._by_modified: dict[int, list[tuple[str, int]]] = {}  # kind -> sorted (date, index)

    # -- records ---------------------------------------------------------------------------

    def _person_name(self, j: int) -> str:
        over = self._overrides.get((_KIND_PERSON, j))
        if over and "name" in over:
            return str(over["name"])
        rng = _Rng(self.seed, _KIND_NAME, j)
        first, prefix, last = rng.pick(FIRST_NAMES), rng.pick(PREFIXES), rng.pick(LAST_NAMES)
        if rng.chance(0.08):  # double surname after marriage
            last = f"{last}-{rng.pick(LAST_NAMES)}"
        return f"{first} {prefix} {last}" if prefix else f"{first} {last}"

    def _created(self, kind: int, index: int, modified: str | None) -> str:
        """"Aangemaakt op": a mutation's own stamp, else some days before the modification."""
        over = self._overrides.get((kind, index))
        if over and "created" in over:
            return str(over["created"])
        start = dt.datetime(2016, 1, 1)
        try:
            moment = dt.datetime.fromisoformat(str(modified).rstrip("Z"))
        except ValueError:
            moment = start
        days = _mix((self.seed << 40) ^ (kind << 32) ^ index) % 400
        return max(start, moment - dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _apply(self, kind: int, index: int, record: Any) -> Any:
        over = self._overrides.get((kind, index))
        if not over:
            return record
        # "created" is read by the row makers (``_created``), not a record attribute.
        return replace(record, **{k: v for k, v in over.items() if k != "created"})

    def organisation(self, i: int) -> Organisation:
        rng = _Rng(self.seed, _KIND_ORG, i)
        _area, city, nsn = self._org_main(i)
        last, last2 = rng.pick(LAST_NAMES), rng.pick(LAST_NAMES)
        name = rng.pick(ORG_PATTERNS).format(
            last=last, last2=last2, trade=rng.pick(TRADES), city=city, noun=rng.pick(NOUNS)
        )
        tel = _belgian(rng) if rng.chance(0.03) else _phone(rng, nsn, p_blank=0.06)
        mob = _phone(rng, _mobile_digits(rng), p_blank=0.7, p_junk=0.01)
        email = None if rng.chance(0.2) else f"info@{last.lower().replace(' ', '')}{i}.nl"
        record = Organisation(
            i,
            org_bcid(i),
            str(ORG_NUMBER_BASE + i),
            name,
            city,
            tel,
            mob,
            email,
            _modified(rng),
            nsn,
        )
        return self._apply(_KIND_ORG, i, record)

    def person(self, j: int) -> Person:
        rng = _Rng(self.seed, _KIND_PERSON, j)
        area, _city = AREAS[rng.below(len(AREAS))]
        employee = j % 2 == 0
        tel_work = _phone(rng, _fixed_digits(rng, area), p_blank=0.9 if employee else 0.95)
        mob_work = _phone(rng, _mobile_digits(rng), p_blank=0.6 if employee else 0.9, p_junk=0.01)
        tel_private = _phone(rng, _fixed_digits(rng, area), p_blank=0.75 if employee else 0.55)
        mob_private = _phone(
            rng, _mobile_digits(rng), p_blank=0.5 if employee else 0.3, p_junk=0.02
        )
        name = self._person_name(j)
        email = None if rng.chance(0.4) else f"{name.split(' ')[0].lower()}.{j}@example.nl"
        record = Person(
            j,
            person_bcid(j),
            str(PERSON_NUMBER_BASE + j),
            name,
            tel_work,
            mob_work,
            tel_private,
            mob_private,
            email,
            _modified(rng),
        )
        return self._apply(_KIND_PERSON, j, record)

    def contact(self, k: int) -> Contact:
        rng = _Rng(self.seed, _KIND_CONTACT, k)
        org_index = rng.below(self.n_org)
        over = self._overrides.get((_KIND_CONTACT, k))
        if over and "org_index" in over:
            org_index = int(over["org_index"])
        roll = rng.below(100)
        if roll < 50:  # own direct line in the organisation's area
            area = self._org_main(org_index)[0]
            tel: str | None = _phone(rng, _fixed_digits(rng, area), p_blank=0.0, p_ext=0.1)
        elif roll < 70:  # the organisation's main number typed again, in any style
            tel = write_nl(self._org_main(org_index)[2], rng.below(32))
        else:
            tel = None
        mob = _phone(rng, _mobile_digits(rng), p_blank=0.5, p_junk=0.01)
        record = Contact(
            k,
            contact_id(k),
            org_index,
            2 * k,
            self._person_name(2 * k),
            tel,
            mob,
            rng.chance(0.03),
            _modified(rng),
        )
        return self._apply(_KIND_CONTACT, k, record)

    def _org_main(self, i: int) -> tuple[str, str, str]:
        """Area, city and main number of organisation ``i`` before formatting or overrides.

        A stream of its own, so contacts can type their organisation's number without
        generating the whole organisation."""
        rng = _Rng(self.seed, _KIND_MAIN, i)
        area, city = AREAS[rng.below(len(AREAS))]
        return area, city, _fixed_digits(rng, area)

    # -- lookups ---------------------------------------------------------------------------

    def _alive(self, kind: int, index: int, count: int) -> bool:
        deleted = self._deleted[kind]
        pos = bisect.bisect_left(deleted, index)
        return 0 <= index < count and not (pos < len(deleted) and deleted[pos] == index)

    def find_relation(self, key: str | int) -> Organisation | Person | None:
        """An organisation or person by BcId or by number (BcCo); None when unknown or deleted."""
        try:
            n = int(str(key).strip())
        except ValueError:
            return None
        if ORG_NUMBER_BASE <= n < ORG_NUMBER_BASE + self.n_org:
            return (
                self.organisation(n - ORG_NUMBER_BASE)
                if self._alive(_KIND_ORG, n - ORG_NUMBER_BASE, self.n_org)
                else None
            )
        if PERSON_NUMBER_BASE <= n < PERSON_NUMBER_BASE + self.n_person:
            j = n - PERSON_NUMBER_BASE
            return self.person(j) if self._alive(_KIND_PERSON, j, self.n_person) else None
        if n < ORG_BCID_BASE:
            return None
        offset = n - ORG_BCID_BASE
        if offset % 2 == 0:
            i = offset // 2
            return self.organisation(i) if self._alive(_KIND_ORG, i, self.n_org) else None
        j = offset // 2
        return self.person(j) if self._alive(_KIND_PERSON, j, self.n_person) else None

    def find_contact(self, cid: str | int) -> Contact | None:
        try:
            k = int(str(cid).strip()) - CONTACT_ID_BASE
        except ValueError:
            return None
        return self.contact(k) if self._alive(_KIND_CONTACT, k, self.n_contact) else None

    # -- mutations (for tests of sync and look-ups) ----------------------------------------

    def _locate(self, bcid: str | int) -> tuple[int, int]:
        record = self.find_relation(bcid)
        if record is None:
            raise KeyError(f"no relation {bcid}")
        return (_KIND_ORG if isinstance(record, Organisation) else _KIND_PERSON), record.index

    def _override(self, kind: int, index: int, **values: Any) -> None:
        self._overrides.setdefault((kind, index), {}).update(values)
        self.version += 1

    def change_phone(self, bcid: str | int, column: str, value: str | None) -> None:
        """Set a phone column (``Telefoon_werk``, ``TelWork``, ``Mobiel_prive``, … or the record
        attribute ``tel_work``…) of an organisation/person and bump its Gewijzigd_op."""
        kind, index = self._locate(bcid)
        attr = _PHONE_COLUMNS.get(column, column)
        if kind == _KIND_ORG and attr not in ("tel_work", "mob_work"):
            raise KeyError(f"organisations have no {column}")
        self._override(kind, index, **{attr: value, "modified": self.clock()})

    def change_contact_phone(self, cid: str | int, column: str, value: str | None) -> None:
        contact = self.find_contact(cid)
        if contact is None:
            raise KeyError(f"no contact {cid}")
        attr = _PHONE_COLUMNS.get(column, column)
        if attr not in ("tel_work", "mob_work"):
            raise KeyError(f"contacts have no {column}")
        self._override(_KIND_CONTACT, contact.index, **{attr: value, "modified": self.clock()})

    def rename(self, bcid: str | int, name: str) -> None:
        kind, index = self._locate(bcid)
        self._override(kind, index, name=name, modified=self.clock())

    def touch(self, bcid: str | int, when: str | None = None) -> None:
        """Bump Gewijzigd_op (``when`` as AFAS writes it, default now)."""
        kind, index = self._locate(bcid)
        self._override(kind, index, modified=when or self.clock())

    def delete_relation(self, bcid: str | int) -> None:
        """Delete an organisation/person (its contact rows stay, as a test of dangling links)."""
        kind, index = self._locate(bcid)
        bisect.insort(self._deleted[kind], index)
        self.version += 1

    def create_relation(self, bcid: str | int) -> None:
        """A deleted organisation/person comes back as a newly created row: "Aangemaakt op" now
        and, as Profit writes a new row, no "Gewijzigd op" yet."""
        try:
            n = int(str(bcid).strip())
        except ValueError:
            raise KeyError(f"no relation {bcid}") from None
        for kind, base, count in ((_KIND_ORG, ORG_BCID_BASE, self.n_org),
                                  (_KIND_PERSON, ORG_BCID_BASE + 1, self.n_person)):
            if (n - base) % 2 == 0 and 0 <= (n - base) // 2 < count:
                index = (n - base) // 2
                if index in self._deleted[kind]:
                    self._deleted[kind].remove(index)
                self._override(kind, index, created=self.clock(), modified=None)
                return
        raise KeyError(f"no relation {bcid}")

    def delete_contact(self, cid: str | int) -> None:
        contact = self.find_contact(cid)
        if contact is None:
            raise KeyError(f"no contact {cid}")
        bisect.insort(self._deleted[_KIND_CONTACT], contact.index)
        self.version += 1

    # -- connector rows --------------------------------------------------------------------

    def _nth_alive(self, kind: int, position: int) -> int:
        """Index of the ``position``-th (0-based) record of ``kind`` that is not deleted."""
        deleted = self._deleted[kind]
        index = position
        while True:
            moved = position + bisect.bisect_right(deleted, index)
            if moved == index:
                return index
            index = moved

    def _iter_kind(
        self, kind: int, position: int, count: int, make: Callable[[int], Any]
    ) -> Iterator[Any]:
        index = self._nth_alive(kind, position)
        deleted = set(self._deleted[kind])
        while index < count:
            if index not in deleted:
                yield make(index)
            index += 1

    def count(self, connector: str) -> int:
        orgs = self.n_org - len(self._deleted[_KIND_ORG])
        persons = self.n_person - len(self._deleted[_KIND_PERSON])
        contacts = self.n_contact - len(self._deleted[_KIND_CONTACT])
        return {
            "AfasTray_Organisaties": orgs,
            "AfasTray_Personen": persons,
            "AfasTray_Contactpersonen": contacts,
            "Profit_OrgPer": orgs + persons,
            "Profit_Contacts": contacts,
            "AfasTray_Organisaties" + KEY_SUFFIX: orgs,
            "AfasTray_Personen" + KEY_SUFFIX: persons,
            "AfasTray_Contactpersonen" + KEY_SUFFIX: contacts,
        }[connector]

    def _org_row(self, i: int) -> dict[str, Any]:
        o = self.organisation(i)
        return {
            "BcId": o.bcid,
            "Nummer": o.number,
            "Naam": o.name,
            "Telefoon_werk": o.tel_work,
            "Mobiel_werk": o.mob_work,
            "Gewijzigd_op": o.modified,
            "Aangemaakt_op": self._created(_KIND_ORG, i, o.modified),
        }

    def _person_row(self, j: int) -> dict[str, Any]:
        p = self.person(j)
        return {
            "BcId": p.bcid,
            "Nummer": p.number,
            "Naam": p.name,
            "Telefoon_werk": p.tel_work,
            "Mobiel_werk": p.mob_work,
            "Telefoon_prive": p.tel_private,
            "Mobiel_prive": p.mob_private,
            "Gewijzigd_op": p.modified,
            "Aangemaakt_op": self._created(_KIND_PERSON, j, p.modified),
        }

    def _contact_row(self, k: int) -> dict[str, Any]:
        c = self.contact(k)
        return {
            "Contact_id": c.contact_id,
            "Organisatie_BcId": org_bcid(c.org_index),
            "Persoon_BcId": person_bcid(c.person_index),
            "Naam": c.name,
            "Telefoon_werk": c.tel_work,
            "Mobiel_werk": c.mob_work,
            "Geblokkeerd": c.blocked,
            "Gewijzigd_op": c.modified,
            "Aangemaakt_op": self._created(_KIND_CONTACT, k, c.modified),
        }

    def _profit_contact_row(self, k: int) -> dict[str, Any]:
        c = self.contact(k)
        p = (
            self.person(c.person_index)
            if self._alive(_KIND_PERSON, c.person_index, self.n_person)
            else None
        )
        return {
            "Type": "PRS",
            "ContactId": c.contact_id,
            "Name": c.name,
            "OrgNumber": str(ORG_NUMBER_BASE + c.org_index),
            "PerNumber": str(PERSON_NUMBER_BASE + c.person_index),
            "Department": None,
            "Blocked": c.blocked,
            "AddressLine1": None,
            "AddressLine3": None,
            "AddressLine4": None,
            "TelWork": c.tel_work,
            "MobWork": c.mob_work,
            "MailWork": None,
            "Note": None,
            "Function": None,
            "FunctionCard": None,
            "FullName": c.name,
            "Gender": None,
            "TelPrivate": p.tel_private if p else None,
            "MobPrivate": p.mob_private if p else None,
            "MailPrivate": None,
            "CreateDate": self._created(_KIND_CONTACT, k, c.modified),
            "ModifiedDate": c.modified,
        }

    def _row_source(self, connector: str) -> tuple[int, int, Callable[[int], dict[str, Any]]] | None:
        """(kind, count, row maker) of a connector whose rows are one record kind each."""
        return {
            "AfasTray_Organisaties": (_KIND_ORG, self.n_org, self._org_row),
            "AfasTray_Personen": (_KIND_PERSON, self.n_person, self._person_row),
            "AfasTray_Contactpersonen": (_KIND_CONTACT, self.n_contact, self._contact_row),
            "Profit_Contacts": (_KIND_CONTACT, self.n_contact, self._profit_contact_row),
            # Key-only rows cost nothing to make: the key follows from the index.
            "AfasTray_Organisaties" + KEY_SUFFIX: (
                _KIND_ORG, self.n_org, lambda i: {"Nummer": str(ORG_NUMBER_BASE + i)}),
            "AfasTray_Personen" + KEY_SUFFIX: (
                _KIND_PERSON, self.n_person, lambda j: {"Nummer": str(PERSON_NUMBER_BASE + j)}),
            "AfasTray_Contactpersonen" + KEY_SUFFIX: (
                _KIND_CONTACT, self.n_contact, lambda k: {"Contact_id": contact_id(k)}),
        }.get(connector)

    def changed_rows(self, connector: str, since: str) -> list[dict[str, Any]] | None:
        """Rows of ``connector`` that may have a modification date ``>= since`` (AFAS's local
        time, with or without the ``Z``): every such row, maybe a few more (the caller applies
        its filter to them). None when the connector has no date column.

        The simulator's answer to ``Gewijzigd_op >= …`` without generating every row: an index
        of the generated dates (built once per kind) plus every record a mutation touched."""
        source = self._row_source(connector)
        if source is None or connector.endswith(KEY_SUFFIX) or connector == "Profit_OrgPer":
            return None
        kind, count, make = source
        index = self._by_modified.get(kind)
        if index is None:
            makers: dict[int, Callable[[int], Organisation | Person | Contact]] = {
                _KIND_ORG: self.organisation, _KIND_PERSON: self.person,
                _KIND_CONTACT: self.contact,
            }
            record = makers[kind]
            index = sorted(((record(i).modified or "").rstrip("Z"), i) for i in range(count))
            self._by_modified[kind] = index
        since = since.rstrip("Z")
        hits = {i for _m, i in index[bisect.bisect_left(index, (since, -1)):]}
        hits.update(
            i for (k, i), over in self._overrides.items()
            if k == kind and max(str(over.get("modified") or "").rstrip("Z"),
                                 str(over.get("created") or "").rstrip("Z")) >= since
        )
        return [make(i) for i in sorted(hits) if self._alive(kind, i, count)]

    def rows(self, connector: str, start: int = 0) -> Iterator[dict[str, Any]]:
        """Rows of a connector in its natural (key) order, from position ``start``."""
        source = self._row_source(connector)
        if source is not None:
            kind, count, make = source
            yield from self._iter_kind(kind, start, count, make)
        elif connector == "Profit_OrgPer":
            orgs = self.count("AfasTray_Organisaties")
            if start < orgs:
                for o in self._iter_kind(_KIND_ORG, start, self.n_org, self.organisation):
                    yield {
                        "BcCo": o.number,
                        "Type": "ORG",
                        "SearchName": o.name[:10].upper(),
                        "Name": o.name,
                        "AdressLine1": None,
                        "AdressLine3": o.city,
                        "AdressLine4": None,
                        "TelWork": o.tel_work,
                        "MailWork": o.email,
                        "Homepage": None,
                        "Note": None,
                        "ChOfCommNr": None,
                        "DateBirth": None,
                        "BSN": None,
                    }
            for p in self._iter_kind(
                _KIND_PERSON, max(0, start - orgs), self.n_person, self.person
            ):
                yield {
                    "BcCo": p.number,
                    "Type": "PRS",
                    "SearchName": p.name.split(" ")[-1][:10].upper(),
                    "Name": p.name,
                    "AdressLine1": None,
                    "AdressLine3": None,
                    "AdressLine4": None,
                    "TelWork": p.tel_work,
                    "MailWork": p.email,
                    "Homepage": None,
                    "Note": None,
                    "ChOfCommNr": None,
                    "DateBirth": None,
                    "BSN": None,
                }
        else:
            raise KeyError(connector)


@dataclass
class DossierItem:
    """A dossier item (KnSubject) as the simulated Profit keeps it: attachment sizes, not bytes."""

    sb_id: int
    st_id: int
    subject: str
    text: str
    date: str
    links: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[tuple[str, int]] = field(default_factory=list)  # (file name, size in bytes)

    @property
    def bcid(self) -> str:
        for link in self.links:
            if link.get("BcId") not in (None, ""):
                return str(link["BcId"])
        return ""
