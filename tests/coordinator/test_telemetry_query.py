"""Telemetry query parsing and the raw-or-rollup choice."""

from __future__ import annotations

import pytest

from coordinator.errors import InvalidQuery
from coordinator.telemetry_query import choose_resolution, parse_time_ms

H = 3_600_000


def test_parse_time_accepts_ms_and_iso() -> None:
    """Digits are milliseconds; ISO 8601 with an offset is converted."""
    assert parse_time_ms("1700000000000", parameter="start") == 1_700_000_000_000
    assert parse_time_ms("2023-11-14T22:13:20Z", parameter="start") == 1_700_000_000_000
    assert parse_time_ms(None, parameter="start") is None


@pytest.mark.parametrize(
    "text", ["yesterday", "2023-11-14T22:13:20", "9" * 70, "-5", "99999999999999999", "١٢٣"]
)
def test_parse_time_rejects_bad_input(text: str) -> None:
    """Garbage, naive times, oversized and out-of-range values raise InvalidQuery."""
    with pytest.raises(InvalidQuery):
        parse_time_ms(text, parameter="start")


def test_resolution_by_range_and_retention() -> None:
    """Short recent ranges read raw samples; long or old ones read rollups."""
    now = 100 * H
    kw = {"now_ms": now, "raw_retention_ms": 24 * H, "rollup_threshold_ms": 6 * H}
    assert choose_resolution(start_ms=now - H, end_ms=now, **kw) == "raw"
    assert choose_resolution(start_ms=now - 7 * H, end_ms=now, **kw) == "1m"
    assert choose_resolution(start_ms=now - 30 * H, end_ms=now - 29 * H, **kw) == "1m"
