"""Xelion's address book over REST: list, search, read, create, write and remove addressables.

Pages of Xelion's public user guide (under portal.xelion.com/nl/apidocs/user-guide/) this follows:

- ``resources/addressables_add.html``: ``POST addressables`` with a sub-class of Addressable whose
  ``objectType`` is given; a person's whole name goes into ``familyName`` (Xelion splits it).
  The reply is ``{"object": {...}, "links": [...]}``.
- ``resources/addressables_set.html``: ``PUT addressables/<oid>``; read the object, edit it, set
  ``changeType`` on the object and on each sub-object (``model/XelionObject.ChangeType.html``:
  Unmodified, Modified, Created, Removed), write it back. Created sub-objects come back with oids.
- ``resources/addressables_get.html``: ``GET addressables/<oid>``; 404/10100 when it is gone.
- ``resources/addressables_search_parameters.html`` and ``common_search_parameters.html``:
  ``GET addressables`` with ``where=obj_type=Person|Organisation``, ``name``, ``limit`` (default 15),
  ``order_by=oid``, ``after=<oid>``; a page is ``{"data": [{"object": {...}}], "meta": {"links":
  [..., {"rel": "next", "href": "...?after=<oid>"}]}}`` (``addressables_colleagues.html``).
- Removing: the guide's overview maps DELETE to "delete a resource"; no page of the stored guide
  shows ``DELETE addressables/<oid>`` itself, so that is assumed (404 counts as already gone).

Politeness (``websockets/index.html``: "calling a specific API request too many times can result
in a block"; ``common_errors.html``: 429/10400 too many concurrent requests on the session):
requests leave at a paced rate with a few in flight at most; a 429 waits (jittered backoff),
slows the pace down and tries the same request again. A create is never retried after its
answer was lost: the caller matches it up by name and number on the next run instead.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from afas_tray.backoff import jittered_backoff
from afas_tray.xelion.client import XelionClient
from afas_tray.xelion.errors import (
    CODE_TOO_MANY_REQUESTS,
    XelionBadReply,
    XelionRequestError,
    XelionSessionExpired,
    XelionUnavailable,
)

log = logging.getLogger(__name__)

PAGE_LIMIT = 100  # the guide's default is 15; asking more costs fewer requests per listing


@dataclass(frozen=True)
class Summary:
    """An addressable as a list or search returns it."""

    oid: str
    object_type: str
    common_name: str


@dataclass
class ApiStats:
    requests: int = 0
    writes: int = 0
    busy_replies: int = 0  # 429/10400 answers
    in_flight: int = 0
    peak_in_flight: int = 0


class AddressablesApi:
    """The address-book calls, paced. ``rate``: requests per second at most (on average);
    ``concurrency``: requests in flight at most."""

    def __init__(self, client: XelionClient, *, rate: float = 8.0, concurrency: int = 2,
                 max_busy_retries: int = 8) -> None:
        self._client = client
        self._base_interval = 1.0 / rate if rate > 0 else 0.0
        self._interval = self._base_interval
        self._gate = asyncio.Semaphore(max(1, concurrency))
        self._pace = asyncio.Lock()
        self._next_start = 0.0
        self._max_busy = max_busy_retries
        self.stats = ApiStats()
        self._logged_shapes: set[str] = set()

    # -- reading -----------------------------------------------------------------------------

    async def list_all(self, object_type: str) -> AsyncIterator[list[Summary]]:
        """Every addressable of ``object_type``, page by page (by oid, ascending)."""
        after: str | None = None
        while True:
            params: dict[str, str | int] = {"where": f"obj_type={object_type}",
                                            "limit": PAGE_LIMIT, "order_by": "oid"}
            if after:
                params["after"] = after
            data = await self._json("GET", "addressables", params=params)
            page = self._summaries(data)
            if page:
                yield page
            # Follow the "next" link when the server gives one; without it, page on from the
            # last oid until an empty page (a server that caps ``limit`` lower than asked
            # must not end the listing early).
            nxt = _next_after(data)
            if nxt is None:
                if not page:
                    return
                nxt = page[-1].oid
            if nxt == after:
                return
            after = nxt

    async def search_name(self, name: str, object_type: str) -> list[Summary]:
        """Addressables of ``object_type`` whose common name matches ``name`` (the guide's
        ``name`` parameter; how loosely it matches is not said, so callers compare again)."""
        params: dict[str, str | int] = {"name": name, "where": f"obj_type={object_type}",
                                        "limit": PAGE_LIMIT}
        return self._summaries(await self._json("GET", "addressables", params=params))

    async def get(self, oid: str) -> dict[str, Any] | None:
        """The whole addressable, or None when it no longer exists."""
        resp = await self._call("GET", f"addressables/{oid}", retry_unreachable=True)
        if resp.status_code == 404:
            return None
        return self._object(resp, f"addressables/{oid}")

    # -- writing -----------------------------------------------------------------------------

    async def create(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """``POST addressables``; the created object (with its oid and its sub-objects' oids)."""
        resp = await self._call("POST", "addressables", json=dict(payload), write=True)
        obj = self._object(resp, "addressables")
        if not obj.get("oid"):
            raise XelionBadReply.for_path(self._client.host_label, "addressables", "no oid")
        return obj

    async def write(self, oid: str, payload: Mapping[str, Any]) -> dict[str, Any] | None:
        """``PUT addressables/<oid>``; the changed object, or None when it no longer exists."""
        path = f"addressables/{oid}"
        resp = await self._call("PUT", path, json=dict(payload), write=True,
                                retry_unreachable=True)
        if resp.status_code == 404:
            return None
        return self._object(resp, path)

    async def remove(self, oid: str) -> bool:
        """``DELETE addressables/<oid>``; False when it was already gone."""
        path = f"addressables/{oid}"
        resp = await self._call("DELETE", path, write=True, retry_unreachable=True)
        if resp.status_code == 404:
            return False
        self._check(resp, path)
        return True

    # -- plumbing ----------------------------------------------------------------------------

    async def _json(self, method: str, path: str, *, params: Mapping[str, str | int]
                    ) -> dict[str, Any]:
        resp = await self._call(method, path, params=params, retry_unreachable=True)
        self._check(resp, path)
        return _body(resp, self._client.host_label, path)

    def _object(self, resp: httpx.Response, path: str) -> dict[str, Any]:
        self._check(resp, path)
        data = _body(resp, self._client.host_label, path)
        obj = data.get("object")
        if not isinstance(obj, dict):
            raise XelionBadReply.for_path(self._client.host_label, path, "no object")
        return obj

    def _summaries(self, data: Mapping[str, Any]) -> list[Summary]:
        rows = data.get("data")
        if not isinstance(rows, list):
            raise XelionBadReply.for_path(self._client.host_label, "addressables", "no data list")
        out: list[Summary] = []
        for row in rows:
            obj = row.get("object") if isinstance(row, dict) else None
            if not isinstance(obj, dict) or not obj.get("oid"):
                continue
            out.append(Summary(str(obj["oid"]), str(obj.get("objectType") or ""),
                               str(obj.get("commonName") or obj.get("name") or "")))
        if "list" not in self._logged_shapes:
            # The guide shows a list page only for colleagues; log once what a real one holds.
            self._logged_shapes.add("list")
            meta = data.get("meta")
            log.info("Xelion addressables list: %d rows, meta keys %s", len(rows),
                     sorted(meta) if isinstance(meta, dict) else None)
        return out

    def _check(self, resp: httpx.Response, path: str) -> None:
        if resp.status_code < 300:
            return
        code, message = _error_info(resp)
        host = self._client.host_label
        if resp.status_code == 401:
            raise XelionSessionExpired.default()
        if resp.status_code == 429 or code == CODE_TOO_MANY_REQUESTS:
            raise XelionUnavailable.busy(host)
        if resp.status_code >= 500:
            raise XelionUnavailable.server_error(host, resp.status_code, code, message[:200])
        raise XelionRequestError.refused(path, resp.status_code, code, message[:200])

    async def _call(self, method: str, path: str, *, params: Mapping[str, str | int] | None = None,
                    json: object = None, write: bool = False, retry_unreachable: bool = False
                    ) -> httpx.Response:
        unreachable = 0
        busy = 0
        while True:
            await self._wait_turn()
            async with self._gate:
                self.stats.requests += 1
                self.stats.writes += 1 if write else 0
                self.stats.in_flight += 1
                self.stats.peak_in_flight = max(self.stats.peak_in_flight, self.stats.in_flight)
                try:
                    resp = await self._client.api_request(method, path, params=params, json=json)
                except XelionUnavailable:
                    if not retry_unreachable or unreachable >= 2:
                        raise
                    unreachable += 1
                    resp = None
                finally:
                    self.stats.in_flight -= 1
            if resp is None:
                await asyncio.sleep(jittered_backoff(unreachable, 1.0, 10.0))
                continue
            if resp.status_code == 429 or (resp.status_code >= 400
                                           and _error_info(resp)[0] == CODE_TOO_MANY_REQUESTS):
                self.stats.busy_replies += 1
                if busy >= self._max_busy:
                    return resp
                # Slow down for everyone, then try this request again.
                self._interval = min(max(self._interval * 2, 0.05), 2.0)
                await asyncio.sleep(jittered_backoff(busy, 0.5, 30.0))
                busy += 1
                continue
            if self._interval > self._base_interval:
                self._interval = max(self._base_interval, self._interval * 0.95)
            return resp

    async def _wait_turn(self) -> None:
        """Space request starts ``self._interval`` apart (a steady pace, not bursts)."""
        async with self._pace:
            now = time.monotonic()
            start = max(now, self._next_start)
            self._next_start = start + self._interval
        if start > now:
            await asyncio.sleep(start - now)


def _body(resp: httpx.Response, host: str, path: str) -> dict[str, Any]:
    try:
        data = resp.json()
    except ValueError:
        raise XelionBadReply.for_path(host, path, "not JSON") from None
    if not isinstance(data, dict):
        raise XelionBadReply.for_path(host, path, "not a JSON object")
    return data


def _next_after(data: Mapping[str, Any]) -> str | None:
    """The ``after`` value of the page's "next" link, or the ``nextId`` of a paging block."""
    meta = data.get("meta")
    if not isinstance(meta, dict):
        return None
    for link in meta.get("links") or []:
        if isinstance(link, dict) and link.get("rel") == "next" and link.get("href"):
            values = parse_qs(urlsplit(str(link["href"])).query).get("after")
            if values:
                return values[0]
    return None


def _error_info(resp: httpx.Response) -> tuple[int | None, str]:
    try:
        data = resp.json()
    except (ValueError, httpx.ResponseNotRead):
        return None, ""
    if not isinstance(data, dict):
        return None, ""
    try:
        code = int(data["errorCode"]) if data.get("errorCode") is not None else None
    except (TypeError, ValueError):
        code = None
    message = data.get("message")
    return code, message if isinstance(message, str) else ""


__all__ = ["AddressablesApi", "ApiStats", "Summary"]
