"""The baseline's drift statistic: Page's CUSUM of the deviation, behind its own novelty gate."""

from __future__ import annotations

import math
import random

from edge_agent.detectors import DetectorConfig, SignalMonitor
from tests.edge_agent.detectors.signals import feed, noise, only, raised

# The adaptive baseline alone, without its time-of-day model.
_BASELINE_ONLY = only("baseline", baseline={"season_slots": 0})
_NO_DRIFT = _BASELINE_ONLY.merged({"baseline": {"drift_limit": 0}})
# mean absolute deviation / standard deviation of a Gaussian: spreads are MADs
_MAD = math.sqrt(2.0 / math.pi)


def _wide_warmup_then_slow_decline() -> list[float]:
    """10-sigma excursions while the gates learn, then a decline of 0.05 sigma a sample.

    The level follows the decline about 4.4 sigma behind, so neither a sample's deviation
    nor the 24-sample mean deviation gets past gates set at about 10 sigma, as
    machine_temperature's slow decline before its failure stays under the gates its
    planned shutdown left.
    """
    values = noise(5000, seed=11)
    for i in range(105, 145):
        values[i] -= 10.0
    for i in range(3000, 5000):
        values[i] -= 0.05 * min(i - 3000, 400)
    return values


def test_a_slow_decline_under_the_spike_and_mean_gates_raises_on_its_drift() -> None:
    """The decline raises early, by its drift; without the drift statistic it never raises."""
    values = _wide_warmup_then_slow_decline()
    events = feed(SignalMonitor("s", _BASELINE_ONLY), values)
    late = [i for i in raised(events) if i >= 3000]
    assert len(late) == 1
    assert 3000 < late[0] < 3150
    reason = next(a.reason for i, a in events if i == late[0] and a.state == "raised")
    assert "run of deviations" in reason
    assert [i for i in raised(feed(SignalMonitor("s", _NO_DRIFT), values)) if i >= 3000] == []


def test_the_drift_raises_once_per_incident_and_does_not_hold_it_open() -> None:
    """A decline that goes on for 2,000 samples raises once, and clears while it goes on.

    The statistic keeps setting records all along; raising on each would hold the
    baseline raised for as long as the decline lasts.
    """
    values = noise(5000, seed=11)
    for i in range(105, 145):
        values[i] -= 10.0
    for i in range(3000, 5000):
        values[i] -= 0.05 * (i - 3000)
    monitor = SignalMonitor("s", _BASELINE_ONLY)
    events = feed(monitor, values)
    assert len([i for i in raised(events) if i >= 3000]) == 1
    assert not monitor.alerting


def test_noise_does_not_raise_the_drift() -> None:
    """Over 60,000 samples of Gaussian noise the drift statistic never raises.

    With a limit of 5 spreads instead, noise fills it past its gate.
    """
    rng = random.Random(4)
    values = [20.0 + rng.gauss(0.0, 1.0) for _ in range(60_000)]

    def drift_raises(config: DetectorConfig) -> int:
        events = feed(SignalMonitor("s", config), values)
        return sum(1 for _, a in events if a.state == "raised" and "run of dev" in a.reason)

    assert drift_raises(_BASELINE_ONLY) == 0
    assert drift_raises(_BASELINE_ONLY.merged({"baseline": {"drift_limit": 5.0}})) >= 1


def _siegmund_arl(allowance: float, limit: float) -> float:
    """In-control average run length of a one-sided CUSUM on N(0, 1) (Siegmund 1985)."""
    b = limit + 1.166
    return (math.exp(2.0 * allowance * b) - 2.0 * allowance * b - 1.0) / (2.0 * allowance**2)


def test_default_limit_matches_the_false_alarm_rate_of_the_spike_score() -> None:
    """drift_limit is where the two-sided CUSUM (allowance 0.5 spread) raises on Gaussian
    noise as rarely as a single sample reaches the spike score's raise threshold."""
    config = DetectorConfig().baseline
    spike_rate = math.erfc(config.raise_score * _MAD / math.sqrt(2.0))
    allowance = config.drift_allowance * _MAD  # in standard deviations
    low, high = 1.0, 100.0
    for _ in range(100):  # the limit (in standard deviations) with two-sided ARL = 1 / rate
        mid = (low + high) / 2.0
        low, high = (
            (mid, high) if _siegmund_arl(allowance, mid) / 2.0 < 1.0 / spike_rate else (low, mid)
        )
    assert abs(low / _MAD - config.drift_limit) < 0.05
