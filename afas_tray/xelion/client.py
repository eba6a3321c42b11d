"""Xelion REST client: session (login, renew, logout), finished calls, recordings.

Shapes follow Xelion's public API user guide: ``POST me/login`` with ``userName``/``password``/
``userSpace`` gives ``authentication``, ``renewalToken`` and ``validUntil``; every later request
carries ``Authorization: xelion <token>``; ``POST me/renew`` takes the renewal token as a bare JSON
string. Xelion blocks clients that call it too often, so this module never polls: the session is
renewed once shortly before it ends, a 401 triggers exactly one new login, and call lists are only
fetched when the caller asks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from afas_tray.i18n import T, Text
from afas_tray.redact import register_secret
from afas_tray.xelion.errors import (
    CODE_ACCOUNT_DISABLED,
    CODE_ALREADY_LOGGED_IN,
    CODE_MFA_REQUIRED,
    CODE_MFA_REQUIRED_OLD,
    CODE_PASSWORD_EXPIRED,
    CODE_USER_SPACE_MISSING,
    CODE_USER_SPACE_TOO_LONG,
    CODE_WRONG_CREDENTIALS,
    CODE_WRONG_VERSION,
    XelionAlreadyLoggedIn,
    XelionAuthError,
    XelionBadReply,
    XelionConfigError,
    XelionDialRefused,
    XelionError,
    XelionMfaRequired,
    XelionNoPermission,
    XelionRequestError,
    XelionSessionExpired,
    XelionUnavailable,
)

log = logging.getLogger(__name__)

_CREDENTIAL_CODES = {
    CODE_WRONG_CREDENTIALS,
    CODE_ALREADY_LOGGED_IN,
    CODE_ACCOUNT_DISABLED,
    CODE_PASSWORD_EXPIRED,
    CODE_MFA_REQUIRED,
    CODE_MFA_REQUIRED_OLD,
}
_XELION_DATE = "%Y-%m-%d %H:%M:%S"
# Renew this long before validUntil at most; short sessions renew at 80 % of their life.
_MAX_RENEW_LEAD = 300.0
_MIN_RENEW_SLEEP = 0.5
MAX_USER_SPACE = 200  # me/login: 10010 beyond this
_CONFIG_CODES = {CODE_WRONG_VERSION, CODE_USER_SPACE_TOO_LONG, CODE_USER_SPACE_MISSING}
# After a 429 (10400, too many concurrent requests on the session) nothing is sent for a while,
# growing while Xelion keeps saying so (common_errors.html; websockets/index.html warns that
# repeating requests can get a client blocked).
BUSY_FIRST_SECONDS = 30.0
BUSY_MAX_SECONDS = 600.0


def parse_xelion_date(value: object) -> datetime | None:
    """Xelion dates are UTC ``yyyy-MM-dd HH:mm:ss``; accept ISO forms too."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return datetime.strptime(text, _XELION_DATE).replace(tzinfo=UTC)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@dataclass(frozen=True)
class CommunicationItem:
    """One entry of ``GET communications`` (a CallLog)."""

    oid: str
    date: datetime | None  # UTC
    subject: str
    common_name: str
    object_type: str


@dataclass(frozen=True)
class CommunicationsPage:
    """One page of ``GET communications``, newest first (the guide's default, descending)."""

    items: list[CommunicationItem]
    previous_id: str | None
    next_id: str | None
    limit: int

    @property
    def next_cursor(self) -> str | None:
        """The cursor for the next (older) page, exactly as the server issued it; None: the end."""
        return self.next_id if self.items else None

    @property
    def has_more(self) -> bool:
        return len(self.items) >= self.limit and self.next_id is not None


@dataclass(frozen=True)
class Participant:
    role: str  # rtFrom / rtTo / …
    address: str  # phone number or extension
    name: str


@dataclass(frozen=True)
class CallDetails:
    """``GET communications/<oid>`` of a CallLog, reduced to what a call report needs."""

    oid: str
    call_id: str
    date: datetime | None  # UTC, start of the call
    end_time: datetime | None  # UTC
    duration_sec: int
    incoming: bool
    number: str  # the other party's number
    other_name: str  # the other party's name as Xelion knows it
    operator: str  # the Xelion user on our side
    subject: str
    participants: tuple[Participant, ...]
    contents: str = ""  # the report text typed in Xelion (read back as contentSummary)


class XelionClient:
    """Async Xelion REST client. Use as ``async with XelionClient(...) as client:``."""

    def __init__(
        self,
        host: str,
        tenant: str,
        username: str,
        password: str,
        user_space: str,
        *,
        app_key: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 15.0,
        previous_session: str | None = None,
        on_session: Callable[[str | None], None] | None = None,
        logout_on_close: bool = False,
    ) -> None:
        """``previous_session``: the token of a session a crashed run left behind (kept by
        ``on_session``, which hears every new token and None after logout). The first login
        sends it, which ends that session, so the userSpace is not "already logged in".
        ``logout_on_close``: a one-off session (a CLI command) ends its session on exit."""
        self._host = host.rstrip("/")
        self.tenant = tenant.strip()
        self.username = username
        self.user_space = user_space
        self._password = password
        self._app_key = app_key
        self._transport = transport
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, 5.0))
        self.base_url = f"{self._host}/api/v1/{self.tenant}/"
        self.host_label = urlsplit(self._host).netloc or self._host
        register_secret(password)
        if app_key:
            register_secret(app_key)
        self._http: httpx.AsyncClient | None = None
        self._token: str | None = None
        self._stale_token = previous_session or None
        self._on_session = on_session
        self._logout_on_close = logout_on_close
        if previous_session:
            register_secret(previous_session)
        self._renewal: str | None = None
        self._valid_until: datetime | None = None
        # Wall-clock time at which to renew: the monotonic clock stops while a laptop sleeps,
        # and a session that ran out during sleep must be renewed right after waking.
        self._renew_at = 0.0
        self._lock = asyncio.Lock()
        self._renew_task: asyncio.Task[None] | None = None
        self.last_error: XelionError | None = None
        self._busy_until = 0.0  # monotonic; see BUSY_FIRST_SECONDS
        self._busy_strikes = 0
        self._forbidden: dict[str, XelionNoPermission] = {}  # 403s are final (per feature)
        self._device_token: str | None = None  # the session the dialling device is registered in
        self.requests = 0  # requests sent, for diagnostics
        self.on_exchange: Callable[[str, str, int, bytes], None] | None = None  # capture

    def _announce(self, token: str | None) -> None:
        if self._on_session is not None:
            try:
                self._on_session(token)
            except Exception:  # a keychain hiccup must not break the session
                log.warning("could not keep the Xelion session token")

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> XelionClient:
        self._ensure_http()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose(logout=self._logout_on_close)

    async def aclose(self, *, logout: bool = False) -> None:
        """Close connections. No logout on a normal quit: an app "doesn't have to logout
        usually" (resources/me_logout.html); the next start ends the old session by sending its
        token with the login. ``logout=True`` for one-off sessions (doctor, CLI)."""
        if self._token and logout:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.logout(), timeout=5)
        self._stop_renewal()
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def _ensure_http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(
                base_url=self.base_url,
                transport=self._transport,
                timeout=self._timeout,
                headers={"Accept": "application/json"},
            )
        return self._http

    @property
    def logged_in(self) -> bool:
        return self._token is not None

    @property
    def valid_until(self) -> datetime | None:
        return self._valid_until

    # -- session ---------------------------------------------------------------------------

    async def login(self) -> None:
        """Log in now (also ends this client's previous session, if it had one)."""
        async with self._lock:
            await self._login_locked()

    async def logout(self) -> None:
        """End the session on the server; errors are ignored (the server expires it anyway)."""
        async with self._lock:
            token = self._token
            self._token = None
            self._renewal = None
            self._valid_until = None
            self._stop_renewal()
            if token is None:
                return
            self._announce(None)
            try:
                resp = await self._send("POST", "me/logout", headers=self._auth(token))
                if resp.status_code >= 400:
                    log.info("Xelion logout answered HTTP %s", resp.status_code)
            except XelionError as exc:
                log.info("Xelion logout failed: %s", exc)

    async def ensure_session(self) -> None:
        """Make sure a valid session exists: renew when due, log in again when renewal fails.

        Called before every request, and by the event stream after a network change or wake-up.
        """
        if self._token is not None and time.time() < self._renew_at:
            return
        async with self._lock:
            if self._token is not None and time.time() < self._renew_at:
                return
            if self._token is not None and self._renewal is not None:
                try:
                    await self._renew_locked()
                    return
                except XelionUnavailable:
                    raise  # no network: a login would fail the same way
                except XelionError as exc:
                    # Renewal refused (expired, server restarted …): quietly log in again.
                    log.info("Xelion session renewal refused (%s); logging in again", exc.code)
            await self._login_locked()

    async def _login_locked(self) -> None:
        if not self.user_space.strip():
            raise XelionConfigError.for_code(CODE_USER_SPACE_MISSING, self.user_space)
        if len(self.user_space) > MAX_USER_SPACE:
            raise XelionConfigError.for_code(CODE_USER_SPACE_TOO_LONG, self.user_space)
        body: dict[str, str] = {
            "userName": self.username,
            "password": self._password,
            "userSpace": self.user_space,
        }
        if self._app_key:
            body["appKey"] = self._app_key
        old = self._token or self._stale_token
        self._stale_token = None
        # Sending the old token ends that session first (guide: me/login), so a re-login with
        # the same userSpace is not refused as "already logged in".
        resp = await self._send("POST", "me/login", json=body,
                                headers=self._auth(old) if old else None)
        if resp.status_code == 401 and old is not None:
            code, _ = _error_info(resp)
            if code not in _CREDENTIAL_CODES:
                # The server did not like the stale token itself: try once without it.
                resp = await self._send("POST", "me/login", json=body)
        self._token = None
        self._renewal = None
        if resp.status_code != 200:
            err = self._login_error(resp)
            self.last_error = err
            log.warning("Xelion login for %s (userSpace %s) failed: %s",
                        self.username, self.user_space, err)
            raise err
        self._accept_session(self._json(resp, "me/login"), "me/login")
        self.last_error = None
        log.info("Logged in to Xelion %s as %s (userSpace %s), valid until %s",
                 self.host_label, self.username, self.user_space,
                 self._valid_until.isoformat() if self._valid_until else "?")

    async def _renew_locked(self) -> None:
        assert self._token is not None and self._renewal is not None
        resp = await self._send("POST", "me/renew", json=self._renewal,
                                headers=self._auth(self._token))
        if resp.status_code != 200:
            code, message = _error_info(resp)
            raise self._general_error(resp, "me/renew", code, message)
        self._accept_session(self._json(resp, "me/renew"), "me/renew")
        log.info("Xelion session renewed, valid until %s",
                 self._valid_until.isoformat() if self._valid_until else "?")

    def _accept_session(self, data: Mapping[str, Any], path: str) -> None:
        token = data.get("authentication")
        renewal = data.get("renewalToken")
        if not isinstance(token, str) or not token:
            raise XelionBadReply.for_path(self.host_label, path, "no session token")
        register_secret(token)
        if isinstance(renewal, str) and renewal:
            register_secret(renewal)
        self._token = token
        self._announce(token)
        self._renewal = renewal if isinstance(renewal, str) and renewal else None
        self._valid_until = parse_xelion_date(data.get("validUntil"))
        now = time.time()
        if self._valid_until is None:
            lifetime = 3600.0  # undocumented absence: assume an hour, a 401 would correct us
        else:
            lifetime = (self._valid_until - datetime.now(UTC)).total_seconds()
        lead = min(_MAX_RENEW_LEAD, max(lifetime * 0.2, 1.0))
        self._renew_at = now + max(lifetime - lead, 0.0)
        self._start_renewal()

    def _start_renewal(self) -> None:
        if self._renew_task is None or self._renew_task.done():
            self._renew_task = asyncio.get_running_loop().create_task(
                self._renew_loop(), name="xelion-renew")

    def _stop_renewal(self) -> None:
        task = self._renew_task
        self._renew_task = None
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    async def _renew_loop(self) -> None:
        """Renew once shortly before validUntil; back off gently when the network is away."""
        failures = 0
        while self._token is not None:
            await asyncio.sleep(max(self._renew_at - time.time(), _MIN_RENEW_SLEEP))
            if self._token is None:
                return
            try:
                await self.ensure_session()
                failures = 0
            except (XelionAuthError, XelionMfaRequired, XelionAlreadyLoggedIn,
                    XelionConfigError) as exc:
                self.last_error = exc  # only now is the user bothered
                return
            except XelionError as exc:
                failures += 1
                self.last_error = exc
                log.info("Xelion session renewal postponed: %s", exc)
                await asyncio.sleep(min(60.0, 2.0**failures))

    # -- calls -----------------------------------------------------------------------------

    async def websocket_url(self) -> str:
        """``POST me/websocket``: the ``wss://`` address of this session's websocket."""
        resp = await self._request("POST", "me/websocket")
        data = self._checked_json(resp, "me/websocket")
        url = data.get("object")
        if not isinstance(url, str) or urlsplit(url).scheme not in ("ws", "wss"):
            raise XelionBadReply.for_path(self.host_label, "me/websocket", "no websocket address")
        return url

    async def communications(self, after: str | None = None, limit: int = 50
                             ) -> CommunicationsPage:
        """One page of finished calls (CallLog), newest first (``resources/communications_list
        .html``: descending is the default). ``after``: a ``meta.paging.nextId`` the server
        issued, for the next older page."""
        params: dict[str, str | int] = {
            "limit": limit,
            "order": "descending",
            "where": "obj_type=CallLog",
        }
        if after:
            params["after"] = after
        resp = await self._request("GET", "communications", params=params)
        return self._page(self._checked_json(resp, "communications"), limit)

    async def active_channels(self) -> list[dict[str, Any]]:
        """``GET communications/active_channels``: the channels now active (the objects)."""
        path = "communications/active_channels"
        resp = await self._request("GET", path)
        data = self._checked_json(resp, path)
        rows = data.get("data")
        if not isinstance(rows, list):
            raise XelionBadReply.for_path(self.host_label, path, "no data list")
        out: list[dict[str, Any]] = []
        for row in rows:
            obj = row.get("object") if isinstance(row, dict) and "object" in row else row
            if isinstance(obj, dict):
                out.append(obj)
        return out

    async def call_by_id(self, call_id: str) -> CallDetails | None:
        """The log entry of a call by its SIP call id (``resources/communications_get.html``:
        ``GET communications/<callId>`` accepts it, prefixed ``caller_`` when we placed the
        call). Tries the id as given, then with/without the prefix; None when not there (yet)."""
        tries = [call_id]
        tries.append(call_id.removeprefix("caller_") if call_id.startswith("caller_")
                     else "caller_" + call_id)
        for ident in tries:
            try:
                return await self.communication(ident)
            except XelionRequestError as exc:
                if exc.status not in (400, 404):
                    raise
        return None

    async def update_report(self, oid: str, subject: str, contents: str) -> None:
        """Write a call report into the log entry: ``PATCH communications/<oid>`` replacing
        ``subject`` and ``contents`` (``resources/communications_update.html``)."""
        path = f"communications/{oid}"
        body = {"operations": [
            {"op": "replace", "path": "/subject", "value": subject},
            {"op": "replace", "path": "/contents", "value": contents},
        ]}
        resp = await self._request("PATCH", path, json=body)
        if resp.status_code == 403:
            raise self._forbid("report", T("to change call log entries",
                                           "gespreksregels te wijzigen"))
        if resp.status_code >= 300:
            code, message = _error_info(resp)
            raise self._general_error(resp, path, code, message)

    async def triggers(self) -> list[dict[str, Any]]:
        """``GET triggers`` (administrators only)."""
        resp = await self._request("GET", "triggers")
        if resp.status_code in (401, 403):
            raise self._forbid("triggers", T("to read or create triggers (administration)",
                                             "triggers te lezen of te maken (beheer)"),
                               cache=False)
        data = self._checked_json(resp, "triggers")
        rows = data.get("data")
        return [r["object"] for r in rows if isinstance(r, dict) and isinstance(
            r.get("object"), dict)] if isinstance(rows, list) else []

    async def create_trigger(self, trigger: Mapping[str, Any]) -> dict[str, Any]:
        """``POST triggers`` (``resources/triggers_create.html``; needs administration rights)."""
        resp = await self._request("POST", "triggers", json=dict(trigger))
        if resp.status_code in (401, 403):
            raise self._forbid("triggers", T("to read or create triggers (administration)",
                                             "triggers te lezen of te maken (beheer)"),
                               cache=False)
        data = self._checked_json(resp, "triggers")
        obj = data.get("object")
        return obj if isinstance(obj, dict) else {}

    def _forbid(self, feature: str, what: Text, *, cache: bool = True) -> XelionNoPermission:
        err = self._forbidden.get(feature) or XelionNoPermission.for_what(what)
        if cache and feature not in self._forbidden:
            self._forbidden[feature] = err
            log.warning("%s", err)
        return err

    async def communication(self, oid: str) -> CallDetails:
        path = f"communications/{oid}"
        resp = await self._request("GET", path)
        data = self._checked_json(resp, path)
        obj = data.get("object")
        if not isinstance(obj, dict):
            raise XelionBadReply.for_path(self.host_label, path, "no object")
        return self._details(oid, obj)

    async def audio(self, oid: str) -> bytes | None:
        """The call's recording (MP3), or ``None`` when Xelion has none (yet): 404/10100."""
        path = f"communications/{oid}/audio"
        self._check_forbidden("audio")
        resp = await self._request("GET", path, headers={"Accept": "*/*"})
        if resp.status_code == 404:
            return None
        if resp.status_code == 403:
            raise self._forbid("audio", _AUDIO_WHAT)
        if resp.status_code != 200:
            code, message = _error_info(resp)
            raise self._general_error(resp, path, code, message)
        return resp.content

    async def audio_to_file(self, oid: str, target: Path) -> int | None:
        """Stream the recording into ``target``; bytes written, or ``None`` without recording.

        Streams through a ``.part`` file and renames it, so a big recording never sits in memory
        and an interrupted download never looks complete.
        """
        path = f"communications/{oid}/audio"
        self._check_forbidden("audio")
        # audio/x-mp3 comes back: an Accept of application/json alone would not fit it.
        resp = await self._request("GET", path, stream=True, headers={"Accept": "*/*"})
        try:
            if resp.status_code == 404:
                return None
            if resp.status_code == 403:
                raise self._forbid("audio", _AUDIO_WHAT)
            if resp.status_code != 200:
                await resp.aread()
                code, message = _error_info(resp)
                raise self._general_error(resp, path, code, message)
            part = target.with_name(target.name + ".part")
            written = 0
            try:
                with part.open("wb") as fh:
                    async for chunk in resp.aiter_bytes(65536):
                        fh.write(chunk)
                        written += len(chunk)
                os.replace(part, target)
            except httpx.TransportError as exc:
                part.unlink(missing_ok=True)
                raise XelionUnavailable.unreachable(self.host_label) from exc
            except BaseException:
                part.unlink(missing_ok=True)
                raise
            return written
        finally:
            await resp.aclose()

    async def api_request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: object = None,
    ) -> httpx.Response:
        """An authorised request for an area this client has no method for (the address book):
        one 401 leads to one new login and one retry. The caller reads status and body."""
        await self.ensure_session()
        for attempt in (0, 1):
            token = self._token
            if token is None:
                raise XelionSessionExpired.default()
            resp = await self._send(method, path, params=params, json=json,
                                    headers=self._auth(token))
            if resp.status_code != 401 or attempt == 1:
                return resp
            await self._login_again(token, f"{method} {path}")
        raise XelionSessionExpired.default()

    # -- dialling (issue 16) ---------------------------------------------------------------

    async def pbx_call(self, number: str, *, device_uuid: str = "", device_number: str = ""
                       ) -> None:
        """Let the PBX place a call: it rings the operator's own phone first, then ``number``.

        ``POST me/device/pbx_call`` with the number as a bare JSON string
        (``resources/me_device_pbx_call.html``). It needs a device registered with *this
        session* that has a phone number, and the PBX-Call-Initiation capability. With
        ``device_number`` the device is registered first (``POST me/device/register``,
        ``resources/me_device_register.html``), once per session token. Refusals raise
        ``XelionDialRefused`` carrying Xelion's reason (10050 no device, 10052 no number on
        the device, 10200/10202 number missing/undecodable, 403 no capability or licence).
        """
        path = "me/device/pbx_call"
        for attempt in (0, 1):
            await self.ensure_session()
            token = self._token
            if token is None:
                raise XelionSessionExpired.default()
            if device_number and self._device_token != token:
                resp = await self._send("POST", "me/device/register", headers=self._auth(token),
                                        json={"uuid": device_uuid or self.user_space,
                                              "phoneNumber": device_number})
                if resp.status_code == 401 and attempt == 0:
                    await self._login_again(token, "POST me/device/register")
                    continue
                self._raise_dial_error(resp, "me/device/register")
                self._device_token = token
            resp = await self._send("POST", path, json=number, headers=self._auth(token))
            if resp.status_code == 401 and attempt == 0:
                await self._login_again(token, f"POST {path}")
                continue
            self._raise_dial_error(resp, path)
            log.info("Xelion accepted a PBX call request")  # never the number itself in the log
            return
        raise XelionSessionExpired.default()

    async def _login_again(self, token: str, what: str) -> None:
        """After a 401 with ``token``: one new login, unless another request already did one
        (every caller retries once, never in a loop)."""
        log.info("Xelion answered 401 to %s; logging in again once", what)
        async with self._lock:
            if self._token == token:  # nobody else has logged in again meanwhile
                self._token = None
                await self._login_locked()

    def _raise_dial_error(self, resp: httpx.Response, path: str) -> None:
        if resp.status_code < 300:
            return
        code, message = _error_info(resp)
        if resp.status_code in (400, 403, 404, 409):
            raise XelionDialRefused.from_reply(path, resp.status_code, code, self._scrub(message))
        raise self._general_error(resp, path, code, message)

    def _check_forbidden(self, feature: str) -> None:
        err = self._forbidden.get(feature)
        if err is not None:
            raise err

    # -- plumbing --------------------------------------------------------------------------

    @staticmethod
    def _auth(token: str) -> dict[str, str]:
        return {"Authorization": f"xelion {token}"}

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: object = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        http = self._ensure_http()
        request = http.build_request(method, path, params=params, json=json, headers=headers)
        self.requests += 1
        try:
            resp = await http.send(request, stream=stream)
            if self.on_exchange is not None and not stream:
                with contextlib.suppress(Exception):
                    self.on_exchange(method, str(request.url.path) + (
                        "?" + request.url.query.decode() if request.url.query else ""),
                        resp.status_code, resp.content)
            return resp
        except httpx.TransportError as exc:
            # Only the exception's type is logged: never a body or a header.
            log.info("Xelion %s %s: %s", method, path, type(exc).__name__)
            raise XelionUnavailable.unreachable(self.host_label) from None
        except httpx.RequestError as exc:  # undecodable body, redirect loop …
            log.info("Xelion %s %s: %s", method, path, type(exc).__name__)
            raise XelionBadReply.for_path(self.host_label, path, type(exc).__name__) from None

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: object = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """An authorised request; one 401 leads to one new login and one retry, never a loop.
        While Xelion said 429 recently nothing is sent (``XelionUnavailable.busy``)."""
        if time.monotonic() < self._busy_until:
            raise XelionUnavailable.busy(self.host_label)
        await self.ensure_session()
        for attempt in (0, 1):
            token = self._token
            if token is None:
                raise XelionSessionExpired.default()
            resp = await self._send(method, path, params=params, json=json,
                                    headers={**self._auth(token), **(headers or {})},
                                    stream=stream)
            if resp.status_code == 429:
                self._busy_strikes += 1
                wait = min(BUSY_MAX_SECONDS, BUSY_FIRST_SECONDS * 2 ** (self._busy_strikes - 1))
                self._busy_until = time.monotonic() + wait
                log.info("Xelion answered 429 to %s %s; nothing is sent for %.0f s",
                         method, path, wait)
                await resp.aclose()
                raise XelionUnavailable.busy(self.host_label)
            self._busy_strikes = 0
            if resp.status_code != 401:
                return resp
            await resp.aclose()
            if attempt == 1:
                break
            await self._login_again(token, f"{method} {path}")
        raise XelionSessionExpired.default()

    def _json(self, resp: httpx.Response, path: str) -> dict[str, Any]:
        try:
            data = resp.json()
        except ValueError:
            raise XelionBadReply.for_path(self.host_label, path, "not JSON") from None
        if not isinstance(data, dict):
            raise XelionBadReply.for_path(self.host_label, path, "not a JSON object")
        return data

    def _checked_json(self, resp: httpx.Response, path: str) -> dict[str, Any]:
        if resp.status_code >= 300:
            code, message = _error_info(resp)
            raise self._general_error(resp, path, code, message)
        return self._json(resp, path)

    def _scrub(self, message: str) -> str:
        for secret in (self._password, self._token, self._renewal, self._app_key):
            if secret and secret in message:
                message = message.replace(secret, "***")
        return message[:200]

    def _login_error(self, resp: httpx.Response) -> XelionError:
        code, message = _error_info(resp)
        if code == CODE_WRONG_CREDENTIALS:
            return XelionAuthError.wrong_credentials(self.username)
        if code in (CODE_MFA_REQUIRED, CODE_MFA_REQUIRED_OLD):
            return XelionMfaRequired.for_user(self.username)
        if code == CODE_ALREADY_LOGGED_IN:
            return XelionAlreadyLoggedIn.for_space(self.username, self.user_space)
        if code == CODE_ACCOUNT_DISABLED:
            return XelionAuthError.account_disabled(self.username)
        if code in _CONFIG_CODES:
            return XelionConfigError.for_code(code, self.user_space)
        if code == CODE_PASSWORD_EXPIRED:
            return XelionAuthError.password_expired(self.username)
        if resp.status_code == 401 and code is None:
            # A 401 without Xelion's error body: treat as refused credentials.
            return XelionAuthError.wrong_credentials(self.username)
        return self._general_error(resp, "me/login", code, message)

    def _general_error(self, resp: httpx.Response, path: str, code: int | None, message: str
                       ) -> XelionError:
        status = resp.status_code
        message = self._scrub(message)
        if status == 429:
            return XelionUnavailable.busy(self.host_label)
        if status >= 500:
            return XelionUnavailable.server_error(self.host_label, status, code, message)
        if status == 401:
            return XelionSessionExpired.default()
        return XelionRequestError.refused(path, status, code, message)

    def _page(self, data: Mapping[str, Any], limit: int) -> CommunicationsPage:
        rows = data.get("data")
        if not isinstance(rows, list):
            raise XelionBadReply.for_path(self.host_label, "communications", "no data list")
        items: list[CommunicationItem] = []
        for row in rows:
            obj = row.get("object") if isinstance(row, dict) else None
            if not isinstance(obj, dict) or obj.get("oid") in (None, ""):
                continue
            object_type = str(obj.get("objectType") or "")
            if object_type and object_type != "CallLog":
                continue
            items.append(CommunicationItem(
                oid=str(obj["oid"]),
                date=parse_xelion_date(obj.get("date")),
                subject=str(obj.get("subject") or ""),
                common_name=str(obj.get("commonName") or ""),
                object_type=object_type or "CallLog",
            ))
        meta = data.get("meta")
        paging = meta.get("paging") if isinstance(meta, dict) else None
        prev_id = next_id = None
        if isinstance(paging, dict):
            prev_id = _str_or_none(paging.get("previousId"))
            next_id = _str_or_none(paging.get("nextId"))
        return CommunicationsPage(items=items, previous_id=prev_id, next_id=next_id, limit=limit)

    def _details(self, oid: str, obj: Mapping[str, Any]) -> CallDetails:
        participants: list[Participant] = []
        for p in obj.get("participants") or []:
            if not isinstance(p, dict):
                continue
            addressable = p.get("addressable")
            name = str(p.get("commonName") or "")
            if not name and isinstance(addressable, dict):
                name = str(addressable.get("commonName") or "")
            participants.append(Participant(
                role=str(p.get("role") or ""),
                address=str(p.get("address") or ""),
                name=name,
            ))
        incoming = bool(obj.get("incoming"))
        # Incoming: the other party sent (rtFrom) and we received (rtTo); outgoing the reverse.
        other_role, own_role = ("rtFrom", "rtTo") if incoming else ("rtTo", "rtFrom")
        other = next((p for p in participants if p.role == other_role), None)
        own = next((p for p in participants if p.role == own_role), None)
        duration = obj.get("durationSec")
        return CallDetails(
            oid=str(obj.get("oid") or oid),
            call_id=str(obj.get("callId") or ""),
            date=parse_xelion_date(obj.get("date")),
            end_time=parse_xelion_date(obj.get("callEndTime")),
            duration_sec=int(duration) if isinstance(duration, int | float) else 0,
            incoming=incoming,
            number=other.address if other else "",
            other_name=other.name if other else "",
            operator=own.name if own else "",
            subject=str(obj.get("subject") or ""),
            participants=tuple(participants),
            # Written as ``contents`` (PATCH), read back as ``contentSummary``
            # (communications_update.html / communications_get.html); accept either.
            contents=str(obj.get("contentSummary") or obj.get("contents") or ""),
        )


_AUDIO_WHAT = T("to fetch call recordings", "gespreksopnames op te halen")


def _str_or_none(value: object) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def _error_info(resp: httpx.Response) -> tuple[int | None, str]:
    """Xelion's error body: ``{"errorCode": 10004, "message": "...", "info": "..."}``."""
    try:
        data = resp.json()
    except (ValueError, httpx.ResponseNotRead):
        return None, ""
    if not isinstance(data, dict):
        return None, ""
    code = data.get("errorCode")
    try:
        code_int = int(code) if code is not None else None
    except (TypeError, ValueError):
        code_int = None
    message = data.get("message")
    return code_int, message if isinstance(message, str) else ""
