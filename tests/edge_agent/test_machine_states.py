"""State-aware detection: the spin-up after a start or a changeover settles unjudged, a
state lasting far longer than usual raises `state_duration`, planned states never do."""

from __future__ import annotations

import math
import random

import pytest

from edge_agent.detection import DetectorBank, check_detector_settings
from edge_agent.errors import ConfigError
from edge_agent.modes import StateDurations

IDLE, SETUP, RUN = 0.0, 1.0, 2.0
SIGNALS = ["motor_current_a", "vibration_rms_mm_s", "state"]


def _bank(settings: dict[str, object]) -> DetectorBank:
    return DetectorBank(
        settings,
        SIGNALS,
        stepped=frozenset({"state"}),
        modes={"motor_current_a": "state", "vibration_rms_mm_s": "state"},
    )


def _plant(bank: DetectorBank, spells: list[tuple[float, int]], seed: int = 3) -> list[str]:
    """Feed spells of (state, seconds) at 1 Hz: the motor draws 12 A running (after an
    inrush of up to three times that, fading over 30 s), 2.5 A in setup; the spindle
    vibrates at 2 mm/s running, spinning up over 20 s; returns "signal/detector" of every
    raise."""
    rng = random.Random(seed)
    t, raised = 0, []
    for state, seconds in spells:
        for second in range(seconds):
            amps = {RUN: 12.0, SETUP: 2.5}.get(state, 0.6)
            vib = {RUN: 2.0, SETUP: 0.4}.get(state, 0.05)
            if state == RUN:
                amps *= 1.0 + 2.0 * math.exp(-second / 10.0)
                vib *= min(1.0, (second + 1) / 20.0)
            values = (
                ("motor_current_a", amps + rng.gauss(0.0, 0.02 + 0.02 * amps)),
                ("vibration_rms_mm_s", vib + rng.gauss(0.0, 0.03 + 0.05 * vib)),
                ("state", state),
            )
            bank.observe_modes(values)
            for name, value in values:
                raised += [
                    f"{a.signal}/{a.detector}"
                    for a in bank.update(name, t * 1000, value)
                    if a.state == "raised"
                ]
            t += 1
    return raised


def _shift(rng: random.Random, jobs: int) -> list[tuple[float, int]]:
    """Cold and warm starts: idle spells of 1–20 min, setups of 30–90 s, runs of 4–12 min."""
    spells = []
    for _ in range(jobs):
        spells += [
            (IDLE, rng.randint(60, 1200)),
            (SETUP, rng.randint(30, 90)),
            (RUN, rng.randint(240, 720)),
        ]
    return spells


def test_start_ups_and_changeovers_raise_nothing() -> None:
    """A day of starts and changeovers with their spin-ups, judged per state, raises nothing."""
    spells = _shift(random.Random(5), 60)
    assert _plant(_bank({}), spells) == []


def test_without_settling_the_same_day_raises() -> None:
    """The settle time is what keeps the spin-ups quiet: without it the same day raises."""
    spells = _shift(random.Random(5), 60)
    assert _plant(_bank({"settle_s": 0}), spells)


def test_a_fault_while_running_is_still_caught() -> None:
    """Settling does not blind the state: a motor drawing 3 A more once settled raises."""
    bank = _bank({})
    _plant(bank, _shift(random.Random(5), 30))
    rng = random.Random(9)
    raised = []
    for i in range(300):
        values = (
            ("motor_current_a", 15.0 + rng.gauss(0.0, 0.26)),
            ("vibration_rms_mm_s", 2.0 + rng.gauss(0.0, 0.13)),
            ("state", RUN),
        )
        bank.observe_modes(values)
        for name, value in values:
            raised += [a.detector for a in bank.update(name, 10**8 + i * 1000, value)]
    assert "baseline" in raised


def test_a_setup_lasting_far_longer_than_usual_raises_and_idle_never_does() -> None:
    """A changeover stuck for an hour raises state_duration; a long idle night does not."""
    bank = _bank({})
    spells = _shift(random.Random(7), 25)
    assert _plant(bank, spells) == []
    assert _plant(bank, [(SETUP, 3600)]) == ["state/state_duration"]
    night = _bank({})
    assert _plant(night, [*spells, (IDLE, 12 * 3600)]) == []


def test_state_durations_judge_a_stay_against_the_quantile_of_stays() -> None:
    """The limit is `factor` times the `quantile` of the stays, after `min_stays` stays."""
    watch = StateDurations("state", factor=2.0, min_stays=3, min_s=0.0)
    t = 0
    for stay in (100, 120, 110):
        assert watch.update(t, SETUP) == []
        t += stay * 1000
        assert watch.update(t, RUN) == []
        t += 1000
    usual = watch.usual_ms(SETUP)
    assert usual is not None
    assert 120_000 <= usual <= 120_000 * 2**0.25  # the upper edge of the longest stay's bin
    assert watch.update(t, SETUP) == []
    assert watch.update(t + int(2 * usual) - 1000, SETUP) == []
    (raised,) = watch.update(t + int(2 * usual) + 1000, SETUP)
    assert (raised.detector, raised.state) == ("state_duration", "raised")
    assert "as long as 99% of its stays" in raised.reason
    assert watch.update(t + 10**7, SETUP) == []  # raised once
    (cleared,) = watch.update(t + 10**7 + 1000, IDLE)
    assert cleared.state == "cleared"
    assert watch.update(t + 10**9, math.nan) == []  # an unknown state is not judged


def test_one_long_stay_does_not_blind_the_watch() -> None:
    """The usual stay is a high quantile of the stays, not the longest: after 300 setups
    of about a minute, one of an hour leaves the limit near a minute."""
    watch = StateDurations("state", factor=3.0, min_stays=20, min_s=0.0)
    rng = random.Random(4)
    t = 0
    for i in range(301):
        watch.update(t, SETUP)
        t += 3_600_000 if i == 150 else round(rng.uniform(50_000, 70_000))
        watch.update(t, RUN)
        t += 1000
    usual = watch.usual_ms(SETUP)
    assert usual is not None
    assert 60_000 <= usual <= 90_000
    stays = watch.stays[SETUP]
    assert stays.quantile_ms(1.0) >= 3_600_000  # the hour is still counted


def test_a_long_tailed_state_stays_quiet() -> None:
    """Two thousand exponential setups (mean 45 s, a long tail) raise nothing."""
    watch = StateDurations("state")
    rng = random.Random(8)
    t, raised = 0, []
    for _ in range(2000):
        start = t
        t += round(rng.expovariate(1 / 45_000)) + 1
        for ts in range(start, t, 10_000):  # a reading every 10 s
            raised += watch.update(ts, SETUP)
        raised += watch.update(t, RUN)
        t += 240_000
    assert raised == []


@pytest.mark.parametrize(
    ("states", "field"),
    [
        ({"planned": "0"}, "detectors.states.planned"),
        ({"planned": [True]}, "detectors.states.planned"),
        ({"planned": list(range(65))}, "detectors.states.planned"),
        ({"duration_factor": 1.0}, "detectors.states.duration_factor"),
        ({"duration_factor": float("nan")}, "detectors.states.duration_factor"),
        ({"min_stays": 0}, "detectors.states.min_stays"),
        ({"duration_quantile": 1.5}, "detectors.states.duration_quantile"),
        ({"min_duration_s": -1}, "detectors.states.min_duration_s"),
        ({"enabled": "yes"}, "detectors.states.enabled"),
        ({"surprise": 1}, "detectors.states.surprise"),
        ("not a table", "detectors.states"),
    ],
)
def test_malformed_state_settings_are_refused(states: object, field: str) -> None:
    """Every bad `states` setting is refused, naming its key."""
    with pytest.raises(ConfigError) as err:
        check_detector_settings({"states": states})
    assert err.value.field == field


def test_settle_time_is_validated() -> None:
    """A negative, infinite or over-a-day settle time is refused."""
    for bad in (-1, math.inf, 86401):
        with pytest.raises(ConfigError):
            check_detector_settings({"settle_s": bad})


def test_switching_state_durations_off_clears_a_raised_stay() -> None:
    """A raised state_duration is cleared when the watch is switched off live."""
    bank = _bank({})
    _plant(bank, _shift(random.Random(7), 25))
    assert _plant(bank, [(SETUP, 3600)]) == ["state/state_duration"]
    cleared = bank.reconfigure({"states": {"enabled": False}})
    assert [(a.detector, a.state) for a in cleared] == [("state_duration", "cleared")]


def _families(bank: DetectorBank, runs: list[tuple[str, float, int]], seed: int = 2) -> list[str]:
    """Changeovers (60 s) then runs of (family, amps, seconds) at 1 Hz; returns the raises."""
    rng = random.Random(seed)
    t, raised = 0, []
    for family, amps, seconds in runs:
        bank.observe_family("", family)
        for state, level, duration in ((SETUP, 2.5, 60), (RUN, amps, seconds)):
            for _ in range(duration):
                values = (
                    ("motor_current_a", level + rng.gauss(0.0, 0.05 * level)),
                    ("vibration_rms_mm_s", 2.0 + rng.gauss(0.0, 0.1)),
                    ("state", state),
                )
                bank.observe_modes(values)
                for name, value in values:
                    raised += [
                        f"{a.signal}/{a.detector}"
                        for a in bank.update(name, t * 1000, value)
                        if a.state == "raised"
                    ]
                t += 1
    return raised


def test_each_product_family_has_its_own_normal() -> None:
    """Families drawing 8 A and 16 A alternate quietly; then 16 A while making the 8 A
    family raises, which the state's range over both families would not."""
    learning = [("A", 8.0, 600), ("B", 16.0, 600)] * 5
    bank = _bank({})
    assert _families(bank, learning) == []
    assert "motor_current_a/state_range" in _families(bank, [("A", 16.0, 300)], seed=3)
    blind = _bank({})
    learning_unnamed = [("", amps, seconds) for _, amps, seconds in learning]
    _families(blind, learning_unnamed)  # the state's range spans both families
    assert "motor_current_a/state_range" not in _families(blind, [("", 16.0, 300)], seed=3)
