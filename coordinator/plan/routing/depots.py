"""Vans load where the goods are (pure): a routing problem split by depot.

An order bound to a depot (`Order.depot_id`: a delivery from the stock of that
micro-warehouse, or a transfer's pickup to be unloaded there) may only be carried by a
vehicle based at that depot, whose route starts and ends there. When any order of a
problem with several depots is bound, the problem is split into one problem per depot:
its vehicles, its bound orders, the orders pinned to its vehicles, and the unbound orders
nearest to it (by the problem's travel times when located, else planar distance). Each
part is solved alone and the results merged; orders of a depot without vehicles are
unserved (`fleet`). Without bound orders, or with one depot, the problem stays whole.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from coordinator.plan.routing.problem import (
    Order,
    RoutingProblem,
    RoutingResult,
    Unserved,
)

__all__ = ["DepotSplit", "merge_results", "split_by_depot"]


@dataclass(frozen=True)
class DepotSplit:
    """The parts to solve and the orders no part can serve."""

    parts: tuple[RoutingProblem, ...]
    unserved: tuple[Unserved, ...] = ()


def _nearest_depot(problem: RoutingProblem, order: Order) -> str:
    travel = problem.travel
    if travel is not None:
        at = travel.index()
        return min(problem.depots, key=lambda d: (travel.times[at[d.id]][at[order.id]], d.id)).id
    return min(problem.depots, key=lambda d: (math.hypot(d.x - order.x, d.y - order.y), d.id)).id


def split_by_depot(problem: RoutingProblem) -> DepotSplit:
    """The parts of `problem` by depot (see the module); `(problem,)` when it stays whole."""
    depot_ids = {d.id for d in problem.depots}
    if len(depot_ids) < 2 or not any(o.depot_id in depot_ids for o in problem.orders):
        return DepotSplit((problem,))
    home = {v.id: v.depot_id for v in problem.vehicles}
    pinned_to = {p.order_id: home[p.vehicle_id] for p in problem.pinned}
    group: dict[str, list[Order]] = {d.id: [] for d in problem.depots}
    for order in problem.orders:
        if order.id in pinned_to:
            where = pinned_to[order.id]
        elif order.depot_id is not None and order.depot_id in depot_ids:
            where = order.depot_id
        else:
            where = _nearest_depot(problem, order)
        group[where].append(order)
    parts: list[RoutingProblem] = []
    unserved: list[Unserved] = []
    for depot in problem.depots:
        vehicles = tuple(v for v in problem.vehicles if v.depot_id == depot.id)
        orders = tuple(group[depot.id])
        if not orders:
            continue
        if not vehicles:
            unserved += [
                Unserved(o.id, "fleet", f"no vehicle is based at depot {depot.id}, where it loads")
                for o in orders
            ]
            continue
        parts.append(
            replace(
                problem,
                depots=(depot,),
                orders=orders,
                vehicles=vehicles,
                pinned=tuple(p for p in problem.pinned if home[p.vehicle_id] == depot.id),
                name=f"{problem.name}@{depot.id}",
            )
        )
    return DepotSplit(tuple(parts), tuple(unserved))


def merge_results(
    results: Sequence[RoutingResult], unserved: Sequence[Unserved] = ()
) -> RoutingResult:
    """One result of the parts' results (routes, distances, unserved orders, wall time)."""
    return RoutingResult(
        routes=tuple(r for result in results for r in result.routes),
        total_distance=sum(result.total_distance for result in results),
        unserved=tuple(u for result in results for u in result.unserved) + tuple(unserved),
        solver=results[0].solver if results else "",
        wall_time_s=sum(result.wall_time_s for result in results),
    )
