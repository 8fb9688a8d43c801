"""Compile a `RoutingProblem` into the integer form both routing solvers consume.

Nodes: the depots, then one start node per vehicle on the road or with pinned stops
(placed after its committed prefix, driven from where it is, opening when it gets
there), then the orders still to plan. Distances and times are integers in units of
10**-distance_decimals; each arc is the Euclidean distance truncated (DIMACS), or the
problem's travel time between the two places when it has a `TravelMatrix`. The committed
prefix of a vehicle is kept aside and added back when routes are decoded.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from coordinator.plan.routing.problem import NO_LIMIT, Order, RoutingProblem, Vehicle

__all__ = ["CompiledRouting", "CompiledVehicle", "compile_routing", "truncated_distance"]

_INF = NO_LIMIT * 10_000


def truncated_distance(x1: float, y1: float, x2: float, y2: float, *, scale: int) -> int:
    """Euclidean distance times `scale`, truncated (a tiny epsilon absorbs float error)."""
    return math.floor(math.hypot(x1 - x2, y1 - y2) * scale + 1e-7)


@dataclass(frozen=True, slots=True)
class CompiledVehicle:
    """One vehicle in solver units, starting after its committed prefix."""

    vehicle_id: str
    depot_id: str
    start_node: int
    end_node: int
    capacity: int  # left after the prefix
    earliest_start: int
    latest_start: int | None  # fixed when a prefix is driven
    latest_end: int
    max_duration: int  # left after the prefix
    prefix: tuple[str, ...]
    prefix_distance: int
    prefix_load: int
    route_start: int  # when the vehicle leaves its depot (or where it is on the road)


@dataclass(frozen=True)
class CompiledRouting:
    """Integer matrices and per-node data; `order_at[node]` is '' for depot/start nodes."""

    scale: int
    xy: list[tuple[float, float]]
    distance: npt.NDArray[np.int64]
    ready: list[int]
    due: list[int]
    service: list[int]
    demand: list[int]
    order_at: list[str]
    depot_count: int
    vehicles: list[CompiledVehicle]

    @property
    def first_order_node(self) -> int:
        """Index of the first order node (depots and start nodes come before)."""
        return self.depot_count + sum(1 for v in self.vehicles if v.start_node >= self.depot_count)


def _scaled(value: float, scale: int) -> int:
    return _INF if value >= NO_LIMIT else round(value * scale)


Place = tuple[str, float, float]
"""(place id, x, y): a node as the leg function sees it."""


def _leg_function(problem: RoutingProblem, scale: int) -> Callable[[Place, Place], int]:
    """The scaled travel time between two places: from the travel matrix if there is one,
    else the truncated Euclidean distance."""
    if problem.travel is None:
        return lambda a, b: truncated_distance(a[1], a[2], b[1], b[2], scale=scale)
    index, times = problem.travel.index(), problem.travel.times
    return lambda a, b: math.floor(times[index[a[0]]][index[b[0]]] * scale + 1e-7)


def _vehicle(
    problem: RoutingProblem,
    vehicle: Vehicle,
    home: int,
    prefix: tuple[Order, ...],
    scale: int,
    leg: Callable[[Place, Place], int],
) -> tuple[CompiledVehicle, Place]:
    """The vehicle after driving its committed prefix (from where it is), and where that
    leaves it."""
    depot = problem.depots[home]
    t = _scaled(depot.open, scale)
    max_duration = _INF if vehicle.max_duration is None else _scaled(vehicle.max_duration, scale)
    here: Place = (depot.id, depot.x, depot.y)
    travelled, load = 0, 0
    leaves = t
    if vehicle.start is not None:
        start = vehicle.start
        here = (start.place_id, start.x, start.y)
        t = leaves = max(t, _scaled(start.time, scale))
    for order in prefix:
        step = leg(here, (order.id, order.x, order.y))
        travelled += step
        t = max(t + step, _scaled(order.ready, scale)) + _scaled(order.service, scale)
        load += order.demand
        here = (order.id, order.x, order.y)
    moved = bool(prefix) or vehicle.start is not None
    if moved:
        max_duration = max(0, max_duration - (t - _scaled(depot.open, scale)))
    compiled = CompiledVehicle(
        vehicle_id=vehicle.id,
        depot_id=vehicle.depot_id,
        start_node=home,  # a vehicle with a prefix gets its own start node later
        end_node=home,
        capacity=max(0, vehicle.capacity - load),
        earliest_start=t,
        latest_start=t if moved else None,
        latest_end=_scaled(depot.close, scale),
        max_duration=max_duration,
        prefix=tuple(o.id for o in prefix),
        prefix_distance=travelled,
        prefix_load=load,
        route_start=leaves,
    )
    return compiled, here


def compile_routing(problem: RoutingProblem) -> CompiledRouting:
    """The integer model of `problem` (see module docstring)."""
    scale = 10**problem.distance_decimals
    depots = {d.id: i for i, d in enumerate(problem.depots)}
    orders = {o.id: o for o in problem.orders}
    xy = [(d.x, d.y) for d in problem.depots]
    ready = [_scaled(d.open, scale) for d in problem.depots]
    due = [_scaled(d.close, scale) for d in problem.depots]
    service = [0] * len(xy)
    demand = [0] * len(xy)
    order_at = [""] * len(xy)
    pinned_by_vehicle: dict[str, list[str]] = {}
    for pin in problem.pinned:
        pinned_by_vehicle.setdefault(pin.vehicle_id, []).append(pin.order_id)

    leg = _leg_function(problem, scale)
    places: list[Place] = [(d.id, d.x, d.y) for d in problem.depots]
    vehicles: list[CompiledVehicle] = []
    starts: list[tuple[int, Place, int]] = []  # (vehicle index, place, time)
    for vehicle in problem.vehicles:
        compiled, here = _vehicle(
            problem,
            vehicle,
            depots[vehicle.depot_id],
            tuple(orders[o] for o in pinned_by_vehicle.get(vehicle.id, ())),
            scale,
            leg,
        )
        if compiled.prefix or vehicle.start is not None:
            starts.append((len(vehicles), here, compiled.earliest_start))
        vehicles.append(compiled)
    for index, here, t in starts:
        v = vehicles[index]
        vehicles[index] = replace(v, start_node=len(xy))
        places.append(here)
        xy.append((here[1], here[2]))
        ready.append(t)
        due.append(t)
        service.append(0)
        demand.append(0)
        order_at.append("")
    depot_count = len(problem.depots)
    committed = {pin.order_id for pin in problem.pinned}
    for order in problem.orders:
        if order.id in committed:
            continue
        places.append((order.id, order.x, order.y))
        xy.append((order.x, order.y))
        ready.append(_scaled(order.ready, scale))
        due.append(_scaled(order.due, scale))
        service.append(_scaled(order.service, scale))
        demand.append(order.demand)
        order_at.append(order.id)
    if problem.travel is None:
        coords = np.array(xy, dtype=np.float64).reshape(-1, 2)
        deltas = coords[:, None, :] - coords[None, :, :]
        matrix = np.floor(np.hypot(deltas[..., 0], deltas[..., 1]) * scale + 1e-7).astype(np.int64)
    else:
        row_of = problem.travel.index()
        rows = [row_of[place[0]] for place in places]
        times = np.array(problem.travel.times, dtype=np.float64)
        matrix = np.floor(times[np.ix_(rows, rows)] * scale + 1e-7).astype(np.int64)
    return CompiledRouting(
        scale, xy, matrix, ready, due, service, demand, order_at, depot_count, vehicles
    )
