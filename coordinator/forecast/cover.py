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
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from coordinator.forecast.errors import DataError
from coordinator.forecast.service import Forecast

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
    """P90 of the demand from the first day through each day (`[h]`, non-decreasing)."""
    m = np.maximum(np.asarray(mean, dtype=np.float64), 0.0)
    spread = np.maximum(np.asarray(p90, dtype=np.float64) - np.asarray(p10, dtype=np.float64), 0)
    var = np.maximum((spread / (2.0 * Z90)) ** 2, m)
    return np.asarray(np.cumsum(m) + Z90 * np.sqrt(np.cumsum(var)))


def _first_above(cumulative: np.ndarray, stock: int) -> int | None:
    over = np.flatnonzero(cumulative > stock)
    return int(over[0]) + 1 if over.size else None


def _demand_within(cumulative: np.ndarray, days: float) -> float:
    """Cumulative demand over `days` (interpolated; past the horizon, extended at the
    horizon's average daily rate)."""
    h = len(cumulative)
    if days <= 0 or h == 0:
        return 0.0
    if days <= h:
        whole = int(days)
        below = float(cumulative[whole - 1]) if whole else 0.0
        if whole == days:
            return below
        return below + (days - whole) * (float(cumulative[whole]) - below)
    return float(cumulative[-1]) * days / h


def stock_cover(forecast: Forecast, stock: int, policy: CoverPolicy) -> StockCover:
    """The cover of `stock` units against `forecast` under `policy`."""
    if forecast.location is None:
        raise DataError(f"forecast {forecast.unique_id!r} has no location")
    stock = max(0, int(stock))
    mean = np.asarray(forecast.mean, dtype=np.float64)
    p90_cum = cumulative_p90(mean, np.asarray(forecast.p10), np.asarray(forecast.p90))
    p90_days = _first_above(p90_cum, stock)
    order_up_to = math.ceil(
        _demand_within(p90_cum, policy.lead_time_days + policy.review_days) - 1e-9
    )
    return StockCover(
        sku=forecast.sku,
        location=forecast.location,
        stock=stock,
        horizon_days=forecast.horizon_days,
        expected_days=_first_above(np.cumsum(np.maximum(mean, 0.0)), stock),
        p90_days=p90_days,
        at_risk=p90_days is not None and p90_days <= policy.lead_time_days,
        order_up_to=order_up_to,
        proposed=max(0, order_up_to - stock),
        method=forecast.method,
    )


__all__ = ["Z90", "CoverPolicy", "StockCover", "cumulative_p90", "stock_cover"]
