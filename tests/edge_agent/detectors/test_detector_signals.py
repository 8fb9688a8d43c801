"""Each detector on synthetic signals: what must raise, and what must not."""

from __future__ import annotations

import math

from edge_agent.detectors import DetectorConfig, SignalMonitor
from tests.edge_agent.detectors.signals import feed, noise, only, raised


def test_spike_raises_baseline_and_rate_of_change_on_that_sample() -> None:
    """A 12-sigma spike after warm-up raises both statistical detectors at once."""
    values = noise(600)
    values[400] += 12.0
    events = feed(SignalMonitor("s"), values)
    assert raised(events, "baseline") == [400]
    assert raised(events, "rate_of_change") == [400]
    spike = next(a for i, a in events if i == 400 and a.detector == "baseline")
    assert spike.score > 6.0
    assert spike.window[-1] == values[400]
    assert "robust spreads" in spike.reason


def test_slow_drift_does_not_alarm() -> None:
    """A drift of 10 noise sigmas over 8000 samples is followed, never raised."""
    values = [v + 10.0 * i / 8000 for i, v in enumerate(noise(8000, seed=3))]
    assert raised(feed(SignalMonitor("s"), values)) == []


def test_sustained_level_shift_raises_baseline() -> None:
    """A 2.5-sigma step that lasts is caught by the sustained part of the baseline score."""
    values = noise(1200, seed=11)
    shifted = values[:600] + [v + 2.5 for v in values[600:]]
    events = feed(SignalMonitor("s", only("baseline")), shifted)
    hits = raised(events, "baseline")
    assert hits
    assert 600 <= hits[0] <= 630


def test_quiet_noise_never_raises() -> None:
    """Plain Gaussian noise raises nothing with the default configuration."""
    assert raised(feed(SignalMonitor("s"), noise(20_000, seed=5))) == []


def test_repeating_incident_stops_raising() -> None:
    """The novelty gate: equal 15-sigma spikes raise at most twice, then are the new normal."""
    values = noise(3000, seed=2)
    spikes = [1000, 1500, 2000, 2500]
    for at in spikes:
        values[at] += 15.0
    hits = raised(feed(SignalMonitor("s", only("baseline")), values))
    assert hits[0] == 1000
    assert len(hits) <= 2
    assert set(hits) <= set(spikes)
    fixed = only("baseline", baseline={"novelty_ratio": 0.0})
    assert raised(feed(SignalMonitor("s", fixed), values)) == spikes


def test_big_spike_does_not_blind_the_detector_to_the_next_incident() -> None:
    """After a 100-sigma spike, a later 20-sigma spike still raises (peak growth is capped)."""
    values = noise(3000, seed=4)
    values[1000] += 100.0
    values[2000] += 20.0
    assert raised(feed(SignalMonitor("s", only("baseline")), values)) == [1000, 2000]


def test_stuck_sensor_raises_flatline() -> None:
    """Noise then a frozen value: flatline raises after min_run_samples unchanged samples."""
    values = noise(500) + [21.5] * 100
    events = feed(SignalMonitor("s", only("flatline")), values)
    assert raised(events, "flatline") == [500 + 30]
    stuck = next(a for _, a in events if a.detector == "flatline")
    assert "stuck at 21.5" in stuck.reason


def test_constant_signal_is_not_a_stuck_sensor() -> None:
    """A signal that never moved never raises flatline."""
    assert raised(feed(SignalMonitor("s"), [5.0] * 2000)) == []


def test_out_of_range_raises_at_once_even_during_warm_up() -> None:
    """Hard limits apply from the first sample."""
    config = DetectorConfig.from_dict({"out_of_range": {"min_value": 0, "max_value": 90}})
    events = feed(SignalMonitor("s", config), [50.0, 95.0, 50.0, -1.0])
    assert raised(events, "out_of_range") == [1]
    first = events[0][1]
    assert "outside the allowed range [0, 90]" in first.reason


def test_gap_in_the_data_raises_missing_and_clears_when_data_flows() -> None:
    """A 60 s hole in 1 Hz data raises missing on the late sample, then clears."""
    monitor = SignalMonitor("s", DetectorConfig.from_dict({"clear_after_samples": 5}))
    values = noise(400)
    events = feed(monitor, values[:300])
    events += feed(monitor, values[300:], start=360)
    assert raised(events, "missing") == [360]
    cleared = [i for i, a in events if a.detector == "missing" and a.state == "cleared"]
    assert cleared == [365]


def test_check_missing_raises_while_nothing_arrives() -> None:
    """check_missing raises once when the silence exceeds the limit, not before, not twice."""
    monitor = SignalMonitor("s")
    feed(monitor, noise(300))
    last = 299 * 1000
    assert monitor.check_missing(last + 5_000) == []
    (anomaly,) = monitor.check_missing(last + 30_000)
    assert (anomaly.detector, anomaly.state, anomaly.ts_ms) == ("missing", "raised", last + 30_000)
    assert "no data for 30 s" in anomaly.reason
    assert monitor.check_missing(last + 40_000) == []


def test_fixed_gap_limit_works_from_the_first_samples() -> None:
    """max_gap_ms is a fixed limit, active without warm-up."""
    monitor = SignalMonitor("s", DetectorConfig.from_dict({"missing": {"max_gap_ms": 5000}}))
    monitor.update(0, 1.0)
    assert [a.detector for a in monitor.check_missing(6000)] == ["missing"]


def test_engineering_rate_limit() -> None:
    """max_abs_rate_per_s raises a step faster than the limit whatever the history."""
    config = only("rate_of_change", rate_of_change={"max_abs_rate_per_s": 2.0})
    values = [float(i % 2) for i in range(300)] + [4.0]
    events = feed(SignalMonitor("s", config), values)
    assert raised(events, "rate_of_change") == [300]


def test_score_is_relative_to_the_raise_threshold() -> None:
    """monitor.score is ≥ 1 on a raising sample and small on noise."""
    monitor = SignalMonitor("s", only("baseline"))
    feed(monitor, noise(500))
    assert monitor.score < 1.0
    monitor.update(500_000, 40.0)
    assert monitor.score >= 1.0
    assert math.isfinite(monitor.score)
