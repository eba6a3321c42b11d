"""The simulated AFAS Profit server, spoken to with plain httpx over loopback, and its data."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import itertools
import subprocess
import sys
import time
from collections import defaultdict
from typing import Any

import httpx
import pytest

from afas_tray.demo.afas import AfasSimulator, SimulatorThread
from afas_tray.demo.sample_data import KNOWN, SampleData
from tests.helpers import SPECS
from tests.helpers.afas import TOKEN_DATA, e164

XML = f"<token><version>1</version><data>{TOKEN_DATA}</data></token>"
AUTH = {"Authorization": "AfasToken " + base64.b64encode(XML.encode()).decode()}


def api(sim: AfasSimulator) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=sim.url + "/ProfitRestServices", headers=AUTH, trust_env=False
    )


def knsubject(
    fields: dict[str, Any], objects: Any = None, *, as_list: bool = True
) -> dict[str, Any]:
    element: dict[str, Any] = {"Fields": fields}
    if objects is not None:
        element["Objects"] = objects
    return {"KnSubject": {"Element": [element] if as_list else element}}


# --- authentication ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        None,
        "AfasToken " + TOKEN_DATA,  # plain, not base64: Profit refuses it
        "AfasToken " + base64.b64encode(XML.replace("ABCDEF", "ABCDEE", 1).encode()).decode(),
        "Bearer " + base64.b64encode(XML.encode()).decode(),
    ],
)
async def test_bad_or_missing_token_gets_401_with_empty_body(
    afas_sim: AfasSimulator, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.get(
            afas_sim.url + "/ProfitRestServices/ProfitVersion", headers=headers
        )
    assert response.status_code == 401 and response.content == b""


async def test_revoked_token_gets_401(afas_sim: AfasSimulator) -> None:
    async with api(afas_sim) as http:
        assert (await http.get("/ProfitVersion")).status_code == 200
        afas_sim.revoke_token()
        assert (await http.get("/ProfitVersion")).status_code == 401


# --- info endpoints ------------------------------------------------------------------------------


async def test_info_endpoints_have_the_published_shapes(afas_sim: AfasSimulator) -> None:
    async with api(afas_sim) as http:
        assert (await http.get("/ProfitVersion")).json() == {"version": "25.4.2"}
        meta = (await http.get("/MetaInfo")).json()
        assert {c["id"] for c in meta["getConnectors"]} == {
            "AfasTray_Organisaties",
            "AfasTray_Personen",
            "AfasTray_Contactpersonen",
            "Profit_OrgPer",
            "Profit_Contacts",
            "Profit_Subjects",
            "Profit_SubjectTypes",
        }
        assert {"id": "KnSubject", "description": "Dossieritem"} in meta["updateConnectors"]
        for path in (
            "/metainfo/get/AfasTray_Contactpersonen",
            "/Metainfo/get/afastray_contactpersonen",
        ):
            info = (await http.get(path)).json()
            assert info["name"] == "AfasTray_Contactpersonen"
            assert [f["id"] for f in info["fields"]][:3] == [
                "Contact_id",
                "Organisatie_BcId",
                "Persoon_BcId",
            ]
            assert set(info["fields"][0]) == {
                "id",
                "fieldId",
                "dataType",
                "label",
                "length",
                "controlType",
                "decimals",
                "decimalsFieldId",
            }


async def test_removed_connector_is_404_and_unlisted(afas_sim: AfasSimulator) -> None:
    afas_sim.remove_connector("AfasTray_Personen")
    async with api(afas_sim) as http:
        assert (await http.get("/connectors/AfasTray_Personen")).status_code == 404
        assert (await http.get("/metainfo/get/AfasTray_Personen")).status_code == 404
        ids = {c["id"] for c in (await http.get("/MetaInfo")).json()["getConnectors"]}
        assert "AfasTray_Personen" not in ids and "AfasTray_Organisaties" in ids
        assert (await http.get("/connectors/Bestaat_Niet")).status_code == 404


# --- GetConnector ----------------------------------------------------------------------------------


async def test_getconnector_default_take_skip_and_order(afas_sim: AfasSimulator) -> None:
    async with api(afas_sim) as http:
        page = (await http.get("/connectors/AfasTray_Personen")).json()
        assert page["skip"] == 0 and page["take"] == 100 and len(page["rows"]) == 100
        tail = (
            await http.get("/connectors/AfasTray_Personen", params={"skip": 100, "take": 100})
        ).json()
        assert len(tail["rows"]) == 20
        by_name = (
            await http.get(
                "/connectors/AfasTray_Personen",
                params={"take": -1, "orderbyfieldids": "-Naam,BcId"},
            )
        ).json()["rows"]
        names = [r["Naam"].casefold() for r in by_name]
        assert names == sorted(names, reverse=True) and len(by_name) == 120
    assert afas_sim.rows_served == 240


async def test_standard_connectors_share_the_data(afas_sim: AfasSimulator) -> None:
    async with api(afas_sim) as http:
        orgper = (
            await http.get(
                "/connectors/Profit_OrgPer", params={"take": 500, "orderbyfieldids": "BcCo"}
            )
        ).json()["rows"]
        contacts = (await http.get("/connectors/Profit_Contacts", params={"take": 500})).json()[
            "rows"
        ]
        custom = (
            await http.get("/connectors/AfasTray_Contactpersonen", params={"take": 500})
        ).json()["rows"]
    assert len(orgper) == 200 and {r["Type"] for r in orgper} == {"ORG", "PRS"}
    assert len(contacts) == len(custom) == 60
    assert [(c["ContactId"], c["TelWork"]) for c in contacts] == [
        (c["Contact_id"], c["Telefoon_werk"]) for c in custom
    ]


async def test_over_long_query_is_404_like_iis(afas_sim: AfasSimulator) -> None:
    async with api(afas_sim) as http:
        response = await http.get(
            "/connectors/AfasTray_Personen",
            params={"filterfieldids": "Naam", "filtervalues": "x" * 2001, "operatortypes": "6"},
        )
    assert response.status_code == 404


async def test_mismatched_or_unknown_filter_is_a_profit_error(afas_sim: AfasSimulator) -> None:
    async with api(afas_sim) as http:
        mismatch = await http.get(
            "/connectors/AfasTray_Personen",
            params={"filterfieldids": "Naam,BcId", "filtervalues": "x", "operatortypes": "6,1"},
        )
        unknown = await http.get(
            "/connectors/AfasTray_Personen",
            params={"filterfieldids": "Bestaat", "filtervalues": "x", "operatortypes": "1"},
        )
    for response in (mismatch, unknown):
        assert response.status_code == 500
        assert set(response.json()) == {"externalMessage", "errorNumber", "profitLogReference"}
    assert "Bestaat" in unknown.json()["externalMessage"]


# --- KnSubject -------------------------------------------------------------------------------------

LINK = [
    {
        "KnSubjectLink": {
            "Element": [{"Fields": {"ToBC": True, "BcId": KNOWN["org_unique"].bcids[0]}}]
        }
    }
]


@pytest.mark.parametrize("as_list", [True, False])
async def test_knsubject_accepts_dict_and_list_forms(
    afas_sim: AfasSimulator, as_list: bool
) -> None:
    objects: Any = (
        LINK
        if as_list
        else {
            "KnSubjectLink": {
                "Element": {"Fields": {"ToBC": True, "BcId": "1000003", "CdId": 10001}}
            },
            "KnSubjectAttachment": {
                "Element": {
                    "Fields": {
                        "FileName": "call.mp3",
                        "FileStream": base64.b64encode(b"x" * 10).decode(),
                    }
                }
            },
        }
    )
    async with api(afas_sim) as http:
        response = await http.post(
            "/connectors/KnSubject",
            json=knsubject(
                {
                    "StId": "7",
                    "Ds": "Telefoongesprek",
                    "SbTx": "Notitie",
                    "Da": "2024-05-01T10:00:00Z",
                },
                objects,
                as_list=as_list,
            ),
        )
    assert response.status_code == 201
    assert response.json() == {"results": {"KnSubject": {"SbId": "50001"}}}
    item = afas_sim.subjects[0]
    assert (item.st_id, item.subject, item.text, item.date, item.bcid) == (
        7,
        "Telefoongesprek",
        "Notitie",
        "2024-05-01T10:00:00Z",
        "1006",
    )
    assert item.attachments == ([] if as_list else [("call.mp3", 10)])


REJECTED = {
    "missing StId": knsubject({"Ds": "x"}),
    "non-numeric StId": knsubject({"StId": "telefoon", "Ds": "x"}),
    "missing Ds": knsubject({"StId": 7}),
    "Ds too long": knsubject({"StId": 7, "Ds": "x" * 256}),
    "unknown BcId": knsubject(
        {"StId": 7, "Ds": "x"},
        [{"KnSubjectLink": {"Element": {"Fields": {"ToBC": True, "BcId": "99999999"}}}}],
    ),
    "unknown contact": knsubject(
        {"StId": 7, "Ds": "x"},
        [{"KnSubjectLink": {"Element": {"Fields": {"BcId": "1006", "CdId": 1}}}}],
    ),
    "bad base64": knsubject(
        {"StId": 7, "Ds": "x"},
        [
            {
                "KnSubjectAttachment": {
                    "Element": [{"Fields": {"FileName": "a.mp3", "FileStream": "@@not base64@@"}}]
                }
            }
        ],
    ),
    "no body": {"iets": "anders"},
}


@pytest.mark.parametrize("case", list(REJECTED))
async def test_knsubject_rejects_what_profit_rejects(afas_sim: AfasSimulator, case: str) -> None:
    async with api(afas_sim) as http:
        response = await http.post("/connectors/KnSubject", json=REJECTED[case])
    assert response.status_code == 500
    body = response.json()
    assert body["externalMessage"] and body["errorNumber"] and len(body["profitLogReference"]) == 32
    assert afas_sim.subjects == []


async def test_knsubject_over_75_mb_is_413(afas_sim: AfasSimulator) -> None:
    big = (
        b'{"KnSubject":{"Element":{"Fields":{"StId":7,"Ds":"x","FileStream":"'
        + b"A" * (75 * 1024 * 1024)
        + b'"}}}}'
    )
    async with api(afas_sim) as http:
        response = await http.post(
            "/connectors/KnSubject", content=big, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 413
    assert afas_sim.subjects == []


async def test_attachment_added_later_to_unknown_item_is_refused(afas_sim: AfasSimulator) -> None:
    body = {
        "KnSubject": {
            "Element": {
                "@SbId": 4242,
                "Objects": [
                    {
                        "KnSubjectAttachment": {
                            "Element": {"Fields": {"FileName": "a.mp3", "FileStream": "AAAA"}}
                        }
                    }
                ],
            }
        }
    }
    async with api(afas_sim) as http:
        response = await http.post("/connectors/KnSubject/KnSubjectAttachment", json=body)
    assert response.status_code == 500 and "4242" in response.json()["externalMessage"]


# --- knobs, control API, InSite, CLI -------------------------------------------------------------


async def test_control_api_drives_the_knobs(afas_sim: AfasSimulator) -> None:
    async with httpx.AsyncClient(base_url=afas_sim.url, trust_env=False) as http:
        await http.post("/_sim/fail", json={"count": 1, "status": 503, "retry_after": 30})
        down = await http.get("/ProfitRestServices/ProfitVersion", headers=AUTH)
        assert down.status_code == 503 and down.json()["retry_after"] == 30
        assert (
            await http.get("/ProfitRestServices/ProfitVersion", headers=AUTH)
        ).status_code == 200
        await http.post(
            "/_sim/mutate",
            json={"op": "phone", "id": "1006", "column": "Telefoon_werk", "value": "020-7777777"},
        )
        row = (
            await http.get(
                "/ProfitRestServices/connectors/AfasTray_Organisaties",
                headers=AUTH,
                params={"filterfieldids": "BcId", "filtervalues": "1006", "operatortypes": "1"},
            )
        ).json()["rows"][0]
        assert row["Telefoon_werk"] == "020-7777777"
        stats = (await http.get("/_sim/stats")).json()
    assert stats["requests"] == 3 and stats["rows_served"] == 1


async def test_latency_knob_and_peak_concurrency(afas_sim: AfasSimulator) -> None:
    afas_sim.latency = 0.1
    async with api(afas_sim) as http:
        started = time.monotonic()
        await asyncio.gather(*(http.get("/ProfitVersion") for _ in range(8)))
    assert 0.1 <= time.monotonic() - started < 0.5
    assert afas_sim.peak_concurrent == 8


async def test_insite_card_shows_the_relation(afas_sim: AfasSimulator) -> None:
    async with httpx.AsyncClient(base_url=afas_sim.url, trust_env=False) as http:
        card = await http.get(
            "/insite/verkooprelatie-prs", params={"BcId": KNOWN["org_unique"].bcids[0]}
        )
        missing = await http.get("/insite/verkooprelatie-prs", params={"BcId": "5"})
    assert (
        card.status_code == 200
        and "Van Dijk Installatietechniek B.V." in card.text
        and "020-5550101" in card.text
    )
    assert missing.status_code == 404


def test_simulator_thread_and_command_line() -> None:
    with SimulatorThread(AfasSimulator(relations=100)) as thread:
        version = httpx.get(
            thread.url + "/ProfitRestServices/ProfitVersion",
            trust_env=False,
            headers={
                "Authorization": "AfasToken "
                + base64.b64encode(thread.simulator.token.encode()).decode()
            },
        )
        assert version.json() == {"version": "25.4.2"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "afas_tray.demo.afas",
            "--port",
            "0",
            "--relations",
            "150",
            "--token-data",
            TOKEN_DATA,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.split(" at ")[1].split()[0]
        rows = httpx.get(
            url + "/connectors/AfasTray_Organisaties",
            params={"take": 1000},
            headers=AUTH,
            trust_env=False,
        ).json()["rows"]
        assert len(rows) == 60
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --- sample data -----------------------------------------------------------------------------------


def _numbers(data: SampleData) -> dict[str, set[tuple[str, str]]]:
    """e164 -> {(kind, id)} over the three custom connectors."""
    found: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for connector, key, kind in (
        ("AfasTray_Organisaties", "BcId", "org"),
        ("AfasTray_Personen", "BcId", "person"),
        ("AfasTray_Contactpersonen", "Contact_id", "contact"),
    ):
        for row in data.rows(connector):
            for column, value in row.items():
                if column.startswith(("Telefoon", "Mobiel")) and (number := e164(value)):
                    found[number].add((kind, str(row[key])))
    return found


@pytest.mark.parametrize(("relations", "seed"), [(100, 1), (3000, 99)])
def test_known_entries_match_what_they_promise(relations: int, seed: int) -> None:
    found = _numbers(SampleData(relations, seed))
    assert found[KNOWN["org_unique"].e164] == {("org", KNOWN["org_unique"].bcids[0])}
    assert found[KNOWN["person_mobile"].e164] == {("person", KNOWN["person_mobile"].bcids[0])}
    shared = KNOWN["shared_two_orgs"]
    assert found[shared.e164] == {("org", b) for b in shared.bcids} and len(set(shared.bcids)) == 2
    main = KNOWN["org_main_on_contacts"]
    assert found[main.e164] == {("org", main.bcids[0])} | {("contact", c) for c in main.contact_ids}
    direct = KNOWN["contact_direct"]
    assert found[direct.e164] == {("contact", direct.contact_ids[0])}
    assert KNOWN["no_match"].e164 not in found
    data = SampleData(relations, seed)
    for cid in (*main.contact_ids, *direct.contact_ids):
        contact = data.find_contact(cid)
        assert contact is not None
    assert str(org_of(data, main.contact_ids[0])) == main.bcids[0]
    assert str(org_of(data, direct.contact_ids[0])) == direct.bcids[0]


def org_of(data: SampleData, cid: str) -> int:
    row = next(r for r in data.rows("AfasTray_Contactpersonen") if str(r["Contact_id"]) == cid)
    return int(row["Organisatie_BcId"])


def test_phone_numbers_are_written_the_many_ways_people_type_them() -> None:
    data = SampleData(3000, 5)
    written = [
        v
        for r in itertools.chain(
            data.rows("AfasTray_Organisaties"),
            data.rows("AfasTray_Personen"),
            data.rows("AfasTray_Contactpersonen"),
        )
        for k, v in r.items()
        if k.startswith(("Telefoon", "Mobiel"))
    ]

    def some(pred: Any) -> bool:
        return any(isinstance(v, str) and pred(v) for v in written)

    assert some(lambda v: v.startswith("+31 (0)"))
    assert some(lambda v: v.startswith("0031"))
    assert some(lambda v: v.startswith("06 "))
    assert some(lambda v: v.startswith("+32 ") or v.startswith("0032 "))
    assert some(lambda v: "toestel" in v) and some(lambda v: " x" in v)
    assert some(lambda v: v in ("n.v.t.", "-", "+31"))
    assert None in written and "" in written
    assert len({e164(v) for v in written if e164(v)}) > 2000


def test_data_is_deterministic_lazy_and_dated_like_afas() -> None:
    a, b = SampleData(500, 11), SampleData(500, 11)
    assert list(a.rows("AfasTray_Personen")) == list(b.rows("AfasTray_Personen"))
    assert list(a.rows("AfasTray_Personen")) != list(SampleData(500, 12).rows("AfasTray_Personen"))
    started = time.monotonic()
    huge = SampleData(1_000_000, 1)
    last = list(huge.rows("AfasTray_Personen", huge.count("AfasTray_Personen") - 3))
    assert [r["BcId"] for r in last] == [1001 + 2 * j for j in range(599_997, 600_000)]
    assert time.monotonic() - started < 0.5
    for row in itertools.islice(a.rows("AfasTray_Contactpersonen"), 50):
        assert row["Gewijzigd_op"].endswith("Z")
        dt.datetime.fromisoformat(row["Gewijzigd_op"][:-1])


async def test_mutations_show_up_in_served_pages(afas_sim: AfasSimulator) -> None:
    data = afas_sim.data
    async with api(afas_sim) as http:

        async def all_orgs(take: int) -> list[dict[str, Any]]:
            rows: list[dict[str, Any]] = []
            while True:
                page = (
                    await http.get(
                        "/connectors/AfasTray_Organisaties",
                        params={"skip": len(rows), "take": take, "orderbyfieldids": "BcId"},
                    )
                ).json()["rows"]
                rows += page
                if len(page) < take:
                    return rows

        before = await all_orgs(7)
        data.delete_relation("1010")
        data.delete_relation("1002")
        data.change_phone("1006", "Mobiel_werk", "06-99999999")
        after = await all_orgs(7)
    assert [r["BcId"] for r in after] == [
        r["BcId"] for r in before if r["BcId"] not in (1002, 1010)
    ]
    changed = next(r for r in after if r["BcId"] == 1006)
    assert changed["Mobiel_werk"] == "06-99999999"
    assert changed["Gewijzigd_op"] > next(r for r in before if r["BcId"] == 1006)["Gewijzigd_op"]
    assert data.find_relation("1010") is None


# --- refusals as Profit's (issue 12, item 9) ------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"filterfieldids": "SbTx", "filtervalues": "x", "operatortypes": "6"},
        {"orderbyfieldids": "SbId"},
        {"filterfieldids": "MobWork", "filtervalues": "06", "operatortypes": "10"},
    ],
)
async def test_unknown_filter_or_sort_field_is_profits_500(
    afas_sim: AfasSimulator, params: dict[str, str]
) -> None:
    connector = "Profit_OrgPer" if "MobWork" in params.values() else "Profit_Subjects"
    async with api(afas_sim) as http:
        response = await http.get(f"/connectors/{connector}", params=params)
    assert response.status_code == 500
    body = response.json()
    assert body["externalMessage"].startswith("Connector field '")
    assert body["externalMessage"].endswith("' not found")
    assert set(body) == {"externalMessage", "errorNumber", "profitLogReference"}


async def test_skip_with_take_minus_one_is_an_error(afas_sim: AfasSimulator) -> None:
    async with api(afas_sim) as http:
        refused = await http.get("/connectors/Profit_Contacts", params={"skip": 0, "take": -1})
        everything = await http.get("/connectors/Profit_Contacts", params={"take": -1})
    assert refused.status_code == 500
    assert everything.status_code == 200
    assert len(everything.json()["rows"]) == afas_sim.data.count("Profit_Contacts")


async def test_connector_outside_the_app_connector_answers_401(afas_sim: AfasSimulator) -> None:
    afas_sim.leave_app_connector("AfasTray_Contactpersonen")
    afas_sim.leave_app_connector("KnSubject")
    async with api(afas_sim) as http:
        assert (await http.get("/ProfitVersion")).status_code == 200  # the token is fine
        assert (await http.get("/connectors/AfasTray_Contactpersonen")).status_code == 401
        assert (await http.get("/metainfo/get/AfasTray_Contactpersonen")).status_code == 401
        assert (await http.get("/connectors/AfasTray_Personen", params={"take": 1})).status_code == 200
        posted = await http.post("/connectors/KnSubject", json=knsubject({"StId": 7, "Ds": "x"}))
        assert posted.status_code == 401 and posted.content == b""
        meta = (await http.get("/MetaInfo")).json()
    assert "AfasTray_Contactpersonen" not in {c["id"] for c in meta["getConnectors"]}
    assert "KnSubject" not in {c["id"] for c in meta["updateConnectors"]}


async def test_standard_connectors_have_the_published_columns(afas_sim: AfasSimulator) -> None:
    import json

    spec_dir = SPECS / "afas"
    published: dict[str, set[str]] = {}
    for name, path in (("organisaties-en-personen.openapi.json", "/connectors/Profit_OrgPer"),
                       ("organisaties-en-personen.openapi.json", "/connectors/Profit_Contacts"),
                       ("dossiers-en-bijlagen.openapi.json", "/connectors/Profit_Subjects"),
                       ("dossiers-en-bijlagen.openapi.json", "/connectors/Profit_SubjectTypes")):
        if (spec_dir / name).exists():
            doc = json.loads((spec_dir / name).read_text(encoding="utf-8"))
            schema = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
            while "$ref" in schema or "rows" in schema.get("properties", {}) or schema.get("type") == "array":
                if "$ref" in schema:
                    node: Any = doc
                    for part in schema["$ref"].lstrip("#/").split("/"):
                        node = node[part]
                    schema = node
                elif schema.get("type") == "array":
                    schema = schema["items"]
                else:
                    schema = schema["properties"]["rows"]
            published[path.rsplit("/", 1)[1]] = set(schema["properties"])
    async with api(afas_sim) as http:
        served = {c: {f["id"] for f in (await http.get(f"/metainfo/get/{c}")).json()["fields"]}
                  for c in ("Profit_OrgPer", "Profit_Contacts", "Profit_Subjects",
                            "Profit_SubjectTypes")}
    assert "MobWork" not in served["Profit_OrgPer"] and "BcCo" in served["Profit_OrgPer"]
    assert {"CreateDate", "ModifiedDate"} <= served["Profit_Contacts"]
    assert {"SubjectId", "TypeId", "Subject", "Comment", "DateCreated", "OrgPersId",
            "ContactNr"} <= served["Profit_Subjects"]
    assert not {"SbId", "SbTx"} & served["Profit_Subjects"]
    for connector, columns in published.items():
        assert served[connector] <= columns, connector  # never a column Profit does not have
    # Profit_OrgPer's columns in AFAS's organisaties-en-personen.openapi.json (2 MB, not copied).
    assert served["Profit_OrgPer"] == {
        "BcCo", "Type", "SearchName", "Name", "AdressLine1", "AdressLine3", "AdressLine4",
        "TelWork", "MailWork", "Homepage", "Note", "ChOfCommNr", "DateBirth", "BSN"}


async def test_type_that_forbids_attachments_is_refused(afas_sim: AfasSimulator) -> None:
    from afas_tray.demo.afas import SubjectType

    afas_sim.subject_types[7] = SubjectType(attachments=False)
    objects = [{"KnSubjectAttachment": {"Element": [
        {"Fields": {"FileName": "a.mp3", "FileStream": base64.b64encode(b"ID3").decode()}}]}}]
    async with api(afas_sim) as http:
        refused = await http.post("/connectors/KnSubject",
                                  json=knsubject({"StId": 7, "Ds": "x"}, objects))
        plain = await http.post("/connectors/KnSubject", json=knsubject({"StId": 7, "Ds": "x"}))
        minus_five = await http.post("/connectors/KnSubject", json=knsubject({"StId": -5, "Ds": "x"}))
    assert refused.status_code == 500 and "bijlagen" in refused.json()["externalMessage"]
    assert plain.status_code == 201 and minus_five.status_code == 201
    assert len(afas_sim.subjects) == 2
