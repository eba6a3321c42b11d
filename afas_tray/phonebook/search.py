"""Relations by name, for linking a call report by hand (the report dialog's search).

The phone book (``phonebook.py``) answers lookups by number; this reads its relations table by
name, on a read-only connection of its own, so a search never waits for a refresh (WAL readers
never wait for writers) and never writes. Contact persons are filed under their organisation
(else their person), as the caller pop does.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from afas_tray.models import Match, RelationKind
from afas_tray.store import open_db

log = logging.getLogger(__name__)

_KIND = {0: RelationKind.ORGANISATION, 1: RelationKind.PERSON}


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_by_name(db_path: Path, text: str, limit: int = 20) -> list[Match]:
    """Up to ``limit`` relations whose name contains ``text`` (case-insensitive), names that
    start with it first; [] for fewer than two characters or a book that is not there yet."""
    text = " ".join(text.split())
    if len(text) < 2 or not db_path.exists():
        return []
    try:
        conn = open_db(db_path)
    except sqlite3.Error as exc:
        log.warning("Relation search: cannot open the phone book: %s", exc)
        return []
    try:
        conn.execute("PRAGMA query_only=ON")
        rows = conn.execute(
            "SELECT role, key, bcid, name, org, person FROM pb_relations"
            " WHERE name LIKE ? ESCAPE '\\' ORDER BY (name NOT LIKE ? ESCAPE '\\'), name, role"
            " LIMIT ?",
            (_like(text), _like(text)[1:], limit * 3),
        ).fetchall()
        out: list[Match] = []
        seen: set[tuple[str, str]] = set()
        for role, key, bcid, name, org, person in rows:
            if role in _KIND:
                match = Match(bcid=bcid, name=name, kind=_KIND[role])
            else:
                owner = _owner(conn, org, person)
                if owner is None:
                    continue
                match = Match(bcid=owner[0], name=owner[1], kind=RelationKind.CONTACT,
                              contact_id=key, contact_name=name)
            ident = (match.bcid, match.contact_id)
            if not match.bcid.strip() or ident in seen:
                continue
            seen.add(ident)
            out.append(match)
            if len(out) >= limit:
                break
        return out
    except sqlite3.Error as exc:  # no phone book yet (never synced): nothing to find
        log.info("Relation search: %s", exc)
        return []
    finally:
        conn.close()


def _owner(conn: sqlite3.Connection, org: str, person: str) -> tuple[str, str] | None:
    """(BcId, name) of a contact's organisation, else its person; by BcId, else key."""
    for code, ref in ((0, org), (1, person)):
        if not ref:
            continue
        for column in ("bcid", "key"):
            row = conn.execute(
                f"SELECT bcid, name FROM pb_relations WHERE role = ? AND {column} = ? LIMIT 1",
                (code, ref),
            ).fetchone()
            if row is not None:
                return str(row[0]), str(row[1])
    return None
