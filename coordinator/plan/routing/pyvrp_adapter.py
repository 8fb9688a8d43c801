"""PyVRP adapter (the only module that imports pyvrp).

Orders that no vehicle could serve alone are left out before solving (and explained).
The rest are required when the fleet's capacity covers their demand, otherwise optional
with a prize larger than any detour, so the solver serves as many as it can.

The search is PyVRP's iterated local search, run in our own loop (`_search`) so that its
late-acceptance history can be sized to the time budget: PyVRP's default (300) is made
for long runs and wastes much of a 2 s budget. With `num_workers > 1` searches with
seeds `seed, seed + 1, ...` run side by side (the first in the calling process, the
others forked) and swap their best solution halfway: the calling process goes on from
the best of all with the whole fleet, the others with one vehicle fewer than that
solution uses (`_worker`). The shortest feasible result wins. PyVRP's search is
single-threaded, so this is how the planner uses a second core.
"""

from __future__ import annotations

import multiprocessing
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

import numpy as np
import pyvrp
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.IteratedLocalSearch import IteratedLocalSearchParams
from pyvrp.PenaltyManager import PenaltyManager, PenaltyParams
from pyvrp.search import (
    OPERATORS,
    LocalSearch,
    NeighbourhoodParams,
    PerturbationManager,
    PerturbationParams,
    compute_neighbours,
)

from coordinator.plan.errors import SolverError
from coordinator.plan.routing.compile import CompiledRouting, CompiledVehicle, compile_routing
from coordinator.plan.routing.explain import blocking_limits, decode
from coordinator.plan.routing.problem import RoutingProblem, RoutingResult

__all__ = ["solve_pyvrp"]

_UNBOUNDED = 10**15
# Late-acceptance history: a share of the expected iterations, within PyVRP's default.
_HISTORY_SHARE = 1 / 30
_MIN_HISTORY = 10
_MAX_HISTORY = 300
# Share of the time budget over which the iteration rate is measured.
_PROBE_SHARE = 0.05
_RESTART_AFTER = IteratedLocalSearchParams().num_iters_no_improvement
# How long after the deadline the calling process waits for the other searches' results.
_JOIN_GRACE_S = 0.5

# (feasible, missing clients, distance, routes as (vehicle type, client indices))
_Outcome = tuple[bool, int, int, list[tuple[int, list[int]]]]
_Share = Callable[[pyvrp.Solution], pyvrp.Solution]


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


def _history_length(expected_iterations: float) -> int:
    """Late-acceptance history for a search of about `expected_iterations` iterations.

    A late-acceptance search needs a number of iterations proportional to its history
    length to converge (Burke & Bykov 2017), so the history is a fixed share of the
    iterations the budget allows, capped at PyVRP's default (tuned for long runs).
    """
    return max(_MIN_HISTORY, min(_MAX_HISTORY, round(expected_iterations * _HISTORY_SHARE)))


def _components(
    data: pyvrp.ProblemData, rng: pyvrp.RandomNumberGenerator
) -> tuple[LocalSearch, PenaltyManager]:
    """PyVRP's local search (all operators that apply) and penalty manager, as `solve`."""
    neighbours = compute_neighbours(data, NeighbourhoodParams())
    search = LocalSearch(data, rng, neighbours, PerturbationManager(PerturbationParams()))
    for operator in OPERATORS:
        if operator.supports(data):
            search.add_operator(operator(data))
    penalty_params = PenaltyParams()
    return search, PenaltyManager(penalty_params.midpoint_penalties(data), penalty_params)


def _search(
    data: pyvrp.ProblemData,
    seed: int,
    deadline: float,
    max_iterations: int | None,
    history_length: int | None = None,
    share: _Share | None = None,
    initial: pyvrp.Solution | None = None,
) -> pyvrp.Solution:
    """PyVRP's iterated local search (`pyvrp.solve`), with a budget-sized history.

    The components and the loop are PyVRP's (random start improved by an exhaustive
    local search, perturbation + local search, late-acceptance hill climbing with
    both enhancements, adaptive penalties, exhaustive search on new bests). Only the
    history length differs: it follows `_history_length`, from the iteration limit
    when one is given, otherwise from the rate measured over the first share of the
    time budget. A given `history_length` fixes it (PyVRP's default 300 reproduces
    `pyvrp.solve` exactly). With `share`, the search hands its best solution over
    halfway (by iterations or by time) and continues from the one it gets back when
    that is better. `initial` replaces the random start (it may leave clients out).
    """
    rng = pyvrp.RandomNumberGenerator(seed=seed)
    search, penalties = _components(data, rng)
    start = pyvrp.Solution.make_random(data, rng) if initial is None else initial
    init = search(start, penalties.max_cost_evaluator(), True)

    started = time.perf_counter()
    probe_until = started + _PROBE_SHARE * max(0.0, deadline - started)
    if history_length is None and max_iterations is not None:
        history_length = _history_length(max_iterations)
    sized = history_length is not None
    # Late-acceptance ring buffer: slot % len(history) is compared, then overwritten.
    history: list[pyvrp.Solution | None] = [None] * (history_length or _MIN_HISTORY)
    slot = 0
    halfway = started + 0.5 * (deadline - started)
    best = current = init
    iterations = since_best = 0
    while (max_iterations is None or iterations < max_iterations) and (
        time.perf_counter() < deadline
    ):
        iterations += 1
        if share is not None and (
            iterations > max_iterations // 2
            if max_iterations is not None
            else time.perf_counter() >= halfway
        ):
            chosen, share = share(best), None
            if _rank(chosen) < _rank(best):
                best = current = chosen
        if since_best == _RESTART_AFTER:
            history = [None] * len(history)
            current, since_best = best, 0
        if not sized and time.perf_counter() >= probe_until:
            rate = iterations / max(1e-6, time.perf_counter() - started)
            history, slot = [None] * _history_length(rate * (deadline - started)), 0
            sized = True
        evaluator = penalties.cost_evaluator()
        candidate = search(current, evaluator, exhaustive=False)
        penalties.register(candidate)
        since_best += 1
        if evaluator.cost(candidate) < evaluator.cost(best):
            best, since_best = candidate, 0
            candidate = search(candidate, evaluator, exhaustive=True)
            if candidate.is_feasible():
                best = candidate
        candidate_cost = evaluator.penalised_cost(candidate)
        current_cost = evaluator.penalised_cost(current)
        late = history[slot % len(history)]
        late_cost = evaluator.penalised_cost(init if late is None else late)
        if candidate_cost < late_cost or candidate_cost < current_cost:
            current, current_cost = candidate, candidate_cost
        if current_cost < late_cost or late is None:
            history[slot % len(history)] = current
        slot += 1
    return best


def _outcome(best: pyvrp.Solution) -> _Outcome:
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
            # Keep back time to decode (and, with workers, to join them).
            reserve_s = 0.05 + (0.05 if num_workers > 1 else 0.0)
            deadline = max(time.perf_counter() + 0.05, started + time_limit_s - reserve_s)
            outcomes = _run(data, seed, deadline, max_iterations, num_workers)
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
    deadline: float,
    max_iterations: int | None,
    num_workers: int,
) -> list[_Outcome]:
    """Search with seeds `seed, seed + 1, ...`: the first here, the others in forked
    processes (they inherit the imported libraries and share the monotonic clock, so
    every search stops at the same `deadline`). Halfway they swap their best solutions
    (`_share`): this one goes on from the best of all, the forked ones as `_worker`
    says."""
    if num_workers <= 1:
        return [_outcome(_search(data, seed, deadline, max_iterations))]
    context = multiprocessing.get_context("fork")
    links: list[Connection] = []
    children: list[BaseProcess] = []
    try:
        for k in range(1, num_workers):
            here, there = context.Pipe()
            links.append(here)
            child = context.Process(
                target=_worker, args=(data, seed + k, deadline, max_iterations, there), daemon=True
            )
            child.start()
            there.close()
            children.append(child)
        own = _search(
            data, seed, deadline, max_iterations, share=lambda best: _share(best, links, deadline)
        )
        outcomes = [_outcome(own)]
        for link in links:
            outcome = _receive(link, "done", deadline + _JOIN_GRACE_S)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes
    finally:
        for link in links:
            link.close()
        for process in children:
            process.join(timeout=_JOIN_GRACE_S)
            if process.is_alive():
                process.kill()
                process.join()
            process.close()


def _worker(
    data: pyvrp.ProblemData,
    seed: int,
    deadline: float,
    max_iterations: int | None,
    link: Connection,
) -> None:
    """A forked search: offers its best halfway, then searches on from the best of all
    with one vehicle fewer (`_one_vehicle_fewer`) when it can, else with the same fleet.

    A shorter solution often uses fewer vehicles, and a search that has settled on k
    routes rarely finds one with k - 1 by itself (RC101: 16 routes, optimum 15); the
    calling process keeps searching with the whole fleet, so nothing is lost when the
    smaller fleet does worse.
    """
    try:
        now = time.perf_counter()
        halfway = now + 0.5 * (deadline - now) if max_iterations is None else deadline
        half = None if max_iterations is None else max_iterations // 2
        first = _search(data, seed, halfway, half)
        link.send(("share", first))
        chosen: pyvrp.Solution = _receive(link, "share", deadline) or first
        rest = None if max_iterations is None else max_iterations - max_iterations // 2
        probe_data, start = _one_vehicle_fewer(data, chosen) or (data, chosen)
        with warnings.catch_warnings():
            # One vehicle fewer may well be infeasible; PyVRP then warns at its penalty cap.
            warnings.simplefilter("ignore", PenaltyBoundWarning)
            second = _search(probe_data, seed, deadline, rest, initial=start)
        link.send(("done", _outcome(min(chosen, second, key=_rank))))
    finally:
        link.close()


def _one_vehicle_fewer(
    data: pyvrp.ProblemData, solution: pyvrp.Solution
) -> tuple[pyvrp.ProblemData, pyvrp.Solution] | None:
    """`data` limited to the vehicles `solution` uses minus the one on its smallest
    route, and `solution` without that route (its clients left to reinsert).

    Only vehicle types used at least twice give up a vehicle; the others keep as many
    vehicles as `solution` uses (at least one). None when no type can give one up or
    the solution is infeasible.
    """
    routes = solution.routes()
    used = [0] * data.num_vehicle_types
    for route in routes:
        used[route.vehicle_type()] += 1
    candidates = [r for r in routes if used[r.vehicle_type()] >= 2]
    if not solution.is_feasible() or not candidates:
        return None
    dropped = min(candidates, key=lambda r: (len(r), r.distance()))
    types = [
        vehicle_type.replace(num_available=max(1, used[index] - (index == dropped.vehicle_type())))
        for index, vehicle_type in enumerate(data.vehicle_types())
    ]
    limited = data.replace(vehicle_types=types)
    kept = [
        pyvrp.Route(limited, [a.idx for a in r if a.is_client()], r.vehicle_type())
        for r in routes
        if r is not dropped
    ]
    return limited, pyvrp.Solution(limited, kept)


def _share(own: pyvrp.Solution, links: list[Connection], deadline: float) -> pyvrp.Solution:
    """The calling process's side of the halfway exchange: the best of all, sent back."""
    offers: list[tuple[Connection, pyvrp.Solution | None]] = [
        (link, _receive(link, "share", deadline)) for link in links
    ]
    best = min([own, *(o for _, o in offers if o is not None)], key=_rank)
    for link, offer in offers:
        if offer is not None:
            link.send(("share", best))
    return best


def _receive(link: Connection, kind: str, until: float) -> Any:
    """The next message of `kind` on `link` before `until` (other kinds are skipped)."""
    while link.poll(max(0.0, until - time.perf_counter())):
        try:
            got, payload = link.recv()
        except EOFError:
            return None
        if got == kind:
            return payload
    return None


def _rank(solution: pyvrp.Solution) -> tuple[bool, int, int]:
    return (not solution.is_feasible(), solution.num_missing_clients(), solution.distance())


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
