"""A simulated machine running its schedule: changeovers, counts, faults, restarts."""

from __future__ import annotations

import pytest

from firmware_sim import SimConfigError
from firmware_sim.machine import (
    FaultKind,
    Machine,
    MachineParams,
    MachineState,
    Operation,
    OperationChange,
)

OPS = (
    Operation("a", "j1", 20, "bolts", 30.0),
    Operation("b", "j2", 10, "bolts", 30.0),
    Operation("c", "j3", 10, "nuts", 45.0),
)
QUIET = MachineParams(fault_rate_per_h_new=0.0, fault_rate_per_h_worn=0.0)


def run(machine: Machine, until_s: float, step_s: float = 5.0) -> list[OperationChange]:
    changes: list[OperationChange] = []
    t = machine.t_s
    while t < until_s:
        t = min(until_s, t + step_s)
        machine.advance_to(t)
        changes += machine.operation_changes()
    return changes


def summary(changes: list[OperationChange]) -> list[tuple[str, str, str, int, int]]:
    return [
        (
            c.change,
            c.progress.operation.operation_id,
            c.progress.state,
            c.progress.good,
            c.progress.scrap,
        )
        for c in changes
    ]


def test_operations_run_in_order_with_changeovers_only_when_the_family_changes() -> None:
    """Setup before the first family and at the family change; good parts reach each quantity."""
    machine = Machine(seed=1, params=QUIET)
    machine.load_schedule(1, OPS)
    changes = run(machine, 2000.0)
    started = {c.progress.operation.operation_id: c for c in changes if c.change == "started"}
    assert [started[k].progress.state for k in "abc"] == ["setup", "run", "setup"]
    finished = [c for c in changes if c.change == "finished"]
    assert [c.progress.operation.operation_id for c in finished] == ["a", "b", "c"]
    assert [c.progress.good for c in finished] == [20, 10, 10]
    for c in finished:
        assert c.progress.state == "done"
    # timing: 30 s changeover, then (good + scrap) cycles of 6 s for a, no setup for b
    a = finished[0].progress
    assert finished[0].t_s == pytest.approx(30.0 + 6.0 * (a.good + a.scrap), abs=0.3)
    assert started["b"].t_s == pytest.approx(finished[0].t_s, abs=0.2)
    assert machine.state is MachineState.IDLE
    assert machine.part_count == sum(c.progress.good + c.progress.scrap for c in finished)


def test_scrap_follows_a_seeded_rate_per_machine_and_family() -> None:
    """Scrap appears at a rate set by seed and family; the same seed gives the same counts."""
    params = MachineParams(
        fault_rate_per_h_new=0.0, fault_rate_per_h_worn=0.0, scrap_rate_min=0.2, scrap_rate_max=0.3
    )
    big = (Operation("x", "j", 200, "f"),)

    def counts(seed: int) -> tuple[int, int]:
        machine = Machine(seed=seed, params=params)
        machine.load_schedule(1, big)
        run(machine, 3000.0)
        progress = machine.progress()
        assert progress is not None
        return progress.good, progress.scrap

    good, scrap = counts(7)
    assert good == 200
    assert 0.1 < scrap / (good + scrap) < 0.4
    assert counts(7) == (good, scrap)
    assert counts(8) != (good, scrap)
    machine = Machine(seed=7, params=params)
    assert 0.2 <= machine.scrap_rate("f") <= 0.3
    assert machine.scrap_rate("f") != machine.scrap_rate("g")


def test_a_breakdown_pauses_the_operation_and_the_repair_resumes_it() -> None:
    """DOWN mid-operation pauses it with its counts; after the repair it goes on to the quantity."""
    machine = Machine(seed=2, params=QUIET)
    machine.load_schedule(1, OPS[:1])
    run(machine, 100.0)
    before = machine.progress()
    assert before is not None
    assert before.state == "run"
    assert 0 < before.good < 20
    machine.inject(FaultKind.BREAKDOWN)
    paused = machine.operation_changes()
    assert summary(paused) == [("state", "a", "paused", before.good, before.scrap)]
    changes = run(machine, 3000.0)
    assert changes[0].change == "state"
    assert changes[0].progress.state == "run"
    assert changes[0].progress.good == before.good  # nothing made while down
    assert changes[-1].change == "finished"
    assert changes[-1].progress.good == 20


def test_a_breakdown_during_changeover_keeps_the_rest_of_the_changeover() -> None:
    """DOWN during setup pauses it; the repair resumes setup, then production."""
    machine = Machine(seed=2, params=QUIET)
    machine.load_schedule(1, OPS[:1])
    run(machine, 10.0)
    machine.inject(FaultKind.BREAKDOWN)
    changes = run(machine, 3000.0)
    states = [c.progress.state for c in machine.operation_changes()] + [
        c.progress.state for c in changes
    ]
    assert states[:3] == ["paused", "setup", "run"]
    assert changes[-1].progress.good == 20


def test_restoring_the_retained_state_gives_the_same_counts_as_no_restart() -> None:
    """A machine restored mid-operation from its retained state ends with the same counts."""
    whole = Machine(seed=4, params=QUIET)
    whole.load_schedule(1, OPS)
    expected = [c.progress for c in run(whole, 3000.0) if c.change == "finished"]
    first = Machine(seed=4, params=QUIET)
    first.load_schedule(1, OPS)
    head = run(first, 170.0)
    kept = first.retained()
    second = Machine(seed=4, params=QUIET)
    second.restore(kept)
    progress = second.progress()
    assert progress is not None
    assert progress == first.progress()
    tail = run(second, 3000.0)
    got = [c.progress for c in head + tail if c.change == "finished"]
    assert [(p.operation.operation_id, p.good, p.scrap) for p in got] == [
        (p.operation.operation_id, p.good, p.scrap) for p in expected
    ]


def test_a_restored_paused_operation_reports_that_it_runs_again() -> None:
    """A machine kept while down comes back running its operation and says so."""
    machine = Machine(seed=4, params=QUIET)
    machine.load_schedule(1, OPS[:1])
    run(machine, 100.0)
    machine.inject(FaultKind.BREAKDOWN)
    kept = machine.retained()
    again = Machine(seed=4, params=QUIET)
    again.restore(kept)
    assert again.state is MachineState.RUN
    assert summary(again.operation_changes())[0][2] == "run"


def test_a_new_schedule_keeps_the_running_operation_and_skips_finished_ones() -> None:
    """Re-planning mid-operation: the started operation goes on first, finished ones never rerun."""
    machine = Machine(seed=5, params=QUIET)
    machine.load_schedule(1, OPS)
    run(machine, 180.0)
    running = machine.progress()
    assert running is not None
    assert running.operation.operation_id == "b"
    machine.load_schedule(2, (OPS[2], OPS[0], OPS[1]))
    progress = machine.progress()
    assert progress is not None
    assert (progress.version, progress.index, progress.good) == (2, 2, running.good)
    changes = run(machine, 3000.0)
    assert [c.progress.operation.operation_id for c in changes if c.change == "finished"] == [
        "b",
        "c",
    ]


def test_a_withdrawn_operation_is_paused_with_its_counts_and_resumed_if_it_returns() -> None:
    """An operation left out of the new schedule pauses; back in a later one it goes on."""
    machine = Machine(seed=5, params=QUIET)
    machine.load_schedule(1, OPS[:1])
    run(machine, 100.0)
    before = machine.progress()
    assert before is not None
    machine.load_schedule(2, OPS[2:])
    withdrawn = machine.operation_changes()
    assert summary(withdrawn) == [("state", "a", "paused", before.good, before.scrap)]
    assert withdrawn[0].progress.version == 1
    run(machine, 1000.0)
    machine.load_schedule(3, OPS[:1])
    changes = run(machine, 3000.0)
    assert changes[0].change == "started"
    assert changes[0].progress.good == before.good
    assert changes[-1].progress.good == 20


def test_without_a_schedule_the_machine_idles() -> None:
    """No schedule, not free-running: the machine stays idle and makes nothing."""
    machine = Machine(seed=1)
    assert run(machine, 3600.0, step_s=60.0) == []
    assert machine.state is MachineState.IDLE
    assert machine.part_count == 0
    assert machine.progress() is None


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Operation("a", "j", 0), "quantity"),
        (lambda: Operation("a", "j", True), "quantity"),
        (lambda: Operation("", "j", 1), "operation_id"),
        (lambda: Operation("a", "j", 1, setup_s=float("nan")), "setup_s"),
        (lambda: Machine(seed=1).load_schedule(1, [OPS[0], OPS[0]]), "operations"),
        (lambda: Machine(seed=1).restore({"version": 1}), "retained"),
        (
            lambda: Machine(seed=1).restore({**Machine(seed=1).retained(), "queue": ["x"]}),
            "retained",
        ),
    ],
)
def test_bad_operations_and_retained_states_are_refused(build: object, field: str) -> None:
    """Invalid operations, duplicate ids and garbage retained states raise SimConfigError."""
    with pytest.raises(SimConfigError) as info:
        build()  # type: ignore[operator]
    assert info.value.field == field
