"""The rate-of-rise rule: an overheat during a run is one incident within a minute, a
warm-up after a cold start (as fast as it is) is none."""

from __future__ import annotations

import math
import random

import pytest

from edge_agent.detection import DetectorBank, check_detector_settings
from edge_agent.detectors import Anomaly
from edge_agent.errors import ConfigError
from edge_agent.rise_rate import MIN_STAYS, RiseRate
from edge_agent.state_range import RangeSettings, StateRange
from tests.edge_agent.test_incidents import DOWN, IDLE, RUN, SETUP, Plant, _bank

TAU_S = 120.0  # the simulated spindle's thermal time constant (firmware_sim.machine)


def _learnt_range(low: float, high: float) -> StateRange:
    """A state's range learnt as `low`..`high`."""
    found = StateRange(RangeSettings())
    found.low, found.high = low, high
    found.samples = found.settings.learn_samples + 1
    return found


def _overheat_delay(
    settings: dict[str, object], heat_c: float
) -> tuple[int | None, list[dict[str, object]]]:
    """Seconds from an overheat's onset (`heat_c` more on the plateau, halfway through a
    warm run) to the first incident on a new machine that has been worn before: the
    running range spans the worn days' hotter plateau (72 °C against 60 °C), so the new
    machine's overheat stays inside it for a while."""
    plant = Plant(_bank(settings))
    for block, wear in enumerate((0.0, 1.0, 0.5, 1.0, 0.0, 0.8, 0.2, 0.0, 0.0)):
        plant.wear = wear
        plant.shifts(6, seed=block)
    plant.events.clear()  # the ranges catching up with the harness's jumps in wear
    plant.run(IDLE, 60)
    plant.run(SETUP, 45)
    plant.run(RUN, 300)
    assert plant.events == []
    onset = plant.t
    plant.run(RUN, 600, heat_c=heat_c)
    raised = [e for e in plant.events if e["state"] == "raised"]
    if not raised:
        return None, plant.events
    data = raised[0]["data"]
    assert isinstance(data, dict)
    return int(data["since_ms"]) // 1000 - onset, plant.events


@pytest.mark.parametrize("heat_c", [45.0, 30.0])
def test_an_overheat_during_a_run_is_one_incident_within_a_minute(heat_c: float) -> None:
    """Added heat (+45 °C on the plateau, the simulated overheat, or a slower +30 °C) on a
    warm running spindle opens one incident within 60 s by its rate of rise; without the
    rule the same fault waits for the temperature to leave the running range, which
    spans the machine's worn days (a minute or more)."""
    delay, events = _overheat_delay({}, heat_c)
    before, _ = _overheat_delay({"states": {"rise_enabled": False}}, heat_c)
    assert [e["state"] for e in events] == ["raised"]  # one incident, open to the end
    assert delay is not None
    assert delay <= 60
    assert before is None or before >= 60
    assert before is None or delay < before / 2


def test_the_overheat_incident_says_how_fast_the_spindle_rises() -> None:
    """The incident is led by the spindle temperature's `rise_rate`, in words: how fast it
    rises and what is usual at its level, while running."""
    plant = Plant(_bank())
    plant.shifts(30)
    plant.run(RUN, 300)
    assert plant.events == []
    plant.run(RUN, 120, heat_c=45.0)
    raised = [e for e in plant.events if e["state"] == "raised"]
    assert len(raised) == 1
    data = raised[0]["data"]
    assert isinstance(data, dict)
    assert data["spindle_temp_c.detector"] == "rise_rate"
    title = str(raised[0]["reason"])
    assert "spindle temp " in title
    assert "rising " in title
    assert " a minute where " in title
    assert " is usual at this level while running" in title


def test_warm_ups_after_cold_starts_and_repairs_raise_nothing() -> None:
    """Cold starts after stops of up to four hours and warm starts raise no incident, and
    neither they nor the warm-ups after a repair that lowered the plateau raise
    `rise_rate`: every warm-up rises as fast as its level calls for."""
    bank = _bank()
    raised: list[str] = []
    original = bank.update

    def update(signal: str, ts_ms: int, value: float) -> list[Anomaly]:
        found = original(signal, ts_ms, value)
        raised.extend(a.signal for a in found if a.detector == "rise_rate")
        return found

    bank.update = update  # type: ignore[method-assign]
    plant = Plant(bank)
    plant.wear = 0.6
    plant.shifts(60, seed=21)
    plant.run(IDLE, 4 * 3600)
    plant.run(SETUP, 60)
    plant.run(RUN, 900)
    assert plant.events == []
    plant.run(DOWN, 900)
    plant.wear = 0.0  # the ranges' own judgement of a repair is not this rule's
    plant.shifts(40, seed=22)
    assert raised == []


def _stay(rise: RiseRate, start: float, plateau: float, seconds: int, seed: int) -> list[str]:
    """One stay in state 2 at 1 Hz heading from `start` for `plateau` (τ = 120 s);
    returns the changes it raised."""
    rng = random.Random(seed)
    rise.enter((2.0, ""))
    temp, changes = start, list[str]()
    running = _learnt_range(22.0, 62.0)
    for second in range(seconds):
        temp += (plateau - temp) / TAU_S
        change = rise.update(second * 1000, temp + rng.gauss(0.0, 0.05), running)
        if change is not None:
            changes.append(change)
    return changes


def test_the_line_is_the_heat_balance_and_added_heat_stands_out() -> None:
    """Warm-ups and cool-downs towards a 60 °C plateau teach slope = (60 − level) / τ; a
    stay heading for 105 °C (an overheat) raises, its raise is not learnt as usual, and
    the next ordinary stay raises nothing."""
    rise = RiseRate()
    for i in range(MIN_STAYS + 5):
        assert _stay(rise, 22.0 + 4.0 * (i % 12), 60.0, 240, seed=i) == []
    line = rise.lines[(2.0, "")]
    assert line.b == pytest.approx(-1.0 / TAU_S, rel=0.05)
    assert -line.a / line.b == pytest.approx(60.0, abs=1.0)
    assert line.fit > 0.9
    assert line.learnt
    stays = line.stays
    assert _stay(rise, 50.0, 105.0, 120, seed=99) == ["raised"]
    assert _stay(rise, 50.0, 60.0, 240, seed=100) == []
    assert line.stays == stays + 1  # the raised stay was not learnt
    assert math.isfinite(line.peak)


def test_nothing_is_judged_before_the_state_has_its_stays() -> None:
    """The first stays only teach: even a steep rise raises nothing until `MIN_STAYS`
    stays of the state have been learnt."""
    rise = RiseRate()
    for i in range(MIN_STAYS - 1):
        assert _stay(rise, 22.0, 60.0 if i else 105.0, 240, seed=i) == []


def test_lines_are_bounded_per_signal() -> None:
    """At most `max_keys` states get a line of their own; further stays are not learnt."""
    rise = RiseRate()
    for code in range(40):
        rise.enter((float(code), ""), max_keys=16)
        for second in range(60):
            rise.update(second * 1000, 20.0 + second * 0.1, _learnt_range(20.0, 30.0))
    assert len(rise.lines) == 16


def test_rise_enabled_must_be_a_flag() -> None:
    """`states.rise_enabled` takes true or false only."""
    check_detector_settings({"states": {"rise_enabled": False}})
    with pytest.raises(ConfigError, match="rise_enabled"):
        check_detector_settings({"states": {"rise_enabled": 1}})


def test_switching_the_rule_off_clears_its_raise() -> None:
    """A raised `rise_rate` is cleared when a live reconfiguration switches it off."""
    plant = Plant(_bank())
    plant.shifts(30)
    plant.run(RUN, 300)
    plant.run(RUN, 60, heat_c=45.0)
    bank: DetectorBank = plant.bank
    cleared = bank.reconfigure({"states": {"rise_enabled": False}})
    assert [a.detector for a in cleared if a.detector == "rise_rate"] == ["rise_rate"]


def test_a_level_signal_or_a_quick_one_is_not_judged() -> None:
    """Noise about a level (a vibration) and a reading that settles within seconds (a
    clipped value after a step) have no inertia to judge a rise against: their lines
    never judge, however many stays are learnt."""
    rng = random.Random(4)
    noisy, quick = RiseRate(), RiseRate()
    level, down = _learnt_range(1.5, 2.5), _learnt_range(0.0, 0.2)
    for _ in range(3 * MIN_STAYS):
        noisy.enter((2.0, ""))
        quick.enter((3.0, ""))
        value = 2.0
        for second in range(0, 240, 2):
            noisy.update(second * 1000, 2.0 + rng.gauss(0.0, 0.13), level)
            value += (0.05 - value) * 0.7  # settles with a time constant under 2 s
            quick.update(second * 1000, value + rng.gauss(0.0, 0.001), down)
    assert noisy.lines[(2.0, "")].fit < 0.1
    assert not noisy.lines[(2.0, "")].learnt
    assert not quick.lines[(3.0, "")].learnt
