"""Simulated AFAS Profit REST server (real HTTP on loopback) for ``--demo`` mode and the tests.

Follows the shapes of AFAS's published OpenAPI files and DESIGN.md. Choices where the real
server's behaviour is not published:

* An unknown (or removed) GetConnector id answers ``404`` with an empty body, as Profit does for
  an endpoint it does not have; the client names the connector from its own request.
* Injected failures (``fail_next``) come before the token check, as a maintenance proxy would.
  ``"timeout"`` handles the request first (a POST *is* stored) and then withholds the answer,
  which is exactly the case where a client must not blindly post again.
* ``KnSubjectLink.BcId`` accepts the relation's BcId or its number (BcCo).
* Text filters and ordering ignore case, as Profit's SQL Server collation does; empty values
  sort first.
* Refusals as Profit's: a filter or sort on a field the connector lacks is a 500 "Connector
  field '…' not found"; ``skip`` with ``take=-1`` is a 500; a connector that exists but is not
  in the App connector (``leave_app_connector``) answers 401 with the token still valid.
* ``subject_types`` holds a dossier item type's settings (text, attachments, destinations);
  the wording of Profit's refusal of an attachment on a type that forbids it is a guess.

Run it on its own::

    python -m afas_tray.demo.afas --port 8765 --relations 5000 --seed 1 --token-data HEX
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import collections
import contextlib
import datetime as dt
import functools
import hmac
import html
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from itertools import islice
from typing import Any

from aiohttp import web

from afas_tray.demo.afas_relations import RelationRefused, RelationsApi
from afas_tray.demo.sample_data import (
    CONNECTORS,
    KEY_CONNECTORS,
    ConnectorDef,
    DossierItem,
    FieldDef,
    Organisation,
    SampleData,
    amsterdam_now_z,
)
from afas_tray.demo.server_thread import ServerThread, serve_until_interrupted

DEFAULT_TOKEN_DATA = "5E3C0DE5A17A5D3E40A1F0CE11DEAD00B16B00B5C0FFEE0FACADE15BADC0DE42"
PROFIT_VERSION = "25.4.2"
MAX_BODY_BYTES = 75_000_000  # AFAS: a request is at most 75 MB
MAX_QUERY_CHARS = 2000
SUBJECTS_CONNECTOR = "Profit_Subjects"
PROFIT_ERROR_NUMBER = -2146232832  # the .NET HRESULT Profit puts in most errorNumber fields

_TOKEN_RE = re.compile(
    r"\s*<token>\s*<version>1</version>\s*<data>([0-9A-Fa-f]+)</data>\s*</token>\s*"
)
_DUMPS = functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"))

# Profit_Subjects with the columns of AFAS's dossiers-en-bijlagen OpenAPI file (not KnSubject's
# field names SbId/SbTx: a filter on those is an unknown field there). ``OrgPersId`` is a string
# in that file: the simulator fills it with the relation's number (BcCo); DateCreated is the
# item's date (Da).
SUBJECTS_DEF = ConnectorDef(
    SUBJECTS_CONNECTOR,
    "Dossieritems",
    (
        FieldDef("TypeId", "Type dossieritem", "int", 9),
        FieldDef("SubjectId", "Dossieritem", "int", 9),
        FieldDef("DateCreated", "Datum", "date", 0),
        FieldDef("Subject", "Onderwerp", "string", 255),
        FieldDef("Comment", "Toelichting", "string", 0),
        FieldDef("Status", "Status", "string", 10),
        FieldDef("OrgPersId", "Organisatie/persoon", "string", 15),
        FieldDef("ContactNr", "Contact", "int", 9),
        FieldDef("Afgehandeld", "Afgehandeld", "boolean", 1),
    ),
    "SubjectId",
)
SUBJECT_TYPES_CONNECTOR = "Profit_SubjectTypes"
SUBJECT_TYPES_DEF = ConnectorDef(
    SUBJECT_TYPES_CONNECTOR,
    "Typen dossieritems",
    (
        FieldDef("SubjectTypeId", "Type dossieritem", "int", 9),
        FieldDef("Description", "Omschrijving", "string", 80),
        FieldDef("Comment", "Toelichting", "boolean", 1),
        FieldDef("SubjectText", "Aanleiding", "boolean", 1),
        FieldDef("LinkFile", "Bestand koppelen", "boolean", 1),
        FieldDef("VisibleInsite", "Zichtbaar in InSite", "boolean", 1),
        # No destination columns: dossiers-en-bijlagen.openapi.json's Profit_SubjectTypes has
        # none; AFAS's howto-workflow-acties shows a wrong destination only as a refusal.
    ),
    "SubjectTypeId",
)


@dataclass
class SubjectType:
    """What a dossier item type allows (Profit: Dossier > Beheer > Type dossieritem)."""

    description: str = "Telefoonnotitie"
    text: bool = True  # SbTx (Toelichting) enabled
    attachments: bool = True  # "Bestand koppelen"
    dest_org_person: bool = True  # destination organisation/person (3)
    dest_org_contact: bool = True  # destination organisation + contact (16)

UPDATE_CONNECTORS = [
    {"id": "KnSubject", "description": "Dossieritem"},
    {"id": "KnSubjectAttachment", "description": "Bijlage dossieritem"},
]


def token_xml(data: str) -> str:
    return f"<token><version>1</version><data>{data}</data></token>"


class ProfitError(Exception):
    """A validation error as Profit reports it: 500 with externalMessage."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _error_response(message: str, status: int = 500) -> web.Response:
    body = {
        "externalMessage": message,
        "errorNumber": PROFIT_ERROR_NUMBER,
        "profitLogReference": uuid.uuid4().hex.upper(),
    }
    return web.json_response(body, status=status, dumps=_DUMPS)


def _as_list(value: Any, what: str) -> list[Any]:
    """AFAS writes Objects and Element sometimes as a dict, sometimes as a list."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        return value
    raise ProfitError(f"Ongeldige opbouw van '{what}'.")


# --- GetConnector query engine -----------------------------------------------------------------


def _norm(value: Any, dtype: str) -> Any:
    if value is None:
        return None
    if dtype == "string":
        return str(value).casefold()
    if dtype == "date":
        return str(value).rstrip("Z")
    return value


def _coerce(value: str, field: FieldDef) -> Any:
    if field.data_type == "int":
        try:
            return int(value)
        except ValueError:
            raise ProfitError(
                f"Filterwaarde '{value}' voor veld '{field.id}' is geen geldig getal."
            ) from None
    if field.data_type == "boolean":
        return value.strip().lower() in ("1", "true", "waar", "ja")
    if field.data_type == "date":
        return value.rstrip("Z")
    return value.casefold()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).casefold()


def _matches(value: Any, op: int, wanted: Any, raw: str, dtype: str) -> bool:
    v = _norm(value, dtype)
    if op == 8:
        return v is None or v == ""
    if op == 9:
        return not (v is None or v == "")
    if op in (1, 7):
        if v is None and dtype == "string":
            v = ""
        return (v == wanted) == (op == 1)
    if op in (2, 3, 4, 5):
        if v is None:
            return False
        try:
            return {2: v >= wanted, 3: v <= wanted, 4: v > wanted, 5: v < wanted}[op]
        except TypeError:
            return False
    text, needle = _text(value), raw.casefold()
    if op == 6:
        return needle in text
    if op == 11:
        return needle not in text
    if op == 10:
        return text.startswith(needle)
    if op == 12:
        return not text.startswith(needle)
    if op == 13:
        return text.endswith(needle)
    if op == 14:
        return not text.endswith(needle)
    raise ProfitError(f"Operator {op} wordt niet ondersteund.")


Predicate = tuple[str, int, Any, str, str]  # field id, operator, coerced value, raw value, dtype


def parse_filters(params: dict[str, str], cdef: ConnectorDef) -> list[list[Predicate]]:
    """``filterfieldids=A,B;C`` etc.: ``,`` is AND within a group, ``;`` is OR between groups."""
    ids = params.get("filterfieldids", "")
    if not ids:
        return []
    fields = {f.id.casefold(): f for f in cdef.fields}
    id_groups = ids.split(";")
    value_groups = params.get("filtervalues", "").split(";")
    op_groups = params.get("operatortypes", "").split(";")
    if not (len(id_groups) == len(value_groups) == len(op_groups)):
        raise ProfitError("Het aantal filtervelden, filterwaarden en operatoren komt niet overeen.")
    groups: list[list[Predicate]] = []
    for gid, gval, gop in zip(id_groups, value_groups, op_groups, strict=True):
        fids, fvals, fops = gid.split(","), gval.split(","), gop.split(",")
        if not (len(fids) == len(fvals) == len(fops)):
            raise ProfitError(
                "Het aantal filtervelden, filterwaarden en operatoren komt niet overeen."
            )
        group: list[Predicate] = []
        for fid, fval, fop in zip(fids, fvals, fops, strict=True):
            field = fields.get(fid.strip().casefold())
            if field is None:
                # What Profit answers for a filter on a column the connector does not have.
                raise ProfitError(f"Connector field '{fid.strip()}' not found")
            try:
                op = int(fop)
            except ValueError:
                raise ProfitError(f"Operator '{fop}' is ongeldig.") from None
            if not 1 <= op <= 14:
                raise ProfitError(f"Operator {op} wordt niet ondersteund.")
            wanted = None if op in (8, 9) else _coerce(fval, field)
            group.append((field.id, op, wanted, fval, field.data_type))
        groups.append(group)
    return groups


def _changed_since(groups: list[list[Predicate]]) -> str | None:
    """The earliest date every OR group asks for with ``>=``/``>`` on a date column, if each
    does: only rows changed since then can match (an incremental sync's query)."""
    bounds = []
    for group in groups:
        dates = [w for _f, op, w, _r, d in group if d == "date" and op in (2, 4) and w]
        if not dates:
            return None
        bounds.append(max(dates))
    return min(bounds) if bounds else None


def row_matches(row: dict[str, Any], groups: list[list[Predicate]]) -> bool:
    return any(
        all(_matches(row.get(f), op, w, raw, dt_) for f, op, w, raw, dt_ in g) for g in groups
    )


def sort_rows(rows: list[dict[str, Any]], order: list[tuple[str, bool, str]]) -> None:
    """Sort in place; ``order`` is (field, descending, dtype); stable sorts from the last key."""
    for fid, desc, dtype in reversed(order):

        def key(row: dict[str, Any], f: str = fid, d: str = dtype) -> tuple[int, Any]:
            value = row.get(f)
            return (0, "") if value is None else (1, _norm(value, d))

        rows.sort(key=key, reverse=desc)


# --- the server --------------------------------------------------------------------------------


class AfasSimulator:
    """A simulated AFAS Profit environment. Knobs are plain attributes and methods; the same knobs
    are reachable over HTTP under ``/_sim/`` for a server in another process."""

    def __init__(
        self,
        data: SampleData | None = None,
        *,
        relations: int = 1000,
        seed: int = 1,
        token_data: str = DEFAULT_TOKEN_DATA,
        latency: float = 0.0,
        hang_seconds: float = 60.0,
        key_connectors: bool = False,
    ) -> None:
        self.data = data or SampleData(relations, seed)
        # The consultant-made key-only connectors (``…_Sleutels``) exist only when asked for.
        self.key_connectors = key_connectors
        self.token_data = token_data.strip().upper()
        self.latency = latency
        self.hang_seconds = hang_seconds
        self.token_revoked = False
        self.removed_connectors: set[str] = set()
        # Connectors that exist in Profit but are not in the token's App connector: 401, as
        # Profit answers ("GetConnector of UpdateConnector is niet toegevoegd aan de AppConnector").
        self.outside_app: set[str] = set()
        self.subject_types: dict[int, SubjectType] = {}  # settings per type; others allow all
        self.integration_ids: collections.Counter[str] = collections.Counter()
        self.dossier_item_types: set[int] | None = None  # None: any positive number is a type
        self.allowed_ips: set[str] | None = None  # None: no IP restriction (else 403 for others)
        self.subjects: list[DossierItem] = []
        self.relations_api = RelationsApi()  # POST KnPerson / KnOrganisation
        self.sent_link_ids: list[str] = []  # KnSubjectLink BcId values as sent (number or BcId)
        self._next_sbid = 50001
        self._failures: collections.deque[tuple[str, int]] = collections.deque()
        self._cache: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        self.requests = 0
        self.rows_served = 0
        self.bytes_served = 0  # GetConnector response bodies
        self.in_flight = 0
        self.peak_concurrent = 0
        self.insite_hits = 0
        self.log: collections.deque[str] = collections.deque(maxlen=10_000)  # "GET /path"
        self._runner: web.AppRunner | None = None
        self._closing: asyncio.Event | None = None
        self.url = ""

    # -- knobs -----------------------------------------------------------------------------

    @property
    def token(self) -> str:
        """The token XML a user would paste (the demo's own, not a secret)."""
        return token_xml(self.token_data)

    def fail_next(self, count: int = 1, status: int | str = 500, retry_after: int = 1) -> None:
        """Fail the next ``count`` Profit requests: 500, 503 (with ``retry_after``), 403 (a
        passing IP-restriction refusal, as AFAS has been seen to answer under load; the request
        is not handled), ``"timeout"`` (handled, then no answer for ``hang_seconds``) or
        ``"slow"`` (handled only after ``hang_seconds``, also when the client has given up: AFAS
        goes on processing a request for up to 900 s)."""
        kind = str(status)
        if kind not in ("500", "503", "403", "timeout", "slow"):
            raise ValueError("status must be 500, 503, 403, 'timeout' or 'slow'")
        self._failures.extend([(kind, retry_after)] * count)

    def revoke_token(self, revoked: bool = True) -> None:
        self.token_revoked = revoked

    def remove_connector(self, connector_id: str, removed: bool = True) -> None:
        key = connector_id.casefold()
        if removed:
            self.removed_connectors.add(key)
        else:
            self.removed_connectors.discard(key)

    def leave_app_connector(self, connector_id: str, outside: bool = True) -> None:
        """Take a connector out of the App connector (it answers 401) or put it back."""
        key = connector_id.casefold()
        if outside:
            self.outside_app.add(key)
        else:
            self.outside_app.discard(key)

    def reset_stats(self) -> None:
        self.requests = self.rows_served = self.peak_concurrent = self.insite_hits = 0
        self.bytes_served = 0
        self.log.clear()

    def stats(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "rows_served": self.rows_served,
            "bytes_served": self.bytes_served,
            "peak_concurrent": self.peak_concurrent,
            "in_flight": self.in_flight,
            "subjects": len(self.subjects),
            "insite_hits": self.insite_hits,
        }

    def subject_rows(self) -> list[dict[str, Any]]:
        rows = []
        for s in self.subjects:
            relation = self.data.find_relation(s.bcid) if s.bcid else None
            contact = next((link.get("CdId") for link in s.links if link.get("CdId")), None)
            rows.append({
                "TypeId": s.st_id,
                "SubjectId": s.sb_id,
                "DateCreated": s.date,
                "Subject": s.subject,
                "Comment": s.text,
                "Status": None,
                "OrgPersId": relation.number if relation is not None else None,
                "ContactNr": int(contact) if contact else None,
                "Afgehandeld": False,
            })
        return rows

    def subject_type_rows(self) -> list[dict[str, Any]]:
        # Listed: the types with settings of their own, and the known types (any positive number
        # is one when ``dossier_item_types`` is None: then the demo's 7 stands for them).
        known = {7} if self.dossier_item_types is None else set(self.dossier_item_types)
        types = {st: SubjectType() for st in known} | self.subject_types
        return [
            {
                "SubjectTypeId": st,
                "Description": t.description,
                "Comment": t.text,
                "SubjectText": False,
                "LinkFile": t.attachments,
                "VisibleInsite": True,
            }
            for st, t in sorted(types.items())
        ]

    # -- life cycle ------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0 picks a free port); returns the base URL without
        ``/ProfitRestServices``."""
        self._closing = asyncio.Event()
        self._runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=0.25)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sockets = self._runner.addresses
        bound_port = sockets[0][1]
        self.url = f"http://{host}:{bound_port}"
        return self.url

    async def stop(self) -> None:
        if self._closing is not None:
            self._closing.set()  # release hung "timeout" handlers
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> AfasSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- dispatch --------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.path.split("/") if p]
        lower = [p.lower() for p in parts]
        if lower[:1] == ["_sim"]:
            return await self._control(request, parts[1:])
        if lower[:1] == ["insite"]:
            return self._insite(request, lower[1:])
        if lower[:1] != ["profitrestservices"]:
            return web.Response(status=404)
        return await self._profit(request, parts[1:], lower[1:])

    async def _profit(
        self, request: web.Request, parts: list[str], lower: list[str]
    ) -> web.StreamResponse:
        self.requests += 1
        self.log.append(f"{request.method} {request.path}")
        self.in_flight += 1
        self.peak_concurrent = max(self.peak_concurrent, self.in_flight)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            failure = self._failures.popleft() if self._failures else None
            if failure and failure[0] == "500":
                return _error_response("Er is een onverwachte fout opgetreden.")
            if failure and failure[0] == "403":
                return web.Response(status=403)
            if failure and failure[0] == "503":
                body = {
                    "error": {
                        "code": "503",
                        "message": "Service temporarily unavailable due to scheduled maintenance. Please check afasstatus.nl for details.",
                    },
                    "retry_after": failure[1],
                }
                return web.json_response(body, status=503, headers={"Retry-After": str(failure[1])})
            if len(request.rel_url.raw_query_string) > MAX_QUERY_CHARS:
                # IIS refuses an over-long query string before Profit sees it.
                return web.Response(
                    status=404,
                    text="<h2>404 - File or directory not found.</h2>",
                    content_type="text/html",
                )
            if self.allowed_ips is not None and request.remote not in self.allowed_ips:
                return web.Response(status=403)
            if not self._authorised(request):
                return web.Response(status=401)  # Profit: empty body
            integration = request.headers.get("IntegrationId")
            if integration:
                self.integration_ids[integration] += 1
            if len(lower) >= 2 and lower[0] in ("connectors", "metainfo"):
                target = lower[2] if lower[:2] == ["metainfo", "get"] and len(lower) > 2 else lower[1]
                if target in self.outside_app or (
                    target == "knsubjectattachment" and "knsubject" in self.outside_app
                ):
                    return web.Response(status=401)  # valid token, connector not in the App connector
            if failure and failure[0] == "slow":
                await request.read()  # Profit has the request (aiohttp keeps the body)

                async def work() -> web.StreamResponse:
                    await asyncio.sleep(self.hang_seconds)
                    try:
                        return await self._route(request, parts, lower)
                    except ProfitError as exc:
                        return _error_response(exc.message)

                # Shielded: the work goes on when the client hangs up, as in Profit.
                return await asyncio.shield(asyncio.ensure_future(work()))
            try:
                response = await self._route(request, parts, lower)
            except ProfitError as exc:
                response = _error_response(exc.message)
            if failure and failure[0] == "timeout":
                await self._hang()
            return response
        finally:
            self.in_flight -= 1

    async def _hang(self) -> None:
        assert self._closing is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), self.hang_seconds)

    def _authorised(self, request: web.Request) -> bool:
        if self.token_revoked:
            return False
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "afastoken":
            return False
        try:
            xml = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return False  # plain tokens are refused: Profit wants the base64 of the XML
        match = _TOKEN_RE.fullmatch(xml)
        if match is None:
            return False
        return hmac.compare_digest(match.group(1).upper().encode(), self.token_data.encode())

    async def _route(
        self, request: web.Request, parts: list[str], lower: list[str]
    ) -> web.StreamResponse:
        method = request.method
        if lower == ["profitversion"] and method == "GET":
            return web.json_response({"version": PROFIT_VERSION})
        if lower == ["metainfo"] and method == "GET":
            gets = [{"id": c.id, "description": c.description}
                    for c in self._connectors().values() if c.id.casefold() not in self.outside_app]
            updates = [u for u in UPDATE_CONNECTORS if u["id"].casefold() not in self.outside_app]
            return web.json_response(
                {
                    "updateConnectors": updates + self.relations_api.update_connectors(),
                    "getConnectors": gets,
                    "info": {
                        "envid": "O12345AA",
                        "appName": "AFAS Tray demo",
                        "group": "AFAS Tray",
                        "tokenExpiry": "0",
                    },
                },
                dumps=_DUMPS,
            )
        if len(lower) == 3 and lower[:2] == ["metainfo", "get"] and method == "GET":
            cdef = self._connectors().get(parts[2].casefold())
            if cdef is None:
                return web.Response(status=404)
            return web.json_response(
                {
                    "name": cdef.id,
                    "description": cdef.description,
                    "fields": [f.meta() for f in cdef.fields],
                },
                dumps=_DUMPS,
            )
        try:
            relation = await self.relations_api.route(request, lower)
        except RelationRefused as exc:
            raise ProfitError(exc.message) from None
        if relation is not None:
            return relation
        if lower == ["connectors", "knsubject"] and method == "POST":
            return await self._post_subject(request, attachment_only=False)
        if lower == ["connectors", "knsubject", "knsubjectattachment"] and method == "POST":
            return await self._post_subject(request, attachment_only=True)
        if len(lower) == 2 and lower[0] == "connectors" and method == "GET":
            cdef = self._connectors().get(parts[1].casefold())
            if cdef is None:
                return web.Response(status=404)
            return self._get_connector(cdef, request)
        return web.Response(status=404)

    def _connectors(self) -> dict[str, ConnectorDef]:
        all_defs = [*CONNECTORS.values(), SUBJECTS_DEF, SUBJECT_TYPES_DEF]
        if self.key_connectors:
            all_defs += KEY_CONNECTORS.values()
        return {
            c.id.casefold(): c for c in all_defs if c.id.casefold() not in self.removed_connectors
        }

    # -- GetConnector ----------------------------------------------------------------------

    def _get_connector(self, cdef: ConnectorDef, request: web.Request) -> web.Response:
        params = {k.lower(): v for k, v in request.query.items()}
        try:
            skip = max(0, int(params.get("skip", "0") or 0))
            take = int(params.get("take", "100") or 100)
        except ValueError:
            raise ProfitError("De waarde voor skip of take is ongeldig.") from None
        if take < 0 and "skip" in params:
            # AFAS's documentation: skip together with take=-1 is an error.
            raise ProfitError("Skip kan niet gebruikt worden in combinatie met take -1.")
        fields = {f.id.casefold(): f for f in cdef.fields}
        order: list[tuple[str, bool, str]] = []
        for item in (s.strip() for s in params.get("orderbyfieldids", "").split(",")):
            if not item:
                continue
            desc = item.startswith("-")
            field = fields.get(item.lstrip("-").casefold())
            if field is None:
                raise ProfitError(f"Connector field '{item.lstrip('-')}' not found")
            order.append((field.id, desc, field.data_type))
        groups = parse_filters(params, cdef)
        limit = None if take < 0 else take

        if (
            cdef.id not in (SUBJECTS_CONNECTOR, SUBJECT_TYPES_CONNECTOR)
            and not groups
            and (
                not order
                or (len(order) == 1 and not order[0][1]
                    and order[0][0] in (cdef.key, *cdef.same_order))
            )
        ):
            # Natural key order without filters: only the asked rows are ever generated.
            rows = list(islice(self.data.rows(cdef.id, skip), limit))
        elif (after := self._keyset_after(cdef, order, groups)) is not None:
            # "key > last" on the (integer) key in key order: Profit seeks its index; here a
            # binary search over the natural order, then only the asked rows.
            rows = list(islice(self.data.rows(cdef.id, self._position_after(cdef, after) + skip),
                               limit))
        else:
            rows = self._query(cdef, order, groups, params)[
                skip : None if limit is None else skip + limit
            ]
        self.rows_served += len(rows)
        body = _DUMPS({"skip": skip, "take": take, "rows": rows})
        self.bytes_served += len(body)
        return web.Response(text=body, content_type="application/json")

    @staticmethod
    def _keyset_after(cdef: ConnectorDef, order: list[tuple[str, bool, str]],
                      groups: list[list[Predicate]]) -> int | None:
        """The value of a lone ``key > value`` filter on an integer key sorted ascending."""
        if cdef.id in (SUBJECTS_CONNECTOR, SUBJECT_TYPES_CONNECTOR) or len(groups) != 1:
            return None
        if len(groups[0]) != 1 or (order and order != [(cdef.key, False, "int")]):
            return None
        field, op, wanted, _raw, dtype = groups[0][0]
        if field != cdef.key or op != 4 or dtype != "int" or not isinstance(wanted, int):
            return None
        return wanted

    def _position_after(self, cdef: ConnectorDef, value: int) -> int:
        """Position of the first row (natural order) whose key is greater than ``value``."""
        lo, hi = 0, self.data.count(cdef.id)
        while lo < hi:
            mid = (lo + hi) // 2
            row = next(self.data.rows(cdef.id, mid), None)
            key = row.get(cdef.key) if row is not None else None
            if key is not None and int(key) <= value:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _query(
        self,
        cdef: ConnectorDef,
        order: list[tuple[str, bool, str]],
        groups: list[list[Predicate]],
        params: dict[str, str],
    ) -> list[dict[str, Any]]:
        filter_key = (
            params.get("filterfieldids"),
            params.get("filtervalues"),
            params.get("operatortypes"),
        )
        key = (cdef.id, tuple(order), filter_key, self.data.version, len(self.subjects),
               repr((self.subject_types, self.dossier_item_types))
               if cdef.id == SUBJECT_TYPES_CONNECTOR else "")
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        source: Iterator[dict[str, Any]]
        if cdef.id == SUBJECTS_CONNECTOR:
            source = iter(self.subject_rows())
        elif cdef.id == SUBJECT_TYPES_CONNECTOR:
            source = iter(self.subject_type_rows())
        else:
            since = _changed_since(groups)
            changed = None if since is None else self.data.changed_rows(cdef.id, since)
            source = self.data.rows(cdef.id) if changed is None else iter(changed)
        rows = [r for r in source if row_matches(r, groups)] if groups else list(source)
        sort_rows(rows, order)
        if len(self._cache) > 8:
            self._cache.clear()
        self._cache[key] = rows
        return rows

    # -- KnSubject -------------------------------------------------------------------------

    async def _post_subject(self, request: web.Request, *, attachment_only: bool) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            too_large = web.Response(status=413)
            too_large.force_close()  # the unread body stays behind: do not keep the connection
            return too_large
        raw = await request.read()  # aiohttp answers 413 itself past client_max_size
        try:
            body = json.loads(raw)
        except ValueError:
            raise ProfitError("De aangeboden gegevens zijn geen geldige JSON.") from None
        if not isinstance(body, dict) or not isinstance(body.get("KnSubject"), dict):
            raise ProfitError("Het object 'KnSubject' ontbreekt in de aangeboden gegevens.")
        elements = _as_list(body["KnSubject"].get("Element"), "KnSubject.Element")
        if not elements:
            raise ProfitError("Het object 'KnSubject' bevat geen Element.")
        # Validate every element before storing any: Profit rolls the whole request back.
        sb_id = 0
        if attachment_only:
            updates = [self._check_attachment_update(e) for e in elements]
            for target, attachments in updates:
                target.attachments.extend(attachments)
                sb_id = target.sb_id
        else:
            items = [self._check_subject(e) for e in elements]
            for item in items:
                item.sb_id = self._next_sbid
                self._next_sbid += 1
                self.subjects.append(item)
                sb_id = item.sb_id
        return web.json_response({"results": {"KnSubject": {"SbId": str(sb_id)}}}, status=201)

    def _check_subject(self, element: dict[str, Any]) -> DossierItem:
        fields = element.get("Fields")
        if not isinstance(fields, dict):
            raise ProfitError("Type dossieritem: verplicht veld is niet gevuld.")
        st_id = fields.get("StId")
        if st_id is None or st_id == "":
            raise ProfitError("Type dossieritem: verplicht veld is niet gevuld.")
        if isinstance(st_id, bool) or not (
            isinstance(st_id, int) or (isinstance(st_id, str) and st_id.strip().lstrip("-").isdigit())
        ):
            raise ProfitError(f"Type dossieritem: de waarde '{st_id}' is geen geldig getal.")
        st = int(st_id)
        # -5 is a type integrations may use (AFAS: free types and -5); 0 and other negatives not.
        if (st <= 0 and st != -5) or (
            self.dossier_item_types is not None and st not in self.dossier_item_types and st != -5
        ):
            raise ProfitError(f"Type dossieritem '{st}' bestaat niet.")
        ds = fields.get("Ds")
        if not isinstance(ds, str) or not ds.strip():
            raise ProfitError("Onderwerp: verplicht veld is niet gevuld.")
        if len(ds) > 255:
            raise ProfitError(
                "Onderwerp: de waarde is langer dan de maximale lengte van 255 tekens."
            )
        text = fields.get("SbTx") or ""
        if not isinstance(text, str):
            raise ProfitError("Toelichting: ongeldige waarde.")
        date = fields.get("Da")
        if date in (None, ""):
            date = amsterdam_now_z()
        else:
            try:
                dt.datetime.fromisoformat(str(date).rstrip("Z"))
            except ValueError:
                raise ProfitError(f"Datum: de waarde '{date}' is geen geldige datum.") from None
        links, attachments = self._check_objects(element.get("Objects"), allow_links=True)
        kind = self.subject_types.get(st)
        if kind is not None:
            # The type decides what an insert may carry (guessed wording; Profit's own is Dutch).
            if attachments and not kind.attachments:
                raise ProfitError(
                    f"Bij type dossieritem '{st}' mogen geen bijlagen worden toegevoegd."
                )
            if text and not kind.text:
                raise ProfitError(f"Veld 'Toelichting' is niet toegestaan bij type dossieritem '{st}'.")
            # AFAS's words for a destination the type does not allow (howto-workflow-acties).
            if any(link.get("CdId") for link in links) and not kind.dest_org_contact:
                raise ProfitError("Deze bestemming is niet geldig voor dit type dossieritem")
            if links and not (kind.dest_org_person or kind.dest_org_contact):
                raise ProfitError("Deze bestemming is niet geldig voor dit type dossieritem")
        return DossierItem(0, st, ds, text, str(date), links, attachments)

    def _check_attachment_update(
        self, element: dict[str, Any]
    ) -> tuple[DossierItem, list[tuple[str, int]]]:
        sb_id = element.get("@SbId")
        target = next((s for s in self.subjects if str(s.sb_id) == str(sb_id)), None)
        if target is None:
            raise ProfitError(f"Dossieritem '{sb_id}' bestaat niet.")
        _links, attachments = self._check_objects(element.get("Objects"), allow_links=False)
        if not attachments:
            raise ProfitError("Er is geen bijlage aangeboden.")
        return target, attachments

    def _check_objects(
        self, objects: Any, *, allow_links: bool
    ) -> tuple[list[dict[str, Any]], list[tuple[str, int]]]:
        links: list[dict[str, Any]] = []
        attachments: list[tuple[str, int]] = []
        for holder in _as_list(objects, "Objects"):
            for name, obj in holder.items():
                if not isinstance(obj, dict):
                    raise ProfitError(f"Ongeldige opbouw van '{name}'.")
                elements = _as_list(obj.get("Element"), f"{name}.Element")
                if name == "KnSubjectLink" and allow_links:
                    links.extend(self._check_link(e) for e in elements)
                elif name == "KnSubjectAttachment":
                    attachments.extend(self._check_attachment(e) for e in elements)
                else:
                    raise ProfitError(f"Het object '{name}' is onbekend binnen 'KnSubject'.")
        return links, attachments

    def _check_link(self, element: dict[str, Any]) -> dict[str, Any]:
        fields = element.get("Fields")
        if not isinstance(fields, dict):
            raise ProfitError("KnSubjectLink: Fields ontbreekt.")
        link = dict(fields)
        bcid = fields.get("BcId")
        if bcid not in (None, ""):
            relation = self.data.find_relation(str(bcid))
            if relation is None:
                raise ProfitError(f"Organisatie/persoon '{bcid}' bestaat niet.")
            self.sent_link_ids.append(str(bcid))
            link["BcId"] = str(relation.bcid)  # stored as the relation, whichever key was sent
        cdid = fields.get("CdId")
        if cdid not in (None, "") and self.data.find_contact(str(cdid)) is None:
            raise ProfitError(f"Contact '{cdid}' bestaat niet.")
        return link

    def _check_attachment(self, element: dict[str, Any]) -> tuple[str, int]:
        fields = element.get("Fields")
        if not isinstance(fields, dict):
            raise ProfitError("KnSubjectAttachment: Fields ontbreekt.")
        name = fields.get("FileName")
        if not isinstance(name, str) or not name.strip():
            raise ProfitError("Bijlage: bestandsnaam is niet gevuld.")
        stream = fields.get("FileStream")
        if not isinstance(stream, str) or not stream:
            raise ProfitError(f"Bijlage '{name}': de bestandsinhoud ontbreekt.")
        try:
            size = len(base64.b64decode(stream, validate=True))
        except (binascii.Error, ValueError):
            raise ProfitError(
                f"Bijlage '{name}': de bestandsinhoud is geen geldige base64."
            ) from None
        return name, size

    # -- InSite card -----------------------------------------------------------------------

    def _insite(self, request: web.Request, lower: list[str]) -> web.Response:
        if lower != ["verkooprelatie-prs"]:
            return web.Response(status=404, text="Pagina niet gevonden", content_type="text/html")
        self.insite_hits += 1
        bcid = next((v for k, v in request.query.items() if k.lower() == "bcid"), "")
        relation = self.data.find_relation(bcid)
        if relation is None:
            return web.Response(
                status=404,
                text=f"<h1>Relatie {html.escape(bcid)} niet gevonden</h1>",
                content_type="text/html",
            )
        kind = "Organisatie" if isinstance(relation, Organisation) else "Persoon"
        numbers = [
            (label, value)
            for label, value in (
                ("Telefoon werk", relation.tel_work),
                ("Mobiel werk", relation.mob_work),
                ("Telefoon privé", getattr(relation, "tel_private", None)),
                ("Mobiel privé", getattr(relation, "mob_private", None)),
            )
            if value
        ]
        rows = "".join(
            f"<tr><th>{html.escape(label)}</th><td>{html.escape(value)}</td></tr>"
            for label, value in numbers
        )
        page = (
            "<!doctype html><html lang=nl><head><meta charset=utf-8>"
            f"<title>{html.escape(relation.name)} - Verkooprelatie</title></head><body>"
            f"<h1>{html.escape(relation.name)}</h1><p>{kind} {html.escape(relation.number)} (BcId {relation.bcid})</p>"
            f"<table>{rows}</table><p><small>AFAS Tray demo - gesimuleerde InSite</small></p></body></html>"
        )
        return web.Response(text=page, content_type="text/html")

    # -- /_sim/ control API ----------------------------------------------------------------

    async def _control(self, request: web.Request, parts: list[str]) -> web.Response:
        body: dict[str, Any] = {}
        if request.method == "POST" and request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                return web.json_response({"error": "invalid JSON"}, status=400)
        what = parts[0].lower() if parts else ""
        try:
            if what == "stats":
                return web.json_response(self.stats())
            if what == "reset":
                self.reset_stats()
            elif what == "latency":
                self.latency = float(body.get("seconds", 0))
            elif what == "fail":
                self.fail_next(
                    int(body.get("count", 1)),
                    body.get("status", 500),
                    int(body.get("retry_after", 1)),
                )
            elif what == "ips":
                ips = body.get("allowed")
                self.allowed_ips = None if ips is None else {str(ip) for ip in ips}
            elif what == "token":
                self.revoke_token(bool(body.get("revoked", True)))
            elif what == "connectors" and len(parts) == 2:
                if "outside_app" in body:
                    self.leave_app_connector(parts[1], bool(body["outside_app"]))
                else:
                    self.remove_connector(parts[1], bool(body.get("removed", True)))
            elif what == "subjects":
                return web.json_response([asdict(s) for s in self.subjects], dumps=_DUMPS)
            elif what == "mutate":
                self._mutate(body)
            else:
                return web.json_response({"error": "unknown control"}, status=404)
        except (KeyError, ValueError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"ok": True, **self.stats()})

    def _mutate(self, body: dict[str, Any]) -> None:
        op, key = body["op"], body["id"]
        when = body.get("when")  # Gewijzigd_op to write (a test's or bench's clock)
        if when is not None:
            clock, self.data.clock = self.data.clock, lambda: str(when)
            try:
                self._mutate({k: v for k, v in body.items() if k != "when"})
            finally:
                self.data.clock = clock
            return
        if op == "phone":
            self.data.change_phone(key, body["column"], body.get("value"))
        elif op == "contact_phone":
            self.data.change_contact_phone(key, body["column"], body.get("value"))
        elif op == "delete":
            self.data.delete_relation(key)
        elif op == "create":
            self.data.create_relation(key)
        elif op == "delete_contact":
            self.data.delete_contact(key)
        elif op == "touch":
            self.data.touch(key, body.get("value"))
        elif op == "rename":
            self.data.rename(key, body["value"])
        else:
            raise ValueError(f"unknown op {op}")


class SimulatorThread(ServerThread):
    """Runs an :class:`AfasSimulator` on its own event loop in a background thread, for the CLI
    demo mode and the benchmarks (so the server's work does not share the client's loop)."""

    def __init__(
        self, simulator: AfasSimulator | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.simulator = simulator or AfasSimulator()
        super().__init__(self.simulator, name="afas-simulator")
        self._host, self._port = host, port

    def start(self) -> str:
        return self._start(self._host, self._port)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m afas_tray.demo.afas", description="Simulated AFAS Profit REST server"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--relations", type=int, default=1000, help="organisations + persons (100 to 1,000,000)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--token-data", default=DEFAULT_TOKEN_DATA, help="hex data part of the token to accept"
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[0-9A-Fa-f]+", args.token_data):
        parser.error("--token-data must be hexadecimal")

    sim = AfasSimulator(
        relations=args.relations,
        seed=args.seed,
        token_data=args.token_data,
        latency=args.latency,
    )

    def announce(url: str) -> None:
        print(
            f"Simulated AFAS Profit at {url}/ProfitRestServices ({args.relations} relations, seed {args.seed})"
        )
        print(f"InSite URL template: {url}/insite/verkooprelatie-prs?BcId=<BCID>")
        print(
            "Token: the XML around --token-data (the demo's own token); Ctrl+C stops.", flush=True
        )

    serve_until_interrupted(sim, args.host, args.port, announce)


if __name__ == "__main__":
    main()
