"""A sync's state in the phone book file: each connector's high-water mark and when the
periodic passes last ran (``pb_state``, keys under ``STATE_PREFIX``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass

from afas_tray.afas.dates import parse_afas_date
from afas_tray.config import ColumnMapping

STATE_PREFIX = "sync."
FULL_AT, KEYS_AT = "sync.full_at", "sync.keys_at"


@dataclass(frozen=True)
class Mark:
    """A connector's high-water mark: the newest modification date read from it."""

    connector: str
    signature: str  # connector + column mapping the rows were read with
    value: str  # naive local ISO time; "" when the connector had no dated rows
    slack: float = 0.0  # seconds the read that set it took (a full refresh reads for a while)

    def moment(self) -> dt.datetime | None:
        return parse_afas_date(self.value) if self.value else None

    def dumps(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @staticmethod
    def loads(text: str) -> Mark | None:
        try:
            raw = json.loads(text)
            return Mark(str(raw["connector"]), str(raw["signature"]), str(raw["value"]),
                        float(raw.get("slack", 0.0)))
        except (ValueError, KeyError, TypeError):
            return None


def mapping_signature(connector_id: str, mapping: ColumnMapping) -> str:
    """What must stay the same for incremental updates to fit the rows already in the book."""
    return json.dumps([connector_id, dataclasses.asdict(mapping)], sort_keys=True)


def mark_key(role: str) -> str:
    return f"{STATE_PREFIX}mark.{role}"


def later(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    if a is None:
        return b
    return a if b is None or a >= b else b
