"""Opening hours as machine downtime (pure): a factory's machines are planned only while
the factory is open.

Several factories are planned together: their machines share one problem, and each
machine is closed (an unavailability window) outside its factory's opening hours. A plan
unit partly outside the hours counts as closed, so no operation is planned into a closing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

from coordinator.plan.schedule.problem import Window

OpenIntervals = Callable[[float, float], list[tuple[float, float]]]
"""The open periods (Unix seconds) of a place overlapping [start_s, end_s), clipped to it."""


def closed_windows(
    open_intervals: Iterable[tuple[float, float]],
    *,
    start_s: float,
    end_s: float,
    epoch_s: float,
    unit_s: float,
) -> tuple[Window, ...]:
    """The closed stretches of [start_s, end_s) in plan units (from `epoch_s`, `unit_s`
    seconds each); an open period shrinks to the whole units inside it. Periods that touch
    or overlap (a factory open around the clock is open until midnight and again from it)
    are one period: no unit is closed between them."""

    def unit(t: float) -> float:
        return (t - epoch_s) / unit_s

    merged: list[tuple[float, float]] = []
    for a, b in sorted(open_intervals):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    lo, hi = math.floor(unit(start_s)), math.ceil(unit(end_s))
    cursor, spans = lo, []
    for a, b in merged:
        opens, closes = math.ceil(unit(a) - 1e-9), math.floor(unit(b) + 1e-9)
        if closes <= opens:
            continue
        if opens > cursor:
            spans.append((cursor, opens))
        cursor = max(cursor, closes)
    if cursor < hi:
        spans.append((cursor, hi))
    return tuple(Window(max(a, 0), b) for a, b in spans if b > max(a, 0))


def machine_hours(
    hours_by_machine: Mapping[str, OpenIntervals],
    *,
    start_s: float,
    days: float,
    epoch_s: float,
    unit_s: float,
) -> dict[str, tuple[Window, ...]]:
    """Each machine's closed windows for the next `days` days from `start_s`."""
    end_s = start_s + days * 86_400.0
    return {
        machine: closed_windows(
            open_intervals(start_s, end_s),
            start_s=start_s,
            end_s=end_s,
            epoch_s=epoch_s,
            unit_s=unit_s,
        )
        for machine, open_intervals in hours_by_machine.items()
    }


__all__ = ["OpenIntervals", "closed_windows", "machine_hours"]
