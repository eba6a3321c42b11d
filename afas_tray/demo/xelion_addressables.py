"""The simulated Xelion server's address book: ``addressables`` create, read, write, remove, list.

Shapes from Xelion's user guide (``resources/addressables_add.html``, ``addressables_set.html``,
``addressables_get.html``, ``addressables_search_parameters.html``, ``common_search_parameters.html``,
``model/XelionObject.ChangeType.html``). It refuses what the guide says the server needs: an
``objectType`` on create, a ``changeType`` on every object of a write, oids for sub-objects that are
changed or removed, a known ``addressType``, an existing organisation for an employment, a
``where`` filter it does not know. Like Xelion, a person created with only ``familyName`` gets it
split into given name, prefix and family name, with the whole name as ``commonName``.

Load behaviour: more than ``max_concurrent`` requests in flight on one session get 429/10400;
``drop_after_creates`` makes the server store the next create and then cut the connection
before answering (the lost answer of a crash or a network break); ``peak_in_flight`` is measured.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

from aiohttp import web

_ADDRESS_TYPES = {"Telephone", "Telephone_and_SMS", "Mobile", "Email"}  # as the guide shows them
_TYPES = {"Person", "Organisation"}
_CHANGE_TYPES = {"Unmodified", "Modified", "Created", "Removed"}
_PREFIXES = {"van", "de", "der", "den", "ter", "ten", "het", "la", "le", "du", "von", "vander"}
_MAX_LIMIT = 100


def split_name(whole: str) -> tuple[str, str, str]:
    """(givenName, namePrefix, familyName) of a whole name, roughly as Xelion splits it."""
    words = whole.split()
    if len(words) < 2:
        return "", "", whole.strip()
    given, rest = words[0], words[1:]
    prefix: list[str] = []
    while len(rest) > 1 and rest[0].lower() in _PREFIXES:
        prefix.append(rest.pop(0))
    return given, " ".join(prefix), " ".join(rest)


class _Refused(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class SimAddressBook:
    def __init__(self, next_oid: Callable[[], str]) -> None:
        self._next_oid = next_oid
        self.objects: dict[str, dict[str, Any]] = {}
        self.max_concurrent = 8
        self.drop_after_creates: int | None = None
        self.in_flight: Counter[str] = Counter()
        self.peak_in_flight = 0
        self.busy_answers = 0
        self.creates = 0
        self.latency = 0.0  # seconds each request takes (a real server is not instant)

    # -- for tests and --demo ----------------------------------------------------------------

    def add(self, obj: dict[str, Any]) -> str:
        """Put an entry in directly, as a Xelion user would by hand. Returns its oid."""
        return self._create(dict(obj))["oid"]

    def of_type(self, object_type: str) -> list[dict[str, Any]]:
        return [o for o in self.objects.values() if o["objectType"] == object_type]

    def name_for(self, number: str) -> tuple[str, str]:
        """(name, organisation name) of the entry with this number, as Xelion shows a caller."""
        digits = _digits(number)
        if not digits:
            return "", ""
        for obj in self.objects.values():
            addresses = list(obj.get("telecomAddresses") or [])
            for emp in obj.get("employments") or []:
                addresses += emp.get("telecomAddresses") or []
            if any(_digits(a.get("address", "")) == digits for a in addresses):
                org = ""
                if obj["objectType"] == "Person" and obj.get("employments"):
                    org = str(obj["employments"][0].get("commonName") or "")
                elif obj["objectType"] == "Organisation":
                    org = str(obj.get("commonName") or "")
                return str(obj.get("commonName") or ""), org
        return "", ""

    # -- routes --------------------------------------------------------------------------------

    def routes(self, api: str, session_of: Callable[[web.Request], Any],
               error: Callable[[web.Request, int, int, str], web.Response]) -> list[Any]:
        self._session_of = session_of
        self._error = error
        return [
            web.get(api + "addressables", self._guarded(self._list)),
            web.post(api + "addressables", self._guarded(self._post)),
            web.get(api + "addressables/{oid}", self._guarded(self._get)),
            web.put(api + "addressables/{oid}", self._guarded(self._put)),
            web.delete(api + "addressables/{oid}", self._guarded(self._delete)),
        ]

    def _guarded(self, handler: Callable[..., Any]) -> Callable[[web.Request], Any]:
        async def run(request: web.Request) -> web.StreamResponse:
            session = self._session_of(request)
            if session is None:
                return self._error(request, 401, 10000, "The user is not authenticated.")
            token = session.token
            self.in_flight[token] += 1
            try:
                self.peak_in_flight = max(self.peak_in_flight, self.in_flight[token])
                if self.in_flight[token] > self.max_concurrent:
                    self.busy_answers += 1
                    return self._error(request, 429, 10400, "too many concurrent requests")
                if self.latency:
                    await asyncio.sleep(self.latency)
                try:
                    return await handler(request)
                except _Refused as exc:
                    return self._error(request, exc.status, exc.code, exc.message)
            finally:
                self.in_flight[token] -= 1
        return run

    async def _body(self, request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise _Refused(400, 10202, "failed to decode the addressable") from None
        if not isinstance(body, dict) or not body:
            raise _Refused(400, 10200, "client request has no payload")
        return body

    def _reply(self, request: web.Request, obj: dict[str, Any]) -> web.Response:
        href = f"http://{request.host}{request.path.rsplit('/addressables', 1)[0]}" \
               f"/addressables/{obj['oid']}"
        return web.json_response({"object": obj,
                                  "links": [{"rel": "self", "href": href, "method": "GET"}]})

    async def _list(self, request: web.Request) -> web.Response:
        q = request.query
        try:
            limit = max(1, min(int(q.get("limit", "15")), _MAX_LIMIT))
        except ValueError:
            raise _Refused(400, 10202, "limit is not a number") from None
        items = list(self.objects.values())
        for clause in filter(None, q.get("where", "").split(",")):
            key, _, value = clause.partition("=")
            if key.strip() != "obj_type":
                raise _Refused(400, 10202, f"unknown filter {key.strip()}")
            items = [o for o in items if o["objectType"] == value.strip()]
        if q.get("name"):
            needle = q["name"].casefold()
            items = [o for o in items if needle in str(o.get("commonName", "")).casefold()]
        order_by = q.get("order_by", "oid")
        if order_by not in ("oid", "name", "mru"):
            raise _Refused(400, 10202, "unknown order")
        if order_by == "name":
            items.sort(key=lambda o: (str(o.get("commonName", "")).casefold(), int(o["oid"])))
        else:
            items.sort(key=lambda o: int(o["oid"]))
        if q.get("order", "ascending").startswith("dec"):
            items.reverse()
        try:
            if q.get("after"):
                after = int(q["after"])
                items = [o for o in items if int(o["oid"]) > after]
            if q.get("before"):
                before = int(q["before"])
                items = [o for o in items if int(o["oid"]) < before]
        except ValueError:
            raise _Refused(400, 10202, "cursor is not an id") from None
        page, more = items[:limit], len(items) > limit
        base = f"http://{request.host}{request.path}"
        links = [{"rel": "refresh", "href": base, "method": "GET"}]
        if more and order_by == "oid":
            links.append({"rel": "next", "href": f"{base}?after={page[-1]['oid']}",
                          "method": "GET"})
        data = [{"object": {"commonName": o.get("commonName", ""), "oid": o["oid"],
                            "objectType": o["objectType"]},
                 "links": [{"rel": "self", "href": f"{base}/{o['oid']}", "method": "GET"}]}
                for o in page]
        return web.json_response({"data": data, "meta": {"links": links}})

    async def _get(self, request: web.Request) -> web.Response:
        obj = self.objects.get(request.match_info["oid"])
        if obj is None:
            raise _Refused(404, 10100, "No addressable with the specified OID exists.")
        return self._reply(request, obj)

    async def _post(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        obj = self._create(body)
        self.creates += 1
        if self.drop_after_creates is not None:
            if self.drop_after_creates <= 0:
                # Stored, but the answer never arrives.
                if request.transport is not None:
                    request.transport.abort()
                raise web.HTTPServiceUnavailable()
            self.drop_after_creates -= 1
        return self._reply(request, obj)

    async def _put(self, request: web.Request) -> web.Response:
        oid = request.match_info["oid"]
        current = self.objects.get(oid)
        if current is None:
            raise _Refused(404, 10100, "No addressable with the specified OID exists.")
        body = await self._body(request)
        change = body.get("changeType")
        if change not in _CHANGE_TYPES:
            raise _Refused(400, 10202, "changeType is required")
        if body.get("objectType", current["objectType"]) != current["objectType"]:
            raise _Refused(400, 10202, "objectType cannot change")
        updated = dict(current)
        if change == "Modified":
            for k, v in body.items():
                if k in ("telecomAddresses", "employments", "addresses", "oid", "objectType",
                         "changeType", "commonName"):
                    continue
                updated[k] = v
        for key in ("telecomAddresses", "employments", "addresses"):
            if key in body:
                updated[key] = self._merge(current.get(key) or [], body[key], key)
        self._derive(updated)
        self.objects[oid] = updated
        return self._reply(request, updated)

    async def _delete(self, request: web.Request) -> web.Response:
        if self.objects.pop(request.match_info["oid"], None) is None:
            raise _Refused(404, 10100, "No addressable with the specified OID exists.")
        return web.Response(status=200)

    # -- the model -----------------------------------------------------------------------------

    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        kind = body.get("objectType")
        if kind not in _TYPES:
            raise _Refused(400, 10202, "the object type must be specified")
        obj: dict[str, Any] = {k: v for k, v in body.items() if k not in ("changeType", "oid")}
        if kind == "Person":
            if not str(obj.get("familyName") or obj.get("commonName") or "").strip():
                raise _Refused(400, 10202, "a person needs a name")
            if obj.get("familyName") and not obj.get("givenName"):
                whole = str(obj["familyName"]).strip()
                obj["givenName"], obj["namePrefix"], obj["familyName"] = split_name(whole)
        elif not str(obj.get("name") or obj.get("commonName") or "").strip():
            raise _Refused(400, 10202, "an organisation needs a name")
        obj["telecomAddresses"] = [self._new_sub(t, "TelecomAddress")
                                   for t in obj.get("telecomAddresses") or []]
        obj["employments"] = [self._new_sub(e, "Employee")
                              for e in obj.get("employments") or []] if kind == "Person" else []
        obj["addresses"] = [self._new_sub(a, "DeliveryAddress") for a in obj.get("addresses") or []]
        obj["permissions"] = "ReadWriteRemove"
        obj["oid"] = self._next_oid()
        self._derive(obj)
        self.objects[obj["oid"]] = obj
        return obj

    def _new_sub(self, sub: Any, kind: str) -> dict[str, Any]:
        if not isinstance(sub, dict):
            raise _Refused(400, 10202, f"a {kind} must be an object")
        if sub.get("changeType", "Created") != "Created" or sub.get("oid"):
            raise _Refused(400, 10202, f"a new {kind} has changeType Created and no oid")
        out = {k: v for k, v in sub.items() if k != "changeType"}
        out["objectType"] = str(sub.get("objectType") or kind)
        if kind == "TelecomAddress":
            if out.get("addressType") not in _ADDRESS_TYPES:
                raise _Refused(400, 10202, f"unknown addressType {out.get('addressType')}")
            if not str(out.get("address") or "").strip():
                raise _Refused(400, 10202, "a telecom address needs an address")
            out.setdefault("commonName", out["address"])
            out.setdefault("label", "")
        if kind == "Employee":
            org = sub.get("organisation")
            oid = org.get("oid") if isinstance(org, dict) else None
            target = self.objects.get(str(oid)) if oid else None
            if target is None or target["objectType"] != "Organisation":
                raise _Refused(400, 10203, "the organisation of the employment is not found")
            out["organisation"] = {"commonName": target.get("commonName", ""),
                                   "oid": target["oid"], "objectType": "Organisation"}
            out["commonName"] = target.get("commonName", "")
            out["telecomAddresses"] = [self._new_sub(t, "TelecomAddress")
                                       for t in sub.get("telecomAddresses") or []]
        out["oid"] = self._next_oid()
        return out

    def _merge(self, current: list[dict[str, Any]], written: Any, key: str
               ) -> list[dict[str, Any]]:
        """Apply a written list of sub-objects: each carries its changeType; the ones left out
        stay as they are (the guide: a subset of the sub-objects may be written)."""
        if not isinstance(written, list):
            raise _Refused(400, 10202, f"{key} must be a list")
        kind = {"telecomAddresses": "TelecomAddress", "employments": "Employee",
                "addresses": "DeliveryAddress"}[key]
        out = {str(s["oid"]): s for s in current}
        order = list(out)
        for sub in written:
            if not isinstance(sub, dict) or sub.get("changeType") not in _CHANGE_TYPES:
                raise _Refused(400, 10202, f"every object in {key} needs a changeType")
            change = sub["changeType"]
            if change == "Created":
                new = self._new_sub(sub, kind)
                out[new["oid"]] = new
                order.append(new["oid"])
                continue
            oid = str(sub.get("oid") or "")
            if oid not in out:
                raise _Refused(400, 10202, f"no {kind} with oid {oid!r} in this addressable")
            if change == "Removed":
                out.pop(oid)
            elif change == "Modified":
                out[oid] = {**out[oid], **{k: v for k, v in sub.items() if k != "changeType"}}
        return [out[o] for o in order if o in out]

    @staticmethod
    def _derive(obj: dict[str, Any]) -> None:
        if obj["objectType"] == "Organisation":
            obj["commonName"] = str(obj.get("name") or obj.get("commonName") or "")
            obj.setdefault("name", obj["commonName"])
        else:
            parts = (obj.get("givenName"), obj.get("namePrefix"), obj.get("familyName"))
            obj["commonName"] = " ".join(str(p) for p in parts if p).strip() \
                or str(obj.get("commonName") or "")


def _digits(number: str) -> str:
    text = "".join(ch for ch in str(number) if ch.isdigit() or ch == "+")
    if text.startswith("+"):
        return text[1:]
    if text.startswith("00"):
        return text[2:]
    if text.startswith("0"):
        return "31" + text[1:]  # the simulator's own country is the Netherlands
    return text
