"""The novelty gate: how far one incident may raise the bar for the next."""

from __future__ import annotations

import random

from edge_agent.detectors import DetectorConfig, SignalMonitor
from edge_agent.detectors.novelty import PEAK_GROWTH, gated, raised_peak
from tests.edge_agent.detectors.signals import feed, only
from tests.edge_agent.detectors.signals import raised as raised_at

# The adaptive baseline alone, without its time-of-day model.
_BASELINE_ONLY = only("baseline", baseline={"season_slots": 0})


def test_growth_is_capped_relative_to_the_peak_before_the_incident() -> None:
    """After warm-up a peak grows to at most PEAK_GROWTH x its anchor (pre-incident value)."""
    assert raised_peak(5.0, 100.0, free=False, anchor=5.0) == 5.0 * PEAK_GROWTH
    # later samples of the same incident cannot compound the growth
    assert raised_peak(15.0, 100.0, free=False, anchor=5.0) == 15.0
    assert raised_peak(15.0, 12.0, free=False, anchor=5.0) == 15.0  # never shrinks
    assert raised_peak(4.0, 7.0, free=False, anchor=4.0) == 7.0
    assert raised_peak(5.0, 100.0, free=True, anchor=5.0) == 100.0
    assert raised_peak(0.0, 9.0, free=False, anchor=0.0) == 9.0


def test_gate_holds_scores_below_the_raise_threshold_until_the_peak_is_beaten() -> None:
    """An excursion within the gate scores raise_score x amount / gate at most."""
    assert gated(50.0, 4.0, 8.0, 6.0) == 3.0
    assert gated(2.0, 4.0, 8.0, 6.0) == 2.0
    assert gated(50.0, 9.0, 8.0, 6.0) == 50.0
    assert gated(50.0, 4.0, 0.0, 6.0) == 50.0


def test_a_long_incident_does_not_hide_a_later_smaller_one() -> None:
    """A 60-sigma dip lasting 40 samples leaves the gate low enough for a later 20-sigma one."""
    rng = random.Random(8)
    values = [20.0 + rng.gauss(0.0, 1.0) for _ in range(3000)]
    for i in range(1000, 1040):
        values[i] -= 60.0
    for i in range(2000, 2040):
        values[i] -= 20.0
    raised = raised_at(feed(SignalMonitor("s", _BASELINE_ONLY), values))
    assert [i for i in raised if 1000 <= i < 1010] == [1000]
    assert len([i for i in raised if 2000 <= i < 2010]) == 1


def test_an_excursion_that_creeps_past_the_peak_raises() -> None:
    """A dip deepening a little each sample raises once it beats the peak from before it.

    Each sample beats the running peak by less than the 5 % margin, so a gate that followed
    the peak sample by sample would rise with the dip and never let it through. (The drift
    statistic, switched off here, reports such a dip earlier: see test_detector_drift.)
    """
    rng = random.Random(5)
    values = [20.0 + rng.gauss(0.0, 0.2) for _ in range(5000)]
    for start in range(1000, 3000, 400):  # the same 10-unit dip, five rounds: it goes quiet
        for i in range(start, start + 60):
            values[i] -= 10.0
    for i in range(4000, 4400):  # then a dip that deepens by 0.05 per sample, to 20 units
        values[i] -= 0.05 * (i - 4000)
    no_drift = _BASELINE_ONLY.merged({"baseline": {"drift_limit": 0}})
    raised = raised_at(feed(SignalMonitor("s", no_drift), values))
    assert [i for i in raised if i < 4000] == [1000, 1400, 1803, 2209]
    late = [i for i in raised if i >= 4000]
    assert len(late) == 1
    assert 4200 < late[0] < 4300  # when the dip passes 1.05 x the old 10-unit peak


def test_repeated_long_incidents_go_quiet_after_a_few_rounds() -> None:
    """The same 30-sigma dip every 500 samples stops raising after a few rounds."""
    rng = random.Random(9)
    values = [20.0 + rng.gauss(0.0, 1.0) for _ in range(6000)]
    starts = list(range(1000, 6000, 500))
    for start in starts:
        for i in range(start, start + 20):
            values[i] -= 30.0
    raised = raised_at(feed(SignalMonitor("s", _BASELINE_ONLY), values))
    assert raised[0] == 1000
    assert all(any(s <= i < s + 20 for s in starts) for i in raised)
    assert len(raised) <= 4  # the bar at most triples per round: 3 sigma -> 9 -> 27 -> 81
    assert [i for i in raised if i >= 3000] == []


def test_bursty_signal_that_was_constant_in_warm_up_goes_quiet() -> None:
    """Bursts on a signal idle through its warm-up stop raising after a handful of them."""
    rng = random.Random(3)
    values = [0.0] * 4000
    bursts = list(range(600, 4000, 97))
    for start in bursts:
        for i in range(start, start + 5):
            values[i] = rng.uniform(1.0, 2.5)
    monitor = SignalMonitor("s", DetectorConfig())
    raised = sorted(
        {
            i
            for i, value in enumerate(values)
            for a in monitor.update(i * 1000, value)
            if a.state == "raised" and i >= DetectorConfig().warmup_samples
        }
    )
    assert raised[0] == 600
    assert len(raised) <= 6  # of 35 bursts
    assert [i for i in raised if i >= 2000] == []
