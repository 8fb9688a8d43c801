"""SignalMonitor: hysteresis, live reconfiguration and hostile input."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.detectors import (
    DetectorConfig,
    DetectorInputError,
    SignalMonitor,
)
from edge_agent.detectors.latch import CLEARED, RAISED, UNCHANGED, Latch
from tests.edge_agent.detectors.signals import feed, noise, only, raised


def test_latch_raises_once_and_clears_after_quiet_samples() -> None:
    """Raise at the threshold; clear only after `clear_after` samples below the clear level."""
    latch = Latch()
    seq = [latch.feed(s, 5.0, 2.0, 3) for s in (1, 6, 4, 1, 1, 6, 1, 1, 1)]
    expected = [UNCHANGED, RAISED, UNCHANGED, UNCHANGED, UNCHANGED, UNCHANGED, UNCHANGED]
    assert seq == [*expected, UNCHANGED, CLEARED]


def test_flapping_signal_is_one_event() -> None:
    """A value flapping across a limit 200 times gives one raise and, once calm, one clear."""
    config = only(out_of_range={"max_value": 10}, clear_after_samples=20)
    flapping = [9.0 if i % 2 else 11.0 for i in range(400)] + [9.0] * 30
    events = feed(SignalMonitor("s", config), flapping)
    states = [(a.detector, a.state) for _, a in events]
    assert states == [("out_of_range", "raised"), ("out_of_range", "cleared")]
    assert events[1][0] == 398 + 20  # last 11.0 at sample 398


def test_reconfigure_live_keeps_what_was_learnt() -> None:
    """A new limit applies to the next sample, and no new warm-up is needed for spikes."""
    monitor = SignalMonitor("s")
    feed(monitor, noise(500))
    monitor.reconfigure(monitor.config.merged({"out_of_range": {"max_value": 22.0}}))
    anomalies = monitor.update(500_000, 30.0)
    assert {a.detector for a in anomalies} >= {"out_of_range", "baseline"}


def test_reconfigure_switching_off_an_active_detector_clears_it() -> None:
    """Disabling a raised detector returns its clear, and it stays silent."""
    monitor = SignalMonitor("s", only("baseline"))
    values = noise(500)
    values[450] += 20
    assert raised(feed(monitor, values), "baseline") == [450]
    assert "baseline" in monitor.active
    cleared = monitor.reconfigure(monitor.config.merged({"baseline": {"enabled": False}}))
    assert [(a.detector, a.state) for a in cleared] == [("baseline", "cleared")]
    assert not monitor.alerting
    assert feed(monitor, [80.0], start=500) == []


def test_reconfigure_window_size_keeps_recent_values() -> None:
    """Changing window_samples keeps the newest values in order."""
    monitor = SignalMonitor("s", DetectorConfig.from_dict({"window_samples": 4}))
    feed(monitor, [1.0, 2.0, 3.0, 4.0, 5.0])
    assert monitor.recent_values() == (2.0, 3.0, 4.0, 5.0)
    monitor.reconfigure(monitor.config.merged({"window_samples": 2}))
    assert monitor.recent_values() == (4.0, 5.0)
    monitor.reconfigure(monitor.config.merged({"window_samples": 8}))
    feed(monitor, [6.0], start=5)
    assert monitor.recent_values() == (4.0, 5.0, 6.0)


def test_memory_stays_fixed_over_a_long_stream() -> None:
    """After 50,000 samples the window holds window_samples values, nothing grows."""
    monitor = SignalMonitor("s", DetectorConfig.from_dict({"window_samples": 8}))
    feed(monitor, noise(50_000))
    assert len(monitor.recent_values()) == 8
    assert monitor.samples == 50_000


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 1e300, -1e300, 10**400])
def test_unusable_values_raise_out_of_range_and_are_not_learnt(value: float) -> None:
    """NaN, ±inf and absurd magnitudes raise out_of_range; later spikes are still caught."""
    monitor = SignalMonitor("s")
    feed(monitor, noise(400))
    anomalies = monitor.update(400_000, value)
    assert [a.detector for a in anomalies] == ["out_of_range"]
    assert math.isfinite(anomalies[0].score)
    after = noise(200, seed=9)
    after[100] += 15
    events = feed(monitor, after, start=401)
    assert 501 in raised(events, "baseline")


def test_out_of_order_and_duplicate_timestamps_are_dropped_and_counted() -> None:
    """Samples not after the previous one change nothing."""
    monitor = SignalMonitor("s")
    monitor.update(1000, 1.0)
    assert monitor.update(1000, 99.0) == []
    assert monitor.update(500, 99.0) == []
    assert monitor.dropped_samples == 2
    assert monitor.samples == 1
    assert monitor.recent_values() == (1.0,)


@pytest.mark.parametrize(
    ("ts", "value"),
    [(1.5, 1.0), ("1", 1.0), (True, 1.0), (None, 1.0), (1, "2.0"), (1, None), (1, False), (1, [1])],
)
def test_wrong_types_raise_detector_input_error(ts: object, value: object) -> None:
    """Non-integer timestamps and non-numeric values raise DetectorInputError (a ValueError)."""
    monitor = SignalMonitor("press/temp")
    with pytest.raises(DetectorInputError) as caught:
        monitor.update(ts, value)  # type: ignore[arg-type]
    assert caught.value.signal == "press/temp"
    with pytest.raises(DetectorInputError):
        monitor.check_missing(1.0)  # type: ignore[arg-type]


def test_anomaly_carries_window_reason_and_time() -> None:
    """A raised anomaly names its signal and detector and carries the recent values."""
    monitor = SignalMonitor("line-2/current", DetectorConfig.from_dict({"window_samples": 5}))
    values = noise(300)
    values[299] = 100.0
    events = feed(monitor, values)
    anomaly = next(a for _, a in events if a.detector == "baseline")
    assert anomaly.signal == "line-2/current"
    assert anomaly.ts_ms == 299_000
    assert anomaly.window == tuple(values[295:300])
    with pytest.raises(AttributeError):
        anomaly.score = 0.0  # type: ignore[misc]


finite_or_not = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e6, max_value=1e6),
    st.integers(min_value=-(10**30), max_value=10**30),
)


@settings(max_examples=60, deadline=None)
@given(
    samples=st.lists(
        st.tuples(st.integers(min_value=-(10**15), max_value=10**15), finite_or_not), max_size=300
    ),
    now=st.integers(min_value=-(10**15), max_value=10**16),
)
def test_any_numeric_stream_is_handled(samples: list[tuple[int, float]], now: int) -> None:
    """Whatever numbers arrive, in whatever order, the monitor never raises and scores stay finite."""
    monitor = SignalMonitor("s", DetectorConfig.from_dict({"warmup_samples": 5}))
    for ts, value in samples:
        for anomaly in monitor.update(ts, value):
            assert math.isfinite(anomaly.score)
            assert anomaly.reason
        assert math.isfinite(monitor.score)
    for anomaly in monitor.check_missing(now):
        assert math.isfinite(anomaly.score)
