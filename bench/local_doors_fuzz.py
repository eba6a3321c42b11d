"""Fuzz the app's two local doors: the loopback HTTP trigger and the single-instance socket.

Both doors can end in a card opening in the operator's browser, so both must refuse everything
but a proper request, never fall over, and not grow while being hammered.

- **HTTP trigger** (``afas_tray.pop.trigger_http.TriggerServer``, the real server on 127.0.0.1): raw
  bytes over TCP, one request at a time, each one of: a proper call (secret in the query, in the
  header, in a form or JSON body; ``Host`` 127.0.0.1 or localhost with the port); a proper call
  but a wrong, missing, shortened, lengthened, re-cased or doubled secret; a proper call with
  the right secret from a browser (``Origin``, ``Sec-Fetch-Site``) or for a foreign ``Host``
  (DNS rebinding names, other ports, two Host headers, none); and junk (random bytes, broken
  request lines and headers, bodies too large, bad UTF-8, bad JSON, odd methods and paths).
  The rate limit is set out of the way for the run (it would answer 429 to most of them and so
  hide the checks behind it); a last phase with the shipped limit checks that it still bites.
- **Single-instance socket** (``afas_tray.ui.single_instance.SingleInstanceServer``, QLocalServer
  on a private Unix socket, as app.py runs it): connections from a client thread sending proper
  event lines, the status request, and junk (random bytes, JSON of every shape, lines too long,
  many lines at once, half lines, bad UTF-8). What the server emits goes through
  ``handoff.event_from_line``, the gate app.py puts before ``AppCore.handle_event``.

Counted: crashes (a 5xx, an error logged, an exception in a Qt slot, or a door no longer
answering a proper request afterwards), calls that reached the app without the secret or with a
foreign Origin/Host (HTTP) or from a line that was not a proper event (socket), proper calls that
were lost, and the resident memory every 10 % of the requests (for the socket also the Python
socket objects still alive at the end: PySide6 once kept one per connection, ~1 KB each).

    python bench/local_doors_fuzz.py [--http 10000] [--socket 10000] [--seed 13]

``--http 0`` / ``--socket 0`` leave a door out.

Targets: 0 crashes, 0 calls through a closed door, memory flat. Flat is judged on the second
half of the run, after the first half has warmed the allocator and the caches: a leak keeps
growing there at the pace it grew before, a warm-up does not. The resident memory's slope over
the samples from 50 % to 100 % (least squares) must stay under 0.1 KB a request (a leak of
100 bytes a call) and its growth in that half under 1 MB. A run of fewer than 2,000 requests
is too short for page-sized steps of RSS to say anything: its memory is printed, not judged.

The allocator is set up as the app sets it up (``afas_tray.system.memory``: glibc's mmap and
trim thresholds pinned at 128 KB; left to itself glibc raises the threshold after the first
large junk body is freed, and heap fragments then stay resident: RSS creeps by ~0.1 KB a request
while no object stays behind). ``--malloc-dynamic`` leaves glibc's moving threshold alone, to
see that creep.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import hashlib
import json
import logging
import os
import random
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psutil
from _common import MB

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from afas_tray.events import CallEvent, CallSource
from afas_tray.handoff import HandoffError, event_from_line, event_to_line, make_event
from afas_tray.pop.trigger_http import SECRET_HEADER, TriggerServer
from afas_tray.system.memory import pin_allocator_thresholds

SECRET = "k3Y-0f-th1s-1nstall-" + "Zq9" * 6
SLOPE_LIMIT_KB = 0.1  # per request, over the second half of the run
LATE_GROWTH_LIMIT_MB = 1.0  # over the second half of the run
MIN_JUDGED = 2000  # requests; fewer: RSS moves in steps too coarse to judge a slope
NUMBERS = ["+31205550101", "020-5550101", "+31 6 55501234", "030 555 02 02", "0031105550303",
           "+32 2 555 12 34", "+49 30 5551234"]


def rss_mb() -> float:
    gc.collect()
    return psutil.Process().memory_info().rss / MB




def sample_due(done: int, count: int) -> bool:
    """A memory sample after every tenth of the run (after each request in a run under 10)."""
    return done % max(1, count // 10) == 0


@dataclass
class Memory:
    """The verdict on a door's resident memory, from (requests done, RSS in MB) samples."""

    judged: bool  # False: too few requests to say
    flat: bool
    text: str


def judge_memory(samples: list[tuple[int, float]], count: int) -> Memory:
    if not samples:
        return Memory(False, True, "memory: no samples")
    every = " ".join(f"{mb:.1f}" for _, mb in samples)
    late = [(n, mb) for n, mb in samples if n >= count / 2]
    if count < MIN_JUDGED or len(late) < 3:
        return Memory(False, True, f"memory: {samples[0][1]:.1f} → {samples[-1][1]:.1f} MB, "
                      f"not judged (fewer than {MIN_JUDGED} requests; every 10 %: {every})")
    # Least squares over the second half: one page-sized step at the end does not decide it.
    mean_n = sum(n for n, _ in late) / len(late)
    mean_mb = sum(mb for _, mb in late) / len(late)
    slope_kb = 1024 * sum((n - mean_n) * (mb - mean_mb) for n, mb in late) / \
        sum((n - mean_n) ** 2 for n, _ in late)
    half = late[0][1]
    late_growth = max(mb for _, mb in late) - half
    warm = samples[min(1, len(samples) - 1)][1]
    flat = slope_kb < SLOPE_LIMIT_KB and late_growth < LATE_GROWTH_LIMIT_MB
    return Memory(True, flat, (
        f"memory: {warm:.1f} MB after 20 %, {half:.1f} MB after 50 %, {samples[-1][1]:.1f} MB "
        f"after 100 %; second half {late_growth:+.2f} MB, {slope_kb:+.3f} KB a request "
        f"({'flat' if flat else 'NOT flat'}: limits {LATE_GROWTH_LIMIT_MB:.0f} MB, "
        f"{SLOPE_LIMIT_KB} KB); every 10 %: {every}"))


class ErrorCount(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record.getMessage())


# --- the HTTP trigger ------------------------------------------------------------------------------


@dataclass
class Req:
    kind: str  # "ok", "no-secret", "browser", "host", "junk"
    data: bytes
    accept: bool  # a proper call: it must reach the app


TAGS = {"a": "ok", "s": "no-secret", "b": "browser", "h": "host", "j": "junk"}


@dataclass
class HttpTally:
    sent: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)
    through_closed_door: dict[str, int] = field(default_factory=dict)
    lost: int = 0
    no_answer: int = 0
    rss: list[tuple[int, float]] = field(default_factory=list)  # (requests done, MB)


class HttpFuzz:
    def __init__(self, rng: random.Random, port: int) -> None:
        self.rng = rng
        self.port = port
        self.n = 0
        self.ids: list[str] = []  # the call ids the request being built carries
        # The last letter of every call id says what the request was (see TAGS): a call that
        # reaches the app names its own request, and the bench keeps no table that grows.
        self.tag = "a"

    def host(self) -> str:
        return self.rng.choice([f"127.0.0.1:{self.port}", f"localhost:{self.port}",
                                f"LOCALHOST:{self.port}"])

    def query(self, secret: str | None, *, number: str | None = None) -> str:
        self.n += 1
        call_id = f"fz{self.n}{self.tag}"
        self.ids.append(call_id)
        if number is None:
            number = self.rng.choice(NUMBERS)
        parts = [f"number={quote(number, safe='')}",
                 f"callId={call_id}"]
        if secret is not None:
            parts.append(f"secret={quote(secret, safe='')}")
        self.rng.shuffle(parts)
        return "&".join(parts)

    @staticmethod
    def request(method: str, target: str, headers: list[tuple[str, str]], body: bytes = b"",
                version: str = "HTTP/1.1") -> bytes:
        lines = [f"{method} {target} {version}"] + [f"{k}: {v}" for k, v in headers]
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape") + body

    def proper(self) -> Req:
        r = self.rng.random()
        path = self.rng.choice(["/call", "/call/"])
        extra = [("Sec-Fetch-Site", "none")] if self.rng.random() < 0.1 else []
        headers = [("Host", self.host()), ("Connection", "close"), *extra]
        if r < 0.4:
            return Req("ok", self.request("GET", f"{path}?{self.query(SECRET)}", headers), True)
        if r < 0.6:
            return Req("ok", self.request("GET", f"{path}?{self.query(None)}",
                                          [*headers, (SECRET_HEADER, SECRET)]), True)
        if r < 0.8:
            body = self.query(SECRET).encode()
            return Req("ok", self.request("POST", path, [
                *headers, ("Content-Type", "application/x-www-form-urlencoded")], body), True)
        self.n += 1
        call_id = f"fz{self.n}{self.tag}"
        self.ids.append(call_id)
        body = json.dumps({"number": self.rng.choice(NUMBERS), "callId": call_id,
                           "secret": SECRET}).encode()
        return Req("ok", self.request("POST", path, [
            *headers, ("Content-Type", "application/json")], body), True)

    def wrong_secret(self) -> str | None:
        return self.rng.choice([
            None, "", SECRET[:-1], SECRET + "x", SECRET.upper(), SECRET.swapcase(),
            SECRET[1:], " " + SECRET, SECRET + "\x00", "x" * len(SECRET),
            SECRET.replace("Z", "Ż"), "".join(self.rng.sample(SECRET, len(SECRET))),
        ])

    def no_secret(self) -> Req:
        headers = [("Host", self.host()), ("Connection", "close")]
        r = self.rng.random()
        secret = self.wrong_secret()
        # A shuffle could give it back; a header value loses its outer blanks (RFC 9110 5.5).
        if secret is not None and secret.strip(" \t") == SECRET:
            secret = SECRET + "!"
        if r < 0.5:
            return Req("no-secret", self.request("GET", f"/call?{self.query(secret)}", headers),
                       False)
        if r < 0.7 and secret is not None:
            return Req("no-secret", self.request("GET", f"/call?{self.query(None)}",
                                                 [*headers, (SECRET_HEADER, secret)]), False)
        if r < 0.85:
            # The right one and a wrong one: every secret sent must be right.
            return Req("no-secret", self.request("GET", f"/call?{self.query(secret or 'nope')}",
                                                 [*headers, (SECRET_HEADER, SECRET)]), False)
        body = self.query(secret).encode()
        return Req("no-secret", self.request("POST", "/call", [
            *headers, ("Content-Type", "application/x-www-form-urlencoded")], body), False)

    def browser(self) -> Req:
        bad = self.rng.choice([
            ("Origin", "https://evil.example"), ("Origin", "null"), ("Origin", ""),
            ("Origin", f"http://127.0.0.1:{self.port}"), ("Sec-Fetch-Site", "cross-site"),
            ("Sec-Fetch-Site", "same-origin"), ("Sec-Fetch-Site", "same-site"),
            ("sec-fetch-site", "CROSS-SITE"), ("ORIGIN", "http://localhost"),
        ])
        headers = [("Host", self.host()), ("Connection", "close"), bad]
        self.rng.shuffle(headers)
        return Req("browser", self.request("GET", f"/call?{self.query(SECRET)}", headers), False)

    def foreign_host(self) -> Req:
        p = self.port
        hosts: list[list[tuple[str, str]]] = [
            [("Host", "evil.example")], [("Host", f"evil.example:{p}")],
            [("Host", "127.0.0.1")], [("Host", f"127.0.0.1:{p + 1}")],
            [("Host", f"localhost.:{p}")], [("Host", f"127.1:{p}")], [("Host", f"[::1]:{p}")],
            [("Host", f"0x7f000001:{p}")], [("Host", f"127.0.0.1.nip.io:{p}")],
            [("Host", f"127.0.0.1:{p}"), ("Host", "evil.example")],
            [("Host", f"127.0.0.1:{p}"), ("Host", f"127.0.0.1:{p}")], [("Host", "")],
            [("Host", f"127.0.0.1:{p}@evil.example")], [("Host", f"127.0.0.1:0{p}")],
        ]
        headers = [*self.rng.choice(hosts), ("Connection", "close")]
        if self.rng.random() < 0.1:
            return Req("host", self.request("GET", f"/call?{self.query(SECRET)}",
                                            [("Connection", "close")], version="HTTP/1.0"), False)
        return Req("host", self.request("GET", f"/call?{self.query(SECRET)}", headers), False)

    def junk(self) -> Req:
        rng, p = self.rng, self.port
        host = ("Host", f"127.0.0.1:{p}")
        choice = rng.randrange(16)
        if choice == 0:
            data = rng.randbytes(rng.randrange(1, 2048))
        elif choice == 1:
            data = rng.choice([b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"\r\n\r\n",
                               b"GET /call?secret=" + SECRET.encode() + b" HTTP/1.1\r\nHost",
                               b"GET /call HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X: y\r\n" * 200,
                               b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"])  # a TLS hello
        elif choice == 2:  # a header far too long
            data = self.request("GET", f"/call?{self.query(SECRET)}",
                                [host, ("X-Pad", "a" * rng.randrange(9000, 40000))])
        elif choice == 3:  # a body far too large
            body = b"number=1&" + b"a" * rng.randrange(5000, 200000)
            data = self.request("POST", "/call", [
                host, ("Content-Type", "application/x-www-form-urlencoded")], body)
        elif choice == 4:  # bad UTF-8 / percent junk in the query, the secret right
            data = self.request("GET", "/call?number=%FF%FE&secret=" + quote(SECRET)
                                + rng.choice(["&callId=%C0%AF", "&%%%", "&number=2", "&=&=&"]),
                                [host])
        elif choice == 5:  # JSON of the wrong shape, the secret right
            body = rng.choice([b"[1,2]", b'{"number": 31205550101, "secret": "' + SECRET.encode()
                               + b'"}', b'{"number": {"a": 1}}', b"{", b'"x"', b"null",
                               b'{"Number":"1","number":"2"}', b"\xff\xfe"])
            data = self.request("POST", "/call", [host, ("Content-Type", "application/json")],
                                body)
        elif choice == 6:  # odd methods, with the secret
            method = rng.choice(["PUT", "DELETE", "OPTIONS", "TRACE", "PATCH", "CONNECT", "HEAD",
                                 "get", "G\x00ET", "BREW"])
            data = self.request(method, f"/call?{self.query(SECRET)}", [host])
        elif choice == 7:  # odd paths, with the secret
            # (Not "/%63all": an escaped unreserved letter is the same path, RFC 3986 6.2.2.2.)
            path = rng.choice(["/CALL", "//call", "/call/../call", "/call%00",
                               "/calls", "/", "*", "http://evil.example/call",
                               "/call;x", "/call/x", "/" + "a" * 9000])
            data = self.request("GET", f"{path}?{self.query(SECRET)}", [host])
        elif choice == 8:  # header injection attempts
            data = (f"GET /call?{self.query(SECRET)} HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\n"
                    "X: a\rOrigin: https://evil.example\r\n\r\n").encode()
        elif choice == 9:  # chunked body: a proper request when it ends properly
            end = rng.choice([b"0\r\n\r\n", b"zz\r\n", b"", b"1\r\n"])
            if end == b"0\r\n\r\n":
                self.tag = "a"  # its call id says "proper"
            body = self.query(SECRET).encode()
            data = (f"POST /call HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nTransfer-Encoding: chunked\r\n"
                    "Content-Type: application/x-www-form-urlencoded\r\n\r\n"
                    f"{len(body):x}\r\n").encode() + body + b"\r\n" + end
            if end == b"0\r\n\r\n":
                return Req("ok", data, True)
        elif choice == 10:  # a parameter twice, the secret right
            data = self.request("GET", f"/call?{self.query(SECRET)}&number=0201234567", [host])
        elif choice == 11:  # content-length lies
            data = (f"POST /call HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nContent-Length: "
                    f"{rng.choice(['-1', '99999999999', 'abc', '5, 6'])}\r\n\r\nnumber=1").encode()
        elif choice == 12:  # a body type the trigger does not take
            data = self.request("POST", "/call", [host, ("Content-Type", "text/plain")],
                                self.query(SECRET).encode())
        elif choice == 13:  # numbers that are not numbers
            number = rng.choice(["", "javascript:alert(1)", "<BCID>", "+", "0" * 400,
                                 "https://evil.example/", "\u202e1234567890", "%00", "anonymous"])
            data = self.request("GET", f"/call?{self.query(SECRET, number=number)}", [host])
        elif choice == 14:  # random mutation of a proper request (the secret corrupted too)
            raw = bytearray(self.request("GET", f"/call?{self.query(SECRET)}", [host]))
            start = raw.index(b"secret=") + 7 if b"secret=" in raw else 0
            raw[start + rng.randrange(len(SECRET) // 2)] ^= 1 + rng.randrange(255)
            for _ in range(rng.randrange(0, 5)):
                raw[rng.randrange(len(raw))] = rng.randrange(256)
            data = bytes(raw)
        else:  # many requests on one connection, none with the secret
            data = b"".join(self.request("GET", f"/call?{self.query(None)}", [host])
                            for _ in range(rng.randrange(2, 6)))
        return Req("junk", data, False)

    def next(self) -> tuple[Req, list[str]]:
        """The next request and the call ids it carries."""
        self.ids = []
        r = self.rng.random()
        if r < 0.10:
            self.tag, make = "a", self.proper
        elif r < 0.30:
            self.tag, make = "s", self.no_secret
        elif r < 0.45:
            self.tag, make = "b", self.browser
        elif r < 0.60:
            self.tag, make = "h", self.foreign_host
        else:
            self.tag, make = "j", self.junk
        req = make()
        assert req.accept == (self.tag == "a"), req.kind
        return req, self.ids


async def send_raw(port: int, data: bytes, timeout: float = 5.0) -> bytes | None:
    """Send ``data`` and read the answer until the server closes. A request the server is still
    waiting to complete (junk) gets our end of the stream after a moment. None: no answer at all
    (not even a close) within ``timeout``."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port),
                                                timeout)
    except (OSError, TimeoutError):
        return None
    try:
        writer.write(data)
        await writer.drain()
        got = b""
        try:
            while True:
                # Nothing yet: the server may still be reading; an answer is complete quickly.
                chunk = await asyncio.wait_for(reader.read(65536), 0.03 if got else 0.25)
                if not chunk:
                    return got
                got += chunk
        except TimeoutError:
            pass
        if writer.can_write_eof():
            writer.write_eof()
        return got + await asyncio.wait_for(reader.read(-1), timeout)
    except ConnectionError:
        return b""  # the server dropped us (junk): an answer of its own kind
    except TimeoutError:
        return None
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()


def status_of(reply: bytes) -> int:
    if not reply.startswith(b"HTTP/"):
        return 0
    try:
        return int(reply.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


async def fuzz_http(count: int, seed: int) -> tuple[HttpTally, dict[str, object]]:
    tally = HttpTally()
    calls: list[CallEvent] = []  # only the probes' calls are kept
    arrived = {"proper": 0}

    def on_call(event: CallEvent) -> None:
        tag = event.call_id[-1:] if event.call_id.startswith("fz") else ""
        if tag == "a":
            arrived["proper"] += 1
        else:
            kind = TAGS.get(tag, "unknown id")
            tally.through_closed_door[kind] = tally.through_closed_door.get(kind, 0) + 1
            if os.environ.get("FUZZ_SHOW"):
                print("THROUGH:", event)
        calls.append(event) if len(calls) < 100 else None

    server = TriggerServer(on_call, SECRET, 0, rate=1e9, burst=10**9)
    port = await server.start()
    fuzz = HttpFuzz(random.Random(seed), port)
    proper_sent = 0
    try:
        for i in range(count):
            req, _ids = fuzz.next()
            proper_sent += req.accept
            reply = await send_raw(port, req.data)
            tally.sent += 1
            tally.by_kind[req.kind] = tally.by_kind.get(req.kind, 0) + 1
            if reply is None:
                tally.no_answer += 1
            else:
                code = status_of(reply)
                tally.statuses[code] = tally.statuses.get(code, 0) + 1
            if sample_due(i + 1, count):
                tally.rss.append((i + 1, rss_mb()))
        await asyncio.sleep(0.2)
        tally.lost = proper_sent - arrived["proper"]
        # Still a working door after all that.
        fuzz.tag = "a"
        probe = fuzz.proper()
        before = arrived["proper"]
        alive = status_of(await send_raw(port, probe.data) or b"") == 200 and \
            arrived["proper"] == before + 1
    finally:
        await server.stop()
    # The shipped limit still bites: 10/s, bursts of 20.
    limited = TriggerServer(lambda _event: None, SECRET, 0)
    port = await limited.start()
    fuzz.port = port
    try:
        codes = [status_of(await send_raw(port, fuzz.proper().data, 1.0) or b"")
                 for _ in range(60)]
    finally:
        await limited.stop()
    return tally, {"alive_after": alive, "rate_limited": codes.count(429), "rate_ok": codes.count(200)}


# --- the single-instance socket ----------------------------------------------------------------------


@dataclass
class SockTally:
    sent: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    emitted: int = 0
    accepted: int = 0
    accepted_proper: int = 0
    lenient: dict[str, int] = field(default_factory=dict)  # one field odd, still a fair event
    through_closed_door: int = 0
    lost: int = 0
    status_answers: int = 0
    slot_errors: int = 0
    open_after: tuple[int, int] = (0, 0)  # (buffers, sockets) the server still holds at the end
    objects_after: int = 0  # Python QLocalSocket objects still alive at the end
    rss: list[tuple[int, float]] = field(default_factory=list)  # (requests done, MB)


def _digest(line: str) -> bytes:
    return hashlib.blake2b(line.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def proper_line(rng: random.Random, i: int) -> str:
    return event_to_line(make_event(rng.choice(NUMBERS), f"sock{i}", source=CallSource.CLI))


def junk_payload(rng: random.Random, i: int) -> tuple[str, bytes]:
    good = proper_line(rng, i)
    choice = rng.randrange(12)
    if choice == 0:
        return "random", rng.randbytes(rng.randrange(1, 4096))
    if choice == 1:
        return "random-line", rng.randbytes(rng.randrange(1, 512)).replace(b"\n", b" ") + b"\n"
    if choice == 2:
        data = json.loads(good)
        key = rng.choice(list(data))
        data[key] = rng.choice([None, 1, 1.5, True, [], {}, "x" * 5000, "", float("nan")])
        return f"json-field:{key}={json.dumps(data[key])[:12]}", json.dumps(data).encode() + b"\n"
    if choice == 3:
        data = json.loads(good)
        data["v"] = rng.choice([0, 2, "1", None])
        return "json-version", json.dumps(data).encode() + b"\n"
    if choice == 4:
        return "json-shape", rng.choice([b"[]", b"{}", b"null", b"1", b'"status"', b"{" * 5000,
                                          b'{"v":1}']) + b"\n"
    if choice == 5:
        return "too-long", b"a" * rng.randrange(65 * 1024, 200 * 1024) + b"\n"
    if choice == 6:
        return "too-long-no-newline", b"{" * rng.randrange(65 * 1024, 100 * 1024)
    if choice == 7:
        return "half-line", good.encode()[: rng.randrange(1, len(good))]
    if choice == 8:
        data = json.loads(good)
        data["number"] = rng.choice(["", "javascript:alert(1)", "<BCID>", "+", "0" * 400,
                                     "https://evil.example/"])
        return "bad-number", json.dumps(data).encode() + b"\n"
    if choice == 9:
        return "bad-utf8", good.encode()[:20] + b"\xff\xfe\xc0\xaf" + good.encode()[20:] + b"\n"
    if choice == 10:
        return "status-variant", rng.choice([b"status \n", b"STATUS\n", b"status\x00\n",
                                              b" status\n", b"status?\n"])
    return "crlf", good.encode().replace(b",", b",\r\n", 1) + b"\n"


def live_local_sockets() -> int:
    from PySide6.QtNetwork import QLocalSocket

    gc.collect()
    return sum(isinstance(obj, QLocalSocket) for obj in gc.get_objects())


def fuzz_socket(count: int, seed: int) -> SockTally:
    from PySide6.QtCore import QCoreApplication

    from afas_tray.system.instance_client import STATUS_REQUEST, socket_path
    from afas_tray.ui.single_instance import SingleInstanceServer

    app = QCoreApplication.instance() or QCoreApplication([])
    tally = SockTally()
    folder = Path(tempfile.mkdtemp(prefix="afas-tray-fuzz-"))
    os.chmod(folder, 0o700)
    name = str(folder / "fuzz.sock")
    server = SingleInstanceServer(name)
    assert server.listen(), server.error_text()
    server.status_provider = lambda: json.dumps({"state": "idle", "needs_attention": False})
    # Lines are kept as digests, each until it comes out of the server: the bench must not grow
    # by itself (a line that comes out twice is then a call through a closed door, as it is).
    proper_lines: set[bytes] = set()
    # One field of a proper line replaced: the gate may take some (a call id of null, a time of
    # 1.5) as a fair event. Counted apart; every other junk line must be refused.
    lenient_lines: dict[bytes, str] = {}
    lock = threading.Lock()

    def received(line: str) -> None:
        tally.emitted += 1
        digest = _digest(line)
        with lock:
            proper = digest in proper_lines
            proper_lines.discard(digest)
            what = lenient_lines.pop(digest, None)
        try:
            event_from_line(line)  # app.py's gate before AppCore.handle_event
        except HandoffError:
            return
        tally.accepted += 1
        with lock:
            if proper:
                tally.accepted_proper += 1
            elif what is not None:
                tally.lenient[what] = tally.lenient.get(what, 0) + 1
            else:
                tally.through_closed_door += 1
                if os.environ.get("FUZZ_SHOW"):
                    print("THROUGH:", line[:300])

    server.received.connect(received)
    objects_before = live_local_sockets()
    hook = sys.excepthook

    def slot_error(*args: object) -> None:
        tally.slot_errors += 1
        hook(*args)  # type: ignore[arg-type]

    sys.excepthook = slot_error
    rng = random.Random(seed + 1)
    done = threading.Event()
    wanted_accepts = 0

    def talk(data: bytes, replies: int, timeout: float = 2.0) -> bytes:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(socket_path(name))
            try:
                s.sendall(data)
            except OSError:
                return b""  # dropped while sending (too long): fine
            got = b""
            deadline = time.monotonic() + (timeout if replies else 0.05)
            while got.count(b"\n") < replies and time.monotonic() < deadline:
                try:
                    chunk = s.recv(65536)
                except (TimeoutError, OSError):
                    break
                if not chunk:
                    break
                got += chunk
            return got

    def client() -> None:
        nonlocal wanted_accepts
        try:
            for i in range(count):
                r = rng.random()
                if r < 0.10:
                    n = rng.randrange(1, 4)
                    lines = [proper_line(rng, i * 10 + k) for k in range(n)]
                    with lock:
                        proper_lines.update(_digest(line) for line in lines)
                    wanted_accepts += n
                    kind, data, replies = "proper", ("\n".join(lines) + "\n").encode(), n
                elif r < 0.15:
                    kind, data, replies = "status", STATUS_REQUEST.encode() + b"\n", 1
                else:
                    kind, data = junk_payload(rng, i)
                    replies = 0
                    if kind.startswith("json-field:"):
                        with lock:
                            lenient_lines[_digest(data.rstrip(b"\n").decode())] = \
                                kind.split(":", 1)[1]
                        kind = "json-field"
                tally.by_kind[kind] = tally.by_kind.get(kind, 0) + 1
                got = talk(data, replies)
                tally.sent += 1
                if kind == "status" and got.startswith(b"{"):
                    tally.status_answers += 1
                if kind == "proper" and got.count(b"ok\n") != replies:
                    tally.lost += replies - got.count(b"ok\n")  # not answered
                if sample_due(i + 1, count):
                    time.sleep(0.2)  # let the server side settle before measuring
                    tally.rss.append((i + 1, rss_mb()))
        finally:
            done.set()

    worker = threading.Thread(target=client, name="socket-fuzz-client")
    worker.start()
    while not done.is_set():
        app.processEvents()
        time.sleep(0.0005)
    worker.join()
    for _ in range(200):  # the last lines still on their way to the slot
        app.processEvents()
        time.sleep(0.001)
    probe = proper_line(rng, 10 ** 9)
    with lock:
        proper_lines.add(_digest(probe))
    before = tally.accepted
    result: list[bytes] = []
    probe_thread = threading.Thread(target=lambda: result.append(talk(probe.encode() + b"\n", 1)))
    probe_thread.start()
    while probe_thread.is_alive():
        app.processEvents()
        time.sleep(0.001)
    for _ in range(50):
        app.processEvents()
        time.sleep(0.001)
    # Answered but never handed on also counts as lost (the probe is not among them).
    tally.lost += max(0, wanted_accepts - (tally.accepted_proper - (tally.accepted - before)))
    alive = result == [b"ok\n"] and tally.accepted == before + 1
    sys.excepthook = hook
    from PySide6.QtNetwork import QLocalSocket

    tally.open_after = len(server._buffers), len(server.findChildren(QLocalSocket))
    tally.objects_after = live_local_sockets() - objects_before
    server.close()
    if not alive:
        tally.slot_errors += 1_000_000  # shown as a crash below
    return tally


def report_http(count: int, seed: int, errors: ErrorCount) -> bool:
    started = time.perf_counter()
    http, extra = asyncio.run(fuzz_http(count, seed))
    took = time.perf_counter() - started
    fivexx = sum(n for code, n in http.statuses.items() if code >= 500)
    http_crashes = fivexx + http.no_answer + len(errors.records) + (0 if extra["alive_after"] else 1)
    memory = judge_memory(http.rss, count)
    print(f"HTTP trigger: {http.sent} requests in {took:.1f} s; kinds {dict(sorted(http.by_kind.items()))}")
    print(f"  replies by status: {dict(sorted(http.statuses.items()))} (0 = dropped without a reply)")
    print(f"  crashes: {http_crashes} (5xx {fivexx}, no answer {http.no_answer}, errors logged "
          f"{len(errors.records)}, door working afterwards: {extra['alive_after']})")
    print(f"  calls through a closed door: {sum(http.through_closed_door.values())} "
          f"{http.through_closed_door or ''}; proper calls lost: {http.lost}")
    print(f"  {memory.text}")
    print(f"  shipped rate limit, 60 proper requests at once: {extra['rate_ok']} × 200, "
          f"{extra['rate_limited']} × 429")
    return (http_crashes == 0 and not http.through_closed_door and http.lost == 0
            and memory.flat and int(extra["rate_limited"]) > 0)  # type: ignore[call-overload]


def report_socket(count: int, seed: int, errors: ErrorCount) -> bool:
    started = time.perf_counter()
    sock = fuzz_socket(count, seed)
    took = time.perf_counter() - started
    sock_crashes = sock.slot_errors + len(errors.records)
    memory = judge_memory(sock.rss, count)
    print(f"Single-instance socket: {sock.sent} connections in {took:.1f} s; kinds "
          f"{dict(sorted(sock.by_kind.items()))}")
    print(f"  lines emitted: {sock.emitted}, accepted as call events: {sock.accepted}; "
          f"status requests answered: {sock.status_answers}/{sock.by_kind.get('status', 0)}")
    print(f"  crashes: {sock_crashes}; calls from lines that were not proper events: "
          f"{sock.through_closed_door}; proper lines lost: {sock.lost}")
    if sock.lenient:
        print(f"  taken although one field was odd (handoff.event_from_line's choice): "
              f"{dict(sorted(sock.lenient.items()))}")
    print(f"  {memory.text}")
    print(f"  left at the end: {sock.open_after[0]} buffers and {sock.open_after[1]} sockets in "
          f"the server, {sock.objects_after} Python socket objects alive")
    return (sock_crashes == 0 and sock.through_closed_door == 0 and sock.lost == 0
            and sock.status_answers == sock.by_kind.get("status", 0) and memory.flat
            and sock.open_after == (0, 0) and sock.objects_after == 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--http", type=int, default=10_000,
                        help="requests to the HTTP trigger (0: leave it out)")
    parser.add_argument("--socket", type=int, default=10_000,
                        help="connections to the socket (0: leave it out)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--malloc-dynamic", action="store_true",
                        help="leave glibc's moving mmap threshold alone (not as the app runs)")
    args = parser.parse_args(argv)
    if args.http < 0 or args.socket < 0 or not (args.http or args.socket):
        parser.error("give a positive count for at least one door")
    print("allocator: glibc's moving mmap threshold (--malloc-dynamic; not as the app runs)"
          if args.malloc_dynamic else pin_allocator_thresholds())
    errors = ErrorCount()
    logging.getLogger().addHandler(errors)
    logging.getLogger().setLevel(logging.INFO)
    doors: list[tuple[str, bool]] = []
    if args.http:
        doors.append(("HTTP trigger", report_http(args.http, args.seed, errors)))
    errors.records.clear()
    if args.socket:
        doors.append(("single-instance socket", report_socket(args.socket, args.seed, errors)))
    ok = all(held for _, held in doors)
    short = [n for n in (args.http, args.socket) if 0 < n < MIN_JUDGED]
    print(f"VERDICT: {'PASS' if ok else 'FAIL'} — "
          + ", ".join(f"{door} {'holds' if held else 'FAILS'}" for door, held in doors)
          + " (targets: 0 crashes, 0 calls through a closed door, "
          + (f"memory not judged under {MIN_JUDGED} requests" if short else "memory flat") + ")")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
