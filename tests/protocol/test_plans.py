"""Plan updates carried by `schedule` and `route` commands: round trips and strict refusal."""

from __future__ import annotations

from typing import Any

import pytest

from protocol import Command, InvalidMessage, decode, encode, topic_for
from protocol.plans import (
    MAX_PLAN_ITEMS,
    PlannedOperation,
    RouteStop,
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


def test_operations_carry_quantity_and_family_and_omit_them_when_unset() -> None:
    """Quantity and family round-trip; an operation without them keeps its v1 shape."""
    op = PlannedOperation(operation_id="a", job_id="j", start=0, end=1, quantity=40, family="f")
    update = ScheduleUpdate(
        version=1, machine_id="m1", epoch_ms=TS, time_unit_s=1, operations=(op,)
    )
    command = plan_command(update, site="s1", node="m1", cmd_id="c", ts=TS)
    decoded = decode(topic_for(command), encode(command))
    assert isinstance(decoded, Command)
    assert plan_update(decoded) == update
    assert set(SCHEDULE.to_dict()["operations"][0]) == {
        "operation_id",
        "job_id",
        "start",
        "end",
        "setup",
    }


@pytest.mark.parametrize(
    ("op", "problem"),
    [
        ({"quantity": 0}, "outside"),
        ({"quantity": 10**9 + 1}, "outside"),
        ({"quantity": "5"}, "expected an integer"),
        ({"family": "a b"}, "does not match"),
    ],
)
def test_malformed_operation_quantities_and_families_are_refused(
    op: dict[str, Any], problem: str
) -> None:
    """A quantity out of range or of the wrong type, or a bad family, is refused."""
    base = {"operation_id": "a", "job_id": "j", "start": 0, "end": 1}
    with pytest.raises(InvalidMessage, match=problem):
        plan_update(
            Command(
                site="s1",
                node="m1",
                name="schedule",
                cmd_id="c",
                ts=TS,
                args=_args(operations=[{**base, **op}]),
            )
        )


def test_route_stops_carry_locations_quantities_and_transfers() -> None:
    """Located stops and bare stop ids mix in one route and round-trip."""
    route = RouteUpdate(
        version=2,
        vehicle_id="v1",
        depot_id="d1",
        stops=(
            RouteStop(
                stop_id="f1",
                lat=45.0,
                lon=7.6,
                action="pickup",
                quantity=20,
                transfer_id="t1",
                sku="bolt-8",
            ),
            RouteStop(stop_id="w1", lat=45.1, lon=7.7, quantity=20, transfer_id="t1", sku="b"),
            "d1",
        ),
    )
    command = plan_command(route, site="s1", node="v1", cmd_id="c", ts=TS)
    decoded = decode(topic_for(command), encode(command))
    assert isinstance(decoded, Command)
    assert plan_update(decoded) == route
    assert route.to_dict()["stops"][2] == "d1"


@pytest.mark.parametrize(
    ("stop", "problem"),
    [
        (3, "expected a stop id or a stop object"),
        ("a b", "does not match"),
        ({"stop_id": "o1", "lat": 1.0}, "missing field 'lon'"),
        ({"stop_id": "o1", "lat": 1.0, "lon": 2.0, "x": 1}, "unknown field 'x'"),
        ({"stop_id": "o1", "lat": 90.5, "lon": 2.0}, "outside"),
        ({"stop_id": "o1", "lat": 1.0, "lon": -181}, "outside"),
        ({"stop_id": "o1", "lat": 1.0, "lon": 2.0, "action": "fly"}, "expected one of"),
        ({"stop_id": "o1", "lat": 1.0, "lon": 2.0, "quantity": -1}, "outside"),
        ({"stop_id": "o1", "lat": 1.0, "lon": 2.0, "transfer_id": "t/1"}, "does not match"),
        (
            {"stop_id": "o1", "lat": 1.0, "lon": 2.0, "transfer_id": "t1", "quantity": 1},
            "needs a sku",
        ),
        (
            {"stop_id": "o1", "lat": 1, "lon": 2, "transfer_id": "t1", "sku": "a"},
            "quantity >= 1",
        ),
        ({"stop_id": "o1", "lat": 1.0, "lon": 2.0, "sku": "a b"}, "does not match"),
    ],
)
def test_malformed_route_stops_are_refused(stop: object, problem: str) -> None:
    """Each malformed stop raises `InvalidMessage` naming the problem."""
    args = {"version": 1, "vehicle_id": "v1", "depot_id": "d1", "stops": [stop]}
    command = Command(site="s1", node="v1", name="route", cmd_id="c", ts=TS, args=args)
    with pytest.raises(InvalidMessage, match=problem):
        plan_update(command)


def test_route_stops_built_in_code_are_kept() -> None:
    """A `RouteStop` object passes the route's stop check as it is."""
    stop = RouteStop(stop_id="o1", lat=1.0, lon=2.0)
    assert RouteUpdate(version=1, vehicle_id="v", depot_id="d", stops=(stop,)).stops == (stop,)
