"""Loopback HTTP trigger: a phone's action URL pops a call; nothing else gets through."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from afas_tray.config import new_trigger_secret as new_secret
from afas_tray.events import CallEvent, CallSource
from afas_tray.pop.trigger_http import (
    PORT_RANGE,
    TriggerPortInUse,
    TriggerServer,
    default_port_for_user,
    preferred_port,
)
from afas_tray.system.paths import app_paths

SECRET = "s3cret-" + "k" * 20


class Trigger:
    def __init__(self, server: TriggerServer, events: list[CallEvent]) -> None:
        self.server = server
        self.events = events
        self.base = f"http://127.0.0.1:{server.port}"


@pytest.fixture
async def trigger() -> AsyncIterator[Trigger]:
    events: list[CallEvent] = []
    server = TriggerServer(events.append, SECRET)
    await server.start()
    try:
        yield Trigger(server, events)
    finally:
        await server.stop()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as c:
        yield c


def reply(resp: httpx.Response) -> dict[str, object]:
    assert resp.headers["content-type"].startswith("application/json")
    data = json.loads(resp.text)
    assert isinstance(data, dict)
    assert SECRET not in resp.text
    return data


async def test_call_with_secret_pops(trigger: Trigger, client: httpx.AsyncClient) -> None:
    resp = await client.get(
        f"{trigger.base}/call",
        params={"number": "+31 20 123 4567", "callId": "x1", "secret": SECRET},
    )
    assert resp.status_code == 200 and reply(resp) == {"ok": True}
    assert len(trigger.events) == 1
    event = trigger.events[0]
    assert (event.number, event.call_id, event.source) == ("+31 20 123 4567", "x1", CallSource.HTTP)


async def test_literal_plus_in_query_is_the_number_plus(
    trigger: Trigger, client: httpx.AsyncClient
) -> None:
    # Desk phones put the caller's number into the URL as is: "+31…", not "%2B31…".
    resp = await client.get(f"{trigger.base}/call?number=+31612345678&secret={SECRET}")
    assert resp.status_code == 200
    assert trigger.events[0].number == "+31612345678"


async def test_post_with_header_secret_and_form_or_json_body(
    trigger: Trigger, client: httpx.AsyncClient
) -> None:
    headers = {"X-AFAS-Tray-Secret": SECRET}
    resp = await client.post(f"{trigger.base}/call", data={"number": "0201234567"}, headers=headers)
    assert resp.status_code == 200
    resp = await client.post(
        f"{trigger.base}/call/", json={"number": "0207654321", "callId": "j"}, headers=headers
    )
    assert resp.status_code == 200
    assert [(e.number, e.call_id) for e in trigger.events] == [
        ("0201234567", ""),
        ("0207654321", "j"),
    ]


@pytest.mark.parametrize(
    ("params", "headers"),
    [
        ({"number": "0612345678"}, {}),
        ({"number": "0612345678", "secret": ""}, {}),
        ({"number": "0612345678", "secret": "wrong"}, {}),
        ({"number": "0612345678", "secret": SECRET[:-1]}, {}),
        ({"number": "0612345678", "secret": SECRET + "x"}, {}),
        ({"number": "0612345678"}, {"X-AFAS-Tray-Secret": "wrong"}),
        ({"number": "0612345678", "secret": SECRET}, {"X-AFAS-Tray-Secret": "wrong"}),
        ({"number": "junk", "secret": "wrong"}, {}),  # refused as 403: the secret comes first
    ],
)
async def test_wrong_or_missing_secret_is_403(
    trigger: Trigger, client: httpx.AsyncClient, params: dict[str, str], headers: dict[str, str]
) -> None:
    resp = await client.get(f"{trigger.base}/call", params=params, headers=headers)
    assert resp.status_code == 403
    assert "0612345678" not in resp.text
    assert reply(resp) == {"error": "forbidden"}
    assert trigger.events == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://127.0.0.1"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
async def test_requests_from_browser_pages_are_403_even_with_the_secret(
    trigger: Trigger, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    params = {"number": "0612345678", "secret": SECRET}
    resp = await client.get(f"{trigger.base}/call", params=params, headers=headers)
    assert resp.status_code == 403
    assert trigger.events == []


async def test_typed_in_address_bar_is_allowed(trigger: Trigger, client: httpx.AsyncClient) -> None:
    # A user testing the URL by hand: the browser sends Sec-Fetch-Site: none and no Origin.
    params = {"number": "0612345678", "secret": SECRET}
    resp = await client.get(
        f"{trigger.base}/call", params=params, headers={"Sec-Fetch-Site": "none"}
    )
    assert resp.status_code == 200


async def test_foreign_host_is_403_dns_rebinding(
    trigger: Trigger, client: httpx.AsyncClient
) -> None:
    params = {"number": "0612345678", "secret": SECRET}
    port = trigger.server.port
    for host in (
        f"evil.example:{port}",
        "127.0.0.1",
        f"127.0.0.1:{port + 1}",
        f"127.0.0.1.evil.example:{port}",
    ):
        resp = await client.get(f"{trigger.base}/call", params=params, headers={"Host": host})
        assert resp.status_code == 403, host
    assert trigger.events == []
    resp = await client.get(
        f"{trigger.base}/call", params=params, headers={"Host": f"localhost:{port}"}
    )
    assert resp.status_code == 200


async def test_an_absolute_form_target_for_another_host_is_403(trigger: Trigger) -> None:
    """``GET http://evil.example/call?…`` with our own Host header: the target's host names the
    server (RFC 9112 3.2.2), so it is a foreign host — found by bench/local_doors_fuzz.py."""
    port = trigger.server.port
    query = f"number=0612345678&secret={quote(SECRET)}"

    async def send(target: str) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                     "Connection: close\r\n\r\n".encode())
        await writer.drain()
        reply = await reader.read(-1)
        writer.close()
        return reply.split(b"\r\n", 1)[0]

    for target in (f"http://evil.example/call?{query}", f"http://127.0.0.1:{port}/call?{query}"):
        assert await send(target) == b"HTTP/1.1 403 Forbidden", target
    assert trigger.events == []
    assert await send(f"/call?{query}") == b"HTTP/1.1 200 OK"
    assert len(trigger.events) == 1


@pytest.mark.parametrize(
    "number",
    ["", "junk", "06-abc", "0612345678\n", "+", "1" * 25, "https://evil.example/", "06%00"],
)
async def test_malformed_number_is_400(
    trigger: Trigger, client: httpx.AsyncClient, number: str
) -> None:
    resp = await client.get(f"{trigger.base}/call", params={"number": number, "secret": SECRET})
    assert resp.status_code == 400
    assert trigger.events == []


async def test_missing_number_and_duplicate_parameters_are_400(
    trigger: Trigger, client: httpx.AsyncClient
) -> None:
    assert (await client.get(f"{trigger.base}/call", params={"secret": SECRET})).status_code == 400
    resp = await client.get(f"{trigger.base}/call?number=1&number=2&secret={SECRET}")
    assert resp.status_code == 400
    assert trigger.events == []


async def test_only_number_and_call_id_reach_the_event(
    trigger: Trigger, client: httpx.AsyncClient
) -> None:
    params = {
        "number": "0612345678",
        "secret": SECRET,
        "url": "https://evil.example/",
        "bcid": "BCID-XYZ",
    }
    assert (await client.get(f"{trigger.base}/call", params=params)).status_code == 200
    assert "evil" not in repr(trigger.events) and "BCID-XYZ" not in repr(trigger.events)
    assert SECRET not in repr(trigger.events)


async def test_other_methods_paths_and_big_bodies(
    trigger: Trigger, client: httpx.AsyncClient
) -> None:
    url = f"{trigger.base}/call?number=0612345678&secret={SECRET}"
    resp = await client.put(url)
    assert resp.status_code == 405 and resp.headers["Allow"] == "GET, POST"
    assert (await client.delete(url)).status_code == 405
    assert (
        await client.get(f"{trigger.base}/open?number=0612345678&secret={SECRET}")
    ).status_code == 404
    resp = await client.post(
        url, content=b"x" * 100_000, headers={"Content-Type": "application/octet-stream"}
    )
    assert resp.status_code == 413
    assert (
        await client.post(url, content=b"<xml/>", headers={"Content-Type": "text/xml"})
    ).status_code == 415
    assert trigger.events == []


async def test_flood_is_rate_limited(trigger: Trigger, client: httpx.AsyncClient) -> None:
    url = f"{trigger.base}/call?number=0612345678&secret={SECRET}"
    statuses = [(await client.get(url)).status_code for _ in range(40)]
    assert statuses[:20] == [200] * 20  # the burst
    assert statuses.count(429) >= 10
    assert len(trigger.events) == statuses.count(200)
    # Wrong secrets are counted too, so guessing is throttled the same way.
    wrong = [
        (await client.get(f"{trigger.base}/call?number=1&secret=guess{i}")).status_code
        for i in range(10)
    ]
    assert wrong.count(429) >= 5
    await asyncio.sleep(0.3)  # the bucket refills at 10/s
    assert (await client.get(url)).status_code == 200


async def test_a_failing_receiver_does_not_take_the_trigger_down(client: httpx.AsyncClient) -> None:
    calls: list[CallEvent] = []

    def flaky(event: CallEvent) -> None:
        calls.append(event)
        if len(calls) == 1:
            raise RuntimeError("boom")

    server = TriggerServer(flaky, SECRET)
    port = await server.start()
    try:
        url = f"http://127.0.0.1:{port}/call?number=0612345678&secret={SECRET}"
        first = await client.get(url)
        assert first.status_code == 500 and "boom" not in first.text
        assert (await client.get(url)).status_code == 200
    finally:
        await server.stop()


def _non_loopback_ipv4() -> list[str]:
    found = ["127.0.0.2"]  # on Linux all of 127/8 is loopback: a wildcard bind would answer here
    for addrs in psutil.net_if_addrs().values():
        for addr in addrs:
            if addr.family == socket.AF_INET and not ipaddress.ip_address(addr.address).is_loopback:
                found.append(addr.address)
    return found


async def test_bound_to_127_0_0_1_only(trigger: Trigger) -> None:
    with pytest.raises(TypeError):
        TriggerServer(lambda e: None, SECRET, 0, host="0.0.0.0")  # type: ignore[call-arg]
    for address in _non_loopback_ipv4():
        with (
            pytest.raises(OSError),
            socket.create_connection((address, trigger.server.port), timeout=1),
        ):
            pass
    with socket.create_connection(("127.0.0.1", trigger.server.port), timeout=1):
        pass


async def test_stop_closes_the_port(client: httpx.AsyncClient) -> None:
    server = TriggerServer(lambda e: None, SECRET)
    port = await server.start()
    await server.stop()
    with pytest.raises(httpx.ConnectError):
        await client.get(f"http://127.0.0.1:{port}/call")


async def test_secret_rules() -> None:
    with pytest.raises(ValueError):
        TriggerServer(lambda e: None, "")
    with pytest.raises(ValueError):
        TriggerServer(lambda e: None, "short")
    assert new_secret() != new_secret() and len(new_secret()) >= 16  # what the app generates


async def test_port_per_user_and_profile_with_fallback(trigger: Trigger, tmp_path: Path) -> None:
    a, b = app_paths(tmp_path / "a"), app_paths(tmp_path / "b")
    assert preferred_port(a) == preferred_port(a)
    assert preferred_port(a) != preferred_port(b)
    assert PORT_RANGE[0] <= preferred_port(a) < PORT_RANGE[1]

    # Another operator already holds this user's port: a different, free port is chosen.
    with socket.socket() as squatter:
        try:
            squatter.bind(("127.0.0.1", preferred_port(a)))
        except OSError:
            pytest.skip("preferred port busy on this machine")
        squatter.listen(1)
        chosen = default_port_for_user(a)
        assert chosen != preferred_port(a)
        with pytest.raises(TriggerPortInUse) as info:
            await TriggerServer(lambda e: None, SECRET, preferred_port(a)).start()
        assert str(preferred_port(a)) in info.value.text.nl
    server = TriggerServer(lambda e: None, SECRET, chosen)
    assert await server.start() == chosen
    await server.stop()
    assert default_port_for_user(a) == preferred_port(a)


# --- fuzz ---------------------------------------------------------------------------------------


class ThreadedTrigger:
    """The trigger on its own loop in a thread, so hypothesis can drive it with raw sockets."""

    def __init__(self) -> None:
        self.events: list[CallEvent] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        # No rate limit here: the fuzz must reach every branch, not just the 429.
        self.server = TriggerServer(self.events.append, SECRET, rate=1e9, burst=10**9)
        self.port = asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(5)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()

    def send(self, raw: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", self.port), timeout=3) as sock:
            sock.sendall(raw)
            chunks = []
            with contextlib.suppress(ConnectionResetError):
                while chunk := sock.recv(65536):
                    chunks.append(chunk)
        return b"".join(chunks)


@pytest.fixture(scope="module")
def threaded() -> Iterator[ThreadedTrigger]:
    server = ThreadedTrigger()
    yield server
    server.close()


texts = st.text(st.characters(blacklist_categories=["Cs"]), max_size=40)
values = st.one_of(
    st.sampled_from(
        [SECRET, "wrong", "0612345678", "+31 20 123 4567", "", "https://evil.example/"]
    ),
    texts,
)
keys = st.one_of(
    st.sampled_from(["number", "callId", "call_id", "secret", "url", "bcid", "SECRET"]), texts
)
header_names = st.one_of(
    st.sampled_from(
        ["Origin", "Host", "X-AFAS-Tray-Secret", "Content-Type", "Sec-Fetch-Site", "Cookie"]
    ),
    st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,20}", fullmatch=True),
)
header_values = st.one_of(
    st.sampled_from(
        [
            SECRET,
            "application/json",
            "application/x-www-form-urlencoded",
            "evil.example",
            "none",
            "null",
        ]
    ),
    st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]), max_size=40),
)


@st.composite
def raw_requests(draw: st.DrawFn, port: int) -> bytes:
    method = draw(
        st.sampled_from(["GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH", "BREW"])
    )
    path = draw(
        st.one_of(
            st.sampled_from(
                ["/call", "/call/", "/", "/CALL", "//call", "/call/../call", "/call%00"]
            ),
            st.builds(lambda t: "/" + quote(t, safe="/%"), texts),
        )
    )
    pairs = draw(st.lists(st.tuples(keys, values), max_size=5))
    encode = draw(st.booleans())
    query = "&".join(
        f"{quote(k, safe='') if encode else k}={quote(v, safe='') if encode else v}"
        for k, v in pairs
    )
    target = path + ("?" + query if query else "")
    target = target.replace(" ", "%20").replace("\r", "%0D").replace("\n", "%0A")
    headers = draw(st.lists(st.tuples(header_names, header_values), max_size=4))
    if draw(st.booleans()):
        headers.insert(0, ("Host", f"127.0.0.1:{port}"))
    body = draw(
        st.one_of(
            st.binary(max_size=300),
            st.builds(lambda d: json.dumps(d).encode(), st.dictionaries(keys, values, max_size=4)),
            st.just(b""),
            st.just(b"y" * 6000),
        )
    )
    lines = [f"{method} {target} HTTP/1.1"]
    lines += [
        f"{name}: {value}"
        for name, value in headers
        if name.lower() not in ("content-length", "transfer-encoding", "connection")
    ]
    lines += [f"Content-Length: {len(body)}", "Connection: close"]
    return "\r\n".join(lines).encode("utf-8") + b"\r\n\r\n" + body


@settings(
    max_examples=250,
    deadline=None,
    database=None,  # nothing written into the work tree
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(data=st.data())
def test_fuzz_never_crashes_and_never_pops_without_the_secret(
    threaded: ThreadedTrigger, data: st.DataObject
) -> None:
    raw = data.draw(raw_requests(threaded.port))
    before = len(threaded.events)
    response = threaded.send(raw)
    status_line = response.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1."), response[:200]
    status = int(status_line.split()[1])
    assert status != 500, response  # 500 means a bug in the handler
    head, _, body = response.partition(b"\r\n\r\n")
    if b"application/json" in head:
        # Our own replies never echo anything sent.
        assert SECRET.encode() not in body and b"evil" not in body
    else:
        # Only aiohttp's own HTTP parser answers otherwise: a 400 for bytes that are not HTTP,
        # which may quote the bad request line back to the same loopback connection (never to
        # a web page: no CORS headers) and never into our logs.
        assert status == 400, response
    popped = len(threaded.events) - before
    if popped:
        assert popped == 1 and status == 200
        assert SECRET.encode() in raw
        event = threaded.events[-1]
        assert event.source is CallSource.HTTP
        assert SECRET not in repr(event)
    else:
        assert status != 200
    # Whatever came before, a proper request still works.
    if data.draw(st.integers(0, 9)) == 0:
        ok = threaded.send(
            f"GET /call?number=0612345678&secret={SECRET} HTTP/1.1\r\nHost: 127.0.0.1:{threaded.port}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        assert ok.startswith(b"HTTP/1.1 200")
