"""The latest forecast per SKU × location, kept in the coordinator's SQLite file.

The table lives beside the telemetry under its own migration set
(`FORECAST_MIGRATIONS`, name `flexfleet_forecasts`), through its own connection (WAL,
busy timeout) guarded by one lock, as the alarm store does. Each refresh replaces every
row in one transaction, so readers see one refresh or the next, never a mix. sqlite3
errors leave as the coordinator's `StoreError` (HTTP 503).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import orjson
import sqlite_utils

from coordinator.forecast.serving.service import Forecast
from coordinator.store.sqlite_support import open_database, translated

FORECAST_MIGRATIONS: Final = sqlite_utils.Migrations("flexfleet_forecasts")
_COLUMNS: Final = (
    "unique_id, sku, location, model_version, method, fallback, reason, generated_ms, series"
)


@FORECAST_MIGRATIONS()
def m001_forecasts(db: sqlite_utils.Database) -> None:
    """One row per SKU × location: who forecast it, when, and the daily values as JSON."""
    db.execute(
        """CREATE TABLE forecasts (
            unique_id TEXT PRIMARY KEY, sku TEXT NOT NULL, location TEXT,
            model_version TEXT NOT NULL, method TEXT NOT NULL, fallback INTEGER NOT NULL,
            reason TEXT NOT NULL, generated_ms INTEGER NOT NULL, series TEXT NOT NULL)"""
    )
    db.execute("CREATE INDEX forecasts_by_location ON forecasts (location, sku)")


class ForecastStore:
    """Repository of the latest forecasts; every method is thread-safe."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self._db = db
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: str | Path, *, busy_timeout_s: float = 30.0) -> ForecastStore:
        """Open (or create) the forecast table in the database file at `path`."""
        with translated("open", store="forecast store"):
            db = open_database(path, busy_timeout_s=busy_timeout_s)
            FORECAST_MIGRATIONS.apply(db)
        return cls(db)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    def replace_all(self, forecasts: Sequence[Forecast]) -> None:
        """Make `forecasts` the stored set, in one transaction."""
        rows = [_row(f) for f in forecasts]
        with self._lock, translated("write", store="forecast store"), self._db.atomic():
            self._db.execute("DELETE FROM forecasts")
            self._db.conn.executemany(
                f"INSERT INTO forecasts ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                rows,
            )

    def count(self) -> int:
        """How many series have a stored forecast."""
        with self._lock, translated("read", store="forecast store"):
            return int(self._db.conn.execute("SELECT count(*) FROM forecasts").fetchone()[0])

    def query(
        self, *, sku: str | None = None, location: str | None = None, limit: int = 1000
    ) -> list[Forecast]:
        """Stored forecasts, optionally of one SKU and/or location, ordered by series id."""
        where, args = [], []
        for column, value in (("sku", sku), ("location", location)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        sql = f"SELECT {_COLUMNS} FROM forecasts{clause} ORDER BY unique_id LIMIT ?"  # noqa: S608
        with self._lock, translated("read", store="forecast store"):
            rows = self._db.conn.execute(sql, [*args, limit]).fetchall()
        return [_forecast(r) for r in rows]


def _row(f: Forecast) -> tuple[Any, ...]:
    series = {"dates": f.dates, "mean": f.mean, "p10": f.p10, "p50": f.p50, "p90": f.p90}
    if f.event_units:
        series["event_units"] = f.event_units
    return (
        f.unique_id,
        f.sku,
        f.location,
        f.model_version,
        f.method,
        int(f.fallback),
        f.reason,
        f.generated_at_ms,
        orjson.dumps(series).decode(),
    )


def _forecast(row: tuple[Any, ...]) -> Forecast:
    series = orjson.loads(row[8])
    return Forecast(
        unique_id=row[0],
        sku=row[1],
        location=row[2],
        dates=tuple(series["dates"]),
        mean=tuple(series["mean"]),
        p10=tuple(series["p10"]),
        p50=tuple(series["p50"]),
        p90=tuple(series["p90"]),
        model_version=row[3],
        method=row[4],
        fallback=bool(row[5]),
        reason=row[6],
        generated_at_ms=int(row[7]),
        event_units=tuple(series.get("event_units", ())),
    )


__all__ = ["FORECAST_MIGRATIONS", "ForecastStore"]
