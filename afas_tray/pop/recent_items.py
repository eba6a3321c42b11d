"""The last few dossier items of a relation, for the caller card: read through a GetConnector.

The connector and its column names are parameters: the default is AFAS's standard
``Profit_Subjects`` with the columns of AFAS's OpenAPI file *dossiers-en-bijlagen*
(``SubjectId``, ``Subject``, ``DateCreated``, ``OrgPersId``, ``Responsible`` …). Each role lists
candidates in order; the first one the connector's metainfo has is used, so a consultant's own
dossier connector with other headings (``Ds``/``Da``/``BcId``) works as well. A role no column
fits is left out (no "who" without a responsible column) — except the relation column and the
subject, without which nothing can be shown.

Nothing here waits long: the caller card is already on screen and fills in when this answers;
the caller gives ``timeout`` and gets an ``ItemsUnavailable`` when AFAS is slow or refuses.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from afas_tray.afas import AfasError, ConnectorMeta, Filter, Op, encode_filters

log = logging.getLogger(__name__)

DEFAULT_CONNECTOR = "Profit_Subjects"
DEFAULT_TIMEOUT = 3.0  # seconds: a card that fills in later than this is no help on the phone
ITEMS_SHOWN = 3


@dataclass(frozen=True)
class DossierColumns:
    """Candidate column ids per role, best first (AFAS's standard names lead)."""

    relation: tuple[str, ...] = ("OrgPersId", "BcId", "BcCo")
    subject: tuple[str, ...] = ("Subject", "Ds")
    date: tuple[str, ...] = ("DateCreated", "Da", "StartDate")
    who: tuple[str, ...] = ("Responsible", "Medewerker", "Employee", "CreatedBy")
    key: tuple[str, ...] = ("SubjectId", "SbId")


@dataclass(frozen=True)
class DossierEntry:
    """One line of the card: when, what, and who (empty when the connector has no such column)."""

    date: str  # as AFAS wrote it, e.g. "2026-11-25T14:03:00Z" (Amsterdam local time)
    subject: str
    who: str = ""

    @property
    def day(self) -> str:
        """``25-11-2026`` (AFAS's dates end in Z but are local time: no conversion)."""
        text = self.date.strip().rstrip("Z")
        try:
            return datetime.fromisoformat(text).strftime("%d-%m-%Y")
        except ValueError:
            return text[:10]


class ItemsUnavailable(Exception):
    """AFAS did not answer in time, or refused (token, connector, columns)."""


class ClientLike(Protocol):
    async def metainfo(self, connector_id: str) -> ConnectorMeta: ...
    async def get_page(self, connector_id: str, params: dict[str, str]) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class _Resolved:
    relation: str
    subject: str
    date: str
    who: str
    key: str


# Per server and connector, for the process: one metainfo request, not one per call.
_resolved: dict[tuple[str, str, DossierColumns], _Resolved] = {}


def _pick(available: dict[str, str], candidates: Sequence[str]) -> str:
    for name in candidates:
        found = available.get(name.casefold())
        if found:
            return found
    return ""


async def _resolve(client: ClientLike, connector: str, columns: DossierColumns) -> _Resolved:
    key = (str(getattr(client, "host", "")), connector, columns)
    cached = _resolved.get(key)
    if cached is not None:
        return cached
    meta = await client.metainfo(connector)
    available = {f.id.casefold(): f.id for f in meta.fields}
    found = _Resolved(
        relation=_pick(available, columns.relation),
        subject=_pick(available, columns.subject),
        date=_pick(available, columns.date),
        who=_pick(available, columns.who),
        key=_pick(available, columns.key),
    )
    if not found.relation or not found.subject:
        raise ItemsUnavailable(f"{connector} has no relation or subject column")
    _resolved[key] = found
    return found


async def read_recent_items(
    client: ClientLike,
    bcid: str,
    *,
    number: str = "",
    connector: str = DEFAULT_CONNECTOR,
    columns: DossierColumns = DossierColumns(),
    limit: int = ITEMS_SHOWN,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[DossierEntry]:
    """The newest ``limit`` dossier items linked to relation ``bcid``; raises ItemsUnavailable.

    ``Profit_Subjects``' ``OrgPersId`` holds the relation's *number* (BcCo), a ``BcId`` column
    the internal id: the filter takes ``number`` for the former when it is known.

    One metainfo request the first time per connector, then one GetConnector request
    (filter on the relation column, newest first, ``take=limit``).
    """
    if not bcid.strip() and not number.strip():
        return []

    async def read() -> list[DossierEntry]:
        cols = await _resolve(client, connector, columns)
        by_number = cols.relation.casefold() != "bcid" and number.strip()
        value = number.strip() if by_number else bcid.strip()
        order = [f"-{c}" for c in (cols.date, cols.key) if c]
        params = {
            "skip": "0",
            "take": str(limit),
            **encode_filters([Filter(cols.relation, Op.EQ, value)]),
        }
        if order:
            params["orderbyfieldids"] = ",".join(order)
        rows = await client.get_page(connector, params)
        return [
            DossierEntry(
                date=_text(row.get(cols.date)) if cols.date else "",
                subject=_text(row.get(cols.subject)),
                who=_text(row.get(cols.who)) if cols.who else "",
            )
            for row in rows[:limit]
        ]

    try:
        return await asyncio.wait_for(read(), timeout)
    except TimeoutError:
        raise ItemsUnavailable(f"{connector}: no answer within {timeout:g} s") from None
    except AfasError as exc:
        raise ItemsUnavailable(f"{connector}: {exc.text.en}") from None
    except ValueError as exc:  # a relation id AFAS filters cannot carry (',' or ';')
        raise ItemsUnavailable(f"{connector}: {exc}") from None


def _text(value: Any) -> str:
    if value is None:
        return ""
    return " ".join(str(value).split())
