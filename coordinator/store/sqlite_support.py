"""What every SQLite repository of the coordinator shares: error translation and opening.

sqlite3 errors (locked past the busy timeout, disk full, corruption) leave a repository as
the coordinator's `StoreError`, which the API answers with 503.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from coordinator.errors import StoreError


@contextmanager
def translated(operation: str, *, store: str = "") -> Iterator[None]:
    """Turn sqlite3 errors raised inside into `StoreError` naming `store` and `operation`."""
    try:
        yield
    except sqlite3.Error as exc:
        prefix = f"{store} " if store else ""
        raise StoreError(f"{prefix}{operation} failed: {exc}", operation=operation) from exc


@contextmanager
def locked_transaction(
    conn: sqlite3.Connection,
    lock: threading.Lock,
    operation: str,
    *,
    store: str,
    write: bool = True,
) -> Iterator[sqlite3.Connection]:
    """One transaction on a connection shared under `lock`: `BEGIN IMMEDIATE` (plain
    `BEGIN` for a read), committed when the block ends, rolled back on any exception;
    sqlite3 errors leave as `StoreError` naming `store` and `operation`."""
    with lock, translated(operation, store=store):
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def open_database(
    path: str | Path, *, busy_timeout_s: float, synchronous: str | None = None
) -> sqlite_utils.Database:
    """A connection shared across threads (callers lock), WAL unless in memory."""
    conn = sqlite3.connect(str(path), timeout=busy_timeout_s, check_same_thread=False)
    db = sqlite_utils.Database(conn)
    db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
    if str(path) != ":memory:":
        db.enable_wal()
    if synchronous is not None:
        db.execute(f"PRAGMA synchronous = {synchronous}")
    return db


__all__ = ["locked_transaction", "open_database", "translated"]
