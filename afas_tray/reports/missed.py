"""Missed calls: a small SQLite store (unseen count, mark seen, list) and their follow-up.

One intake, ``MissedCalls.add(MissedCall(...))``, takes a plain record (number, name, time, call
id), so the same path serves Xelion's ``missedCallEvent`` (see ``afas_tray.xelion.missed_call``)
and unanswered incoming calls seen in the call log (``from_call_log``). A call is stored once per
call id, whichever source saw it first.

With ``dial.missed_to_dossier`` on, a missed call of a known relation (one relation in the phone
book) becomes one dossier item "Gemiste oproep" through the report outbox, which sends it exactly
once (its key is ``missed:<call id>``, so it never collides with the call's report).

No Qt here; the tray reads ``unseen_count``/``recent`` and calls ``mark_seen`` when the operator
opened the submenu.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from afas_tray.config import Settings
from afas_tray.models import Match, ReportItem
from afas_tray.numbers import normalise
from afas_tray.store import ensure_schema, open_db

log = logging.getLogger(__name__)

MODULE = "missed_calls"
MIGRATIONS = [
    """
    CREATE TABLE missed_calls (
        key TEXT PRIMARY KEY,
        call_id TEXT NOT NULL DEFAULT '',
        number TEXT NOT NULL,
        normalised TEXT NOT NULL DEFAULT '',
        name TEXT NOT NULL DEFAULT '',
        at REAL NOT NULL,
        source TEXT NOT NULL DEFAULT '',
        seen INTEGER NOT NULL DEFAULT 0,
        bcid TEXT NOT NULL DEFAULT '',
        match_name TEXT NOT NULL DEFAULT '',
        item_key TEXT NOT NULL DEFAULT '',
        created REAL NOT NULL
    );
    CREATE INDEX missed_calls_unseen ON missed_calls(seen, at);
    """,
]
SUBJECT = "Gemiste oproep"  # dossier item subject (AFAS users read Dutch)
KEEP_DAYS = 30
MAX_NAME = 100


@dataclass(frozen=True)
class MissedCall:
    """What any source knows of a missed call."""

    number: str
    name: str = ""
    time: float = 0.0  # epoch seconds; 0: now
    call_id: str = ""
    source: str = "xelion"  # xelion (websocket) | log (call log) | demo


@dataclass(frozen=True)
class MissedRow:
    key: str
    call_id: str
    number: str
    name: str  # as Xelion knows the caller
    time: float
    seen: bool
    bcid: str  # the relation in the phone book, "" when unknown or ambiguous
    match_name: str
    item_key: str  # outbox key of its dossier item, "" when none

    @property
    def who(self) -> str:
        return self.match_name or self.name

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``afas-tray status`` and the app's status reply."""
        return {
            "number": self.number,
            "name": self.who,
            "time": datetime.fromtimestamp(self.time, UTC).isoformat(timespec="seconds"),
            "call_id": self.call_id,
            "bcid": self.bcid,
            "seen": self.seen,
        }


class OutboxLike(Protocol):
    def enqueue(self, item: ReportItem) -> bool: ...


Lookup = Callable[[str], list[Match]]


class MissedCalls:
    def __init__(self, db: Path | str | sqlite3.Connection, settings: Settings, *,
                 lookup: Lookup | None = None, outbox: OutboxLike | None = None,
                 is_loggable: Callable[[str], bool] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._own = not isinstance(db, sqlite3.Connection)
        self._conn = db if isinstance(db, sqlite3.Connection) else open_db(db)
        ensure_schema(self._conn, MODULE, MIGRATIONS)
        self._lock = threading.Lock()
        self.settings = settings
        self._lookup = lookup
        self._outbox = outbox
        self._is_loggable = is_loggable
        self._clock = clock
        self.on_change: list[Callable[[int], None]] = []  # hears the unseen count

    def close(self) -> None:
        if self._own:
            self._conn.close()

    # -- intake --------------------------------------------------------------------------------

    def add(self, call: MissedCall) -> bool:
        """Store a missed call once (per call id); False when it was known already or is junk."""
        number = " ".join(str(call.number or "").split())[:40]
        region = self.settings.phone.default_region
        if not number or (self._is_loggable is not None and not self._is_loggable(number)):
            return False  # withheld, internal or own numbers: nobody to call back
        now = self._clock()
        at = call.time if call.time > 0 else now
        key = call.call_id or f"{normalise(number, region) or number}@{int(at)}"
        match = self._relation(number)
        with self._lock:
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO missed_calls(key, call_id, number, normalised, name, at,"
                " source, bcid, match_name, created) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (key, call.call_id, number, normalise(number, region) or "",
                 call.name[:MAX_NAME], at, call.source, match.bcid if match else "",
                 match.name if match else "", now))
            self._conn.commit()
        if cur.rowcount != 1:
            return False
        if match is not None and self.settings.dial.missed_to_dossier:
            self._to_dossier(key, call, number, at, match)
        self._prune(now)
        self._changed()
        return True

    def _relation(self, number: str) -> Match | None:
        """The one relation that has this number, or None (unknown, or several to choose)."""
        if self._lookup is None:
            return None
        from afas_tray.pop.router import relations

        try:
            found = relations(self._lookup(number))
        except Exception:
            log.exception("phone book lookup for a missed call failed")
            return None
        return found[0] if len(found) == 1 else None

    def _to_dossier(self, key: str, call: MissedCall, number: str, at: float,
                    match: Match) -> None:
        dossier_type = self.settings.afas.dossier_item_type
        if self._outbox is None or dossier_type is None:
            log.info("missed call not filed: %s", "no outbox" if self._outbox is None
                     else "no dossier item type set")
            return
        from afas_tray.afas.dates import afas_date, to_afas_local
        from afas_tray.reports.rules import display_number

        when = to_afas_local(datetime.fromtimestamp(at, UTC))
        shown = display_number(number, self.settings.phone.default_region) or number
        if call.name and call.name not in (number, shown):
            shown = f"{shown} ({call.name})"
        text = "\n".join([
            "Gespreksgegevens",
            "Richting: inkomend gesprek, niet beantwoord",
            f"Nummer: {shown}",
            f"Datum/tijd: {when.strftime('%d-%m-%Y %H:%M:%S')}",
        ])
        item = ReportItem(
            key=f"missed:{key}", call_id=call.call_id, bcid=match.bcid, subject=SUBJECT,
            text=text, date=afas_date(datetime.fromtimestamp(at, UTC)),
            dossier_type=int(dossier_type), contact_id=match.contact_id,
        )
        if self._outbox.enqueue(item):
            with self._lock:
                self._conn.execute("UPDATE missed_calls SET item_key=? WHERE key=?",
                                   (item.key, key))
                self._conn.commit()

    # -- reading and seeing ----------------------------------------------------------------------

    def unseen_count(self) -> int:
        with self._lock:
            row = self._conn.execute("SELECT COUNT(*) FROM missed_calls WHERE seen=0").fetchone()
        return int(row[0])

    def recent(self, limit: int = 15, *, unseen_only: bool = False) -> list[MissedRow]:
        where = "WHERE seen=0 " if unseen_only else ""
        with self._lock:
            rows = self._conn.execute(
                "SELECT key, call_id, number, name, at, seen, bcid, match_name, item_key"
                f" FROM missed_calls {where}ORDER BY at DESC LIMIT ?", (int(limit),)).fetchall()
        return [_row(r) for r in rows]

    def mark_seen(self) -> int:
        """The operator looked at the list: the count on the icon clears."""
        with self._lock:
            cur = self._conn.execute("UPDATE missed_calls SET seen=1 WHERE seen=0")
            self._conn.commit()
        if cur.rowcount:
            self._changed()
        return cur.rowcount

    def _changed(self) -> None:
        count = self.unseen_count()
        for hook in list(self.on_change):
            try:
                hook(count)
            except Exception:
                log.exception("missed-call listener failed")

    def _prune(self, now: float) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM missed_calls WHERE seen=1 AND at < ?",
                               (now - KEEP_DAYS * 86400,))
            self._conn.commit()


def _row(r: Any) -> MissedRow:
    return MissedRow(key=str(r[0]), call_id=str(r[1]), number=str(r[2]), name=str(r[3]),
                     time=float(r[4]), seen=bool(r[5]), bcid=str(r[6]), match_name=str(r[7]),
                     item_key=str(r[8]))


def from_call_log(call: Any) -> MissedCall | None:
    """An unanswered incoming call of Xelion's call log (``CallDetails``), else None.

    The guide gives a CallLog ``incoming`` and ``durationSec``; it has no "answered" flag, so an
    incoming call of 0 seconds is read as missed (assumption; see the report of issue 16).
    """
    from afas_tray.reports.rules import is_unanswered_incoming

    if not is_unanswered_incoming(call):
        return None
    number = str(getattr(call, "number", "") or "")
    if not number:
        return None
    date = getattr(call, "date", None)
    return MissedCall(number=number, name=str(getattr(call, "other_name", "") or ""),
                      time=date.timestamp() if date is not None else 0.0,
                      call_id=str(getattr(call, "call_id", "") or ""), source="log")


def unseen_missed_calls(db_path: Path | str, limit: int = 50) -> list[dict[str, Any]]:
    """The missed calls not yet seen, newest first, as plain data (for ``afas-tray status``).

    Opens the database on its own and never creates it: no file, no missed calls."""
    path = Path(db_path)
    if not path.exists():
        return []
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2.0)
    except sqlite3.Error:
        return []
    try:
        rows = conn.execute(
            "SELECT key, call_id, number, name, at, seen, bcid, match_name, item_key"
            " FROM missed_calls WHERE seen=0 ORDER BY at DESC LIMIT ?", (int(limit),)).fetchall()
    except sqlite3.Error:  # no table yet: the app never stored a missed call
        return []
    finally:
        conn.close()
    return [_row(r).as_dict() for r in rows]
