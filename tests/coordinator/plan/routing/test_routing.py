"""Delivery routing: tiny instances with known optima, pins, explanations, determinism."""

from __future__ import annotations

import itertools
import random
import time
from pathlib import Path

import pytest

from coordinator.plan.errors import ProblemError
from coordinator.plan.routing.compile import truncated_distance
from coordinator.plan.routing.planner import OrToolsRouter, PyVrpRouter
from coordinator.plan.routing.problem import (
    Depot,
    Order,
    PinnedStop,
    RoutingProblem,
    Vehicle,
)
from coordinator.plan.routing.vrptw_io import parse_solution, parse_vrptw
from tests.coordinator.plan.plan_fixtures import SOLOMON_TINY

ROUTER = PyVrpRouter(deterministic=True)


def _square(**vehicle: object) -> RoutingProblem:
    depot = Depot("D", 0, 0, 0, 1000)
    orders = (Order("a", 10, 0, 5, service=1), Order("b", 10, 10, 5, service=1))
    return RoutingProblem(
        (depot,),
        (*orders, Order("c", 0, 10, 5, service=1)),
        (Vehicle("v1", "D", 20, **vehicle), Vehicle("v2", "D", 20, **vehicle)),  # type: ignore[arg-type]
    )


def test_tiny_instance_is_routed_optimally() -> None:
    """Three customers on a square are served by one route of length 40."""
    result = ROUTER.plan(parse_vrptw(SOLOMON_TINY), time_limit_s=0.5, seed=1)
    assert result.total_distance == 40.0
    assert len(result.routes) == 1
    assert sorted(result.routes[0].stops) == ["1", "2", "3"]
    assert result.unserved == ()


def test_ortools_router_finds_the_same_optimum() -> None:
    """The OR-Tools adapter behind the same port also finds length 40."""
    result = OrToolsRouter().plan(parse_vrptw(SOLOMON_TINY), time_limit_s=0.5)
    assert result.total_distance == 40.0
    assert result.unserved == ()


def test_same_seed_gives_the_same_routes() -> None:
    """Deterministic mode: one seed, one answer."""
    problem = _square()
    first = ROUTER.plan(problem, time_limit_s=0.5, seed=3)
    second = ROUTER.plan(problem, time_limit_s=0.5, seed=3)
    assert first.routes == second.routes


def test_a_deterministic_router_with_a_wall_limit_of_its_own_ignores_a_slow_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a machine so loaded that each look at the clock finds 5 s gone, the time limit
    ends the search after its first step; with a wall limit of its own the iteration limit
    ends it, and the routes are the calm machine's."""
    rng = random.Random(4)
    orders = tuple(
        Order(f"o{i}", rng.uniform(0, 100), rng.uniform(0, 100), 1, service=1) for i in range(40)
    )
    problem = RoutingProblem(
        (Depot("D", 50, 50, 0, 10_000),),
        orders,
        tuple(Vehicle(f"v{i}", "D", 10) for i in range(5)),
    )
    router = PyVrpRouter(deterministic=True, wall_limit_s=1e9)
    calm = router.plan(problem, time_limit_s=0.5, seed=2)
    clock = itertools.count(0.0, 5.0)
    monkeypatch.setattr(time, "perf_counter", lambda: float(next(clock)))
    assert router.plan(problem, time_limit_s=0.5, seed=2).routes == calm.routes
    slow = PyVrpRouter(deterministic=True).plan(problem, time_limit_s=0.5, seed=2)
    assert slow.total_distance > calm.total_distance


def test_distances_follow_the_dimacs_truncation() -> None:
    """Each arc is truncated to one decimal: sqrt(2) becomes 1.4, i.e. 14 tenths."""
    assert truncated_distance(0, 0, 1, 1, scale=10) == 14
    assert truncated_distance(0, 0, 3, 4, scale=10) == 50


def test_capacity_blocked_order_is_explained() -> None:
    """An order heavier than every vehicle is unserved with reason `capacity`."""
    problem = RoutingProblem(
        (Depot("D", 0, 0),),
        (Order("big", 1, 1, 50), Order("ok", 2, 2, 5)),
        (Vehicle("v", "D", 10),),
    )
    result = ROUTER.plan(problem, time_limit_s=0.3)
    assert [(u.order_id, u.reason) for u in result.unserved] == [("big", "capacity")]
    assert result.routes[0].stops == ("ok",)


def test_time_window_blocked_order_is_explained() -> None:
    """An order whose window closes before any vehicle can arrive gets `time_window`."""
    problem = RoutingProblem(
        (Depot("D", 0, 0, 0, 1000),),
        (Order("far", 100, 0, 1, ready=0, due=50),),
        (Vehicle("v", "D", 10),),
    )
    result = ROUTER.plan(problem, time_limit_s=0.3)
    assert [(u.order_id, u.reason) for u in result.unserved] == [("far", "time_window")]
    assert result.routes == ()


def test_route_length_blocked_order_is_explained() -> None:
    """An order beyond half the maximum route duration gets `route_length`."""
    problem = RoutingProblem(
        (Depot("D", 0, 0),),
        (Order("far", 100, 0, 1), Order("near", 10, 0, 1)),
        (Vehicle("v", "D", 10, max_duration=60),),
    )
    result = ROUTER.plan(problem, time_limit_s=0.3)
    assert [(u.order_id, u.reason) for u in result.unserved] == [("far", "route_length")]
    assert result.routes[0].stops == ("near",)


def test_fleet_too_small_leaves_orders_with_reason_fleet() -> None:
    """Orders each servable alone but not all together are explained as `fleet`."""
    problem = RoutingProblem(
        (Depot("D", 0, 0),),
        tuple(Order(f"o{k}", k + 1, 0, 6) for k in range(3)),
        (Vehicle("v", "D", 12),),
    )
    result = ROUTER.plan(problem, time_limit_s=0.3)
    assert len(result.routes[0].stops) == 2
    assert [u.reason for u in result.unserved] == ["fleet"]


def test_pinned_stops_start_the_vehicle_route() -> None:
    """Committed stops stay on their vehicle, first and in order."""
    problem = RoutingProblem(
        _square().depots,
        _square().orders,
        _square().vehicles,
        pinned=(PinnedStop("c", "v2"), PinnedStop("a", "v2")),
    )
    result = ROUTER.plan(problem, time_limit_s=0.3)
    routes = result.stops_by_vehicle()
    assert routes["v2"][:2] == ("c", "a")
    served = sorted(s for stops in routes.values() for s in stops)
    assert served == ["a", "b", "c"]


def test_vehicles_start_from_their_own_depot() -> None:
    """With two depots, each vehicle's route starts and ends at its depot."""
    problem = RoutingProblem(
        (Depot("W", 0, 0), Depot("E", 100, 0)),
        (Order("w1", 5, 0, 1), Order("e1", 95, 0, 1)),
        (Vehicle("vw", "W", 5), Vehicle("ve", "E", 5)),
    )
    result = ROUTER.plan(problem, time_limit_s=0.3)
    assert result.stops_by_vehicle() == {"vw": ("w1",), "ve": ("e1",)}
    assert result.total_distance == 20.0


def test_inconsistent_routing_problems_raise_problem_error() -> None:
    """Unknown depots, duplicate ids and double pins are ProblemErrors."""
    depot = Depot("D", 0, 0)
    with pytest.raises(ProblemError):
        RoutingProblem((depot,), (), (Vehicle("v", "X", 1),))
    with pytest.raises(ProblemError):
        RoutingProblem((depot,), (Order("a", 0, 0, 1), Order("a", 1, 1, 1)), ())
    with pytest.raises(ProblemError):
        RoutingProblem(
            (depot,),
            (Order("a", 0, 0, 1),),
            (Vehicle("v", "D", 1),),
            pinned=(PinnedStop("a", "v"), PinnedStop("a", "v")),
        )
    with pytest.raises(ProblemError):
        Order("a", 0, 0, 1, ready=10, due=5)


@pytest.mark.data
def test_known_optimum_cost_is_reproduced_by_the_distance_convention(data_dir: Path) -> None:
    """The published C101 optimum (827.3) has that length under our distance convention."""
    problem = parse_vrptw((data_dir / "vrptw" / "C101.txt").read_text())
    known = parse_solution((data_dir / "vrptw" / "C101.sol").read_text())
    orders = {o.id: o for o in problem.orders}
    depot = problem.depots[0]
    total = 0
    for route in known.routes:
        points = [
            (depot.x, depot.y),
            *((orders[i].x, orders[i].y) for i in route),
            (depot.x, depot.y),
        ]
        total += sum(truncated_distance(*a, *b, scale=10) for a, b in itertools.pairwise(points))
    assert total / 10 == known.cost == 827.3


@pytest.mark.data
def test_c201_is_solved_close_to_its_optimum(data_dir: Path) -> None:
    """C201 (100 customers) is solved within 1 % of its optimum 589.1 in one second."""
    problem = parse_vrptw((data_dir / "vrptw" / "C201.vrp").read_text())
    result = ROUTER.plan(problem, time_limit_s=1.0, seed=0)
    assert result.unserved == ()
    assert sum(len(r.stops) for r in result.routes) == 100
    assert result.total_distance <= 589.1 * 1.01


@pytest.mark.data
def test_pyvrp_model_matches_pyvrp_reading_the_vrplib_file(data_dir: Path) -> None:
    """Our PyVRP data for R101 drives the same search as PyVRP's own DIMACS reader."""
    import pyvrp
    import pyvrp.stop

    from coordinator.plan.routing.compile import compile_routing
    from coordinator.plan.routing.pyvrp_adapter import _data

    reference = pyvrp.read(data_dir / "vrptw" / "R101.vrp", round_func="dimacs")
    model = compile_routing(parse_vrptw((data_dir / "vrptw" / "R101.txt").read_text()))
    ours, _ = _data(model, list(range(model.first_order_node, len(model.order_at))))
    costs = [
        pyvrp.solve(d, pyvrp.stop.MaxIterations(100), seed=1, collect_stats=False).cost()
        for d in (reference, ours)
    ]
    assert costs[0] == costs[1]


@pytest.mark.data
def test_search_loop_with_pyvrp_history_reproduces_pyvrp_solve(data_dir: Path) -> None:
    """Our search loop is PyVRP's: with its history length (300) it gives the same solution."""
    import time

    import pyvrp
    import pyvrp.stop

    from coordinator.plan.routing.pyvrp_adapter import _search

    data = pyvrp.read(data_dir / "vrptw" / "RC101.vrp", round_func="dimacs")
    reference = pyvrp.solve(data, pyvrp.stop.MaxIterations(150), seed=4, collect_stats=False)
    ours = _search(data, 4, time.perf_counter() + 600, 150, history_length=300)
    assert str(ours) == str(reference.best)
    assert ours.distance() == reference.best.distance()


def test_history_length_is_a_share_of_the_expected_iterations() -> None:
    """Short budgets get a short late-acceptance history; long ones PyVRP's default 300."""
    from coordinator.plan.routing.pyvrp_adapter import _history_length

    assert _history_length(0) == 10
    assert _history_length(1500) == 50
    assert _history_length(3000) == 2 * _history_length(1500)
    assert _history_length(10**6) == 300


@pytest.mark.data
def test_two_workers_are_reproducible(data_dir: Path) -> None:
    """Two searches that swap their best halfway give the same routes on every run.

    The searches stop on an iteration count; the generous time limit never applies.
    """
    from coordinator.plan.routing.pyvrp_adapter import solve_pyvrp

    problem = parse_vrptw((data_dir / "vrptw" / "R101.txt").read_text())
    first, second = (
        solve_pyvrp(problem, time_limit_s=60, seed=4, num_workers=2, max_iterations=60)
        for _ in range(2)
    )
    assert first.routes == second.routes
    assert first.unserved == ()


def test_one_vehicle_fewer_drops_the_smallest_route_and_the_search_refills() -> None:
    """A two-route solution is cut to one vehicle without its smallest route; the search
    from there puts the dropped order back and serves all three with one vehicle."""
    import time

    import pyvrp

    from coordinator.plan.routing.compile import compile_routing
    from coordinator.plan.routing.pyvrp_adapter import _data, _one_vehicle_fewer, _search

    model = compile_routing(_square())
    data, _ = _data(model, [1, 2, 3])  # orders a, b, c are PyVRP clients 0, 1, 2
    two_routes = pyvrp.Solution(data, [[0], [1, 2]])
    probe = _one_vehicle_fewer(data, two_routes)
    assert probe is not None
    limited, partial = probe
    assert [t.num_available for t in limited.vehicle_types()] == [1]
    assert [a.idx for r in partial.routes() for a in r if a.is_client()] == [1, 2]
    refilled = _search(limited, 0, time.perf_counter() + 60, 20, initial=partial)
    assert refilled.is_feasible()
    assert refilled.num_missing_clients() == 0
    assert refilled.num_routes() == 1
    assert _one_vehicle_fewer(limited, refilled) is None  # one vehicle cannot give one up


def test_fleet_probe_that_cannot_be_feasible_neither_warns_nor_loses_the_result() -> None:
    """The forked search's side, run here over a real pipe: three orders of 5 need both
    vehicles of capacity 10, so one vehicle fewer stays infeasible (PyVRP would warn at
    its penalty cap, an error under pytest); the offered solution comes back as the result."""
    import multiprocessing
    import time

    import pyvrp

    from coordinator.plan.routing.compile import compile_routing
    from coordinator.plan.routing.pyvrp_adapter import _data, _worker

    depot = Depot("D", 0, 0, 0, 1000)
    orders = (Order("a", 10, 0, 5), Order("b", 10, 10, 5), Order("c", 0, 10, 5))
    problem = RoutingProblem((depot,), orders, (Vehicle("v1", "D", 10), Vehicle("v2", "D", 10)))
    data, _ = _data(compile_routing(problem), [1, 2, 3])
    offer = pyvrp.Solution(data, [[0], [1, 2]])
    here, there = multiprocessing.Pipe()
    with here:
        here.send(("share", offer))  # the calling process's answer to the halfway offer
        _worker(data, 0, time.perf_counter() + 60, 4000, there)
        sent = [here.recv(), here.recv()]
    assert [kind for kind, _ in sent] == ["share", "done"]
    feasible, missing, distance, routes = sent[1][1]
    assert feasible
    assert missing == 0
    assert distance == offer.distance()
    assert sorted(len(clients) for _, clients in routes) == [1, 2]
