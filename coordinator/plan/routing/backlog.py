"""How long a depot's vans are spoken for (pure): the wait a new delivery there can expect
before a van can take it, read from the current routes.

A promise that counts only the drive from the warehouse to the customer holds while the
vans have room; in a burst they have none, and every promise made on the drive alone is
missed. So after each route plan, per depot: the time its vans' planned routes still take
(each until the van is back), plus the deliveries bound there that no route takes yet
(each at the mean time per stop of the depot's routes, else of all routes), shared among
its vans. This is a fluid estimate: it does not say which van takes the new stop nor where
in a tour it falls (the promise's margin is for that, and the next plan revises the
promise); as time passes the vans work the backlog off at one unit of time per unit, so
`wait_now` takes the time since the plan off. Deliveries promised after the plan are in no
route yet; each adds its depot's mean time per stop, shared by its vans (`per_stop`), until
the next plan counts it (in a burst, dozens are promised between two plans, and a wait
that ignored them would promise each the same van).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from coordinator.plan.routing.problem import RoutingProblem, RoutingResult

__all__ = ["Backlog", "depot_waits", "wait_now"]


@dataclass(frozen=True, slots=True)
class Backlog:
    """A depot's vans after a plan: how long until they could take one more delivery
    (`wait`, 0: a van is free) and how much each delivery more adds to that (`per_stop`:
    the mean time per stop shared by its vans), in the problem's units."""

    wait: float
    per_stop: float

    def scaled(self, factor: float) -> Backlog:
        """The same in other units (`factor` of them to one of these)."""
        return Backlog(self.wait * factor, self.per_stop * factor)


def depot_waits(
    problem: RoutingProblem, result: RoutingResult, *, now: float
) -> dict[str, Backlog]:
    """Per depot with vans, its `Backlog` (the problem's units, from `now`): the rest of
    its vans' planned routes and the work of the deliveries bound there left unserved,
    divided by its vans; each stop at the mean time per stop of the depot's routes, else of
    all routes."""
    vans = Counter(v.depot_id for v in problem.vehicles)
    depot_of_van = {v.id: v.depot_id for v in problem.vehicles}
    busy: defaultdict[str, float] = defaultdict(float)
    stop_time: defaultdict[str, float] = defaultdict(float)
    stops: Counter[str] = Counter()
    for route in result.routes:
        depot = depot_of_van.get(route.vehicle_id, route.depot_id)
        busy[depot] += max(0.0, route.end - now)  # held until then, if it leaves later
        if route.stops:
            stop_time[depot] += max(0.0, route.end - route.start)
            stops[depot] += len(route.stops)
    overall = sum(stop_time.values()) / sum(stops.values()) if stops else 0.0
    bound = {o.id: o.depot_id for o in problem.orders}
    waiting = Counter(bound.get(u.order_id) for u in result.unserved)
    backlogs: dict[str, Backlog] = {}
    for depot, count in vans.items():
        per_stop = stop_time[depot] / stops[depot] if stops[depot] else overall
        backlogs[depot] = Backlog(
            (busy[depot] + waiting[depot] * per_stop) / count, per_stop / count
        )
    return backlogs


def wait_now(
    backlogs: Mapping[str, Backlog],
    *,
    planned_at: float,
    now: float,
    added: Mapping[str, int] | None = None,
) -> dict[str, float]:
    """The waits of a plan made at `planned_at`, at `now` (same units): each less the time
    since (never below 0), plus `per_stop` for each delivery `added` there since the plan."""
    gone = max(0.0, now - planned_at)
    more = added or {}
    return {
        depot: max(0.0, b.wait - gone) + more.get(depot, 0) * b.per_stop
        for depot, b in backlogs.items()
    }
