"""Plan updates carried by `schedule` and `route` commands: round trips and strict refusal."""

from __future__ import annotations

from typing import Any

import pytest

from protocol import Command, InvalidMessage, decode, encode, topic_for
from protocol.plans import (
    MAX_PLAN_ITEMS,
    PlannedOperation,
    RouteUpdate,
    ScheduleUpdate,
    plan_command,
    plan_update,
)

TS = 1_700_000_000_000
SCHEDULE = ScheduleUpdate(
    version=3,
    machine_id="m1",
    epoch_ms=TS,
    time_unit_s=60,
    operations=(
        PlannedOperation(operation_id="j1:0", job_id="j1", start=0, end=5),
        PlannedOperation(operation_id="j2:0", job_id="j2", start=7, end=9, setup=2),
    ),
    moved=("j2:0",),
    reassigned_in=("j1:0",),
    reassigned_out=("j3:1",),
    added=("j2:0",),
    removed=("j0:0",),
)
ROUTE = RouteUpdate(version=1, vehicle_id="v1", depot_id="w1", stops=("o1", "o2"))


def _args(**changes: Any) -> dict[str, Any]:
    return {**SCHEDULE.to_dict(), **changes}


@pytest.mark.parametrize("update", [SCHEDULE, ROUTE])
def test_plan_update_round_trips_through_a_command(update: ScheduleUpdate | RouteUpdate) -> None:
    """An update put in a command, encoded and decoded on its topic, comes back equal."""
    command = plan_command(update, site="s1", node="m1", cmd_id="p1", ts=TS)
    assert topic_for(command) == f"ff/v1/s1/m1/cmd/{update.kind}"
    decoded = decode(topic_for(command), encode(command))
    assert isinstance(decoded, Command)
    assert plan_update(decoded) == update


def test_schedule_update_normalises_numbers_and_lists() -> None:
    """The unit becomes a float and every list a tuple of checked values."""
    assert SCHEDULE.time_unit_s == 60.0
    assert isinstance(SCHEDULE.time_unit_s, float)
    assert SCHEDULE.to_dict()["operations"][1] == {
        "operation_id": "j2:0",
        "job_id": "j2",
        "start": 7,
        "end": 9,
        "setup": 2,
    }


def test_a_command_that_is_no_plan_update_is_refused() -> None:
    """`plan_update` refuses other commands by name."""
    command = Command(site="s1", node="m1", name="config", cmd_id="c", ts=TS, args={})
    with pytest.raises(InvalidMessage, match="carries no plan update"):
        plan_update(command)


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (_args(extra=1), "unknown field 'extra'"),
        ({k: v for k, v in _args().items() if k != "version"}, "missing field 'version'"),
        (_args(version=0), "outside"),
        (_args(version="3"), "expected an integer"),
        (_args(machine_id="m/1"), "does not match"),
        (_args(epoch_ms=5), "outside"),
        (_args(time_unit_s=True), "expected a number"),
        (_args(operations=[1]), "expected an operation object"),
        (_args(operations=[{"operation_id": "a", "job_id": "j"}]), "missing field 'start'"),
        (
            _args(operations=[{"operation_id": "a", "job_id": "j", "start": 0, "end": 1, "x": 1}]),
            "unknown field 'x'",
        ),
        (
            _args(operations=[{"operation_id": "a", "job_id": "j", "start": 5, "end": 1}]),
            "before start",
        ),
        (
            _args(operations=[{"operation_id": "a b", "job_id": "j", "start": 0, "end": 1}]),
            "does not match",
        ),
        (_args(moved=["ok", 3]), "expected a string"),
        (_args(added=["x"] * (MAX_PLAN_ITEMS + 1)), "items, expected"),
    ],
)
def test_malformed_schedule_updates_are_refused(args: dict[str, Any], problem: str) -> None:
    """Each malformed schedule update raises `InvalidMessage` naming the problem."""
    command = Command(site="s1", node="m1", name="schedule", cmd_id="c", ts=TS, args=args)
    with pytest.raises(InvalidMessage, match=problem):
        plan_update(command)


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ({"version": 1, "vehicle_id": "v1", "stops": []}, "missing field 'depot_id'"),
        ({"version": 1, "vehicle_id": "v1", "depot_id": "w", "stops": "o1"}, "expected an array"),
        ({"version": 1, "vehicle_id": "", "depot_id": "w"}, "does not match"),
    ],
)
def test_malformed_route_updates_are_refused(args: dict[str, Any], problem: str) -> None:
    """Each malformed route update raises `InvalidMessage` naming the problem."""
    command = Command(site="s1", node="w1", name="route", cmd_id="c", ts=TS, args=args)
    with pytest.raises(InvalidMessage, match=problem):
        plan_update(command)
