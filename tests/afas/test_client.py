"""AfasClient against the simulated Profit over real loopback HTTP."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import httpx
import pytest

from afas_tray.afas import (
    AfasAuthError,
    AfasBadReply,
    AfasClient,
    AfasConnectionError,
    AfasError,
    AfasForbidden,
    AfasNotFound,
    AfasQueryTooLong,
    AfasServerError,
    AfasTimeout,
    AfasTokenError,
    AfasTooLarge,
    AfasUnavailable,
    Filter,
    Op,
    auth_header,
    encode_filters,
    page_size,
)
from afas_tray.demo.afas import AfasSimulator
from tests.helpers.afas import TOKEN_DATA

XML = f"<token><version>1</version><data>{TOKEN_DATA}</data></token>"


def subject(ds: str = "Gesprek met klant", bcid: str = "1006", **extra: Any) -> dict[str, Any]:
    fields = {"StId": 7, "Ds": ds, "SbTx": "Terugbellen graag", **extra}
    return {
        "KnSubject": {
            "Element": {
                "Fields": fields,
                "Objects": [
                    {"KnSubjectLink": {"Element": [{"Fields": {"ToBC": True, "BcId": bcid}}]}}
                ],
            }
        }
    }


def assert_no_token(exc: BaseException) -> None:
    for text in (
        str(exc),
        repr(exc),
        getattr(exc, "text", None) and exc.text.en,
        getattr(exc, "text", None) and exc.text.nl,
    ):
        assert TOKEN_DATA not in (text or "")
        assert base64.b64encode(XML.encode()).decode() not in (text or "")


# --- token forms ---------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["xml", "data", "base64", "xml-with-spaces"])
async def test_every_token_form_is_accepted_by_profit(afas_sim: AfasSimulator, form: str) -> None:
    spaced = "  \n" + XML.replace("><data>", ">\n  <data>") + "\n"
    token = {
        "xml": XML,
        "data": TOKEN_DATA,
        "base64": base64.b64encode(XML.encode()).decode(),
        "xml-with-spaces": spaced,
    }[form]
    if form != "xml-with-spaces":
        assert auth_header(token) == "AfasToken " + base64.b64encode(XML.encode()).decode()
    async with AfasClient(afas_sim.url, token) as client:
        assert await client.profit_version() == "25.4.2"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "hello world",
        "1234",
        "<token><data>zz</data></token>",
        base64.b64encode(b"<x/>").decode(),
    ],
)
def test_unrecognised_token_is_refused_without_echoing_it(bad: str) -> None:
    with pytest.raises(AfasTokenError) as info:
        auth_header(bad)
    assert info.value.text.nl and info.value.text.en != info.value.text.nl
    if len(bad) > 4:
        assert bad not in str(info.value) and bad not in repr(info.value)


async def test_wrong_token_is_401_and_not_retried(afas_sim: AfasSimulator) -> None:
    async with AfasClient(afas_sim.url, "AB" * 32, backoff_base=0.01) as client:
        with pytest.raises(AfasAuthError) as info:
            await client.profit_version()
        assert client.requests_made == 1
    assert info.value.status == 401
    assert "AB" * 32 not in str(info.value) + repr(info.value)


# --- paging ----------------------------------------------------------------------------------------


async def test_paging_exact_multiple_ends_with_one_empty_page(
    afas_sim: AfasSimulator, afas_client: AfasClient
) -> None:
    pages = [
        p async for p in afas_client.iter_pages("AfasTray_Organisaties", order_by=["BcId"], take=20)
    ]
    assert [len(p) for p in pages] == [20, 20, 20, 20]  # 80 organisations
    assert afas_client.requests_made == 5  # the fifth answers with no rows
    ids = [r["BcId"] for p in pages for r in p]
    assert ids == sorted(ids) and len(set(ids)) == 80


async def test_paging_short_last_page_stops_without_extra_request(afas_client: AfasClient) -> None:
    pages = [
        p
        async for p in afas_client.iter_pages(
            "AfasTray_Contactpersonen", order_by=["Contact_id"], take=25
        )
    ]
    assert [len(p) for p in pages] == [25, 25, 10]
    assert afas_client.requests_made == 3


async def test_empty_connector_yields_nothing(afas_client: AfasClient) -> None:
    rows = [r async for r in afas_client.iter_rows("Profit_Subjects", order_by=["SubjectId"], take=50)]
    assert rows == []
    assert afas_client.requests_made == 1


async def test_page_size_from_metainfo_and_descending_order(
    afas_sim: AfasSimulator, afas_client: AfasClient
) -> None:
    rows = [r async for r in afas_client.iter_rows("AfasTray_Personen", order_by=["-BcId"])]
    assert len(rows) == 120
    assert [r["BcId"] for r in rows] == sorted((r["BcId"] for r in rows), reverse=True)
    assert afas_client.requests_made == 2  # metainfo + one page of up to 5000


def test_page_size_keeps_under_afas_limits() -> None:
    assert page_size(6) == 5000
    assert page_size(200) == 750  # 150,000 cells
    assert page_size(None, 100_000) == 5000
    assert page_size(8, 10) == 10


async def test_consumer_stopping_early_leaves_no_request_running(
    afas_sim: AfasSimulator, afas_client: AfasClient
) -> None:
    async for page in afas_client.iter_pages("AfasTray_Organisaties", order_by=["BcId"], take=10):
        assert len(page) == 10
        break
    await asyncio.sleep(0.05)
    assert afas_sim.in_flight == 0
    assert afas_client.requests_made <= 2


async def test_order_by_is_required(afas_client: AfasClient) -> None:
    with pytest.raises(ValueError):
        async for _ in afas_client.iter_pages("AfasTray_Organisaties", order_by=[]):
            pass


# --- filters ---------------------------------------------------------------------------------------


def _cf(v: Any) -> str:
    return "" if v is None else str(v).casefold()


OPERATOR_CASES: list[tuple[Filter, Any]] = [
    (Filter("Nummer", Op.EQ, "1000003"), lambda r: r["Nummer"] == "1000003"),
    (Filter("BcId", Op.GE, 1100), lambda r: r["BcId"] >= 1100),
    (Filter("BcId", Op.LE, 1020), lambda r: r["BcId"] <= 1020),
    (Filter("BcId", Op.GT, 1100), lambda r: r["BcId"] > 1100),
    (Filter("BcId", Op.LT, 1020), lambda r: r["BcId"] < 1020),
    (Filter("Naam", Op.CONTAINS, "linde"), lambda r: "linde" in _cf(r["Naam"])),
    (Filter("Nummer", Op.NE, "1000003"), lambda r: r["Nummer"] != "1000003"),
    (Filter("Mobiel_werk", Op.EMPTY), lambda r: not r["Mobiel_werk"]),
    (Filter("Mobiel_werk", Op.NOT_EMPTY), lambda r: bool(r["Mobiel_werk"])),
    (
        Filter("Telefoon_werk", Op.STARTS_WITH, "+31"),
        lambda r: _cf(r["Telefoon_werk"]).startswith("+31"),
    ),
    (Filter("Naam", Op.NOT_CONTAINS, "b.v."), lambda r: "b.v." not in _cf(r["Naam"])),
    (
        Filter("Telefoon_werk", Op.NOT_STARTS_WITH, "0"),
        lambda r: not _cf(r["Telefoon_werk"]).startswith("0"),
    ),
    (Filter("Naam", Op.ENDS_WITH, "B.V."), lambda r: _cf(r["Naam"]).endswith("b.v.")),
    (Filter("Naam", Op.NOT_ENDS_WITH, "B.V."), lambda r: not _cf(r["Naam"]).endswith("b.v.")),
    (
        Filter("Gewijzigd_op", Op.GE, "2021-01-01T00:00:00"),
        lambda r: r["Gewijzigd_op"] >= "2021-01-01T00:00:00",
    ),
]


async def test_every_filter_operator_selects_the_right_rows(afas_client: AfasClient) -> None:
    everything = [
        r async for r in afas_client.iter_rows("AfasTray_Organisaties", order_by=["BcId"], take=500)
    ]
    assert len(everything) == 80
    for flt, expect in OPERATOR_CASES:
        got = [
            r["BcId"]
            async for r in afas_client.iter_rows(
                "AfasTray_Organisaties", order_by=["BcId"], filters=[flt], take=500
            )
        ]
        wanted = [r["BcId"] for r in everything if expect(r)]
        assert got == wanted, f"operator {int(flt.op)}"
        assert 0 < len(got) < 80 or int(flt.op) in (7, 11, 12, 14), (
            f"operator {int(flt.op)} case is too weak"
        )


async def test_and_within_group_or_between_groups(afas_client: AfasClient) -> None:
    and_rows = [
        r["BcId"]
        async for r in afas_client.iter_rows(
            "AfasTray_Organisaties",
            order_by=["BcId"],
            take=100,
            filters=[Filter("BcId", Op.GE, 1006), Filter("BcId", Op.LE, 1010)],
        )
    ]
    assert and_rows == [1006, 1008, 1010]
    or_rows = [
        r["BcId"]
        async for r in afas_client.iter_rows(
            "AfasTray_Organisaties",
            order_by=["BcId"],
            take=100,
            filters=[
                [Filter("BcId", Op.EQ, 1006)],
                [Filter("Nummer", Op.EQ, "1000005"), Filter("BcId", Op.GT, 0)],
            ],
        )
    ]
    assert or_rows == [1006, 1010]


def test_filters_are_encoded_as_afas_expects() -> None:
    params = encode_filters(
        [
            [Filter("A", Op.EQ, "x"), Filter("B", Op.EMPTY, "ignored")],
            [Filter("C", Op.CONTAINS, True)],
        ]
    )
    assert params == {
        "filterfieldids": "A,B;C",
        "filtervalues": "x,;true",
        "operatortypes": "1,8;6",
    }
    with pytest.raises(ValueError):
        Filter("Naam", Op.EQ, "a,b")
    with pytest.raises(ValueError):
        Filter("Naam", 15, "x")


async def test_too_long_query_is_refused_before_sending(afas_client: AfasClient) -> None:
    groups = [[Filter("Telefoon_werk", Op.CONTAINS, f"0{n:09d}")] for n in range(120)]
    with pytest.raises(AfasQueryTooLong) as info:
        async for _ in afas_client.iter_pages(
            "AfasTray_Organisaties", order_by=["BcId"], filters=groups, take=10
        ):
            pass
    assert afas_client.requests_made == 0
    assert "AfasTray_Organisaties" in str(info.value)


# --- errors ----------------------------------------------------------------------------------------


async def test_unknown_connector_names_it(afas_client: AfasClient) -> None:
    with pytest.raises(AfasNotFound) as info:
        await afas_client.metainfo("Klanten_Met_Typfout")
    assert (
        "Klanten_Met_Typfout" in info.value.text.en and "Klanten_Met_Typfout" in info.value.text.nl
    )
    assert afas_client.requests_made == 1
    assert_no_token(info.value)


async def test_wrong_url_is_not_found(afas_sim: AfasSimulator) -> None:
    async with AfasClient(afas_sim.url + "/verkeerd", TOKEN_DATA) as client:
        with pytest.raises(AfasNotFound):
            await client.profit_version()


async def test_ip_restriction_is_forbidden_after_a_few_retries(
    afas_sim: AfasSimulator, afas_client: AfasClient
) -> None:
    afas_sim.allowed_ips = {"192.0.2.10"}
    with pytest.raises(AfasForbidden) as info:
        await afas_client.profit_version()
    # AFAS answers passing 403s under load: retried (with backoff) before it is believed.
    assert info.value.status == 403
    assert afas_client.requests_made == 1 + afas_client.forbidden_retries == 4
    assert_no_token(info.value)


async def test_passing_403s_are_retried_also_for_a_post(
    afas_sim: AfasSimulator, afas_client: AfasClient
) -> None:
    afas_sim.fail_next(3, 403)
    assert await afas_client.profit_version()
    assert afas_client.requests_made == 4
    # Refused before Profit handles it, so a POST goes again and arrives once.
    afas_sim.fail_next(2, 403)
    body = {"KnSubject": {"Element": {"Fields": {"StId": 7, "Ds": "403", "SbTx": "t"}}}}
    assert await afas_client.post_subject(body)
    assert [s.subject for s in afas_sim.subjects] == ["403"]


async def test_server_error_carries_profit_message_and_is_not_retried(
    afas_sim: AfasSimulator, afas_client: AfasClient
) -> None:
    afas_sim.fail_next(1, 500)
    with pytest.raises(AfasServerError) as info:
        await afas_client.list_connectors()
    err = info.value
    assert err.external_message == "Er is een onverwachte fout opgetreden."
    assert len(err.profit_log_reference) == 32 and err.profit_log_reference in str(err)
    assert err.error_number == -2146232832
    assert afas_client.requests_made == 1
    assert_no_token(err)


async def test_validation_error_of_knsubject_is_a_server_error(
    afas_sim: AfasSimulator, afas_client: AfasClient
) -> None:
    with pytest.raises(AfasServerError) as info:
        await afas_client.post_subject(subject(ds=""))
    assert "Onderwerp" in info.value.external_message
    assert afas_client.requests_made == 1 and afas_sim.subjects == []


async def test_503_waits_retry_after_then_succeeds(
    afas_sim: AfasSimulator, afas_client: AfasClient
) -> None:
    afas_sim.fail_next(1, 503, retry_after=1)
    started = time.monotonic()
    assert await afas_client.profit_version() == "25.4.2"
    assert time.monotonic() - started >= 0.95
    assert afas_client.requests_made == 2


async def test_long_maintenance_is_reported_not_waited_for(
    afas_sim: AfasSimulator, afas_client: AfasClient
) -> None:
    afas_sim.fail_next(1, 503, retry_after=7200)
    with pytest.raises(AfasUnavailable) as info:
        await afas_client.profit_version()
    assert info.value.retry_after == 7200 and afas_client.requests_made == 1


async def test_get_timeout_is_retried(afas_sim: AfasSimulator) -> None:
    afas_sim.fail_next(1, "timeout")
    async with AfasClient(afas_sim.url, TOKEN_DATA, timeout=0.3, backoff_base=0.01) as client:
        rows = [
            r async for r in client.iter_rows("AfasTray_Organisaties", order_by=["BcId"], take=100)
        ]
        assert len(rows) == 80
        assert client.requests_made == 2


async def test_post_that_may_have_arrived_is_not_repeated(afas_sim: AfasSimulator) -> None:
    afas_sim.fail_next(1, "timeout")
    async with AfasClient(afas_sim.url, TOKEN_DATA, timeout=0.3, backoff_base=0.01) as client:
        with pytest.raises(AfasTimeout) as info:
            await client.post_subject(subject())
        assert info.value.maybe_sent is True
        assert client.requests_made == 1
    await asyncio.sleep(0.1)
    assert afas_sim.requests == 1
    assert len(afas_sim.subjects) == 1  # it did arrive: a blind retry would have doubled it
    assert_no_token(info.value)


async def test_unreachable_host_is_retried_and_safe_to_post_again(unused_tcp_port: int) -> None:
    async with AfasClient(
        f"http://127.0.0.1:{unused_tcp_port}", TOKEN_DATA, retries=2, backoff_base=0.01
    ) as client:
        with pytest.raises(AfasConnectionError) as info:
            await client.post_subject(subject())
        assert info.value.maybe_sent is False
        assert client.requests_made == 3
    assert_no_token(info.value)


async def test_body_over_75_mb_is_too_large(
    afas_sim: AfasSimulator, afas_client: AfasClient
) -> None:
    big = (
        b'{"KnSubject":{"Element":{"Fields":{"StId":7,"Ds":"x","FileStream":"'
        + b"A" * (75 * 1024 * 1024)
        + b'"}}}}'
    )
    with pytest.raises(AfasTooLarge):
        await afas_client.post_subject(big)
    assert afas_client.requests_made == 1 and afas_sim.subjects == []


async def test_answer_that_is_not_json_is_a_bad_reply() -> None:
    # A captive portal answering 200 with HTML: a real Profit cannot produce this.
    transport = httpx.MockTransport(
        lambda request: httpx.Response(
            200, text="<html>Log in to Wi-Fi</html>", headers={"Content-Type": "text/html"}
        )
    )
    async with AfasClient(
        "https://12345.rest.afas.online", TOKEN_DATA, transport=transport
    ) as client:
        with pytest.raises(AfasBadReply) as info:
            await client.profit_version()
    assert "text/html" in str(info.value)
    assert_no_token(info.value)


def test_no_error_text_ever_holds_the_token() -> None:
    import afas_tray.afas.errors as errors_module

    samples: list[AfasError] = [
        errors_module.AfasTokenError(),
        AfasAuthError("X"),
        AfasForbidden(),
        AfasNotFound("X"),
        AfasServerError("msg", 1, "REF"),
        AfasUnavailable(3),
        errors_module.AfasTooLarge(),
        AfasConnectionError("https://h", maybe_sent=True),
        AfasTimeout(1, maybe_sent=False),
        AfasBadReply("x"),
        AfasQueryTooLong("X", 3000),
    ]
    for exc in samples:
        assert exc.text.en and exc.text.nl and exc.text.en != exc.text.nl
        assert_no_token(exc)


# --- concurrency and posting -------------------------------------------------------------------


async def test_at_most_five_requests_in_flight(
    afas_sim: AfasSimulator, afas_client: AfasClient
) -> None:
    afas_sim.latency = 0.05
    results = await asyncio.gather(*(afas_client.profit_version() for _ in range(20)))
    assert results == ["25.4.2"] * 20
    assert afas_sim.peak_concurrent == 5


async def test_posted_subject_can_be_found_again(
    afas_sim: AfasSimulator, afas_client: AfasClient
) -> None:
    import json

    body = subject(SbTx="Xelion call 42 [afas-tray:call-42]")
    sb_id = await afas_client.post_subject(json.dumps(body).encode())
    assert sb_id == "50001"
    rows = [
        r
        async for r in afas_client.iter_rows(
            "Profit_Subjects",
            order_by=["SubjectId"],
            take=10,
            filters=[Filter("Comment", Op.CONTAINS, "afas-tray:call-42")],
        )
    ]
    # Read back through Profit_Subjects' own columns; OrgPersId holds the relation's number.
    assert [(r["SubjectId"], r["OrgPersId"], r["Subject"]) for r in rows] == [
        (50001, "1000003", "Gesprek met klant")
    ]
    attachment = {
        "KnSubject": {
            "Element": {
                "@SbId": 50001,
                "Objects": [
                    {
                        "KnSubjectAttachment": {
                            "Element": [
                                {
                                    "Fields": {
                                        "FileName": "call.mp3",
                                        "FileStream": base64.b64encode(
                                            b"ID3" + bytes(997)
                                        ).decode(),
                                    }
                                }
                            ]
                        }
                    }
                ],
            }
        }
    }
    assert await afas_client.post_subject_attachment(attachment) == "50001"
    assert afas_sim.subjects[0].attachments == [("call.mp3", 1000)]


@pytest.mark.parametrize("connector,key", [("AfasTray_Organisaties", "BcId"),
                                           ("AfasTray_Contactpersonen", "Contact_id"),
                                           ("Profit_Contacts", "ContactId")])
async def test_keyset_paging_gives_the_rows_skip_paging_gives(
    afas_sim: AfasSimulator, afas_client: AfasClient, connector: str, key: str
) -> None:
    """Past ``keyset_after`` rows the pages ask "key > last" (operator 4) instead of a deep
    skip (AFAS: past 100,000 skip is no longer fast); the rows are the same, in the same order."""
    from afas_tray.afas import Filter, Op

    async def rows(keyset: str | None, filters: list[Filter] | None = None) -> list[Any]:
        got = []
        async for page in afas_client.iter_pages(connector, order_by=[key], take=37,
                                                 keyset=keyset, filters=filters or ()):
            got.extend(r[key] for r in page)
        return got

    afas_client.keyset_after = 100
    by_skip = await rows(None)
    by_key = await rows(key)
    assert by_key == by_skip and len(by_skip) == afas_sim.data.count(connector)
    assert len(set(by_key)) == len(by_key) and by_key == sorted(by_key)
    # What went over the wire: skips up to 100 rows, then "key > last" from skip 0.
    sent: list[httpx.QueryParams] = []

    class Recording(httpx.AsyncHTTPTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            sent.append(request.url.params)
            return await super().handle_async_request(request)

    async with AfasClient(afas_sim.url, TOKEN_DATA, transport=Recording()) as client:
        client.keyset_after = 100
        assert [r[key] async for r in client.iter_rows(connector, order_by=[key], take=37,
                                                       keyset=key)] == by_skip
    assert max(int(p["skip"]) for p in sent) <= 100
    keyed = [p for p in sent if p.get("operatortypes") == "4"]
    assert len(sent) - len(keyed) == min(3, len(sent))  # skip 0, 37, 74; then by key
    assert all(p["filterfieldids"] == key for p in keyed)
    # With a filter of its own (the simulator's generic path) the key is ANDed to it.
    some = [Filter(key, Op.GE, by_skip[10])]
    assert await rows(key, some) == await rows(None, some) == by_skip[10:]
