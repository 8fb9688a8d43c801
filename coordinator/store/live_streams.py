"""`SqliteLiveStreamStore` on the coordinator's SQLite file (table of migration
m012_live_streams).

It shares the store's writer connection and write lock (`SqliteStore.live_stream_store()`),
as `coordinator.store.sales` does; every method is one transaction, durable on return.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import AbstractContextManager

import orjson

from coordinator.stock.live_streams import LiveStream
from coordinator.store.sqlite_support import locked_transaction

_SELECT = (
    "SELECT id, start_ms, duration_s, channel, featured_skus, expected_audience,"
    " expected_orders, created_ms, updated_ms FROM live_streams"
)
_UPSERT = (
    "INSERT INTO live_streams (id, start_ms, duration_s, channel, featured_skus,"
    " expected_audience, expected_orders, created_ms, updated_ms)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (id) DO UPDATE SET start_ms = excluded.start_ms,"
    " duration_s = excluded.duration_s, channel = excluded.channel,"
    " featured_skus = excluded.featured_skus, expected_audience = excluded.expected_audience,"
    " expected_orders = excluded.expected_orders, updated_ms = excluded.updated_ms"
)


class SqliteLiveStreamStore:
    """Durable live streams; thread-safe (every call holds the store's write lock)."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock) -> None:
        self._conn = conn
        self._lock = lock

    def _transaction(self, operation: str) -> AbstractContextManager[sqlite3.Connection]:
        return locked_transaction(self._conn, self._lock, operation, store="live streams")

    def put(self, stream: LiveStream, *, at_ms: int) -> None:
        """Insert the stream, or replace its content (keeping when it was first stored)."""
        with self._transaction("put") as conn:
            conn.execute(
                _UPSERT,
                (
                    stream.id,
                    stream.start_ms,
                    stream.duration_s,
                    stream.channel,
                    orjson.dumps(list(stream.featured_skus)).decode(),
                    stream.expected_audience,
                    stream.expected_orders,
                    at_ms,
                    at_ms,
                ),
            )

    def get(self, stream_id: str) -> tuple[LiveStream, int, int] | None:
        """The stream with its created and updated times, or None."""
        with self._transaction("get") as conn:
            row = conn.execute(_SELECT + " WHERE id = ?", (stream_id,)).fetchone()
        return None if row is None else _stream(row)

    def list(
        self, *, ending_after_ms: int = 0, limit: int = 1000
    ) -> list[tuple[LiveStream, int, int]]:
        """Streams that end after `ending_after_ms`, by start then id (at most `limit`)."""
        with self._transaction("list") as conn:
            rows = conn.execute(
                _SELECT + " WHERE start_ms + duration_s * 1000 > ? ORDER BY start_ms, id LIMIT ?",
                (ending_after_ms, limit),
            ).fetchall()
        return [_stream(row) for row in rows]


def _stream(row: tuple[object, ...]) -> tuple[LiveStream, int, int]:
    sid, start, duration, channel, skus, audience, orders, created, updated = row
    stream = LiveStream(
        id=str(sid),
        start_ms=int(str(start)),
        duration_s=int(str(duration)),
        channel=str(channel),
        featured_skus=tuple(str(s) for s in orjson.loads(str(skus))),
        expected_audience=None if audience is None else int(str(audience)),
        expected_orders=None if orders is None else int(str(orders)),
    )
    return stream, int(str(created)), int(str(updated))


__all__ = ["SqliteLiveStreamStore"]
