"""The operation index of a problem: every operation with its job and position, built
once per problem however many steps of a re-plan read it."""

from __future__ import annotations

from coordinator.plan.schedule.problem import SchedulingProblem
from coordinator.plan.schedule.rules import operation_index
from tests.coordinator.plan.plan_fixtures import job, machines, op


def test_each_operation_is_found_with_its_job_and_position_once_per_problem() -> None:
    """Two jobs of two and one operations: each id maps to its job and place; asking
    again gives the same index, not a rebuilt one; another problem has its own."""
    first = job("j1", op("a", ("M1", 3)), op("b", ("M2", 4)))
    second = job("j2", op("c", ("M1", 5)))
    problem = SchedulingProblem(machines=machines("M1", "M2"), jobs=(first, second))
    index = operation_index(problem)
    assert {k: (j.id, pos, o.id) for k, (j, pos, o) in index.items()} == {
        "a": ("j1", 0, "a"),
        "b": ("j1", 1, "b"),
        "c": ("j2", 0, "c"),
    }
    assert operation_index(problem) is index
    other = SchedulingProblem(machines=machines("M1", "M2"), jobs=(second,))
    assert set(operation_index(other)) == {"c"}
