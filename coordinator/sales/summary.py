"""How the sales orders stand as a whole (pure): orders by status, the on-time rate of
the delivered ones against the promise given when each was taken, and their lead times.

An order counts as delivered from its first `delivered` transition (a later operator
correction does not move that time), on time when that transition is at or before the
`promised_ms` of its promise, and its lead time runs from when it was taken to then.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

MS_PER_H = 3_600_000


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    """What the summary needs of one order."""

    status: str
    created_ms: int
    promised_ms: int | None
    delivered_ms: int | None


@dataclass(frozen=True, slots=True)
class SalesSummary:
    """Orders by status; of the delivered ones, how many by their promised time and how
    long they took (`None` while nothing was delivered)."""

    orders: int
    by_status: dict[str, int]
    delivered: int
    delivered_on_time: int
    on_time_rate: float | None
    lead_time_p50_h: float | None
    lead_time_p95_h: float | None


def quantile(sorted_values: list[float], q: float) -> float:
    """The `q` quantile of ascending values by the nearest-rank rule (a value that occurred)."""
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


def summarise(outcomes: Iterable[OrderOutcome]) -> SalesSummary:
    """The summary of these orders."""
    by_status: Counter[str] = Counter()
    lead_h: list[float] = []
    on_time = 0
    for o in outcomes:
        by_status[o.status] += 1
        if o.delivered_ms is None:
            continue
        lead_h.append((o.delivered_ms - o.created_ms) / MS_PER_H)
        if o.promised_ms is not None and o.delivered_ms <= o.promised_ms:
            on_time += 1
    lead_h.sort()
    delivered = len(lead_h)
    return SalesSummary(
        orders=sum(by_status.values()),
        by_status=dict(sorted(by_status.items())),
        delivered=delivered,
        delivered_on_time=on_time,
        on_time_rate=on_time / delivered if delivered else None,
        lead_time_p50_h=quantile(lead_h, 0.5) if lead_h else None,
        lead_time_p95_h=quantile(lead_h, 0.95) if lead_h else None,
    )


__all__ = ["OrderOutcome", "SalesSummary", "quantile", "summarise"]
