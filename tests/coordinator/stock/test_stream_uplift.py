"""A past stream's realised uplift (pure): when it was on air, what it sold against the
usual rate, and what the forecast reads of past streams."""

from __future__ import annotations

import pytest

from coordinator.stock.live_streams import LiveStream
from coordinator.stock.stream_uplift import (
    HOUR_MS,
    RealisedUplift,
    SkuUplift,
    measure,
    on_air,
    past_uplifts,
)

START = 1_000 * HOUR_MS
STREAM = LiveStream("ls", START, 2 * 3600, "douyin", ("tea", "cup"), expected_orders=10)


def test_the_flag_says_when_the_stream_ran() -> None:
    """Flag samples on between 30 min and 90 min after the announced start make the window;
    samples far from the announced times and samples off do not count."""
    flag = [
        (START - 5 * HOUR_MS, 1.0),  # another stream, hours before
        (START, 0.0),
        (START + HOUR_MS // 2, 1.0),
        (START + HOUR_MS, 1.0),
        (START + 3 * HOUR_MS // 2, 1.0),
        (START + 2 * HOUR_MS, 0.0),
    ]
    assert on_air(STREAM, flag) == (
        START + HOUR_MS // 2,
        START + 3 * HOUR_MS // 2,
        "live_stream flag",
    )


def test_without_flag_samples_the_announced_times_count() -> None:
    """No flag samples near the stream (or only one on): the announced start and end."""
    assert on_air(STREAM, []) == (STREAM.start_ms, STREAM.end_ms, "announced")
    assert on_air(STREAM, [(START, 1.0)]) == (STREAM.start_ms, STREAM.end_ms, "announced")


def test_uplift_against_the_usual_rate() -> None:
    """tea sells 1 a hour usually (672 in 28 days): 10 in a 2 h stream is an uplift of 4,
    3 in the 6 h before −0.5; cup never sold before, so it has no uplift."""
    measured = measure(
        STREAM,
        window=(START, START + 2 * HOUR_MS, "announced"),
        units={"tea": 10.0, "cup": 4.0},
        pre_units={"tea": 3.0},
        baseline_units={"tea": 672.0},
        baseline_days=28,
        pre_hours=6.0,
        measured_ms=5,
    )
    tea, cup = measured.skus
    assert (tea.baseline_units, tea.uplift) == pytest.approx((2.0, 4.0))
    assert (tea.pre_baseline_units, tea.pre_uplift) == pytest.approx((6.0, -0.5))
    assert (cup.units, cup.uplift, cup.pre_uplift) == (4.0, None, None)


def _m(stream_id: str, *rows: tuple[str, float | None, float | None]) -> RealisedUplift:
    skus = tuple(SkuUplift(s, 0.0, 0.0, u, 0.0, 0.0, p) for s, u, p in rows)
    return RealisedUplift(stream_id, 0, 1, "announced", skus, 0)


def test_past_uplifts_per_sku_family_and_before_streams() -> None:
    """A SKU's uplift is the mean of its last `last` ones (newest first), a family's the
    median of its SKUs', the pre-uplift the median of all measured; None counts for nothing."""
    measured = [
        _m("s3", ("tea", 4.0, 0.1), ("mug", 1.0, None)),
        _m("s2", ("tea", 2.0, 0.3), ("cup", None, None)),
        _m("s1", ("tea", 100.0, 0.2)),
    ]
    past = past_uplifts(measured, {"tea": "drinks", "mug": "ware", "cup": "ware"}, last=2)
    assert past.sku == {"tea": 3.0, "mug": 1.0}
    assert past.family == {"drinks": 3.0, "ware": 1.0}
    assert past.pre_uplift == pytest.approx(0.2)
    assert past_uplifts([], {}).pre_uplift == 0.0
