"""Reports written on the desktop (``Draft``, ``ReportDrafts``, table ``report_drafts``), and a
call's details as JSON (what ``reports/service.py`` keeps in its ``report_calls``).
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from afas_tray.afas.knsubject import MAX_SUBJECT_CHARS
from afas_tray.store import ensure_schema
from afas_tray.xelion.client import CallDetails, Participant

MODULE = "reports"

# ``report_drafts`` is this module's alone (``reports/service.py`` asks ``ReportDrafts``). Up to
# version 1 this list also created the service's ``report_calls``: databases made then still
# have it, and the service's own migration (``IF NOT EXISTS``) takes it over.
_MIGRATIONS = (
    """
    CREATE TABLE report_drafts (
        call_id TEXT PRIMARY KEY,
        subject TEXT NOT NULL,
        text TEXT NOT NULL,
        bcid TEXT,
        contact_id TEXT NOT NULL DEFAULT '',
        updated REAL NOT NULL
    );
    """,
)


@dataclass(frozen=True)
class Draft:
    """What the operator wrote for one call; ``bcid`` is a relation picked by hand (or None)."""

    call_id: str
    subject: str = ""
    text: str = ""
    bcid: str | None = None
    contact_id: str = ""
    updated: float = 0.0

    @property
    def has_report(self) -> bool:
        return bool(self.subject.strip() or self.text.strip())


# --- storage of call details ----------------------------------------------------------------------


def _dt(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _parse_dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def details_to_json(call: CallDetails) -> str:
    return json.dumps({
        "oid": call.oid, "call_id": call.call_id, "date": _dt(call.date),
        "end_time": _dt(call.end_time), "duration_sec": call.duration_sec,
        "incoming": call.incoming, "number": call.number, "other_name": call.other_name,
        "operator": call.operator, "subject": call.subject,
        "participants": [[p.role, p.address, p.name] for p in call.participants],
        "contents": call.contents,
    })


def details_from_json(text: str) -> CallDetails:
    d = json.loads(text)
    return CallDetails(
        oid=d["oid"], call_id=d["call_id"], date=_parse_dt(d["date"]),
        end_time=_parse_dt(d["end_time"]), duration_sec=int(d["duration_sec"]),
        incoming=bool(d["incoming"]), number=d["number"], other_name=d["other_name"],
        operator=d["operator"], subject=d["subject"],
        participants=tuple(Participant(r, a, n) for r, a, n in d["participants"]),
        contents=d.get("contents", ""),
    )


# --- drafts ---------------------------------------------------------------------------------------


class ReportDrafts:
    """Reports written on the desktop, per call id; also before Xelion published the call."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        ensure_schema(conn, MODULE, _MIGRATIONS)

    def write_report(
        self, call_id: str, subject: str, text: str, bcid: str | None = None,
        contact_id: str = "",
    ) -> Draft:
        if not call_id:
            raise ValueError("a report belongs to a call id")
        draft = Draft(call_id, subject[:MAX_SUBJECT_CHARS], text, bcid or None, contact_id, time.time())
        self._conn.execute(
            "INSERT INTO report_drafts(call_id, subject, text, bcid, contact_id, updated)"
            " VALUES (?,?,?,?,?,?) ON CONFLICT(call_id) DO UPDATE SET subject=excluded.subject,"
            " text=excluded.text, bcid=excluded.bcid, contact_id=excluded.contact_id,"
            " updated=excluded.updated",
            (draft.call_id, draft.subject, draft.text, draft.bcid, draft.contact_id,
             draft.updated),
        )
        return draft

    def draft_for(self, call_id: str) -> Draft | None:
        row = self._conn.execute(
            "SELECT call_id, subject, text, bcid, contact_id, updated FROM report_drafts"
            " WHERE call_id=?", (call_id,),
        ).fetchone()
        if row is None:
            return None
        return Draft(row[0], row[1], row[2], row[3], row[4], row[5])

    def with_report(self) -> set[str]:
        """The call ids whose draft has a subject or a text (a report the operator wrote)."""
        return {row[0] for row in self._conn.execute(
            "SELECT call_id FROM report_drafts WHERE trim(subject) != '' OR trim(text) != ''")}

    def prune(self, older_than: float) -> None:
        self._conn.execute("DELETE FROM report_drafts WHERE updated < ?", (older_than,))
