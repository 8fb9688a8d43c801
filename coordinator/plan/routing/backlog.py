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
`wait_now` takes the time since the plan off.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping

from coordinator.plan.routing.problem import RoutingProblem, RoutingResult

__all__ = ["depot_waits", "wait_now"]


def depot_waits(problem: RoutingProblem, result: RoutingResult, *, now: float) -> dict[str, float]:
    """Per depot with vans, how long (the problem's units, from `now`) until its vans could
    take one more delivery: the rest of their planned routes and the work of the
    deliveries bound there left unserved, divided by its vans (0: a van is free now)."""
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
    waits: dict[str, float] = {}
    for depot, count in vans.items():
        per_stop = stop_time[depot] / stops[depot] if stops[depot] else overall
        waits[depot] = (busy[depot] + waiting[depot] * per_stop) / count
    return waits


def wait_now(waits: Mapping[str, float], *, planned_at: float, now: float) -> dict[str, float]:
    """The waits of a plan made at `planned_at`, at `now` (same units): each less the time
    since, never below 0."""
    gone = max(0.0, now - planned_at)
    return {depot: max(0.0, wait - gone) for depot, wait in waits.items()}
