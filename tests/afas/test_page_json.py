"""The page parser that runs beside the UI's loop gives exactly what ``json.loads`` gives: the
same rows for every page, the same refusal for what is not JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest

from afas_tray.afas import AfasClient, page_json
from afas_tray.afas.client import PARSE_ON_THREAD_BYTES
from afas_tray.demo.afas import AfasSimulator


def _same_as_json(text: str | bytes) -> None:
    try:
        expected: Any = ("value", json.loads(text))
    except ValueError as exc:
        expected = ("error", type(exc), str(exc))
    try:
        got: Any = ("value", page_json.loads(text))
    except ValueError as exc:
        got = ("error", type(exc), str(exc))
    assert got == expected


def _page(rows: list[dict[str, Any]], **dumps: Any) -> str:
    return json.dumps({"skip": 0, "take": len(rows), "rows": rows}, **dumps)


ROWS = [{"BcId": n, "Name": f"Relatie {n} ëü", "TeNr": "020-555 01 01", "MbNr": None,
         "Score": n / 7, "Actief": n % 2 == 0} for n in range(3000)]


@pytest.mark.parametrize("text", [
    _page(ROWS),
    _page(ROWS, separators=(",", ":")),
    _page(ROWS, indent=2),  # whitespace between rows: no "}," to cut at
    _page(ROWS, ensure_ascii=False),
    _page([]),
    _page(ROWS[:1]),
    # A row's text holding the very characters the slices are cut at.
    _page([{**r, "Name": 'a },{"BcId": 1} ],[ "'} for r in ROWS]),
    _page([{"a": {"nested": [1, {"b": 2}]}, "c": [3]} for _ in range(3000)]),
    json.dumps({"rows": ROWS, "after": {"x": [1, 2]}, "rows2": ROWS[:5]}),
    '{"rows": [1, 2, 3]}',
    '{"a": 1, "a": 2}',
    '  {"rows" : [ ] , "b" : [ 1 ] }  ',
    '{"a": NaN, "b": -Infinity}',
])
def test_the_value_is_json_loads_value(text: str) -> None:
    _same_as_json(text)
    _same_as_json(text.encode("utf-8"))


@pytest.mark.parametrize("text", [
    "", "   ", "{", "}", '{"rows": [1, 2,]}', '{"rows": [1, 2}', '{"a": 1,}', '{"a" 1}',
    '{"a": 1} x', '{"a": 1}{}', '[1, 2]', '"text"', "\ufeff{}", "<html>Service Unavailable</html>",
    _page(ROWS)[:-7], _page(ROWS) + ",", _page(ROWS).replace('"BcId": 2999', '"BcId": 2999,'),
])
def test_what_is_not_json_is_refused_as_json_loads_refuses_it(text: str) -> None:
    _same_as_json(text)
    _same_as_json(text.encode("utf-8"))


def test_utf16_and_bytes_are_read_as_json_loads_reads_them() -> None:
    text = _page(ROWS[:200])
    for encoding in ("utf-8", "utf-8-sig", "utf-16", "utf-32"):
        assert page_json.loads(text.encode(encoding)) == json.loads(text.encode(encoding))


async def test_a_large_page_from_the_simulator_arrives_whole() -> None:
    async with AfasSimulator(relations=12_000, seed=5) as sim, \
            AfasClient(sim.url, sim.token) as client:
        response = await client._request("GET", "/connectors/AfasTray_Personen",
                                         params={"skip": "0", "take": "5000"})
        assert len(response.content) > PARSE_ON_THREAD_BYTES  # a page for the worker thread
        rows: list[dict[str, Any]] = []
        async for page in client.iter_pages("AfasTray_Personen", order_by=["BcId"],
                                            fields_count=9):
            rows += page
    assert rows and rows == list(sim.data.rows("AfasTray_Personen"))
