"""Telemetry queries: parse the time range, choose raw samples or rollups, ask the store.

Raw samples answer short, recent ranges; a range longer than `rollup_query_threshold_s`, or
one starting before the raw retention horizon, is answered from 1-minute rollups.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal

from coordinator.errors import InvalidQuery
from coordinator.store.port import Resolution, Store, TelemetrySeries

DEFAULT_RANGE_MS: Final = 3_600_000
MAX_TIME_TEXT: Final = 64


def parse_time_ms(text: str | None, *, parameter: str) -> int | None:
    """Milliseconds since the epoch from digits (ms) or an ISO 8601 time with offset."""
    if text is None or text == "":
        return None
    if len(text) > MAX_TIME_TEXT:
        raise InvalidQuery(f"{parameter} is too long", parameter=parameter)
    if text.isascii() and text.lstrip("-").isdigit():
        value = int(text)
    else:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidQuery(
                f"{parameter} must be milliseconds since the epoch or an ISO 8601 time",
                parameter=parameter,
            ) from None
        if moment.tzinfo is None:
            raise InvalidQuery(
                f"{parameter} needs a UTC offset, e.g. 2026-01-01T00:00:00Z", parameter=parameter
            )
        value = int(moment.timestamp() * 1000)
    if not 0 <= value <= 4_102_444_800_000:
        raise InvalidQuery(f"{parameter} is outside 1970..2100", parameter=parameter)
    return value


def choose_resolution(
    *, start_ms: int, end_ms: int, now_ms: int, raw_retention_ms: int, rollup_threshold_ms: int
) -> Resolution:
    """Raw for short recent ranges; 1-minute rollups for long ones or beyond raw retention."""
    if end_ms - start_ms > rollup_threshold_ms or start_ms < now_ms - raw_retention_ms:
        return "1m"
    return "raw"


def query_telemetry(
    store: Store,
    *,
    site: str,
    node: str,
    signal: str,
    start: str | None,
    end: str | None,
    resolution: Literal["auto", "raw", "1m"],
    now_ms: int,
    raw_retention_ms: int,
    rollup_threshold_ms: int,
    limit: int,
) -> TelemetrySeries:
    """Answer one telemetry request; `InvalidQuery` for a bad range, `NotFound` for no series."""
    end_ms = parse_time_ms(end, parameter="end")
    start_ms = parse_time_ms(start, parameter="start")
    end_ms = now_ms if end_ms is None else end_ms
    start_ms = end_ms - DEFAULT_RANGE_MS if start_ms is None else start_ms
    if start_ms > end_ms:
        raise InvalidQuery("start is after end", parameter="start")
    chosen: Resolution = (
        choose_resolution(
            start_ms=start_ms,
            end_ms=end_ms,
            now_ms=now_ms,
            raw_retention_ms=raw_retention_ms,
            rollup_threshold_ms=rollup_threshold_ms,
        )
        if resolution == "auto"
        else resolution
    )
    return store.telemetry(
        site=site,
        node=node,
        signal=signal,
        start_ms=start_ms,
        end_ms=end_ms,
        resolution=chosen,
        limit=limit,
    )


__all__ = ["choose_resolution", "parse_time_ms", "query_telemetry"]
