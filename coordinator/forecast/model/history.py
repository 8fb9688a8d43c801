"""Build a `SeriesPanel` from daily sales records, as the coordinator stores them.

The coordinator hands sales per SKU × location and day; each pair becomes one series
with id `"{sku}@{location}"`, days without a record count as zero sales.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from coordinator.forecast.errors import DataError
from coordinator.forecast.model.csv_input import MAX_SPAN_DAYS, panel_from_rows
from coordinator.forecast.model.panel import SeriesPanel

SEPARATOR = "@"


@dataclass(frozen=True)
class DailySales:
    """Units sold of one SKU at one location on one day (days since 1970-01-01)."""

    sku: str
    location: str
    day: int
    units: float


def series_id(sku: str, location: str) -> str:
    """The series id of a SKU × location pair."""
    return f"{sku}{SEPARATOR}{location}"


def split_series_id(unique_id: str) -> tuple[str, str | None]:
    """(sku, location) of a series id; location None when the id has no separator."""
    sku, sep, location = unique_id.rpartition(SEPARATOR)
    return (sku, location) if sep else (unique_id, None)


def panel_from_sales(records: Iterable[DailySales]) -> SeriesPanel:
    """Sum records per SKU × location and day into a panel (no exogenous columns)."""
    rows: dict[str, dict[int, tuple[float, tuple[float, ...]]]] = {}
    for r in records:
        if SEPARATOR in r.sku or SEPARATOR in r.location or not r.sku or not r.location:
            raise DataError(f"sku/location must be non-empty without {SEPARATOR!r}: {r}")
        if not r.units >= 0:
            raise DataError(f"units must be ≥ 0, got {r.units}", unique_id=r.sku)
        series = rows.setdefault(series_id(r.sku, r.location), {})
        prev = series.get(r.day, (0.0, ()))[0]
        series[r.day] = (prev + float(r.units), ())
    if not rows:
        raise DataError("no sales records")
    for uid, days in rows.items():
        if max(days) - min(days) + 1 > MAX_SPAN_DAYS:
            raise DataError(f"history longer than {MAX_SPAN_DAYS} days", unique_id=uid)
    return panel_from_rows(rows, ())
