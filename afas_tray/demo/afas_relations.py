"""Simulated ``POST /connectors/KnPerson`` and ``/connectors/KnOrganisation`` (inserts only).

Refuses what Profit refuses, with its kind of 500 ``externalMessage``: a body without the
connector's object, fields the object does not have (the field lists of AFAS's OpenAPI file
*organisaties-en-personen*), values longer than the field, a missing last name / name, an
unknown ``MatchPer``/``MatchOga``/``ViGe`` code, no ``BcCo`` without ``AutoNum``, a ``BcCo``
that exists. ``KnPerson`` also wants ``AddToPortal`` (the schema's required list). A token
whose app connector lacks the UpdateConnector gets 401 (AFAS help 120612), also in MetaInfo.

Answers 201 ``{"results": {"<connector>": {"BcCo": "…", "BcId": "…"}}}`` as the OpenAPI
example does. Created relations are kept in ``created`` (the GetConnectors do not list them:
the simulator's sample data is generated, not stored).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

PERSON_FIELDS = frozenset((
    "PadAdr", "AutoNum", "MatchPer", "BcId", "BcCo", "SeNm", "CaNm", "FiNm", "In", "Is", "LaNm",
    "SpNm", "IsBi", "NmBi", "IsPa", "NmPa", "ViUs", "ViGe", "PsNa", "DaBi", "CoBi", "RsBi",
    "SoSe", "Sdla", "ViCs", "DaMa", "DaDi", "DaDe", "TtId", "TtEx", "LeHe", "TeNr", "TeN2",
    "FaNr", "MbNr", "MbN2", "EmAd", "EmA2", "HoPa", "Corr", "ViMd", "Re", "StId", "SocN", "CrIb",
    "Face", "Link", "Twtr", "LgId", "CoLw", "CcNr", "CcDa", "BrNr", "FiNr", "EmAm", "SBIc",
    "FileId", "FileName", "FileStream", "AddToPortal", "EmailPortal",
))
ORGANISATION_FIELDS = frozenset((
    "PadAdr", "AutoNum", "MatchOga", "BcId", "BcCo", "SeNm", "Nm", "ViLe", "ViLb", "CcNr",
    "CcDa", "BrNr", "NmRg", "RsRg", "TtId", "LeHe", "OuId", "TeNr", "FaNr", "MbNr", "EmAd",
    "HoPa", "Corr", "ViMd", "Re", "FiNr", "StId", "EmAm", "SocN", "CrIb", "Face", "Link", "Twtr",
    "LgId", "XpRe", "SBIc", "BcPa", "FileId", "FileName", "FileStream",
))
LENGTHS = {"BcCo": 15, "SeNm": 10, "CaNm": 80, "FiNm": 50, "In": 15, "Is": 15, "LaNm": 80,
           "Nm": 255, "TeNr": 255, "TeN2": 255, "MbNr": 255, "MbN2": 255, "EmAd": 255}
BOOLEANS = {"PadAdr", "AutoNum", "SpNm", "Corr", "AddToPortal"}
DUTCH = {"LaNm": "Achternaam", "Nm": "Naam", "FiNm": "Voornaam", "Is": "Voorvoegsel",
         "TeNr": "Telefoonnr. werk", "MbNr": "Mobiel werk", "BcCo": "Nummer"}


class RelationRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class CreatedRelation:
    connector: str
    bc_id: int
    bc_co: str
    fields: dict[str, Any]


@dataclass
class RelationsApi:
    """The simulator's KnPerson/KnOrganisation part; ``allowed`` lists the UpdateConnectors the
    demo token's app connector has (both by default)."""

    allowed: set[str] = field(default_factory=lambda: {"KnPerson", "KnOrganisation"})
    created: list[CreatedRelation] = field(default_factory=list)
    next_bc_id: int = 900001  # far above the generated sample relations
    next_bc_co: int = 800001

    def update_connectors(self) -> list[dict[str, str]]:
        names = {"KnPerson": "Persoon", "KnOrganisation": "Organisatie"}
        return [{"id": c, "description": names[c]} for c in sorted(self.allowed)]

    async def route(self, request: web.Request, lower: list[str]) -> web.Response | None:
        """The answer for a KnPerson/KnOrganisation POST, None for any other request."""
        if request.method != "POST" or len(lower) != 2 or lower[0] != "connectors":
            return None
        connector = {"knperson": "KnPerson", "knorganisation": "KnOrganisation"}.get(lower[1])
        if connector is None:
            return None
        if connector not in self.allowed:
            return web.Response(status=401)  # the app connector lacks it: Profit says 401
        try:
            body = json.loads(await request.read())
        except ValueError:
            raise RelationRefused("De aangeboden gegevens zijn geen geldige JSON.") from None
        created = self.insert(connector, body)
        return web.json_response(
            {"results": {connector: {"BcCo": created.bc_co, "BcId": str(created.bc_id)}}},
            status=201,
        )

    def insert(self, connector: str, body: Any) -> CreatedRelation:
        if not isinstance(body, dict) or not isinstance(body.get(connector), dict):
            raise RelationRefused(f"Het object '{connector}' ontbreekt in de aangeboden gegevens.")
        element = body[connector].get("Element")
        if isinstance(element, list):
            if len(element) != 1 or not isinstance(element[0], dict):
                raise RelationRefused(f"Ongeldige opbouw van '{connector}.Element'.")
            element = element[0]
        if not isinstance(element, dict) or not isinstance(element.get("Fields"), dict):
            raise RelationRefused(f"Het object '{connector}' bevat geen Fields.")
        fields: dict[str, Any] = element["Fields"]
        person = connector == "KnPerson"
        known = PERSON_FIELDS if person else ORGANISATION_FIELDS
        for name, value in fields.items():
            if name not in known:
                raise RelationRefused(f"Het veld '{name}' bestaat niet in het object '{connector}'.")
            if name in BOOLEANS and not _is_bool(value):
                raise RelationRefused(f"{name}: de waarde '{value}' is geen geldige ja/nee-waarde.")
            if name in LENGTHS and isinstance(value, str) and len(value) > LENGTHS[name]:
                raise RelationRefused(
                    f"{DUTCH.get(name, name)}: de waarde is langer dan de maximale lengte van "
                    f"{LENGTHS[name]} tekens."
                )
        match_field, codes = ("MatchPer", "01234567") if person else ("MatchOga", "0123456")
        match = str(fields.get(match_field, ""))
        if len(match) != 1 or match not in codes:
            raise RelationRefused(f"{match_field}: de waarde '{match}' is niet toegestaan.")
        if person and "AddToPortal" not in fields:
            raise RelationRefused("AddToPortal: verplicht veld is niet gevuld.")
        if person and str(fields.get("ViGe", "O")) not in ("M", "O", "V", "X"):
            raise RelationRefused(f"Geslacht: de waarde '{fields.get('ViGe')}' is niet toegestaan.")
        required = "LaNm" if person else "Nm"
        if not str(fields.get(required) or "").strip():
            raise RelationRefused(f"{DUTCH[required]}: verplicht veld is niet gevuld.")
        auto = _truthy(fields.get("AutoNum"))
        bc_co = str(fields.get("BcCo") or "").strip()
        if not auto and not bc_co:
            raise RelationRefused("Nummer: verplicht veld is niet gevuld (of zet AutoNum aan).")
        if bc_co and any(c.bc_co == bc_co for c in self.created):
            raise RelationRefused(f"Nummer '{bc_co}' bestaat al.")
        if not bc_co:
            bc_co = str(self.next_bc_co)
            self.next_bc_co += 1
        created = CreatedRelation(connector, self.next_bc_id, bc_co, dict(fields))
        self.next_bc_id += 1
        self.created.append(created)
        return created


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool) or str(value).lower() in ("0", "1", "true", "false")


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")
