"""What the sales book reads from the rest of the coordinator: the fleet twin's shelves and
machine states, and the planner's schedule, routes and recipes (the adapters behind its
ports, and the thread that revises the promises after each re-plan)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from coordinator.fleet.twin import FleetTwin
from coordinator.plan.routing.travel import GreatCircleTravel, LatLon
from coordinator.plan.runner import PlanRunner
from coordinator.plan.state import PlanMade
from coordinator.plan.triggers import DOWN_STATE_CODES
from coordinator.sales.book import CapacityView, SalesBook
from coordinator.sales.promise import TravelTime

log = logging.getLogger(__name__)


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


class PromiseReviser:
    """Revises the promises after each re-plan on a thread of its own, so the planner never
    waits for it: `on_plan` (a runner plan listener) marks the plan's kind pending, and the
    thread revises from the runner's current view of it (several plans of a kind in a row
    are revised once, from the latest)."""

    def __init__(self, book: SalesBook, runner: PlanRunner) -> None:
        self.book = book
        self.runner = runner
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def on_plan(self, made: PlanMade) -> None:
        """A new plan was made: revise its kind soon."""
        with self._lock:
            self._pending.add(made.kind)
        self._wake.set()

    def run_pending(self) -> int:
        """Revise every pending kind now; returns how many orders moved."""
        with self._lock:
            kinds = sorted(self._pending)
            self._pending.clear()
        return sum(revise_promises(self.book, self.runner, kind) for kind in kinds)

    def start(self) -> None:
        """Revise in the background until `close`."""

        def loop() -> None:
            while not self._stop.is_set():
                self._wake.wait(1.0)
                self._wake.clear()
                try:
                    self.run_pending()
                except Exception:  # a store hiccup must not end the revisions for good
                    log.exception("promise revision failed")

        self._thread = threading.Thread(target=loop, name="sales-revisions", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the thread after the pass in hand."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None


def stock_source(twin: FleetTwin, skus: Iterable[str]) -> dict[str, dict[str, int]]:
    """Shelf node → units on hand of `skus`."""
    return twin.stock_of(skus)


def pairwise_travel(travel: GreatCircleTravel) -> TravelTime:
    """The promise's travel estimate between two places, from the planner's great-circle
    port (the same detour factor and speed; the promise never waits on an HTTP service)."""

    def between(a: tuple[float, float], b: tuple[float, float]) -> float:
        return travel.durations_s([LatLon(*a), LatLon(*b)])[0][1]

    return between
