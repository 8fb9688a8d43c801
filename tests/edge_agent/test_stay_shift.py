"""The joint stay-shift rule: a slow bearing ramp on vibration and current is caught within
its run, a warm-up or one signal moving alone is not an incident."""

from __future__ import annotations

import random

import pytest

from edge_agent.detection import DetectorBank, check_detector_settings
from edge_agent.errors import ConfigError
from edge_agent.stay_shift import MIN_STAYS, REFERENCE_SAMPLES, StayShift, joint_shift
from tests.edge_agent.test_incidents import IDLE, RUN, SETUP, SIGNALS, Plant, _bank

BEARING_VIB_PER_S = 0.02  # the simulated bearing's added vibration (firmware_sim.machine)
BEARING_AMPS_PER_S = 12.0 * 0.03 * BEARING_VIB_PER_S  # its motor load: +3 % per mm/s


def _bearing_delay(settings: dict[str, object]) -> tuple[int | None, list[dict[str, object]]]:
    """Seconds from a bearing fault's onset (at the start of a run) to the first incident."""
    plant = Plant(_bank(settings))
    plant.shifts(40)
    assert plant.events == []
    plant.run(IDLE, 60)
    plant.run(SETUP, 45)
    onset = plant.t
    plant.run(RUN, 400, vib_per_s=BEARING_VIB_PER_S, amps_per_s=BEARING_AMPS_PER_S)
    raised = [e for e in plant.events if e["state"] == "raised"]
    if not raised:
        return None, []
    first = raised[0]["data"]
    assert isinstance(first, dict)
    return int(first["since_ms"]) // 1000 - onset, raised


def test_a_slow_bearing_ramp_is_caught_sooner_than_before() -> None:
    """Vibration +0.02 mm/s and current +0.0072 A each second of a run (the simulated
    bearing) open one incident naming both within a minute: without the rule the same
    fault waits for the vibration to leave its range (or the settling time to pass)."""
    delay, raised = _bearing_delay({})
    before, _ = _bearing_delay({"incidents": {"shift_strong": 0}})
    assert delay is not None
    assert before is not None
    assert delay <= 60
    assert delay < before
    data = raised[-1]["data"]
    assert isinstance(data, dict)
    assert set(str(data["signals"]).split(",")) >= {SIGNALS[1], SIGNALS[2]}
    assert data["vibration_rms_mm_s.detector"] == "stay_shift"
    assert data["motor_current_a.detector"] == "stay_shift"


def test_a_warm_up_curve_raises_nothing() -> None:
    """Days of cold and warm starts with the spindle warming through every run, the
    current wandering with its noise, raise no incident with the rule on."""
    plant = Plant(_bank())
    plant.shifts(120, seed=11)
    assert plant.events == []


def _stays(shift: StayShift, count: int, slope: float, *, seed: int, noise: float = 0.1) -> None:
    """`count` stays of 60 samples in state 2, each moving by `slope` a sample."""
    rng = random.Random(seed)
    step = noise * 1.128  # the typical step of white noise of this deviation
    for _ in range(count):
        shift.enter((2.0, ""))
        for i in range(60):
            shift.update(10.0 + slope * i + rng.gauss(0.0, noise), step)


def _stay(shift: StayShift, slope: float, samples: int, *, seed: int) -> None:
    rng = random.Random(seed)
    shift.enter((2.0, ""))
    for i in range(samples):
        shift.update(10.0 + slope * i + rng.gauss(0.0, 0.1), 0.1128)


def test_two_level_signals_moving_together_are_raised_one_alone_is_not() -> None:
    """Vibration climbing far and current moderately, both usually level within their
    stays, are raised together; the vibration alone, or a strongly moving signal that
    warms through every stay (a temperature) with the current, is not."""
    vib, amps, temp = StayShift(), StayShift(), StayShift()
    for n, (shift, slope) in enumerate(((vib, 0.0), (amps, 0.0), (temp, 0.5))):
        _stays(shift, MIN_STAYS + 5, slope, seed=n)
    samples = REFERENCE_SAMPLES + 25
    _stay(vib, 0.06, samples, seed=20)
    _stay(amps, 0.005, samples, seed=21)
    _stay(temp, 0.5, samples, seed=22)
    assert vib.z >= 6.0
    assert 2.0 <= amps.z < 6.0
    pairs = [("vib", vib), ("amps", amps), ("temp", temp)]
    assert joint_shift(pairs, strong=6.0, each=2.0) == ["vib", "amps"]
    assert joint_shift(pairs[:1] + pairs[2:], strong=6.0, each=2.0) == []
    _stay(vib, 0.0, samples, seed=23)
    assert joint_shift(pairs, strong=6.0, each=2.0) == []  # current and warm-up only
    unknown = StayShift()
    _stay(unknown, 0.06, samples, seed=24)
    assert joint_shift([("vib", unknown), ("amps", amps)], strong=6.0, each=2.0) == []


def test_a_change_of_state_clears_the_raise_and_the_stay_is_not_learnt() -> None:
    """The raise ends with its stay (one clear per signal), and the fault's stay does not
    become the usual shift of that state."""
    plant = Plant(_bank())
    plant.shifts(40)
    vib = plant.bank.monitors[SIGNALS[1]]
    usual_before = vib.shift.usual[(RUN, "")].peak_up  # type: ignore[union-attr]
    plant.run(RUN, 200, vib_per_s=BEARING_VIB_PER_S, amps_per_s=BEARING_AMPS_PER_S)
    plant.run(IDLE, 60)
    shift_events = [e for e in plant.events if e["name"] == "incident"]
    assert shift_events[0]["state"] == "raised"
    assert shift_events[-1]["state"] == "cleared"
    usual_after = vib.shift.usual[(RUN, "")].peak_up  # type: ignore[union-attr]
    assert usual_after <= usual_before


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"incidents": {"shift_strong": "6"}}, "detectors.incidents.shift_strong"),
        ({"incidents": {"shift_strong": -1}}, "detectors.incidents.shift_strong"),
        ({"incidents": {"shift_strong": float("nan")}}, "detectors.incidents.shift_strong"),
        ({"incidents": {"shift_each": True}}, "detectors.incidents.shift_each"),
        ({"incidents": {"shift_strong": 3, "shift_each": 4}}, "detectors.incidents.shift_each"),
        ({"incidents": {"shift_strong": 1e9}}, "detectors.incidents.shift_strong"),
    ],
)
def test_malformed_shift_settings_are_refused(settings: dict[str, object], field: str) -> None:
    """Wrong types, non-finite and out-of-range values of the rule name their field."""
    with pytest.raises(ConfigError) as caught:
        check_detector_settings(settings)
    assert caught.value.field == field


def test_the_rule_switched_off_live_clears_its_raises() -> None:
    """Reconfiguring with `shift_strong = 0` while a stay shift is raised clears it."""
    bank: DetectorBank = _bank()
    plant = Plant(bank)
    plant.shifts(40)
    plant.run(RUN, 120, vib_per_s=BEARING_VIB_PER_S, amps_per_s=BEARING_AMPS_PER_S)
    assert any(e["state"] == "raised" for e in plant.events)
    cleared = bank.reconfigure({"incidents": {"shift_strong": 0}})
    assert {a.detector for a in cleared} == {"stay_shift"}
    assert {a.state for a in cleared} == {"cleared"}
