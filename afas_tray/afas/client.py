"""Async client for the AFAS Profit REST API (GetConnectors, metainfo, KnSubject).

Retries only what is safe to repeat: connection failures, GET timeouts and 503 maintenance
answers (honouring ``retry_after``). A POST that may have reached Profit is never repeated here;
the error says ``maybe_sent`` and the caller (the outbox) decides.

Last step of the finished-call walk (README, "Architecture"): receives a KnSubject body from
``reports/outbox.py`` (``post_subject``) and hands it to Profit (``POST connectors/KnSubject``),
returning the new item's id, or raising an ``AfasError`` (a lost connection says
``maybe_sent``). It knows nothing of the app: the outbox holds the exactly-once rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import random
import ssl
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from types import TracebackType
from typing import Any, cast
from urllib.parse import quote

import httpx

from afas_tray.afas import page_json
from afas_tray.afas.errors import (
    AfasAuthError,
    AfasBadReply,
    AfasConnectionError,
    AfasConnectorNotAllowed,
    AfasError,
    AfasForbidden,
    AfasNotFound,
    AfasQueryTooLong,
    AfasServerError,
    AfasTimeout,
    AfasTooLarge,
    AfasUnavailable,
)
from afas_tray.afas.token import auth_header
from afas_tray.backoff import jittered_backoff

API_PATH = "/ProfitRestServices"
MAX_ROWS_PER_PAGE = 5000
MAX_CELLS_PER_PAGE = 150_000  # AFAS's advice: columns x rows per request
MAX_QUERY_CHARS = 2000  # IIS in front of Profit answers 404 past this
# AFAS's documentation (OASContent, "limits"): a token may make up to 5 simultaneous calls.
MAX_PARALLEL_CALLS = 5
# Pages larger than this are parsed off the event loop (a 1 MB page takes ~10 ms to parse).
PARSE_ON_THREAD_BYTES = 128 * 1024


class Op(IntEnum):
    """AFAS filter operators (``operatortypes``)."""

    EQ = 1
    GE = 2
    LE = 3
    GT = 4
    LT = 5
    CONTAINS = 6
    NE = 7
    EMPTY = 8
    NOT_EMPTY = 9
    STARTS_WITH = 10
    NOT_CONTAINS = 11
    NOT_STARTS_WITH = 12
    ENDS_WITH = 13
    NOT_ENDS_WITH = 14


@dataclass(frozen=True)
class Filter:
    """One condition; ``value`` is ignored for EMPTY/NOT_EMPTY."""

    field: str
    op: int
    value: str | int | bool = ""

    def __post_init__(self) -> None:
        if not 1 <= int(self.op) <= 14:
            raise ValueError(f"AFAS filter operator must be 1..14, not {self.op}")
        # AFAS has no escaping: a separator inside a value would silently change the filter.
        for part in (self.field, self.encoded_value()):
            if "," in part or ";" in part:
                raise ValueError("AFAS filters cannot contain ',' or ';'")

    def encoded_value(self) -> str:
        if int(self.op) in (Op.EMPTY, Op.NOT_EMPTY):
            return ""
        if isinstance(self.value, bool):
            return "true" if self.value else "false"
        return str(self.value)


FilterSpec = Sequence[Filter] | Sequence[Sequence[Filter]]


def encode_filters(filters: FilterSpec) -> dict[str, str]:
    """AFAS query parameters for ``filters``: a flat sequence is one AND group; a sequence of
    sequences is an OR of AND groups (``,`` joins within a group, ``;`` between groups)."""
    if not filters:
        return {}
    if isinstance(filters[0], Filter):
        groups = [cast(Sequence[Filter], filters)]
    else:
        groups = [g for g in cast(Sequence[Sequence[Filter]], filters) if g]
    if not groups:
        return {}
    return {
        "filterfieldids": ";".join(",".join(f.field for f in g) for g in groups),
        "filtervalues": ";".join(",".join(f.encoded_value() for f in g) for g in groups),
        "operatortypes": ";".join(",".join(str(int(f.op)) for f in g) for g in groups),
    }


# AFAS (OASContent, paging): "past 100,000 the speed is no longer acceptable" with skip. From
# there on a page asks for the rows after the last key seen (key > last, operator 4) instead.
KEYSET_AFTER = 100_000


def _and_each(filters: FilterSpec, extra: Filter) -> list[list[Filter]]:
    """``filters`` with ``extra`` added to every OR group (AND)."""
    if not filters:
        return [[extra]]
    if isinstance(filters[0], Filter):
        return [[*cast(Sequence[Filter], filters), extra]]
    return [[*g, extra] for g in cast(Sequence[Sequence[Filter]], filters) if g] or [[extra]]


def page_size(columns: int | None, take: int | None = None) -> int:
    """Rows per page: at most 5,000 and at most 150,000 cells."""
    size = MAX_ROWS_PER_PAGE if take is None else max(1, min(take, MAX_ROWS_PER_PAGE))
    if columns:
        size = max(1, min(size, MAX_CELLS_PER_PAGE // columns))
    return size


@dataclass(frozen=True)
class FieldMeta:
    id: str
    label: str
    data_type: str
    field_id: str = ""
    length: int = 0


@dataclass(frozen=True)
class ConnectorMeta:
    name: str
    description: str
    fields: list[FieldMeta]


def _is_loopback(host: str) -> bool:
    return httpx.URL(host).host in ("127.0.0.1", "localhost", "::1")


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One TLS context per process: loading the CA bundle costs tens of milliseconds, too much
    to pay on the UI's event loop for every sync and every drain (warm it on a thread)."""
    return httpx.create_ssl_context()


class AfasClient:
    """``async with AfasClient(host, token) as afas: ...``; ``host`` like
    ``https://12345.rest.afas.online`` (``/ProfitRestServices`` is appended)."""

    def __init__(
        self,
        host: str,
        token: str,
        *,
        max_in_flight: int = MAX_PARALLEL_CALLS,
        timeout: float = 60,
        retries: int = 4,
        transport: httpx.AsyncBaseTransport | None = None,
        backoff_base: float = 0.5,
        backoff_cap: float = 20.0,
        max_retry_after: float = 60.0,
        integration_id: str = "",
        forbidden_retries: int = 3,
    ) -> None:
        host = host.strip().rstrip("/")
        if not host.lower().startswith(("http://", "https://")):
            raise ValueError(
                "host must start with https:// (or http:// for a loopback test server)"
            )
        if host.lower().endswith(API_PATH.lower()):
            host = host[: -len(API_PATH)]
        self.host = host
        self.timeout = timeout
        self.retries = retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_retry_after = max_retry_after
        # AFAS has been seen to answer passing 403s under load: a few retries before the IP
        # restriction is believed (a 403 is refused before Profit handles it: safe for a POST).
        self.forbidden_retries = forbidden_retries
        # Rows after which iter_pages(keyset=...) leaves skip for "key > last" (None: never).
        self.keyset_after: int | None = KEYSET_AFTER
        self.requests_made = 0  # HTTP attempts, retries included (benchmarks, tests)
        self._semaphore = asyncio.Semaphore(min(max_in_flight, MAX_PARALLEL_CALLS))
        # True once /ProfitVersion accepted the token: a later 401 then names its connector.
        self._token_ok: bool | None = None
        headers = {"Authorization": auth_header(token), "Accept": "application/json"}
        if integration_id.strip():
            # AFAS asks partners to identify their integration with this header (OASContent).
            headers["IntegrationId"] = integration_id.strip()
        self._http = httpx.AsyncClient(
            base_url=host + API_PATH,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)),
            limits=httpx.Limits(
                max_connections=max_in_flight, max_keepalive_connections=max_in_flight
            ),
            transport=transport,
            # A loopback test server must not go through the desktop's proxy settings.
            trust_env=not _is_loopback(host),
            verify=shared_ssl_context(),
        )

    def __repr__(self) -> str:
        return f"AfasClient({self.host!r})"

    async def __aenter__(self) -> AfasClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- plumbing --------------------------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter."""
        return jittered_backoff(attempt, self.backoff_base, self.backoff_cap)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        content: bytes | None = None,
        connector: str | None = None,
    ) -> httpx.Response:
        is_get = method == "GET"
        headers = (
            {"Content-Type": "application/json; charset=utf-8"} if content is not None else None
        )
        attempt = 0
        forbidden = 0
        while True:
            error: AfasError
            try:
                async with self._semaphore:
                    self.requests_made += 1
                    response = await self._http.request(
                        method, path, params=params, content=content, headers=headers
                    )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # Never reached the server: safe to repeat, also for a POST.
                if isinstance(exc, httpx.ConnectError):
                    error = AfasConnectionError(self.host, maybe_sent=False, connector=connector)
                else:
                    error = AfasTimeout(self.timeout, maybe_sent=False, connector=connector)
                cause: Exception = exc
            except httpx.TimeoutException as exc:
                error = AfasTimeout(self.timeout, maybe_sent=True, connector=connector)
                if not is_get:
                    raise error from exc
                cause = exc
            except httpx.TransportError as exc:
                error = AfasConnectionError(self.host, maybe_sent=True, connector=connector)
                if not is_get:
                    raise error from exc
                cause = exc
            else:
                if response.status_code == 401 and connector and await self._token_accepted():
                    raise AfasConnectorNotAllowed(connector)
                if response.status_code == 403 and forbidden < self.forbidden_retries:
                    await asyncio.sleep(self._backoff(forbidden))
                    forbidden += 1
                    continue
                if response.status_code != 503:
                    self._raise_for_status(response, connector)
                    return response
                retry_after = self._retry_after(response)
                unavailable = AfasUnavailable(retry_after, connector=connector)
                if attempt >= self.retries or (
                    retry_after is not None and retry_after > self.max_retry_after
                ):
                    raise unavailable
                delay = retry_after if retry_after is not None else self._backoff(attempt)
                await asyncio.sleep(delay + random.uniform(0, 0.1))
                attempt += 1
                continue
            if attempt >= self.retries:
                raise error from cause
            await asyncio.sleep(self._backoff(attempt))
            attempt += 1

    async def _token_accepted(self) -> bool:
        """Whether ``/ProfitVersion`` takes the token (asked once per client, on a first 401)."""
        if self._token_ok is None:
            try:
                await self.profit_version()
            except AfasAuthError:
                self._token_ok = False
            except AfasError:
                return False  # unknown: report the 401 as the token's
        return bool(self._token_ok)

    @staticmethod
    def _retry_after(response: httpx.Response) -> float | None:
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            value = response.json().get("retry_after")
            if value is not None:
                return max(0.0, float(value))
        with contextlib.suppress(ValueError, TypeError):
            return max(0.0, float(response.headers.get("Retry-After", "")))
        return None

    @staticmethod
    def _raise_for_status(response: httpx.Response, connector: str | None) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        if status == 401:
            raise AfasAuthError(connector)
        if status == 403:
            raise AfasForbidden(connector)
        if status == 404:
            raise AfasNotFound(connector)
        if status == 413:
            raise AfasTooLarge(connector)
        if status == 500:
            data: Any = None
            with contextlib.suppress(ValueError):
                data = response.json()
            if not isinstance(data, dict):
                data = {}
            number = data.get("errorNumber")
            raise AfasServerError(
                str(data.get("externalMessage") or ""),
                number if isinstance(number, int) else None,
                str(data.get("profitLogReference") or ""),
                connector=connector,
            )
        raise AfasBadReply(f"HTTP {status}", status=status, connector=connector)

    @staticmethod
    def _json(response: httpx.Response, connector: str | None = None,
              loads: Callable[[bytes], Any] = json.loads) -> Any:
        try:
            return loads(response.content)
        except ValueError:
            kind = response.headers.get("Content-Type", "?").split(";")[0]
            raise AfasBadReply(
                f"not JSON ({kind})", status=response.status_code, connector=connector
            ) from None

    async def _get_json(
        self, path: str, *, params: dict[str, str] | None = None, connector: str | None = None
    ) -> Any:
        response = await self._request("GET", path, params=params, connector=connector)
        return self._json(response, connector)

    # -- API -------------------------------------------------------------------------------

    async def profit_version(self) -> str:
        data = await self._get_json("/ProfitVersion")
        if not isinstance(data, dict) or not isinstance(data.get("version"), str):
            raise AfasBadReply("no version")
        self._token_ok = True
        return str(data["version"])

    async def meta_overview(self) -> dict[str, Any]:
        """``GET /MetaInfo`` as it is: ``getConnectors``, ``updateConnectors``, ``info``."""
        data = await self._get_json("/MetaInfo")
        if not isinstance(data, dict):
            raise AfasBadReply("no MetaInfo")
        return data

    async def list_connectors(self) -> list[dict[str, Any]]:
        """The GetConnectors this token may use: ``[{"id", "description"}, …]``."""
        data = await self._get_json("/MetaInfo")
        if not isinstance(data, dict) or not isinstance(data.get("getConnectors"), list):
            raise AfasBadReply("no getConnectors in MetaInfo")
        return [c for c in data["getConnectors"] if isinstance(c, dict)]

    async def list_update_connectors(self) -> list[dict[str, Any]]:
        """The UpdateConnectors this token may use (``updateConnectors`` of ``/MetaInfo``)."""
        data = await self._get_json("/MetaInfo")
        if not isinstance(data, dict) or not isinstance(data.get("updateConnectors"), list):
            raise AfasBadReply("no updateConnectors in MetaInfo")
        return [c for c in data["updateConnectors"] if isinstance(c, dict)]

    async def metainfo(self, connector_id: str) -> ConnectorMeta:
        data = await self._get_json(
            f"/metainfo/get/{quote(connector_id, safe='')}", connector=connector_id
        )
        if not isinstance(data, dict) or not isinstance(data.get("fields"), list):
            raise AfasBadReply("no fields in metainfo", connector=connector_id)
        fields = [
            FieldMeta(
                id=str(f.get("id", "")),
                label=str(f.get("label") or ""),
                data_type=str(f.get("dataType") or ""),
                field_id=str(f.get("fieldId") or ""),
                length=int(f.get("length") or 0),
            )
            for f in data["fields"]
            if isinstance(f, dict) and f.get("id")
        ]
        return ConnectorMeta(
            str(data.get("name") or connector_id), str(data.get("description") or ""), fields
        )

    async def get_page(self, connector_id: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """One GetConnector request with ready-made query parameters."""
        query = str(httpx.QueryParams(params))
        if len(query) > MAX_QUERY_CHARS:
            raise AfasQueryTooLong(connector_id, len(query))
        response = await self._request(
            "GET", f"/connectors/{quote(connector_id, safe='')}", params=params,
            connector=connector_id,
        )
        if len(response.content) < PARSE_ON_THREAD_BYTES:
            data = self._json(response, connector_id)
        else:
            # A big page parses on a worker thread, row by row (page_json): the loop goes on.
            data = await asyncio.to_thread(self._json, response, connector_id, page_json.loads)
        if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
            raise AfasBadReply("no rows", connector=connector_id)
        return data["rows"]

    async def iter_pages(
        self,
        connector_id: str,
        *,
        order_by: Sequence[str],
        filters: FilterSpec = (),
        fields_count: int | None = None,
        take: int | None = None,
        keyset: str | None = None,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """All rows, page by page, in a stable order (``order_by`` fields, ``-`` = descending).

        ``take`` caps the page size (default: as large as AFAS advises); without ``take`` or
        ``fields_count`` the column count comes from metainfo (one extra request). The next page
        is fetched while the caller handles the current one. ``keyset``: the sole (ascending,
        unique, integer) sort column; past ``keyset_after`` rows the pages ask for the rows
        whose key is greater than the last one seen rather than skipping deeper.
        """
        if not order_by:
            raise ValueError("order_by is required: AFAS pages are only stable when sorted")
        if keyset is not None and list(order_by) != [keyset]:
            raise ValueError("keyset paging needs the key as the only sort column")
        if fields_count is None and take is None:
            fields_count = len((await self.metainfo(connector_id)).fields)
        size = page_size(fields_count, take)
        order = {"orderbyfieldids": ",".join(order_by)}
        base = {**order, **encode_filters(filters)}

        def fetch(skip: int, after: Any = None) -> asyncio.Task[list[dict[str, Any]]]:
            params = base
            if after is not None:
                assert keyset is not None
                params = {**order, **encode_filters(_and_each(filters, Filter(keyset, Op.GT, after)))}
            return asyncio.ensure_future(
                self.get_page(connector_id, {"skip": str(skip), "take": str(size), **params})
            )

        skip = 0
        keyset_from = self.keyset_after if keyset is not None else None
        pending: asyncio.Task[list[dict[str, Any]]] | None = fetch(0)
        try:
            while pending is not None:
                task, pending = pending, None
                rows = await task
                if len(rows) >= size:
                    last = rows[-1].get(keyset) if keyset is not None else None
                    if keyset_from is not None and skip + size >= keyset_from and isinstance(
                            last, int) and not isinstance(last, bool):
                        pending = fetch(0, last)  # the next rows after the last key: no deep skip
                    else:
                        pending = fetch(skip + size)
                skip += size
                if rows:
                    yield rows
        finally:
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending

    async def iter_rows(
        self,
        connector_id: str,
        *,
        order_by: Sequence[str],
        filters: FilterSpec = (),
        fields_count: int | None = None,
        take: int | None = None,
        keyset: str | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        pages = self.iter_pages(
            connector_id, order_by=order_by, filters=filters, fields_count=fields_count, take=take,
            keyset=keyset,
        )
        try:
            async for page in pages:
                for row in page:
                    yield row
        finally:
            await pages.aclose()  # type: ignore[attr-defined]

    async def _post(self, path: str, body: dict[str, Any] | bytes, connector: str) -> str:
        content = (
            body
            if isinstance(body, bytes)
            else json.dumps(body, ensure_ascii=False).encode("utf-8")
        )
        response = await self._request("POST", path, content=content, connector=connector)
        data = self._json(response, connector)
        try:
            return str(data["results"]["KnSubject"]["SbId"])
        except (KeyError, TypeError):
            raise AfasBadReply(
                "no results.KnSubject.SbId", status=response.status_code, connector=connector
            ) from None

    async def post_subject(self, body: dict[str, Any] | bytes) -> str:
        """Create a dossier item (KnSubject); returns its SbId. ``body`` may be pre-serialised
        JSON bytes so a large attachment is encoded once."""
        return await self._post("/connectors/KnSubject", body, "KnSubject")

    async def post_update(self, connector: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST a new record to an UpdateConnector (``KnPerson``, ``KnOrganisation`` …); returns
        the ``results.<connector>`` object of the 201 answer (the new keys), ``{}`` without one.
        Like every POST it is never repeated once it may have reached Profit."""
        content = json.dumps(body, ensure_ascii=False).encode("utf-8")
        response = await self._request(
            "POST", f"/connectors/{quote(connector, safe='')}", content=content,
            connector=connector,
        )
        data = self._json(response, connector)
        results = data.get("results") if isinstance(data, dict) else None
        found = results.get(connector) if isinstance(results, dict) else None
        return found if isinstance(found, dict) else {}

    async def post_subject_attachment(self, body: dict[str, Any] | bytes) -> str:
        """Add attachments to an existing dossier item (``@SbId`` in the Element)."""
        return await self._post("/connectors/KnSubject/KnSubjectAttachment", body, "KnSubject")
