"""Routing from the road (pure): what vehicles reported turned into the next problem.

- A vehicle still carrying loaded deliveries (pinned stops) and whose position is known
  starts from where it is, now (`VehicleStart` at its place `@{vehicle id}`), not from
  its depot; one with nothing loaded is back at (or bound for) its depot.
- A delivered stop drops out: the runner closes its order (`PlanRunner.close_orders`).
- A failed stop goes back into the plan: it stays an order, no longer pinned to its
  vehicle, so any vehicle may take it again.
- `locate` gives a problem whose depots and orders all have latitude/longitude a
  `TravelMatrix` from the travel-time port, the vehicles' positions included; a problem
  with a place in plan units only stays planar.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace

from coordinator.plan.routing.problem import RoutingProblem, VehicleStart
from coordinator.plan.routing.tours import at_depot
from coordinator.plan.routing.travel import LatLon, TravelTimes, travel_matrix


@dataclass(frozen=True, slots=True)
class Position:
    """Where a vehicle last said it was (degrees) and when (plan units)."""

    vehicle_id: str
    lat: float
    lon: float
    at: float


def place_of(vehicle_id: str) -> str:
    """The place id of a vehicle's position in a travel matrix."""
    return f"@{vehicle_id}"


def from_the_road(
    problem: RoutingProblem,
    *,
    positions: Mapping[str, Position],
    failed: Collection[str],
    now: float,
) -> RoutingProblem:
    """The next problem after what the vehicles reported (see the module)."""
    pinned = tuple(p for p in problem.pinned if p.order_id not in failed)
    loaded = {p.vehicle_id for p in pinned}
    vehicles = tuple(
        replace(
            v,
            start=VehicleStart(place_of(v.id), time=max(now, positions[v.id].at)),
        )
        if v.id in positions and v.id in loaded
        else v
        for v in problem.vehicles
    )
    return replace(problem, pinned=pinned, vehicles=vehicles)


def back_at_depot(
    problem: RoutingProblem,
    travel: TravelTimes,
    *,
    time_unit_s: float,
    positions: Mapping[str, Position],
    now: float,
) -> RoutingProblem:
    """With tours: a van carrying nothing but away from its depot (on its way back from a
    tour, or sent to a new depot) starts its next route at its depot when it can be there:
    now plus the drive back from where it last said it was (`VehicleStart` at the depot's
    place), so the router gives what is urgent to a van already there. Vans at their depot
    or never located, and depots with no place on Earth, are left as they are."""
    depots = {d.id: d for d in problem.depots}
    away: list[tuple[int, LatLon, LatLon]] = []  # (vehicle index, where it is, its depot)
    for i, v in enumerate(problem.vehicles):
        depot, where = depots[v.depot_id], positions.get(v.id)
        if (
            v.start is None
            and where is not None
            and depot.lat is not None
            and depot.lon is not None
            and not at_depot((where.lat, where.lon), (depot.lat, depot.lon))
        ):
            away.append((i, LatLon(where.lat, where.lon), LatLon(depot.lat, depot.lon)))
    if not away:
        return problem
    # one ask of the travel-time port: each van's position, then each van's depot
    times = travel.durations_s([a[1] for a in away] + [a[2] for a in away])
    vehicles = list(problem.vehicles)
    for k, (i, _where, _home) in enumerate(away):
        v = vehicles[i]
        depot = depots[v.depot_id]
        back = math.ceil(times[k][len(away) + k] / time_unit_s)
        vehicles[i] = replace(v, start=VehicleStart(depot.id, depot.x, depot.y, time=now + back))
    return replace(problem, vehicles=tuple(vehicles))


def locate(
    problem: RoutingProblem,
    travel: TravelTimes,
    *,
    time_unit_s: float,
    positions: Mapping[str, Position],
) -> RoutingProblem:
    """`problem` with travel times between its real places (unchanged if one is planar)."""
    located = [(d.id, d.lat, d.lon) for d in problem.depots]
    located += [(o.id, o.lat, o.lon) for o in problem.orders]
    places: list[tuple[str, LatLon]] = []
    for place_id, lat, lon in located:
        if lat is None or lon is None:
            return problem
        places.append((place_id, LatLon(lat, lon)))
    depots = {d.id for d in problem.depots}
    starts: Iterable[VehicleStart] = (
        v.start for v in problem.vehicles if v.start is not None and v.start.place_id not in depots
    )  # (a van on its way back starts at its depot, a place already in the matrix)
    for start in starts:
        vehicle_id = start.place_id.removeprefix("@")
        where = positions[vehicle_id]
        places.append((start.place_id, LatLon(where.lat, where.lon)))
    return replace(problem, travel=travel_matrix(places, travel, time_unit_s=time_unit_s))


__all__ = ["Position", "back_at_depot", "from_the_road", "locate", "place_of"]
