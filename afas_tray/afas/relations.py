"""A new AFAS relation for an unknown caller: the KnPerson / KnOrganisation body, and the POST.

Only ever on the operator's click ("Create in AFAS" on the unknown-caller notice), never
automatic. Bodies follow ``KnPerson_POST`` / ``KnOrganisation_POST`` of AFAS's OpenAPI file
*organisaties-en-personen* (help pages App_Conect_UpdDsc_020 / _010):

* ``AutoNum: true`` and no ``BcCo``/``BcId``: Profit numbers the new relation. The schema marks
  both keys required, but AFAS's own insert examples ("create basic person") leave them out,
  as with KnSubject's ``SbId``.
* ``MatchPer "7"`` / ``MatchOga "6"``: always add a new one. The operator already saw that the
  number is not in the phone book; matching on a name would quietly attach the number to the
  wrong Jansen.
* ``PadAdr: false`` (no address given), ``AddToPortal: false`` (required for persons),
  ``ViGe "O"`` (gender unknown: a phone call does not tell).
* The number goes into ``MbNr`` (work mobile) when phonenumbers says it is a mobile number,
  else ``TeNr`` (work phone), written internationally (``+31 20 123 4567``).

Profit answers ``201 {"results": {"KnPerson": {"BcCo": "…", "BcId": "…"}}}``; the card opens
on ``BcId`` (the phone book's card id) and falls back to ``BcCo`` when Profit sends only that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

import phonenumbers

from afas_tray.errors import AppError
from afas_tray.i18n import T, Text
from afas_tray.numbers import normalise

Kind = Literal["person", "organisation"]
CONNECTORS: dict[str, str] = {"person": "KnPerson", "organisation": "KnOrganisation"}
# Field lengths of the OpenAPI file (Profit refuses longer values).
MAX_LENGTHS = {"FiNm": 50, "Is": 15, "LaNm": 80, "CaNm": 80, "Nm": 255, "TeNr": 255, "MbNr": 255}


@dataclass(frozen=True)
class NewRelation:
    kind: Kind
    number: str  # as the operator confirmed it in the form
    name: str = ""  # organisation
    first_name: str = ""  # person
    prefix: str = ""  # person: "van", "de" …
    last_name: str = ""  # person

    @property
    def display_name(self) -> str:
        if self.kind == "organisation":
            return " ".join(self.name.split())
        return " ".join(" ".join((self.first_name, self.prefix, self.last_name)).split())


@dataclass(frozen=True)
class CreatedRelation:
    kind: Kind
    bcid: str  # the id the InSite card and the phone book use
    number_id: str  # BcCo, the relation's number in Profit
    name: str
    phone: str  # as written into AFAS
    phone_field: str  # TeNr or MbNr


class RelationError(AppError):
    """The form cannot go up as filled in; ``text`` says why."""

    @property
    def needs_user(self) -> bool:
        return True


def check(new: NewRelation, region: str) -> Text | None:
    """What is wrong with the form, in the operator's words; None when it can go up."""
    if new.kind not in CONNECTORS:
        return T("Choose person or organisation.", "Kies persoon of organisatie.")
    if new.kind == "organisation" and not new.name.strip():
        return T("Type the organisation's name.", "Typ de naam van de organisatie.")
    if new.kind == "person" and not new.last_name.strip():
        return T("Type at least the last name.", "Typ minstens de achternaam.")
    if normalise(new.number, region) is None:
        return T("The number is not a phone number.", "Het nummer is geen telefoonnummer.")
    for field, value in _name_fields(new).items():
        if len(value) > MAX_LENGTHS[field]:
            return T(f"Too long: at most {MAX_LENGTHS[field]} characters.",
                     f"Te lang: maximaal {MAX_LENGTHS[field]} tekens.")
    return None


def _name_fields(new: NewRelation) -> dict[str, str]:
    if new.kind == "organisation":
        return {"Nm": " ".join(new.name.split())}
    fields = {"LaNm": " ".join(new.last_name.split())}
    first = " ".join(new.first_name.split())
    if first:
        fields["FiNm"] = first
        fields["CaNm"] = first  # "usual name" (roepnaam): what InSite shows
    prefix = " ".join(new.prefix.split())
    if prefix:
        fields["Is"] = prefix
    return fields


def phone_field(number: str, region: str) -> tuple[str, str]:
    """(field id, number as written into AFAS)."""
    key = normalise(number, region)
    if key is None:
        raise RelationError(T("The number is not a phone number.",
                              "Het nummer is geen telefoonnummer."))
    parsed = phonenumbers.parse(key, None)
    written = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    mobile = phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.MOBILE
    return ("MbNr" if mobile else "TeNr"), written


def build_body(new: NewRelation, region: str) -> dict[str, Any]:
    """The UpdateConnector body (raises RelationError on a form ``check`` refuses)."""
    problem = check(new, region)
    if problem is not None:
        raise RelationError(problem)
    field, written = phone_field(new.number, region)
    fields: dict[str, Any] = {"PadAdr": False, "AutoNum": True}
    if new.kind == "person":
        fields.update({"MatchPer": "7", "AddToPortal": False, "ViGe": "O"})
    else:
        fields["MatchOga"] = "6"
    fields.update(_name_fields(new))
    fields[field] = written
    return {CONNECTORS[new.kind]: {"Element": {"Fields": fields}}}


class PostingClient(Protocol):
    async def post_update(self, connector: str, body: dict[str, Any]) -> dict[str, Any]: ...


async def create_relation(client: PostingClient, new: NewRelation, region: str) -> CreatedRelation:
    """POST the new relation; raises RelationError (form) or the client's AfasError."""
    body = build_body(new, region)
    connector = CONNECTORS[new.kind]
    keys = await client.post_update(connector, body)
    number_id = str(keys.get("BcCo") or "").strip()
    bcid = str(keys.get("BcId") or "").strip() or number_id
    if not bcid:
        raise RelationError(T(
            f"AFAS accepted the {connector} but sent no number back; look it up in Profit.",
            f"AFAS nam de {connector} aan maar gaf geen nummer terug; zoek hem op in Profit.",
        ))
    fields = body[connector]["Element"]["Fields"]
    field = "MbNr" if "MbNr" in fields else "TeNr"
    return CreatedRelation(new.kind, bcid, number_id or bcid, new.display_name,
                           fields[field], field)

