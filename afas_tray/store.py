"""SQLite (WAL) for all local state: one file, one connection per thread, per-module schemas.

Each feature module owns its tables and declares them with ``ensure_schema`` (a tiny migration
list per module), so modules do not edit each other's schema.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


def open_db(path: Path | str) -> sqlite3.Connection:
    """Open (creating) the database with the pragmas every caller needs."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL is durable across app crashes
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_versions (module TEXT PRIMARY KEY, version INTEGER NOT NULL)"
    )
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection, *, immediate: bool = True) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` (or a deferred ``BEGIN`` for a read snapshot) … ``COMMIT``;
    ``ROLLBACK`` and re-raise on any error, also one from the ``COMMIT`` itself.

    The connection must be in autocommit mode (``open_db`` makes it so). ``BEGIN`` runs before
    the ``try``: a busy database raises there, and there is nothing to undo yet.
    """
    conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def ensure_schema(conn: sqlite3.Connection, module: str, migrations: Sequence[str]) -> None:
    """Apply ``migrations[i]`` (SQL scripts) not yet applied for ``module``, in order."""
    row = conn.execute("SELECT version FROM schema_versions WHERE module=?", (module,)).fetchone()
    done = int(row[0]) if row else 0
    for version, script in enumerate(migrations[done:], start=done + 1):
        with transaction(conn):
            for statement in script.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_versions(module, version) VALUES(?, ?) "
                "ON CONFLICT(module) DO UPDATE SET version=excluded.version",
                (module, version),
            )
