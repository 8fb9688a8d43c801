"""Stock cover: how long a micro-warehouse's stock of a SKU lasts against its forecast, and
how much to replenish (pure: a forecast and a quantity in, a `StockCover` out).

The forecast gives each day's mean and P10/P90 from tomorrow on. Demand over several days
is a sum, and the P90 of a sum is far below the sum of the daily P90s, so the cumulative
quantile is taken from the daily mean and spread: each day's standard deviation is read
from its P10–P90 range as a normal's, (P90 − P10) / (2 · z₀.₉), but never below √mean
(units sold are counts, at least as variable as Poisson's; a low count's whole-unit
quantiles understate its spread); days are independent, and the cumulative P90 is
Σ mean + z₀.₉ · √(Σ sd²). A test holds it to the exact Poisson quantile within one unit.

- `p90_days`: the first day on which the P90 of the demand from tomorrow through that day
  exceeds the stock (it runs out by then one time in ten or more); `expected_days` the same
  with the mean. None when the stock outlasts the forecast horizon.
- `at_risk`: `p90_days` within the replenishment lead time: an order placed now would
  arrive too late one time in ten.
- `order_up_to`: the P90 of the demand over lead time plus review period (an order-up-to
  policy: what must be on hand now to last until the order after next arrives), and
  `proposed` what is missing to reach it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from coordinator.forecast.errors import DataError
from coordinator.forecast.serving.service import Forecast

Z90: Final = 1.2815515655446004  # the standard normal's 90 % quantile


@dataclass(frozen=True, slots=True)
class CoverPolicy:
    """Replenishment timing in days: `lead_time_days` from an order to its arrival,
    `review_days` between orders."""

    lead_time_days: float = 2.0
    review_days: float = 7.0

    def __post_init__(self) -> None:
        for name in ("lead_time_days", "review_days"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0 <= value <= 366):
                raise DataError(f"{name} must be in 0..366 days, got {value!r}")


@dataclass(frozen=True, slots=True)
class StockCover:
    """One SKU at one micro-warehouse: stock against forecast (see the module)."""

    sku: str
    location: str
    stock: int
    horizon_days: int
    expected_days: int | None
    p90_days: int | None
    at_risk: bool
    order_up_to: int
    proposed: int
    method: str

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return {
            "sku": self.sku,
            "location": self.location,
            "stock": self.stock,
            "horizon_days": self.horizon_days,
            "expected_days": self.expected_days,
            "p90_days": self.p90_days,
            "at_risk": self.at_risk,
            "order_up_to": self.order_up_to,
            "proposed": self.proposed,
            "method": self.method,
        }


def cumulative_p90(mean: np.ndarray, p10: np.ndarray, p90: np.ndarray) -> np.ndarray:
    """P90 of the demand from the first day through each day (along the last axis,
    non-decreasing)."""
    m = np.maximum(np.asarray(mean, dtype=np.float64), 0.0)
    spread = np.maximum(np.asarray(p90, dtype=np.float64) - np.asarray(p10, dtype=np.float64), 0)
    var = np.maximum((spread / (2.0 * Z90)) ** 2, m)
    return np.asarray(np.cumsum(m, axis=-1) + Z90 * np.sqrt(np.cumsum(var, axis=-1)))


def _first_above(cumulative: np.ndarray, stock: np.ndarray) -> list[int | None]:
    """Per row: the first day (1-based) whose cumulative demand exceeds the stock."""
    over = cumulative > stock[:, None]
    first: list[int] = (over.argmax(axis=1) + 1).tolist()
    hits: list[bool] = np.asarray(over.any(axis=1)).tolist()
    return [d if hit else None for d, hit in zip(first, hits, strict=True)]


def _demand_within(cumulative: np.ndarray, days: float) -> np.ndarray:
    """Per row: cumulative demand over `days` (interpolated; past the horizon, extended at
    the horizon's average daily rate)."""
    n, h = cumulative.shape
    if days <= 0 or h == 0:
        return np.zeros(n)
    if days > h:
        return np.asarray(cumulative[:, -1] * days / h)
    whole = int(days)
    below = cumulative[:, whole - 1] if whole else np.zeros(n)
    if whole == days:
        return np.asarray(below)
    return np.asarray(below + (days - whole) * (cumulative[:, whole] - below))


def stock_covers(pairs: Sequence[tuple[Forecast, int]], policy: CoverPolicy) -> list[StockCover]:
    """The cover of each (forecast, stock) under `policy`, computed as one array per
    forecast horizon length (a check covers every SKU of a fleet at once)."""
    out: list[StockCover | None] = [None] * len(pairs)
    by_horizon: dict[int, list[int]] = {}
    for i, (forecast, _) in enumerate(pairs):
        if forecast.location is None:
            raise DataError(f"forecast {forecast.unique_id!r} has no location")
        by_horizon.setdefault(forecast.horizon_days, []).append(i)
    for rows in by_horizon.values():
        group = [pairs[i] for i in rows]
        mean = np.array([f.mean for f, _ in group], dtype=np.float64)
        p90_cum = cumulative_p90(
            mean, np.array([f.p10 for f, _ in group]), np.array([f.p90 for f, _ in group])
        )
        stock = np.maximum(np.array([s for _, s in group], dtype=np.int64), 0)
        p90_days = _first_above(p90_cum, stock)
        expected_days = _first_above(np.cumsum(np.maximum(mean, 0.0), axis=1), stock)
        up_to = np.ceil(
            _demand_within(p90_cum, policy.lead_time_days + policy.review_days) - 1e-9
        ).astype(np.int64)
        for k, i in enumerate(rows):
            forecast, held, target = group[k][0], int(stock[k]), int(up_to[k])
            days = p90_days[k]
            out[i] = StockCover(
                sku=forecast.sku,
                location=str(forecast.location),
                stock=held,
                horizon_days=forecast.horizon_days,
                expected_days=expected_days[k],
                p90_days=days,
                at_risk=days is not None and days <= policy.lead_time_days,
                order_up_to=target,
                proposed=max(0, target - held),
                method=forecast.method,
            )
    return [c for c in out if c is not None]


def stock_cover(forecast: Forecast, stock: int, policy: CoverPolicy) -> StockCover:
    """The cover of `stock` units against `forecast` under `policy`."""
    return stock_covers([(forecast, stock)], policy)[0]


__all__ = ["Z90", "CoverPolicy", "StockCover", "cumulative_p90", "stock_cover", "stock_covers"]
