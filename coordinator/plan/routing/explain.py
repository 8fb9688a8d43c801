"""Explain unserved orders and turn solver routes back into a `RoutingResult`.

An order is checked alone against every vehicle: can it carry the demand, reach the
order inside its window and get home before the depot closes, within its maximum route
duration? If no vehicle passes, the limit that blocks every vehicle is the reason
(`capacity`, `time_window`, `route_length`); if some vehicle could serve it alone, the
reason is `fleet`: the routes that could take it are full.
"""

from __future__ import annotations

from coordinator.plan.routing.compile import CompiledRouting, CompiledVehicle
from coordinator.plan.routing.problem import Route, RoutingProblem, RoutingResult, Unserved

__all__ = ["blocking_limits", "decode", "explain"]


def blocking_limits(model: CompiledRouting, vehicle: CompiledVehicle, node: int) -> list[str]:
    """The limits that stop `vehicle` from serving `node` on a route of its own."""
    d = model.distance
    limits: list[str] = []
    if model.demand[node] > vehicle.capacity:
        limits.append("capacity")
    arrive = max(vehicle.earliest_start + int(d[vehicle.start_node, node]), model.ready[node])
    back = arrive + model.service[node] + int(d[node, vehicle.end_node])
    if arrive > model.due[node] or back > vehicle.latest_end:
        limits.append("time_window")
    shortest = (
        int(d[vehicle.start_node, node]) + model.service[node] + int(d[node, vehicle.end_node])
    )
    if shortest > vehicle.max_duration:
        limits.append("route_length")
    return limits


def explain(model: CompiledRouting, node: int) -> Unserved:
    """Why the order at `node` is not served (see module docstring)."""
    order_id = model.order_at[node]
    per_vehicle = {v.vehicle_id: blocking_limits(model, v, node) for v in model.vehicles}
    if not per_vehicle:
        return Unserved(order_id, "fleet", "no vehicle available")
    if any(not limits for limits in per_vehicle.values()):
        return Unserved(
            order_id,
            "fleet",
            "vehicles that could serve it alone are full or would break other stops' windows",
        )
    for reason in ("capacity", "time_window", "route_length"):
        if all(reason in limits for limits in per_vehicle.values()):
            return Unserved(order_id, reason, _detail(model, node, reason))
    mixed = "; ".join(f"{vid}: {', '.join(lim)}" for vid, lim in sorted(per_vehicle.items()))
    first = next(iter(per_vehicle.values()))[0]
    return Unserved(order_id, first, f"each vehicle is blocked by some limit ({mixed})")


def _detail(model: CompiledRouting, node: int, reason: str) -> str:
    s = model.scale
    if reason == "capacity":
        best = max(v.capacity for v in model.vehicles)
        return f"demand {model.demand[node]} exceeds the largest free capacity {best}"
    if reason == "time_window":
        return (
            f"no vehicle can arrive by {model.due[node] / s:g} and get back before its depot closes"
        )
    longest = max(v.max_duration for v in model.vehicles)
    return f"a round trip needs more than the maximum route duration {longest / s:g}"


def decode(
    problem: RoutingProblem,
    model: CompiledRouting,
    routes: dict[int, list[int]],
    *,
    solver: str,
    wall_time_s: float,
    excluded: list[int],
) -> RoutingResult:
    """Routes from solver nodes (vehicle index → order nodes), prefixes added back."""
    d = model.distance
    out: list[Route] = []
    served: set[int] = set()
    for index, vehicle in enumerate(model.vehicles):
        nodes = routes.get(index, [])
        if not nodes and not vehicle.prefix:
            continue
        served.update(nodes)
        here, t, travelled = vehicle.start_node, vehicle.earliest_start, vehicle.prefix_distance
        load = vehicle.prefix_load
        for node in nodes:
            travelled += int(d[here, node])
            t = max(t + int(d[here, node]), model.ready[node]) + model.service[node]
            load += model.demand[node]
            here = node
        travelled += int(d[here, vehicle.end_node])
        t += int(d[here, vehicle.end_node])
        out.append(
            Route(
                vehicle_id=vehicle.vehicle_id,
                depot_id=vehicle.depot_id,
                stops=vehicle.prefix + tuple(model.order_at[n] for n in nodes),
                distance=travelled / model.scale,
                start=vehicle.route_start / model.scale,
                end=t / model.scale,
                load=load,
            )
        )
    missing = [
        n
        for n in range(model.first_order_node, len(model.order_at))
        if n not in served and n not in excluded
    ]
    unserved = tuple(explain(model, n) for n in sorted(excluded + missing))
    total = sum(round(r.distance * model.scale) for r in out) / model.scale
    return RoutingResult(tuple(out), total, unserved, solver, wall_time_s)
