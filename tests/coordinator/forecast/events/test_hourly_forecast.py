"""Hourly and event-aware daily forecasts: a stream moves the featured SKUs only."""

from __future__ import annotations

import numpy as np
import pytest

from coordinator.forecast.events.features import HOUR_MS, StreamEvent
from coordinator.forecast.events.hourly import (
    DAY_MS,
    DailyInput,
    EventContext,
    NumpyEventHead,
    event_forecast,
    hour_shares,
    hourly_base,
)
from coordinator.forecast.serving.runtime import EventHeadModel

DAY = 20_000
NOW_MS = DAY * DAY_MS + 10 * HOUR_MS + 123  # 10:00:00.123 on the day before the forecast


def _daily(skus: tuple[str, ...] = ("A", "B", "A"), horizon: int = 28) -> DailyInput:
    n = len(skus)
    mean = np.tile(np.linspace(12.0, 20.0, horizon), (n, 1)) * np.arange(1, n + 1)[:, None]
    quantiles = np.stack([mean * 0.5, mean, mean * 1.6], axis=2)
    return DailyInput(skus, np.full(n, DAY + 1, dtype=np.int64), mean, quantiles)


def test_hourly_base_splits_each_day_by_the_hour_profile() -> None:
    """Over a forecast day the hours add up to the day's mean, each hour its share; what
    is left of today reads the first forecast day."""
    daily = _daily()
    share = np.zeros((3, 24))
    share[:, 12] = 0.5
    share[:, 18:22] = 0.125
    base = hourly_base(daily, first_hour_ms=(DAY + 1) * DAY_MS, hours=48, hour_share=share)
    assert base[:, :24, 0].sum(axis=1) == pytest.approx(daily.mean[:, 0])
    assert base[0, 12, 0] == pytest.approx(daily.mean[0, 0] / 2)
    assert (base[:, :, 1] <= base[:, :, 2]).all()
    assert (base[:, :, 2] <= base[:, :, 3]).all()
    today = hourly_base(daily, first_hour_ms=DAY * DAY_MS + 11 * HOUR_MS, hours=2, hour_share=None)
    assert today[0, :, 0] == pytest.approx([daily.mean[0, 0] / 24] * 2)


def test_a_stream_shifts_the_hourly_forecast_of_featured_skus_only() -> None:
    """A stream announced two hours ahead featuring A: A's hours during the stream rise (at
    both of its locations), every hour of B stays as it was; through onnxruntime."""
    daily = _daily()
    head = EventHeadModel.load()
    quiet = event_forecast(daily, now_ms=NOW_MS, runner=head, context=EventContext())
    start = NOW_MS + 2 * HOUR_MS
    stream = StreamEvent("s1", start, start + 2 * HOUR_MS, ("A",), expected_orders=80.0)
    loud = event_forecast(
        daily, now_ms=NOW_MS, runner=head, context=EventContext(streams=(stream,))
    )
    assert loud.first_hour_ms == quiet.first_hour_ms == (NOW_MS // HOUR_MS + 1) * HOUR_MS
    lift = loud.hourly_mean - quiet.hourly_mean
    on = (np.arange(72) >= 1) & (np.arange(72) <= 2)  # the stream is on in hours 1 and 2
    # 80 orders over 1 SKU at 2 locations for 2 h: 20 units per stream hour each
    assert lift[0, on] == pytest.approx([20.0, 20.0], rel=1e-4)  # float32
    assert lift[2, on] == pytest.approx([20.0, 20.0], rel=1e-4)
    assert np.abs(lift[0, ~on]).max() < 1e-3
    assert np.abs(lift[2, ~on]).max() < 1e-3
    np.testing.assert_array_equal(loud.hourly_mean[1], quiet.hourly_mean[1])
    np.testing.assert_array_equal(loud.hourly_quantiles[1], quiet.hourly_quantiles[1])
    assert (loud.hourly_quantiles[0, on, 2] > quiet.hourly_quantiles[0, on, 2] + 19).all()
    assert loud.hourly_event_units[0].sum() == pytest.approx(40.0, rel=1e-4)
    assert (loud.hourly_event_units[1] == 0).all()


def test_the_daily_forecast_gets_the_streams_units_on_their_day() -> None:
    """A stream on forecast day 3 adds its units to that day of the featured SKU's daily
    forecast (P10–P90 wider), nothing to other days or SKUs."""
    daily = _daily()
    start = (DAY + 3) * DAY_MS + 20 * HOUR_MS
    stream = StreamEvent("s1", start, start + HOUR_MS, ("B",), expected_orders=30.0)
    out = event_forecast(
        daily, now_ms=NOW_MS, runner=NumpyEventHead(), context=EventContext(streams=(stream,))
    )
    units = out.daily_event_units
    assert units[1, 2] == pytest.approx(30.0)
    assert units[1].sum() == pytest.approx(30.0)
    assert (units[[0, 2]] == 0).all()
    assert out.daily_mean[1, 2] == pytest.approx(daily.mean[1, 2] + 30.0)
    np.testing.assert_array_equal(out.daily_mean[0], daily.mean[0])
    widened = out.daily_quantiles[1, 2, 2] - out.daily_quantiles[1, 2, 0]
    assert widened > daily.quantiles[1, 2, 2] - daily.quantiles[1, 2, 0]


def test_hourly_and_daily_agree_on_the_streams_units() -> None:
    """Inside the first 72 h, the event units of a day are the sum of its hours'."""
    daily = _daily()
    start = (DAY + 1) * DAY_MS + 14 * HOUR_MS
    stream = StreamEvent("s1", start, start + 90 * 60_000, ("A",), expected_orders=45.0)
    out = event_forecast(
        daily,
        now_ms=NOW_MS,
        runner=EventHeadModel.load(),
        context=EventContext(streams=(stream,), uplift_sku={"A": 1.0}),
    )
    day1 = slice(13, 37)  # forecast day 1 in hours counted from 11:00 the day before
    assert out.hourly_event_units[0, day1].sum() == pytest.approx(
        out.daily_event_units[0, 0], rel=1e-4
    )


def test_hour_shares_follow_the_location_profile_with_a_flat_prior() -> None:
    """A shelf that sold 24 units, all at 19:00, gets (24 + 1) / 48 of its day at 19:00
    and 1/48 elsewhere; an unknown or missing location stays flat."""
    counts = [0.0] * 24
    counts[19] = 24.0
    shares = hour_shares(["s1/w1", "s1/w2", None], {"s1/w1": counts})
    assert shares[0, 19] == pytest.approx(25 / 48)
    assert shares[0, 3] == pytest.approx(1 / 48)
    assert shares.sum(axis=1) == pytest.approx([1.0, 1.0, 1.0])
    assert (shares[1:] == 1 / 24).all()
