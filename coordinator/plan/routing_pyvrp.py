"""PyVRP adapter (the only module that imports pyvrp).

Orders that no vehicle could serve alone are left out before solving (and explained).
The rest are required when the fleet's capacity covers their demand, otherwise optional
with a prize larger than any detour, so the solver serves as many as it can. With
`num_workers > 1` independent searches run in separate processes with seeds
`seed, seed + 1, ...` and the shortest feasible result wins: PyVRP's search is
single-threaded, so this is how the planner uses a second core.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np
import pyvrp
import pyvrp.stop

from coordinator.plan.errors import SolverError
from coordinator.plan.routing_compile import CompiledRouting, CompiledVehicle, compile_routing
from coordinator.plan.routing_explain import blocking_limits, decode
from coordinator.plan.routing_problem import RoutingProblem, RoutingResult

__all__ = ["solve_pyvrp"]

_UNBOUNDED = 10**15


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except (RuntimeError, ValueError, TypeError, OverflowError) as exc:
        raise SolverError(str(exc), solver="pyvrp") from exc


_TypeKey = tuple[int, int, int, int, int, int | None]


def _type_key(v: CompiledVehicle) -> _TypeKey:
    return (
        v.start_node,
        v.end_node,
        v.capacity,
        v.earliest_start,
        min(v.max_duration, _UNBOUNDED),
        v.latest_start,
    )


def _data(model: CompiledRouting, nodes: list[int]) -> tuple[pyvrp.ProblemData, list[_TypeKey]]:
    """ProblemData over the start nodes (depots) and the order `nodes` to plan.

    Loads and coordinates are scaled like distances (by `model.scale`), as
    `pyvrp.read(..., round_func="dimacs")` does: PyVRP's penalty manager starts from
    ratios of these magnitudes, and unscaled loads made the search measurably weaker on
    tight-window instances (R101). Scaled, a fixed-iteration run follows exactly the same
    trajectory as PyVRP on the VRPLIB file.
    """
    first = model.first_order_node
    keep = list(range(first)) + nodes
    locations = [
        pyvrp.Location(model.xy[n][0] * model.scale, model.xy[n][1] * model.scale) for n in keep
    ]
    depots = [
        pyvrp.Depot(location=k, tw_early=model.ready[n], tw_late=min(model.due[n], _UNBOUNDED))
        for k, n in enumerate(keep[:first])
    ]
    total_capacity = sum(v.capacity for v in model.vehicles)
    required = sum(model.demand[n] for n in nodes) <= total_capacity
    prize = int(3 * model.distance.max()) + 1
    clients = [
        pyvrp.Client(
            location=first + k,
            delivery=[model.demand[n] * model.scale],
            service_duration=model.service[n],
            tw_early=model.ready[n],
            tw_late=min(model.due[n], _UNBOUNDED),
            required=required,
            prize=0 if required else prize,
        )
        for k, n in enumerate(nodes)
    ]
    groups: dict[_TypeKey, int] = {}
    for v in model.vehicles:
        groups[_type_key(v)] = groups.get(_type_key(v), 0) + 1
    types = [
        pyvrp.VehicleType(
            num_available=count,
            capacity=[capacity * model.scale],
            start_depot=start,
            end_depot=end,
            tw_early=early,
            tw_late=min(model.due[end], _UNBOUNDED),
            shift_duration=duration,
            start_late=late,
        )
        for (start, end, capacity, early, duration, late), count in groups.items()
    ]
    matrices: list[Any] = [np.ascontiguousarray(model.distance[np.ix_(keep, keep)])]
    data = pyvrp.ProblemData(locations, clients, depots, types, matrices, matrices)
    return data, list(groups)


def _solve_one(
    data: pyvrp.ProblemData, seed: int, time_limit_s: float, max_iterations: int | None
) -> tuple[bool, int, int, list[tuple[int, list[int]]]]:
    stop: pyvrp.stop.StoppingCriterion = (
        pyvrp.stop.MaxRuntime(time_limit_s)
        if max_iterations is None
        else pyvrp.stop.MultipleCriteria(
            [pyvrp.stop.MaxIterations(max_iterations), pyvrp.stop.MaxRuntime(time_limit_s)]
        )
    )
    result = pyvrp.solve(data, stop, seed=seed, display=False, collect_stats=False)
    best = result.best
    routes = [
        (route.vehicle_type(), [a.idx for a in route if a.is_client()]) for route in best.routes()
    ]
    return best.is_feasible(), best.num_missing_clients(), int(best.distance()), routes


def solve_pyvrp(
    problem: RoutingProblem,
    *,
    time_limit_s: float,
    seed: int = 0,
    num_workers: int = 1,
    max_iterations: int | None = None,
) -> RoutingResult:
    """Routes for `problem` by PyVRP within `time_limit_s` (see module docstring)."""
    started = time.perf_counter()
    model = compile_routing(problem)
    first = model.first_order_node
    candidates = range(first, len(model.order_at))
    excluded = [n for n in candidates if all(blocking_limits(model, v, n) for v in model.vehicles)]
    nodes = [n for n in candidates if n not in set(excluded)]
    routes: dict[int, list[int]] = {}
    if nodes and model.vehicles:
        with _translated():
            data, type_keys = _data(model, nodes)
            # Keep back time to collect results (and, with workers, to fork and join them).
            reserve_s = 0.1 + (0.2 if num_workers > 1 else 0.0)
            budget = max(0.05, time_limit_s - (time.perf_counter() - started) - reserve_s)
            outcomes = _run(data, seed, budget, max_iterations, num_workers)
        feasible = [o for o in outcomes if o[0]]
        if not feasible:
            raise SolverError("no feasible solution found", solver="pyvrp")
        best = min(feasible, key=lambda o: (o[1], o[2]))
        routes = _assign_vehicles(model, type_keys, best[3], nodes)
    return decode(
        problem,
        model,
        routes,
        solver="pyvrp",
        wall_time_s=time.perf_counter() - started,
        excluded=excluded,
    )


def _run(
    data: pyvrp.ProblemData,
    seed: int,
    budget: float,
    max_iterations: int | None,
    num_workers: int,
) -> list[tuple[bool, int, int, list[tuple[int, list[int]]]]]:
    if num_workers <= 1:
        return [_solve_one(data, seed, budget, max_iterations)]
    # fork: the children start at once and inherit the imported libraries.
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=num_workers, mp_context=context) as pool:
        futures = [
            pool.submit(_solve_one, data, seed + k, budget, max_iterations)
            for k in range(num_workers)
        ]
        return [f.result() for f in futures]


def _assign_vehicles(
    model: CompiledRouting,
    type_keys: list[_TypeKey],
    solved: list[tuple[int, list[int]]],
    nodes: list[int],
) -> dict[int, list[int]]:
    """Map PyVRP's routes (vehicle type, client indices) to compiled vehicle indices."""
    free: dict[_TypeKey, list[int]] = {}
    for index, v in enumerate(model.vehicles):
        free.setdefault(_type_key(v), []).append(index)
    routes: dict[int, list[int]] = {}
    for type_index, clients in solved:
        routes[free[type_keys[type_index]].pop(0)] = [nodes[c] for c in clients]
    return routes
