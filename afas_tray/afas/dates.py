"""AFAS dates: Amsterdam local time written with a ``Z``.

They are handled as naive local times throughout (never converted), and compared only with each
other: a sync's mark is the newest date AFAS itself wrote, so the desk's clock does not matter.
When the mark lies in the hour a daylight-saving fall-back repeats (02:00-03:00 on the last
Sunday of October), later changes can carry an earlier local time than the mark; the window then
reaches back one hour more.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def parse_afas_date(value: Any) -> dt.datetime | None:
    """An AFAS date (Amsterdam local time, written with a ``Z``) as a naive local datetime.
    An explicit offset (not what AFAS sends) is converted to Amsterdam time."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1]  # the Z is a lie: the time is local
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(AMSTERDAM).replace(tzinfo=None)
    return moment


def to_afas_local(value: dt.datetime) -> dt.datetime:
    """A moment (UTC when naive, as Xelion's dates are) as AFAS keeps it: Europe/Amsterdam
    wall-clock time, summer time included."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(AMSTERDAM)


def afas_date(value: dt.datetime) -> str:
    """KnSubject ``Da``: Amsterdam local time, ``YYYY-MM-DDTHH:MM:SS`` without offset."""
    return to_afas_local(value).strftime("%Y-%m-%dT%H:%M:%S")


def afas_filter_value(moment: dt.datetime) -> str:
    """A naive local datetime as an AFAS filter value (whole seconds, rounded down)."""
    return moment.replace(microsecond=0).isoformat(timespec="seconds")


def fold_length(local: dt.datetime) -> dt.timedelta:
    """How far Amsterdam clocks went back if ``local`` is a time that occurs twice (the hour
    of a daylight-saving fall-back); zero for every other time."""
    first = local.replace(tzinfo=AMSTERDAM, fold=0).utcoffset()
    second = local.replace(tzinfo=AMSTERDAM, fold=1).utcoffset()
    if first is None or second is None or first <= second:
        return dt.timedelta(0)
    return first - second


def window_start(mark: dt.datetime, overlap: dt.timedelta) -> dt.datetime:
    """Where an incremental read starts for high-water mark ``mark``.

    ``overlap`` covers rows committed late and clocks of AFAS's servers. In a fall-back hour a
    later change can be written with an earlier local time than ``mark`` (02:10 CET comes after
    02:50 CEST): reach back by the length of the fold as well, so nothing is skipped."""
    start = mark - overlap
    return start - max(fold_length(mark), fold_length(start))


def newest_date(rows: Sequence[Mapping[str, Any]], column: str) -> dt.datetime | None:
    newest: dt.datetime | None = None
    for row in rows:
        moment = parse_afas_date(row.get(column))
        if moment is not None and (newest is None or moment > newest):
            newest = moment
    return newest


__all__ = [
    "AMSTERDAM",
    "afas_date",
    "afas_filter_value",
    "fold_length",
    "newest_date",
    "parse_afas_date",
    "to_afas_local",
    "window_start",
]
