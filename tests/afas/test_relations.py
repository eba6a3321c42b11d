""""Create in AFAS" for an unknown caller: a body Profit's schema accepts, the simulator
refusing what Profit refuses, the phone book knowing the number at once, doctor's warning."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from afas_tray.afas import AfasAuthError, AfasClient, AfasServerError, NewRelation, RelationError
from afas_tray.afas.relations import build_body
from afas_tray.config import Settings
from afas_tray.core import AppCore
from afas_tray.demo.afas import AfasSimulator
from afas_tray.doctor import run_checks
from afas_tray.events import CallEvent
from afas_tray.pop.opener import RecordingOpener
from afas_tray.pop.router import OpenCard
from afas_tray.system.paths import app_paths
from afas_tray.system.profile import Profile
from tests.helpers import SPECS
from tests.helpers.afas import TOKEN_DATA
from tests.helpers.core import afas_settings_at

SCHEMAS = SPECS / "afas" / "organisaties-en-personen.post-schemas.json"
STRANGER = "06 55512345"  # a mobile number the sample data never uses


def post_schema(name: str) -> dict[str, Any]:
    """``KnPerson_POST`` / ``KnOrganisation_POST`` as AFAS publishes them, except that the new
    relation's own keys (``BcId``, ``BcCo``) are not required: with ``AutoNum`` Profit assigns
    them, and AFAS's insert examples ("create basic person") leave them out."""
    env = os.environ.get("AFAS_SPECS")
    if env:
        spec = json.loads((Path(env) / "organisaties-en-personen.openapi.json").read_text("utf-8"))
        schemas = spec["components"]["schemas"]
    else:
        schemas = json.loads(SCHEMAS.read_text("utf-8"))["schemas"]
    schema = copy.deepcopy(schemas[name])
    root = next(iter(schema["properties"].values()))
    fields = root["properties"]["Element"]["properties"]["Fields"]
    fields["required"] = [f for f in fields["required"] if f not in ("BcId", "BcCo")]
    return schema


def test_bodies_validate_against_afas_schemas() -> None:
    person = build_body(NewRelation("person", STRANGER, first_name=" Pieter ", prefix="van der",
                                    last_name="Berg"), "NL")
    jsonschema.validate(person, post_schema("KnPerson_POST"))
    assert person == {"KnPerson": {"Element": {"Fields": {
        "PadAdr": False, "AutoNum": True, "MatchPer": "7", "AddToPortal": False, "ViGe": "O",
        "LaNm": "Berg", "FiNm": "Pieter", "CaNm": "Pieter", "Is": "van der",
        "MbNr": "+31 6 55512345",
    }}}}
    org = build_body(NewRelation("organisation", "020-5559876", name="Bakkerij  Noord"), "NL")
    jsonschema.validate(org, post_schema("KnOrganisation_POST"))
    assert org["KnOrganisation"]["Element"]["Fields"] == {
        "PadAdr": False, "AutoNum": True, "MatchOga": "6", "Nm": "Bakkerij Noord",
        "TeNr": "+31 20 555 9876",
    }
    # The schema check bites: Profit's codes are strings, not numbers.
    org["KnOrganisation"]["Element"]["Fields"]["MatchOga"] = 6
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(org, post_schema("KnOrganisation_POST"))


def test_form_problems_are_refused_before_anything_is_sent() -> None:
    with pytest.raises(RelationError) as no_name:
        build_body(NewRelation("person", STRANGER, first_name="Pieter"), "NL")
    assert no_name.value.text.nl == "Typ minstens de achternaam."
    with pytest.raises(RelationError):
        build_body(NewRelation("organisation", "12", name="X"), "NL")
    with pytest.raises(RelationError):
        build_body(NewRelation("organisation", STRANGER, name="X" * 256), "NL")


async def test_simulator_refuses_what_profit_refuses(afas_sim: AfasSimulator) -> None:
    async with AfasClient(afas_sim.url, TOKEN_DATA, retries=0) as client:
        body = build_body(NewRelation("person", STRANGER, last_name="Berg"), "NL")
        del body["KnPerson"]["Element"]["Fields"]["LaNm"]
        with pytest.raises(AfasServerError) as missing:
            await client.post_update("KnPerson", body)
        assert "Achternaam: verplicht veld" in missing.value.text.nl
        body = build_body(NewRelation("organisation", STRANGER, name="Noord"), "NL")
        body["KnOrganisation"]["Element"]["Fields"]["FiNm"] = "Jan"  # a person's field
        with pytest.raises(AfasServerError) as unknown:
            await client.post_update("KnOrganisation", body)
        assert "'FiNm' bestaat niet" in unknown.value.text.nl
        body["KnOrganisation"]["Element"]["Fields"].pop("FiNm")
        body["KnOrganisation"]["Element"]["Fields"]["AutoNum"] = False
        with pytest.raises(AfasServerError):
            await client.post_update("KnOrganisation", body)
        assert afas_sim.relations_api.created == []

        afas_sim.relations_api.allowed.discard("KnPerson")
        with pytest.raises(AfasAuthError):
            await client.post_update("KnPerson", build_body(
                NewRelation("person", STRANGER, last_name="Berg"), "NL"))


def settings_for(sim: AfasSimulator) -> Settings:
    return afas_settings_at(sim.url, sim.token)


async def test_created_relation_opens_and_the_next_call_matches(afas_sim: AfasSimulator) -> None:
    opener = RecordingOpener()
    core = AppCore(Profile(app_paths().ensure()), settings_for(afas_sim), opener)
    try:
        await core.engine.refresh_once()
        assert core.book.lookup(STRANGER) == []
        created = await core.create_relation(
            NewRelation("person", STRANGER, first_name="Pieter", last_name="Berg"))
        [posted] = afas_sim.relations_api.created
        assert posted.connector == "KnPerson" and posted.fields["MbNr"] == "+31 6 55512345"
        assert created.bcid == str(posted.bc_id) and created.number_id == posted.bc_co
        card = f"{afas_sim.url}/insite/verkooprelatie-prs?BcId={posted.bc_id}"
        assert opener.urls == [card]  # the new card opens

        # The phone book knows the number at once: the next ring opens that card.
        [match] = core.book.lookup("+31655512345")
        assert (match.bcid, match.name) == (str(posted.bc_id), "Pieter Berg")
        decision = core.handle_event(CallEvent("0655512345", call_id="after-create"))
        assert isinstance(decision, OpenCard) and decision.url == card
    finally:
        await core.stop()


async def test_doctor_says_when_the_token_lacks_the_update_connectors(
    afas_sim: AfasSimulator,
) -> None:
    settings = settings_for(afas_sim)

    async def relation_check() -> Any:
        return [r async for r in run_checks(settings) if r.key == "update_connectors.relations"]

    [ok] = await relation_check()
    assert ok.ok and not ok.warning
    afas_sim.relations_api.allowed.discard("KnOrganisation")
    [missing] = await relation_check()
    assert missing.ok and missing.warning
    assert "may not use KnOrganisation" in missing.detail.en
    assert "KnPerson" not in missing.detail.en
