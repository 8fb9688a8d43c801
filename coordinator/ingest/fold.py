"""Folding a telemetry batch into latest values and 1-minute rollups.

`fold_samples` is the hot loop of sequencing. Agents usually send rectangular batches: one
row of every signal per timestamp, in time order, within one minute. For those the work is
done with slicing and builtins over whole columns (C speed); anything else takes the
general per-sample loop. Both give the same result (a property test pins it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

MINUTE_MS: Final = 60_000

Rollups = dict[tuple[str, int], list[float]]
"""(signal, minute_ms) → [min, max, sum, count] (count kept as a float while folding)."""


def fold_samples(
    samples: Sequence[tuple[str, int, float]],
    latest: dict[str, tuple[int, float]],
    rollups: Rollups,
) -> None:
    """Update `latest` (newest (ts, value) per signal) and `rollups` with `samples`."""
    if not samples or not _fold_rectangular(samples, latest, rollups):
        _fold_general(samples, latest, rollups)


def _fold_general(
    samples: Sequence[tuple[str, int, float]],
    latest: dict[str, tuple[int, float]],
    rollups: Rollups,
) -> None:
    for name, ts, value in samples:
        current = latest.get(name)
        if current is None or ts >= current[0]:
            latest[name] = (ts, value)
        key = (name, ts - ts % MINUTE_MS)
        agg = rollups.get(key)
        if agg is None:
            rollups[key] = [value, value, value, 1]
        else:
            if value < agg[0]:
                agg[0] = value
            elif value > agg[1]:
                agg[1] = value
            agg[2] += value
            agg[3] += 1


def _fold_rectangular(
    samples: Sequence[tuple[str, int, float]],
    latest: dict[str, tuple[int, float]],
    rollups: Rollups,
) -> bool:
    """The column-wise path; returns False (having changed nothing) if it does not apply."""
    names, stamps, values = zip(*samples, strict=True)
    count = len(names)
    try:
        period = names.index(names[0], 1)
    except ValueError:
        period = count
    head = names[:period]
    if count % period or len(set(head)) != period or names != head * (count // period):
        return False
    lo = stamps[0]
    minute = lo - lo % MINUTE_MS
    if list(stamps) != sorted(stamps) or stamps[-1] >= minute + MINUTE_MS:
        return False  # not in time order, or spans more than one minute
    rows = count // period
    for j, name in enumerate(head):
        column = values[j::period]
        ts = stamps[count - period + j]
        current = latest.get(name)
        if current is None or ts >= current[0]:
            latest[name] = (ts, column[-1])
        key = (name, minute)
        low, high, total = min(column), max(column), float(sum(column))
        agg = rollups.get(key)
        if agg is None:
            rollups[key] = [low, high, total, rows]
        else:
            agg[0] = min(agg[0], low)
            agg[1] = max(agg[1], high)
            agg[2] += total
            agg[3] += rows
    return True


__all__ = ["MINUTE_MS", "Rollups", "fold_samples"]
