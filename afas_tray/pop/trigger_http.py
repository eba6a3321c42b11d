"""Loopback HTTP trigger: ``http://127.0.0.1:<port>/call?number=…&callId=…&secret=…``.

For desk phones' action URLs and softphones that can fetch a URL on a ringing call. Off until
enabled in settings. It is a door into the operator's browser, so it refuses by default:

- bound to 127.0.0.1 only (there is no host parameter to get wrong);
- a per-install secret (query ``secret`` or header ``X-AFAS-Tray-Secret``), compared in constant
  time, checked before anything about the call is looked at;
- requests from browser pages are refused (an ``Origin`` header, or ``Sec-Fetch-Site`` other
  than ``none``), and so is any ``Host`` but ``127.0.0.1:<port>``/``localhost:<port>`` (DNS
  rebinding: a web page whose name resolves to 127.0.0.1) and any absolute-form request target;
- a token bucket rate-limits everything, so the secret cannot be guessed at speed;
- only the number and the call id reach the ``CallEvent``; the card to open comes from the phone
  book, never from the request. Replies are short JSON and never echo what was sent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from afas_tray.errors import AppError
from afas_tray.events import CallEvent, CallSource
from afas_tray.handoff import HandoffError, event_from_params, parse_query
from afas_tray.i18n import T
from afas_tray.system.instance_client import user_identity
from afas_tray.system.paths import AppPaths

log = logging.getLogger(__name__)


class _NoRequestText(logging.Filter):
    """aiohttp logs malformed requests with the parser's message, which can quote the request
    line — secret included. Keep only the kind of error, at info level."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        record.msg = "HTTP trigger: refused a malformed request (%s)"
        record.args = (type(exc).__name__ if exc else "unknown",)
        record.exc_info = None
        record.exc_text = None
        record.levelno, record.levelname = logging.INFO, "INFO"
        return True


_protocol_log = logging.getLogger(__name__ + ".protocol")
_protocol_log.addFilter(_NoRequestText())

LOOPBACK = "127.0.0.1"
SECRET_HEADER = "X-AFAS-Tray-Secret"
MIN_SECRET_CHARS = 16
MAX_BODY_BYTES = 4096
# Per-user ports come from a range below both the Linux (32768+) and the Windows (49152+)
# ephemeral ranges, so an outgoing connection never happens to hold "our" port.
PORT_RANGE = (28000, 32000)


class TriggerPortInUse(AppError, OSError):
    """The requested port is taken (by another program, or another operator's trigger)."""

    def __init__(self, port: int) -> None:
        self.port = port
        super().__init__(T(
            "Port {port} on 127.0.0.1 is already in use.",
            "Poort {port} op 127.0.0.1 is al in gebruik.",
        ).format(port=port))

    @property
    def needs_user(self) -> bool:
        return True


class TokenBucket:
    """``rate`` requests per second on average, bursts up to ``burst``."""

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = burst
        self._last = clock()

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


def _reply(
    status: int, error: str | None = None, headers: Mapping[str, str] | None = None
) -> web.Response:
    body = {"ok": True} if error is None else {"error": error}
    return web.Response(
        status=status,
        text=json.dumps(body, separators=(",", ":")),
        content_type="application/json",
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


class TriggerServer:
    """The loopback trigger; ``on_call`` gets each accepted call (source HTTP)."""

    def __init__(
        self,
        on_call: Callable[[CallEvent], None],
        secret: str,
        port: int = 0,
        *,
        rate: float = 10.0,
        burst: int = 20,
    ) -> None:
        if len(secret) < MIN_SECRET_CHARS:
            # An open or guessable trigger would let any local program pop cards: refuse to run.
            raise ValueError(f"the trigger secret must have at least {MIN_SECRET_CHARS} characters")
        if not 0 <= port <= 65535:
            raise ValueError("port out of range")
        self._on_call = on_call
        self._secret = secret.encode("utf-8")
        self._requested_port = port
        self._port = 0
        self._bucket = TokenBucket(rate, burst)
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        """The bound port (0 before ``start``)."""
        return self._port

    async def start(self) -> int:
        """Bind 127.0.0.1 and serve; returns the port. ``TriggerPortInUse`` if it is taken."""
        if self._runner is not None:
            return self._port
        sock = _bind_loopback(self._requested_port)
        self._port = sock.getsockname()[1]
        # One middleware answers every request, matched route or not, so every path and
        # method gets the same checks and the same short JSON replies.
        app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[self._middleware])
        # No access log: the request line carries the secret.
        runner = web.AppRunner(
            app, access_log=None, logger=_protocol_log, handle_signals=False, shutdown_timeout=1.0
        )
        try:
            await runner.setup()
            await web.SockSite(runner, sock).start()
        except BaseException:
            await runner.cleanup()
            sock.close()
            raise
        self._runner = runner
        log.info("HTTP trigger listening on %s:%d", LOOPBACK, self._port)
        return self._port

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
            log.info("HTTP trigger stopped")

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        return await self._handle(request)

    async def _handle(self, request: web.Request) -> web.Response:
        if not self._bucket.take():
            return _reply(429, "too many requests", {"Retry-After": "1"})
        refusal = self._refuse_browser_or_foreign_host(request)
        if refusal:
            log.info("HTTP trigger: refused a request (%s)", refusal)
            return _reply(403, "forbidden")
        if request.path.rstrip("/") != "/call":
            return _reply(404, "not found")
        if request.method not in ("GET", "POST"):
            return _reply(405, "method not allowed", {"Allow": "GET, POST"})
        try:
            params = await self._params(request)
        except web.HTTPRequestEntityTooLarge:
            return _reply(413, "request too large")
        except HandoffError:
            return _reply(400, "bad request")
        except _UnsupportedBody:
            return _reply(415, "unsupported body")
        if not self._secret_ok(request, params):
            log.info("HTTP trigger: refused a request with a wrong or missing secret")
            return _reply(403, "forbidden")
        try:
            event = event_from_params(params, source=CallSource.HTTP)
        except HandoffError:
            return _reply(400, "bad number")
        try:
            self._on_call(event)
        except Exception:
            log.exception("HTTP trigger: handling the call failed")
            return _reply(500, "internal error")
        return _reply(200)

    def _refuse_browser_or_foreign_host(self, request: web.Request) -> str:
        headers = request.headers
        if "Origin" in headers:
            return "browser origin"
        site = headers.get("Sec-Fetch-Site")
        if site is not None and site.strip().lower() != "none":
            return "browser page"
        if not request.raw_path.startswith("/"):
            # An absolute-form target ("GET http://evil.example/call"): its host, not the Host
            # header, names the server (RFC 9112 3.2.2), and it is never ours. Found by the fuzz
            # bench (bench/local_doors_fuzz.py).
            return "foreign host"
        hosts = headers.getall("Host", [])
        allowed = (f"{LOOPBACK}:{self._port}", f"localhost:{self._port}")
        if len(hosts) != 1 or hosts[0].strip().lower() not in allowed:
            return "foreign host"
        return ""

    async def _params(self, request: web.Request) -> dict[str, str]:
        """Query parameters, plus those of a form or JSON body for POST; a key twice is an error."""
        params = parse_query(request.rel_url.raw_query_string)
        if request.method != "POST":
            return params
        body = await request.read()
        if not body.strip():
            return params
        if request.content_type == "application/x-www-form-urlencoded":
            try:
                extra = parse_query(body.decode("ascii"))
            except UnicodeDecodeError:
                raise HandoffError(T("Bad form body.", "Ongeldige formulierinhoud.")) from None
        elif request.content_type == "application/json":
            extra = _json_params(body)
        else:
            raise _UnsupportedBody
        for key, value in extra.items():
            if key in params:
                raise HandoffError(T("Parameter given twice.", "Parameter staat er twee keer."))
            params[key] = value
        return params

    def _secret_ok(self, request: web.Request, params: Mapping[str, str]) -> bool:
        given = [*request.headers.getall(SECRET_HEADER, [])]
        if "secret" in params:
            given.append(params["secret"])
        if not given:
            return False
        # Every secret sent must be right (no "one of them matched" games); constant time each.
        return all(
            hmac.compare_digest(g.encode("utf-8", "surrogatepass"), self._secret) for g in given
        )


class _UnsupportedBody(Exception):
    pass


def _json_params(body: bytes) -> dict[str, str]:
    bad = HandoffError(T("Bad JSON body.", "Ongeldige JSON-inhoud."))
    try:
        data = json.loads(body)
    except ValueError:
        raise bad from None
    if not isinstance(data, dict):
        raise bad
    out: dict[str, str] = {}
    for key, value in data.items():
        if not isinstance(value, str):
            raise bad
        k = key.strip().lower()
        if k in out:
            raise bad
        out[k] = value
    return out


def _bind_loopback(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if sys.platform == "win32":
            # Without this another user's process could bind the same port over ours.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)  # type: ignore[attr-defined]
        else:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart despite TIME_WAIT
        sock.bind((LOOPBACK, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        if port:
            raise TriggerPortInUse(port) from exc
        raise
    return sock


def preferred_port(paths: AppPaths | None = None) -> int:
    """This user's (and profile's) port: the same every start, different per operator."""
    key = user_identity() + ("\n" + str(paths.data_dir) if paths is not None else "")
    low, high = PORT_RANGE
    return low + int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:4], "big") % (
        high - low
    )


def port_is_free(port: int) -> bool:
    try:
        _bind_loopback(port).close()
    except OSError:
        return False
    return True


def default_port_for_user(paths: AppPaths | None = None) -> int:
    """``preferred_port`` when free, else any free loopback port (show it in the settings)."""
    port = preferred_port(paths)
    if port_is_free(port):
        return port
    sock = _bind_loopback(0)
    try:
        return int(sock.getsockname()[1])
    finally:
        sock.close()
