"""What the sales book reads from the rest of the coordinator: the fleet twin's shelves and
machine states, and the planner's schedule, routes and recipes (the adapters behind its
ports, and the re-plan listener that revises promises)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from coordinator.fleet.twin import FleetTwin
from coordinator.plan.routing.travel import GreatCircleTravel, LatLon
from coordinator.plan.runner import PlanRunner
from coordinator.plan.triggers import DOWN_STATE_CODES
from coordinator.sales.book import CapacityView, SalesBook
from coordinator.sales.promise import TravelTime


def busy_intervals(schedule: Mapping[str, Any]) -> dict[str, list[tuple[float, float]]]:
    """Per machine, its scheduled operations (with their changeovers) in Unix seconds, from
    the planner's schedule view (plan units from `epoch_s`, `time_unit_s` each)."""
    epoch, unit = float(schedule.get("epoch_s") or 0.0), float(schedule.get("time_unit_s") or 1.0)
    return {
        machine: [
            (epoch + (op["start"] - op.get("setup", 0)) * unit, epoch + op["end"] * unit)
            for op in ops
        ]
        for machine, ops in schedule.get("machines", {}).items()
    }


def capacity_source(twin: FleetTwin, runner: PlanRunner | None) -> CapacityView:
    """The current schedule's busy time, the machines down or offline, its jobs and version."""
    schedule: dict[str, Any] = (
        runner.schedule() if runner is not None else {"machines": {}, "version": 0}
    )
    unavailable: set[str] = set()
    for view in twin.nodes():
        if view.kind != "machine":
            continue
        if not view.online:
            unavailable.add(view.node)
            continue
        state = next((s for s in twin.node(view.node, site=view.site).signals
                      if s.name == "state"), None)  # fmt: skip
        if state is not None and state.value in DOWN_STATE_CODES:
            unavailable.add(view.node)
    jobs = {op["job_id"] for ops in schedule.get("machines", {}).values() for op in ops}
    return CapacityView(
        busy=busy_intervals(schedule),
        unavailable=frozenset(unavailable),
        planned_jobs=frozenset(jobs),
        version=int(schedule.get("version") or 0),
    )


def revise_promises(book: SalesBook, runner: PlanRunner, kind: str) -> int:
    """After a re-plan of `kind` (`schedule` or `routes`): revise the promises of the orders
    that plan holds, from the runner's current view of it. Returns how many orders moved."""
    if kind == "schedule":
        return book.revise_schedule(runner.schedule())
    return book.revise_routes(runner.routes())


def stock_source(twin: FleetTwin, skus: Iterable[str]) -> dict[str, dict[str, int]]:
    """Shelf node → units on hand of `skus`."""
    return twin.stock_of(skus)


def pairwise_travel(travel: GreatCircleTravel) -> TravelTime:
    """The promise's travel estimate between two places, from the planner's great-circle
    port (the same detour factor and speed; the promise never waits on an HTTP service)."""

    def between(a: tuple[float, float], b: tuple[float, float]) -> float:
        return travel.durations_s([LatLon(*a), LatLon(*b)])[0][1]

    return between
