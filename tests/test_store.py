"""store.transaction: what a caller's data looks like after a write that succeeds, fails, or
finds the database busy."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from afas_tray.store import open_db, transaction


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "state.sqlite3"
    conn = open_db(path)
    conn.execute("CREATE TABLE t (v INTEGER)")
    conn.close()
    return path


def values(path: Path) -> list[int]:
    conn = open_db(path)
    try:
        return [int(r[0]) for r in conn.execute("SELECT v FROM t ORDER BY v")]
    finally:
        conn.close()


def test_a_finished_block_is_committed_for_other_connections(db: Path) -> None:
    conn = open_db(db)
    with transaction(conn):
        conn.execute("INSERT INTO t VALUES (1)")
        conn.execute("INSERT INTO t VALUES (2)")
    assert not conn.in_transaction
    assert values(db) == [1, 2]


def test_an_error_rolls_the_whole_block_back_and_is_raised(db: Path) -> None:
    conn = open_db(db)
    with transaction(conn):
        conn.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(ZeroDivisionError), transaction(conn):
        conn.execute("INSERT INTO t VALUES (2)")
        _ = 1 / 0
    assert not conn.in_transaction
    assert values(db) == [1]


def test_a_busy_database_raises_at_begin_and_leaves_both_sides_intact(db: Path) -> None:
    holder, waiter = open_db(db), open_db(db)
    waiter.execute("PRAGMA busy_timeout=20")
    with transaction(holder):
        holder.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(sqlite3.OperationalError, match="locked"), transaction(waiter):
            waiter.execute("INSERT INTO t VALUES (2)")  # not reached: BEGIN IMMEDIATE waits
        assert not waiter.in_transaction
    assert values(db) == [1]


def test_a_read_snapshot_does_not_see_a_commit_made_during_it(db: Path) -> None:
    reader, writer = open_db(db), open_db(db)
    with transaction(reader, immediate=False):
        assert reader.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 0
        with transaction(writer):
            writer.execute("INSERT INTO t VALUES (1)")
        assert reader.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 0
    assert reader.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 1
