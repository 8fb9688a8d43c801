"""`SqliteStreamUpliftStore`: past streams' realised uplifts (table of migration
m015_stream_uplifts) and the sales and `live_stream` flag samples they are measured from.

It shares the store's writer connection and write lock, as `coordinator.store.live_streams`
does; every method is one transaction, durable on return. A measurement is written once
per stream (`put` replaces nothing: a second one for the same stream is ignored).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson

from coordinator.errors import StoreError
from coordinator.stock.stream_uplift import RealisedUplift, SkuUplift

MAX_SKUS = 1000


class SqliteStreamUpliftStore:
    """Durable realised uplifts; thread-safe (every call holds the store's write lock)."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock) -> None:
        self._conn = conn
        self._lock = lock

    @contextmanager
    def _transaction(self, operation: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise StoreError(
                    f"stream uplifts {operation} failed: {exc}", operation=operation
                ) from exc

    def put(self, measured: RealisedUplift) -> bool:
        """Keep the measurement; False (and nothing changed) when the stream has one."""
        with self._transaction("put") as conn:
            cursor = conn.execute(
                "INSERT INTO stream_uplifts (stream_id, measured_ms, doc) VALUES (?, ?, ?)"
                " ON CONFLICT (stream_id) DO NOTHING",
                (measured.stream_id, measured.measured_ms, orjson.dumps(_doc(measured))),
            )
            return cursor.rowcount == 1

    def get(self, stream_id: str) -> RealisedUplift | None:
        """The stream's measurement, or None."""
        with self._transaction("get") as conn:
            row = conn.execute(
                "SELECT doc FROM stream_uplifts WHERE stream_id = ?", (stream_id,)
            ).fetchone()
        return None if row is None else _measured(orjson.loads(row[0]))

    def recent(self, *, limit: int = 500) -> list[RealisedUplift]:
        """The newest measurements first."""
        with self._transaction("recent") as conn:
            rows = conn.execute(
                "SELECT doc FROM stream_uplifts ORDER BY measured_ms DESC, stream_id LIMIT ?",
                (limit,),
            ).fetchall()
        return [_measured(orjson.loads(r[0])) for r in rows]

    def units_between(self, skus: Sequence[str], start_ms: int, end_ms: int) -> dict[str, float]:
        """Units of `skus` picked at any warehouse in `[start_ms, end_ms)` (stock deltas)."""
        wanted = list(skus)[:MAX_SKUS]
        marks = ", ".join("?" * len(wanted))
        with self._transaction("units between") as conn:
            rows = conn.execute(
                "SELECT sku, -sum(qty) FROM stock_changes WHERE mode = 'delta' AND qty < 0"  # noqa: S608
                f" AND ts_ms >= ? AND ts_ms < ? AND sku IN ({marks}) GROUP BY sku",
                (start_ms, end_ms, *wanted),
            ).fetchall()
        return {str(sku): float(units) for sku, units in rows}

    def units_on_days(self, skus: Sequence[str], first_day: int, last_day: int) -> dict[str, float]:
        """Units of `skus` sold at any warehouse on days `first_day..last_day` (inclusive)."""
        wanted = list(skus)[:MAX_SKUS]
        marks = ", ".join("?" * len(wanted))
        with self._transaction("units on days") as conn:
            rows = conn.execute(
                "SELECT sku, sum(units) FROM sales_daily WHERE day BETWEEN ? AND ?"  # noqa: S608
                f" AND sku IN ({marks}) GROUP BY sku",
                (first_day, last_day, *wanted),
            ).fetchall()
        return {str(sku): float(units) for sku, units in rows}

    def flag_samples(
        self, start_ms: int, end_ms: int, *, limit: int = 100_000
    ) -> list[tuple[int, float]]:
        """`live_stream` flag samples `(ts_ms, value)` of every node in the span."""
        with self._transaction("flag samples") as conn:
            rows = conn.execute(
                "SELECT p.ts_ms, p.value FROM samples p JOIN series s ON s.id = p.series_id"
                " WHERE s.signal = 'live_stream' AND p.ts_ms BETWEEN ? AND ?"
                " ORDER BY p.ts_ms LIMIT ?",
                (start_ms, end_ms, limit),
            ).fetchall()
        return [(int(t), float(v)) for t, v in rows]


def _doc(m: RealisedUplift) -> dict[str, Any]:
    return {
        "stream_id": m.stream_id,
        "on_air": [m.on_air_start_ms, m.on_air_end_ms, m.on_air_source],
        "measured_ms": m.measured_ms,
        "skus": [
            [
                s.sku,
                s.units,
                s.baseline_units,
                s.uplift,
                s.pre_units,
                s.pre_baseline_units,
                s.pre_uplift,
            ]
            for s in m.skus
        ],
    }


def _measured(doc: dict[str, Any]) -> RealisedUplift:
    start, end, source = doc["on_air"]
    return RealisedUplift(
        stream_id=str(doc["stream_id"]),
        on_air_start_ms=int(start),
        on_air_end_ms=int(end),
        on_air_source="live_stream flag" if source == "live_stream flag" else "announced",
        skus=tuple(SkuUplift(*row) for row in doc["skus"]),
        measured_ms=int(doc["measured_ms"]),
    )


__all__ = ["SqliteStreamUpliftStore"]
