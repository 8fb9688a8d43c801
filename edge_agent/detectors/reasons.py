"""Human-readable reasons attached to raised anomalies."""

from __future__ import annotations

import math

from edge_agent.detectors.config import DetectorConfig


def _num(value: float) -> str:
    return f"{value:.6g}"


def describe(
    detector: str,
    *,
    score: float,
    value: float = math.nan,
    level: float = math.nan,
    spread: float = math.nan,
    typical_step: float = math.nan,
    run: int = 0,
    gap_ms: float = 0.0,
    limit_ms: float = 0.0,
    config: DetectorConfig | None = None,
    time_of_day: bool = False,
    drift: float = 0.0,
) -> str:
    """One sentence saying why `detector` raised, with the figures that made it."""
    if detector == "baseline":
        kind = "time-of-day baseline" if time_of_day else "baseline"
        if drift > 0.0:
            return (
                f"value {_num(value)} ends a run of deviations from its {kind} "
                f"{_num(level)} summing to {_num(drift)} spreads beyond the allowance "
                f"(spread {_num(spread)})"
            )
        return (
            f"value {_num(value)} is {_num(score)} robust spreads from its {kind} "
            f"{_num(level)} (spread {_num(spread)})"
        )
    if detector == "rate_of_change":
        return f"value jumped to {_num(value)}, {_num(score)} times the typical step {_num(typical_step)}"
    if detector == "flatline":
        return f"value stuck at {_num(value)} for {run} samples"
    if detector == "out_of_range":
        if not math.isfinite(value):
            return f"value is not finite ({value})"
        if abs(value) > 1e150:
            return f"value {_num(value)} is beyond the usable magnitude 1e150"
        limits = config.out_of_range if config is not None else None
        low = "-inf" if limits is None or limits.min_value is None else _num(limits.min_value)
        high = "inf" if limits is None or limits.max_value is None else _num(limits.max_value)
        return f"value {_num(value)} outside the allowed range [{low}, {high}]"
    if detector == "missing":
        return f"no data for {gap_ms / 1000:.6g} s (limit {limit_ms / 1000:.6g} s)"
    return f"{detector} raised with score {_num(score)}"
