"""OR-Tools routing adapter (the only module of the router that imports OR-Tools).

Kept for comparison and as an alternative behind the same port: parallel cheapest
insertion, then guided local search until the time limit. Every order is optional
with a penalty larger than any detour, so the model always has a solution.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from coordinator.plan.errors import SolverError
from coordinator.plan.routing.compile import CompiledRouting, compile_routing
from coordinator.plan.routing.explain import blocking_limits, decode
from coordinator.plan.routing.problem import RoutingProblem, RoutingResult

__all__ = ["solve_ortools"]

_UNBOUNDED = 10**15


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except (RuntimeError, ValueError, TypeError, OverflowError) as exc:
        raise SolverError(str(exc), solver="ortools-routing") from exc


def solve_ortools(problem: RoutingProblem, *, time_limit_s: float, seed: int = 0) -> RoutingResult:
    """Routes for `problem` by OR-Tools routing within `time_limit_s` (`seed` is unused:
    the search is deterministic for a given time budget up to timing)."""
    started = time.perf_counter()
    model = compile_routing(problem)
    first = model.first_order_node
    candidates = range(first, len(model.order_at))
    excluded = [n for n in candidates if all(blocking_limits(model, v, n) for v in model.vehicles)]
    nodes = list(range(first)) + [n for n in candidates if n not in set(excluded)]
    routes: dict[int, list[int]] = {}
    if len(nodes) > first and model.vehicles:
        with _translated():
            routes = _solve(model, nodes, first, time_limit_s - (time.perf_counter() - started))
    return decode(
        problem,
        model,
        routes,
        solver="ortools-routing",
        wall_time_s=time.perf_counter() - started,
        excluded=excluded,
    )


def _solve(
    model: CompiledRouting, nodes: list[int], first: int, budget_s: float
) -> dict[int, list[int]]:
    vehicles = model.vehicles
    manager = pywrapcp.RoutingIndexManager(
        len(nodes),
        len(vehicles),
        [nodes.index(v.start_node) for v in vehicles],
        [nodes.index(v.end_node) for v in vehicles],
    )
    routing = pywrapcp.RoutingModel(manager)
    d = model.distance

    def distance(i: int, j: int) -> int:
        return int(d[nodes[manager.IndexToNode(i)], nodes[manager.IndexToNode(j)]])

    def travel(i: int, j: int) -> int:
        a = nodes[int(manager.IndexToNode(i))]
        return model.service[a] + int(d[a, nodes[int(manager.IndexToNode(j))]])

    def load(i: int) -> int:
        return model.demand[nodes[int(manager.IndexToNode(i))]]

    cost = routing.RegisterTransitCallback(distance)
    routing.SetArcCostEvaluatorOfAllVehicles(cost)
    demand = routing.RegisterUnaryTransitCallback(load)
    routing.AddDimensionWithVehicleCapacity(demand, 0, [v.capacity for v in vehicles], True, "load")
    horizon = min(_UNBOUNDED, max(model.due))
    routing.AddDimension(routing.RegisterTransitCallback(travel), horizon, horizon, False, "time")
    time_dim = routing.GetDimensionOrDie("time")
    for k, node in enumerate(nodes[first:], start=first):
        time_dim.CumulVar(manager.NodeToIndex(k)).SetRange(
            model.ready[node], min(model.due[node], horizon)
        )
        routing.AddDisjunction([manager.NodeToIndex(k)], int(3 * d.max()) + 1)
    for index, v in enumerate(vehicles):
        latest = v.latest_start if v.latest_start is not None else min(v.latest_end, horizon)
        time_dim.CumulVar(routing.Start(index)).SetRange(v.earliest_start, latest)
        time_dim.CumulVar(routing.End(index)).SetMax(min(v.latest_end, horizon))
        if v.max_duration < _UNBOUNDED:
            time_dim.SetSpanUpperBoundForVehicle(v.max_duration, index)
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.Start(index)))
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    )
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(max(10, int(budget_s * 1000)))
    solution = routing.SolveWithParameters(params)
    if solution is None:
        raise SolverError("no solution found", solver="ortools-routing")
    routes: dict[int, list[int]] = {}
    for index in range(len(vehicles)):
        at = routing.Start(index)
        visits: list[int] = []
        at = solution.Value(routing.NextVar(at))
        while not routing.IsEnd(at):
            visits.append(nodes[manager.IndexToNode(at)])
            at = solution.Value(routing.NextVar(at))
        if visits:
            routes[index] = visits
    return routes
