"""What every SQLite repository of the coordinator shares: error translation and opening.

sqlite3 errors (locked past the busy timeout, disk full, corruption) leave a repository as
the coordinator's `StoreError`, which the API answers with 503.
"""

from __future__ import annotations

import sqlite3
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


__all__ = ["open_database", "translated"]
