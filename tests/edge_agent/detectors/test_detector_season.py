"""The time-of-day model of the baseline, on synthetic daily signals."""

from __future__ import annotations

import math
import random

from edge_agent.detectors import DetectorConfig, SignalMonitor
from edge_agent.detectors.baseline import LEARNS_PER_SLOT, BaselineDetector
from edge_agent.detectors.config import BaselineConfig

STEP_MS = 300_000  # one sample every 5 minutes
PER_DAY = 288


def daily(days: int, *, seed: int = 1, skip_peak_on_day: int | None = None) -> list[float]:
    """A working-hours square wave (20 at night, 80 from 8:00 to 18:00) with noise.

    On `skip_peak_on_day` the day stays at the night level (the peak does not come).
    """
    rng = random.Random(seed)
    values = []
    for i in range(days * PER_DAY):
        day, minute = divmod(i, PER_DAY)
        busy = 96 <= minute < 216 and day != skip_peak_on_day
        values.append((80.0 if busy else 20.0) + rng.gauss(0.0, 2.0))
    return values


def baseline_raises(config: DetectorConfig, values: list[float]) -> list[int]:
    """Sample indices where the baseline detector raised."""
    monitor = SignalMonitor("s", config)
    return [
        i
        for i, value in enumerate(values)
        for a in monitor.update(i * STEP_MS, value)
        if a.detector == "baseline" and a.state == "raised"
    ]


def baseline_only(**baseline: object) -> DetectorConfig:
    """Only the baseline detector switched on, with the given baseline settings."""
    off = {"enabled": False}
    return DetectorConfig().merged(
        {"baseline": baseline, "rate_of_change": off, "flatline": off, "missing": off}
    )


def test_missing_daily_peak_raises_against_the_time_of_day_baseline() -> None:
    """A day whose peak never comes is raised by the time-of-day model, not by the plain one."""
    values = daily(14, skip_peak_on_day=10)
    peak_starts = 10 * PER_DAY + 96
    monitor = SignalMonitor("s", baseline_only())
    events = [
        (i, a)
        for i, value in enumerate(values)
        for a in monitor.update(i * STEP_MS, value)
        if a.state == "raised"
    ]
    during = [(i, a) for i, a in events if peak_starts <= i < peak_starts + 30]
    assert during, events
    assert "time-of-day baseline" in during[0][1].reason
    plain = baseline_raises(baseline_only(season_slots=0), values)
    assert [i for i in plain if peak_starts <= i < peak_starts + 120] == []


def test_regular_days_raise_nothing_once_the_pattern_is_learnt() -> None:
    """Fourteen ordinary days: after the first three, the daily ramps are not anomalies."""
    raises = baseline_raises(DetectorConfig(), daily(14, seed=3))
    assert [i for i in raises if i >= 3 * PER_DAY] == []


def test_signal_without_a_daily_pattern_keeps_the_plain_level() -> None:
    """On plain noise the time-of-day model never beats the plain level, so it is not used."""
    rng = random.Random(5)
    detector = BaselineDetector(BaselineConfig())
    for i in range(10 * PER_DAY):
        detector.step(20.0 + rng.gauss(0.0, 1.0), i * STEP_MS)
        assert not detector.season_on
    assert detector.expected == detector.level


def test_daily_signal_switches_to_the_time_of_day_model_after_three_days() -> None:
    """A strong daily pattern is judged against the time-of-day model from day three on."""
    detector = BaselineDetector(BaselineConfig())
    switched_at = None
    for i, value in enumerate(daily(6, seed=2)):
        detector.step(value, i * STEP_MS)
        if detector.season_on and switched_at is None:
            switched_at = i
    assert switched_at is not None
    assert 3 * PER_DAY <= switched_at < 4 * PER_DAY
    assert detector.scale < detector.spread
    assert math.isfinite(detector.expected)


def test_slot_memory_does_not_depend_on_the_sampling_rate() -> None:
    """Twelve 5-minute samples of an hourly slot weigh what one hourly sample does."""
    detector = BaselineDetector(BaselineConfig(season_slots=24, season_half_life_periods=3.0))
    per_visit = detector._slot_weight(3_600_000)
    per_sample = detector._slot_weight(STEP_MS)
    assert per_visit == 1.0 - 0.5 ** (1.0 / 3.0)
    assert math.isclose(12 * per_sample, per_visit)
    assert detector._slot_weight(6 * 3_600_000) == per_visit  # a long gap is one visit


def test_reconfigure_with_another_period_forgets_the_profile() -> None:
    """Changing slots or period resets the time-of-day model; other changes keep it."""
    detector = BaselineDetector(BaselineConfig())
    for i, value in enumerate(daily(5, seed=4)):
        detector.step(value, i * STEP_MS)
    assert detector.season_on
    detector.configure(BaselineConfig(raise_score=8.0))
    assert detector.season_on
    detector.configure(BaselineConfig(season_period_s=7 * 86400.0))
    assert not detector.season_on
    assert all(math.isnan(v) for v in detector._season)


def test_fast_signal_learns_a_bounded_number_of_times_per_slot() -> None:
    """At 10 Hz the time-of-day model learns at most LEARNS_PER_SLOT + 1 times per slot."""
    detector = BaselineDetector(BaselineConfig())
    slot_ms = 86_400_000 // BaselineConfig().season_slots
    rng = random.Random(6)
    for i in range(slot_ms // 100 * 2):  # two slots' worth of samples, every 100 ms
        detector.step(20.0 + rng.gauss(0.0, 1.0), i * 100)
    assert detector.samples == 36_000
    assert 2 * LEARNS_PER_SLOT - 2 <= detector.season_residuals <= 2 * (LEARNS_PER_SLOT + 1)
