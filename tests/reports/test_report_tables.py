"""Each table has one owner: the drafts keep ``report_drafts``, the service its ``report_calls``.

A database written before ``report_calls`` moved to the service (both tables made by the drafts'
first migration) must open with every waiting call and written report intact, and the count of
calls held back for the operator must read the same.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from afas_tray.config import Settings
from afas_tray.phonebook import PhoneBook
from afas_tray.pop.opener import RecordingOpener
from afas_tray.pop.router import CallRouter
from afas_tray.reports.outbox import Outbox
from afas_tray.reports.service import ReportService
from afas_tray.store import open_db

# The schema of module "reports" as the previous version wrote it (version 1, both tables).
BEFORE = """
    CREATE TABLE report_drafts (
        call_id TEXT PRIMARY KEY, subject TEXT NOT NULL, text TEXT NOT NULL, bcid TEXT,
        contact_id TEXT NOT NULL DEFAULT '', updated REAL NOT NULL);
    CREATE TABLE report_calls (
        oid TEXT PRIMARY KEY, call_id TEXT NOT NULL, details TEXT NOT NULL, state TEXT NOT NULL,
        outcome TEXT NOT NULL DEFAULT '', has_recording INTEGER,
        audio_file TEXT NOT NULL DEFAULT '', audio_deadline REAL NOT NULL,
        item_key TEXT NOT NULL DEFAULT '', item_bcid TEXT NOT NULL DEFAULT '',
        item_contact TEXT NOT NULL DEFAULT '', sent_subject TEXT NOT NULL DEFAULT '',
        sent_text TEXT NOT NULL DEFAULT '', supplements INTEGER NOT NULL DEFAULT 0,
        created REAL NOT NULL, updated REAL NOT NULL);
    CREATE INDEX report_calls_call_id ON report_calls(call_id);
    CREATE INDEX report_calls_state ON report_calls(state);
"""


def service_on(data: Path) -> tuple[ReportService, list[object]]:
    db = data / "afas-tray.sqlite3"
    settings = Settings()
    book = PhoneBook(db, "NL")
    router = CallRouter(lambda n: book.lookup(n, "NL"), settings, RecordingOpener(), open_db(db))
    outbox = Outbox(db)
    service = ReportService(settings, router, book, outbox, None, data)
    return service, [service.close, outbox.close, book.close]


def waiting_call(conn: sqlite3.Connection, oid: str, outcome: str) -> None:
    conn.execute(
        "INSERT INTO report_calls(oid, call_id, details, state, outcome, audio_deadline, created,"
        " updated) VALUES (?, ?, '{}', 'waiting', ?, 0, 1, 1)", (oid, f"call-{oid}", outcome))


def test_a_database_of_the_previous_version_keeps_its_waiting_calls_and_reports(
        tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    conn = open_db(data / "afas-tray.sqlite3")
    conn.executescript(BEFORE)
    conn.execute("INSERT INTO schema_versions(module, version) VALUES ('reports', 1)")
    waiting_call(conn, "1", "needs_pick")  # several relations: waits for a pick
    waiting_call(conn, "2", "no_match")  # unknown caller with a written report: waits for one
    waiting_call(conn, "3", "no_match")  # unknown caller, nothing written: not held for anyone
    conn.execute("INSERT INTO report_drafts VALUES ('call-2', 'Offerte', '', NULL, '', 1)")
    conn.execute("INSERT INTO report_drafts VALUES ('call-3', ' ', '', NULL, '', 1)")
    conn.commit()
    conn.close()

    service, closers = service_on(data)
    try:
        assert service.held_count() == 2
        draft = service.draft_for("call-2")
        assert draft is not None and draft.subject == "Offerte"
    finally:
        for close in closers:
            close()  # type: ignore[operator]

    conn = sqlite3.connect(data / "afas-tray.sqlite3")
    try:
        assert conn.execute("SELECT COUNT(*) FROM report_calls").fetchone()[0] == 3
        versions = dict(conn.execute("SELECT module, version FROM schema_versions"))
        assert versions["reports"] == 1 and versions["report_calls"] == 1
    finally:
        conn.close()


def test_a_new_database_gets_each_table_from_its_owner(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    service, closers = service_on(data)
    try:
        assert service.held_count() == 0
        service.drafts.write_report("call-9", "Terugbellen", "")
        assert service.drafts.with_report() == {"call-9"}
    finally:
        for close in closers:
            close()  # type: ignore[operator]
    conn = sqlite3.connect(data / "afas-tray.sqlite3")
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"report_drafts", "report_calls"} <= tables
    finally:
        conn.close()
