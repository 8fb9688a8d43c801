"""Event features of announced streams, on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np

from coordinator.forecast.events.features import (
    AUDIENCE_UNITS_H,
    FEATURED,
    HOUR_MS,
    HOURS_TO_STREAM,
    MAX_HOURS_TO_STREAM,
    STREAM_ON,
    UPLIFT_FAMILY,
    UPLIFT_SKU,
    StreamEvent,
    event_features,
)

T0 = 1_000 * HOUR_MS


def _features(streams: list[StreamEvent], skus: tuple[str, ...] = ("A", "B", "A")) -> np.ndarray:
    return event_features(
        skus,
        first_step_ms=T0,
        n_steps=8,
        streams=streams,
        uplift_sku={"A": 2.0, "B": 9.0},
        uplift_family={"fam": 1.5},
        family_of={"A": "fam", "B": "fam"},
    )


def test_a_stream_marks_its_hours_and_the_hours_before_it() -> None:
    """A 1.5 h stream starting 2.5 h ahead: on for half of hour 2 and all of hour 3, the
    hours to it count down, its announced units split over SKUs, locations and hours."""
    stream = StreamEvent("s1", T0 + 5 * HOUR_MS // 2, T0 + 4 * HOUR_MS, ("A", "C"), 60.0)
    rows = _features([stream])
    a = rows[0]
    assert a[:, STREAM_ON].tolist() == [0, 0, 0.5, 1, 0, 0, 0, 0]
    assert a[:, HOURS_TO_STREAM].tolist() == [2.5, 1.5, 0.5, 0, 72, 72, 72, 72]
    assert (a[:, FEATURED] == 1).all()
    # 60 orders / 2 featured SKUs / 2 locations of A / 1.5 h = 10 units per stream hour
    assert np.allclose(a[:4, AUDIENCE_UNITS_H], 10.0)
    assert a[0, UPLIFT_SKU] == 2.0
    assert a[0, UPLIFT_FAMILY] == 1.5
    np.testing.assert_array_equal(rows[2], rows[0])


def test_a_sku_no_stream_features_gets_the_neutral_row() -> None:
    """B is not featured: no stream, no hours to one, no uplift, whatever it sold before."""
    stream = StreamEvent("s1", T0 + HOUR_MS, T0 + 2 * HOUR_MS, ("A",), 10.0)
    b = _features([stream])[1]
    assert (b[:, STREAM_ON] == 0).all()
    assert (b[:, FEATURED] == 0).all()
    assert (b[:, HOURS_TO_STREAM] == MAX_HOURS_TO_STREAM).all()
    assert (b[:, AUDIENCE_UNITS_H] == 0).all()
    assert np.isnan(b[:, UPLIFT_SKU]).all()
    assert np.isnan(b[:, UPLIFT_FAMILY]).all()


def test_two_streams_the_nearer_one_counts() -> None:
    """With two streams featuring A, each hour reads the hours to, and the units of, the
    next one; a stream already over is ignored."""
    first = StreamEvent("s1", T0 + HOUR_MS, T0 + 2 * HOUR_MS, ("A",), 20.0)
    second = StreamEvent("s2", T0 + 4 * HOUR_MS, T0 + 5 * HOUR_MS, ("A",), 40.0)
    over = StreamEvent("s0", T0 - 3 * HOUR_MS, T0 - HOUR_MS, ("A", "B"), 1e6)
    a = _features([second, over, first], skus=("A",))[0]
    assert a[:, HOURS_TO_STREAM].tolist() == [1, 0, 2, 1, 0, 72, 72, 72]
    assert a[:, AUDIENCE_UNITS_H].tolist()[:5] == [20, 20, 40, 40, 40]
    assert a[:, STREAM_ON].tolist() == [0, 1, 0, 0, 1, 0, 0, 0]


def test_malformed_streams_change_nothing() -> None:
    """A stream that ends before it starts, or features no known series, leaves every row
    neutral."""
    backwards = StreamEvent("s1", T0 + 3 * HOUR_MS, T0 + HOUR_MS, ("A",), 10.0)
    elsewhere = StreamEvent("s2", T0, T0 + HOUR_MS, ("Z",), 10.0)
    rows = _features([backwards, elsewhere])
    assert (rows[:, :, STREAM_ON] == 0).all()
    assert (rows[:, :, FEATURED] == 0).all()
    assert math.isnan(float(rows[0, 0, UPLIFT_SKU]))
