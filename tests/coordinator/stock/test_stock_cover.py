"""Stock cover against a forecast: cumulative P90, days of cover, order-up-to quantities."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from coordinator.forecast.errors import DataError
from coordinator.forecast.serving.service import Forecast
from coordinator.stock.cover import CoverPolicy, cumulative_p90, stock_cover, stock_covers


def _forecast(mean: list[float], p10: list[float], p90: list[float]) -> Forecast:
    n = len(mean)
    return Forecast(
        unique_id="SKU-1@s/w1",
        sku="SKU-1",
        location="s/w1",
        dates=tuple(f"2026-12-{d + 1:02d}" for d in range(n)),
        mean=tuple(mean),
        p10=tuple(p10),
        p50=tuple(mean),
        p90=tuple(p90),
        model_version="v",
        method="v",
        fallback=False,
        generated_at_ms=0,
    )


def _poisson_quantile(rate: float, q: float) -> int:
    """The smallest k with P(Poisson(rate) ≤ k) ≥ q."""
    k, total = 0, 0.0
    while True:
        total += math.exp(k * math.log(rate) - rate - math.lgamma(k + 1))
        if total >= q:
            return k
        k += 1


@pytest.mark.parametrize("rate", [0.2, 0.5, 2.0, 8.0, 30.0])
def test_cumulative_p90_matches_poisson_within_one_unit(rate: float) -> None:
    """Days of Poisson demand, each forecast by its mean and whole-unit P10/P90: the
    cumulative P90 over 1, 3, 7, 14 and 28 days is within one unit of the exact one."""
    days = 28
    mean = np.full(days, rate)
    p10 = np.full(days, float(_poisson_quantile(rate, 0.1)))
    p90 = np.full(days, float(_poisson_quantile(rate, 0.9)))
    approx = cumulative_p90(mean, p10, p90)
    for k in (1, 3, 7, 14, 28):
        exact = _poisson_quantile(rate * k, 0.9)
        assert abs(approx[k - 1] - exact) <= 1.0, (rate, k, approx[k - 1], exact)


def test_cover_days_risk_and_order_up_to() -> None:
    """4 units a day (sd 2 from the count floor), 10 in stock, 2 days lead, 7 days review."""
    forecast = _forecast([4.0] * 28, [4.0] * 28, [4.0] * 28)
    cover = stock_cover(forecast, 10, CoverPolicy(lead_time_days=2, review_days=7))
    # P90 through day k: 4k + 1.2816 * 2 * sqrt(k): 6.6, 11.6 -> runs out on day 2
    assert (cover.p90_days, cover.expected_days) == (2, 3)
    assert cover.at_risk
    # over 9 days: 36 + 1.2816 * 2 * 3 = 43.7
    assert (cover.order_up_to, cover.proposed) == (44, 34)
    calm = stock_cover(forecast, 100, CoverPolicy(lead_time_days=2, review_days=7))
    assert not calm.at_risk
    assert calm.proposed == 0
    assert calm.p90_days is not None
    assert calm.p90_days > 2


def test_stock_beyond_the_horizon_and_no_demand() -> None:
    """Stock that outlasts the horizon has no run-out day; no demand, no proposal."""
    quiet = _forecast([0.0] * 7, [0.0] * 7, [0.0] * 7)
    cover = stock_cover(quiet, 0, CoverPolicy())
    assert (cover.p90_days, cover.expected_days, cover.at_risk, cover.proposed) == (
        None,
        None,
        False,
        0,
    )
    busy = _forecast([1.0] * 7, [0.0] * 7, [2.0] * 7)
    assert stock_cover(busy, 1000, CoverPolicy()).p90_days is None


def test_review_past_the_horizon_extends_at_the_horizon_rate() -> None:
    """A review period longer than the forecast uses its average daily P90 rate."""
    forecast = _forecast([2.0] * 7, [2.0] * 7, [2.0] * 7)
    cover = stock_cover(forecast, 0, CoverPolicy(lead_time_days=7, review_days=7))
    week = cumulative_p90(np.full(7, 2.0), np.full(7, 2.0), np.full(7, 2.0))[-1]
    assert cover.order_up_to == math.ceil(2 * week)


@pytest.mark.parametrize(
    "policy", [{"lead_time_days": -1}, {"review_days": float("nan")}, {"lead_time_days": 400}]
)
def test_bad_policy_is_refused(policy: dict[str, float]) -> None:
    """Negative, non-finite or over-a-year timings are refused with the field named."""
    with pytest.raises(DataError, match=next(iter(policy))):
        CoverPolicy(**policy)


def test_forecast_without_location_is_refused() -> None:
    """A series that is not a SKU at a micro-warehouse has no stock to cover."""
    forecast = _forecast([1.0], [0.0], [2.0])
    with pytest.raises(DataError, match="no location"):
        stock_cover(Forecast(**{**forecast.__dict__, "location": None}), 3, CoverPolicy())


@given(
    mean=st.lists(st.floats(0, 50), min_size=1, max_size=60),
    stock=st.integers(-5, 10_000),
    lead=st.floats(0, 30),
    review=st.floats(0, 30),
)
def test_cover_is_consistent(mean: list[float], stock: int, lead: float, review: float) -> None:
    """More stock never runs out sooner or asks for more; the P90 runs out no later than
    the mean; the proposal fills exactly the gap to the order-up-to level."""
    p10 = [m * 0.5 for m in mean]
    p90 = [m * 1.5 + 1 for m in mean]
    forecast = _forecast(mean, p10, p90)
    policy = CoverPolicy(lead_time_days=lead, review_days=review)
    cover = stock_cover(forecast, stock, policy)
    more = stock_cover(forecast, max(stock, 0) + 10, policy)
    horizon = len(mean) + 1
    assert (more.p90_days or horizon) >= (cover.p90_days or horizon)
    assert more.proposed <= cover.proposed
    assert (cover.p90_days or horizon) <= (cover.expected_days or horizon)
    assert cover.proposed == max(0, cover.order_up_to - max(stock, 0))
    assert cover.at_risk == (cover.p90_days is not None and cover.p90_days <= lead)


def test_batch_keeps_order_and_matches_one_by_one() -> None:
    """Covers of forecasts with different horizons, computed together, come back in the
    given order and equal the covers computed one at a time."""
    pairs = [
        (_forecast([3.0] * 7, [1.0] * 7, [5.0] * 7), 10),
        (_forecast([0.5] * 28, [0.0] * 28, [2.0] * 28), 4),
        (_forecast([6.0] * 7, [2.0] * 7, [9.0] * 7), 0),
        (_forecast([1.0] * 14, [0.0] * 14, [3.0] * 14), 100),
    ]
    together = stock_covers(pairs, CoverPolicy())
    assert together == [stock_cover(f, s, CoverPolicy()) for f, s in pairs]
    assert [c.horizon_days for c in together] == [7, 28, 7, 14]
    assert stock_covers([], CoverPolicy()) == []
