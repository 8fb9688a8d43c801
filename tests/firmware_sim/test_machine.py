"""Simulated machine: deterministic for a seed, plausible states and sensors, faults."""

from __future__ import annotations

import pytest

from firmware_sim import FaultKind, Machine, MachineParams, MachineState, SimConfigError


def trace(seed: int, *, step_s: float, until_s: float) -> list[dict[str, float]]:
    machine = Machine(seed=seed, params=MachineParams(free_running=True))
    out = []
    t = 0.0
    while t < until_s:
        t += step_s
        machine.advance_to(t)
        out.append(machine.readings())
    return out


def test_same_seed_same_readings_whatever_the_sampling() -> None:
    """A seed fixes the trajectory; sampling every 1 s or every 0.5 s sees the same values."""
    coarse = trace(5, step_s=1.0, until_s=600)
    fine = trace(5, step_s=0.5, until_s=600)
    assert coarse == fine[1::2]
    assert coarse != trace(6, step_s=1.0, until_s=600)


def test_machine_cycles_through_states_and_makes_parts() -> None:
    """Over simulated hours a free-running machine sets up, runs, makes parts and warms up."""
    machine = Machine(seed=1, params=MachineParams(free_running=True))
    seen: set[MachineState] = set()
    hot = 0.0
    for minute in range(1, 6 * 60):
        for change in machine.advance_to(minute * 60.0):
            seen.add(change.current)
        if machine.state is MachineState.RUN:
            hot = max(hot, machine.readings()["spindle_temp_c"])
    assert {MachineState.SETUP, MachineState.RUN, MachineState.IDLE} <= seen
    assert machine.part_count > 50
    assert hot > 40.0


def test_injected_faults_show_in_the_sensors() -> None:
    """Bearing faults raise vibration until the machine goes down; a stuck sensor freezes."""
    machine = Machine(
        seed=2, params=MachineParams(mean_idle_s=1.0, mean_setup_s=1.0, free_running=True)
    )
    machine.advance_to(30.0)
    machine.inject(FaultKind.BEARING)
    changes = []
    t = 30.0
    while machine.state is not MachineState.DOWN and t < 3600:
        t += 10.0
        changes += machine.advance_to(t)
    assert machine.state is MachineState.DOWN
    assert any(c.cause == "bearing failure" for c in changes)
    stuck = Machine(seed=3, params=MachineParams(free_running=True))
    stuck.advance_to(100.0)
    stuck.inject(FaultKind.STUCK_SENSOR)
    first = stuck.readings()["spindle_temp_c"]
    stuck.advance_to(500.0)
    assert stuck.readings()["spindle_temp_c"] == first
    broken = Machine(seed=4, params=MachineParams(free_running=True))
    broken.inject(FaultKind.BREAKDOWN)
    assert broken.state is MachineState.DOWN


@pytest.mark.parametrize(
    "kwargs",
    [
        {"step_s": 0.0},
        {"cycle_time_s": float("nan")},
        {"parts_per_job": 0},
        {"fault_rate_per_h_new": -1.0},
        {"scrap_rate_min": 1.0},
        {"scrap_rate_max": float("inf")},
        {"scrap_rate_min": 0.2, "scrap_rate_max": 0.1},
    ],
)
def test_invalid_parameters_are_refused(kwargs: dict[str, float]) -> None:
    """Out-of-range parameters raise SimConfigError naming the field."""
    with pytest.raises(SimConfigError) as info:
        MachineParams(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == next(iter(kwargs))
