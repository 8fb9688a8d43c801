"""Tours in the running coordinator (pure): a van leaves its depot loaded, and only when
the departure rules say so.

The router plans a route for every vehicle over every delivery waiting at its depot, again
and again as orders come in. A van at its depot is sent its route only when the route may
leave (`coordinator.plan.routing.departures`: full, a promise at risk, or its
longest-waiting stop waited long enough); its stops are then loaded (pinned to it) and stay
on it until each is delivered or failed. A van on a tour drives its loaded stops and nothing
else: a delivery the router plans after them waits for the van's next tour (its goods are
at the depot). A van whose tour is done is back for a new one once it reports a position at
its depot (`at_depot`).

A stop's promise is its window's end, or its `promised` time where that is sooner: a
delivery whose promise has passed keeps its window open (the router must still take it)
but leaves with the next van, as a promise at risk.

`look_at_tour` decides one route, `on_board_to_send` whether a van on a tour must be told its
stops again (after a restart, or a dispatch by hand), `at_depot` where a van is. Times are
plan units; the policy's thresholds are seconds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from coordinator.plan.routing.departures import (
    DeparturePolicy,
    Reason,
    departure_reason,
    latest_departure_s,
)
from coordinator.plan.routing.problem import NO_LIMIT, Route, RoutingProblem
from coordinator.plan.routing.travel import LatLon, great_circle_m

__all__ = [
    "AT_DEPOT_KM",
    "TourLook",
    "at_depot",
    "look_at_tour",
    "on_board_to_send",
    "tour_offsets",
]

AT_DEPOT_KM = 0.3
"""A van reported within this of its depot is there (a yard, a GPS fix's error)."""


def tour_offsets(problem: RoutingProblem, depot_id: str, stops: Sequence[str]) -> list[float]:
    """When service starts at each stop of a tour after it leaves `depot_id`, in plan units:
    the legs of the problem's travel matrix (or planar distances), each stop's service
    time, and no waiting (a tour leaving now is late, if at all, by the drive)."""
    orders = {o.id: o for o in problem.orders}
    depot = next(d for d in problem.depots if d.id == depot_id)
    if problem.travel is not None:
        index, times = problem.travel.index(), problem.travel.times

        def leg(a: str, b: str) -> float:
            return times[index[a]][index[b]]
    else:
        places = {depot.id: (depot.x, depot.y)} | {o.id: (o.x, o.y) for o in problem.orders}

        def leg(a: str, b: str) -> float:
            (x1, y1), (x2, y2) = places[a], places[b]
            return math.hypot(x1 - x2, y1 - y2)

    offsets, t, here = [], 0.0, depot_id
    for stop in stops:
        t += leg(here, stop)
        offsets.append(t)
        t += orders[stop].service
        here = stop
    return offsets


@dataclass(frozen=True, slots=True)
class TourLook:
    """A planned tour looked at, at its depot: why it leaves now (None: held), its load,
    and the latest it leaves if nothing fills it (plan units): when its oldest stop has
    waited the policy's longest wait, or the latest departure that keeps every promise on
    it, whichever comes first."""

    reason: Reason | None
    load: int
    leaves_by: float


def look_at_tour(
    problem: RoutingProblem,
    route: Route,
    *,
    capacity: int,
    since: Mapping[str, float],
    now: float,
    next_chance: float,
    unit_s: float,
    policy: DeparturePolicy,
) -> TourLook:
    """`route`, planned for a van at its depot, looked at now, the next look at
    `next_chance` (see `TourLook`). `since`: when each stop entered the plan (plan units; a
    stop not in it counts from `now`). A route without stops is held."""
    if not route.stops:
        return TourLook(None, 0, math.inf)
    orders = {o.id: o for o in problem.orders}
    offsets = tour_offsets(problem, route.depot_id, route.stops)
    deadlines = [min(orders[s].due, orders[s].promised) for s in route.stops]
    dues: list[float | None] = [None if d >= NO_LIMIT else d * unit_s for d in deadlines]
    load = sum(orders[s].demand for s in route.stops)
    oldest_s = min(since.get(s, now) for s in route.stops) * unit_s
    latest_s = latest_departure_s([o * unit_s for o in offsets], dues)
    reason = departure_reason(
        load=load,
        capacity=capacity,
        oldest_ready_s=oldest_s,
        latest_departure=latest_s,
        next_chance_s=next_chance * unit_s,
        policy=policy,
    )
    return TourLook(reason, load, min(latest_s, oldest_s + policy.max_wait_s) / unit_s)


def on_board_to_send(on_board: Sequence[str], sent: Sequence[str]) -> bool:
    """Whether a van carrying `on_board` (in order) must be sent them: not when they are
    what it was last sent less the stops done since (it drives them already)."""
    if not on_board:
        return False
    rest = iter(sent)  # each stop found in what is left after the one before
    return not all(stop in rest for stop in on_board)


def at_depot(
    position: tuple[float, float] | None, depot: tuple[float | None, float | None]
) -> bool:
    """Whether a van at `position` (lat, lon; None: never reported) is at its depot; a van
    never reported, or at a depot with no place on Earth, is taken to be there."""
    lat, lon = depot
    if position is None or lat is None or lon is None:
        return True
    return great_circle_m(LatLon(*position), LatLon(lat, lon)) <= AT_DEPOT_KM * 1000.0
