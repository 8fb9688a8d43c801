"""Where the last-mile kilometres go: the world records each tour's legs, and the detail
splits them into depot legs and legs between stops, stops per order and tour fill."""

from __future__ import annotations

import math
from pathlib import Path

from flexfleet.scenario.baseline import BaselinePolicy
from flexfleet.scenario.delivery_detail import detail_of
from flexfleet.scenario.demand import Order, draw_orders
from flexfleet.scenario.run import START_S
from flexfleet.scenario.schema import load_scenario
from flexfleet.scenario.world import Consignment, OrderState, TourRecord, World

SMALL = str(Path(__file__).with_name("small.toml"))
NORTH = (30.27, 120.15)
T = 10 * 3600.0


def _tour(orders: tuple[str, ...], units: int, *, depot: float, between: float) -> TourRecord:
    return TourRecord(
        warehouse="w",
        depart_s=T,
        orders=orders,
        origins=("stock",) * len(orders),
        units=units,
        capacity=40,
        depot_km=depot,
        between_km=between,
        oldest_ready_s=T - 7200.0,
        reason="waited" if units < 32 else "full",
    )


def test_detail_splits_km_into_depot_and_between_legs_per_order() -> None:
    """Two tours, order b in both: 1.5 stops per order, b in two tours, km split by leg."""
    tours = [
        _tour(("a", "b"), 36, depot=10.0, between=2.0),
        _tour(("b", "c", "d", "e"), 8, depot=6.0, between=6.0),
    ]
    d = detail_of(tours, delivered=4)
    assert d["stops"] == 6
    assert d["stops_per_order"] == 1.2  # 6 stops over 5 orders seen
    assert d["orders_in_several_tours"] == 0.2
    assert d["depot_km_per_order"] == 4.0
    assert d["between_km_per_order"] == 2.0
    assert d["between_km_per_stop_gap"] == 2.0  # 8 km over 4 gaps (6 stops, 2 tours)
    assert d["underfilled_share"] == 0.5
    assert d["wait_h_p50"] == 2.0
    assert d["by_reason"] == {
        "full": {"tours": 1, "fill_mean": 0.9, "underfilled": 0},
        "waited": {"tours": 1, "fill_mean": 0.2, "underfilled": 1},
    }


def test_a_wave_records_each_tour_with_legs_that_add_up_to_the_km() -> None:
    """Three stops on one baseline tour: its depot and between legs sum to the world's km,
    the first leg is the drive out to the nearest stop."""
    scenario = load_scenario(SMALL)
    world = World(scenario, draw_orders(scenario, days=1, seed=1), days=1, start_s=START_S)
    policy = BaselinePolicy()
    policy.start(world)
    world.t = T
    points = []
    for k, km in enumerate((1.0, 2.0, 3.0)):
        point = (NORTH[0] + km / 111.32, NORTH[1])
        points.append(point)
        order = Order(f"x{k}", T - 3600.0, "sku-0001", 1, "north", *point, False, T + 86_400.0)
        world.orders[order.id] = OrderState(order, parts=1)
        world.waiting["w-north"].append(
            Consignment(order.id, "w-north", "sku-0001", 1, T, True, point, due_key=T + 86_400.0)
        )
    world._wave(policy, "w-north")
    [tour] = world.log.tours
    assert tour.orders == ("x0", "x1", "x2")
    assert tour.reason == "wave"
    assert math.isclose(tour.depot_km + tour.between_km, world.log.km)
    out = world.road_km(NORTH, points[0])
    back = world.road_km(points[2], NORTH)
    assert math.isclose(tour.depot_km, out + back)
    assert math.isclose(tour.between_km, world.road_km(points[0], points[2]))
