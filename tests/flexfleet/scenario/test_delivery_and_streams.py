"""Flexfleet's deliveries (dynamic dispatch through the production departure rules), vans
busy on a tour, and announced streams pre-positioned early for the top of their uplift."""

from __future__ import annotations

import math
from pathlib import Path

from coordinator.stock.cover import Z90
from flexfleet.scenario.baseline import BaselinePolicy
from flexfleet.scenario.demand import Announcement, Order, draw_orders
from flexfleet.scenario.flexfleet_policy import FlexfleetPolicy, stream_units
from flexfleet.scenario.run import START_S
from flexfleet.scenario.schema import load_scenario
from flexfleet.scenario.world import Consignment, OrderState, World

SMALL = str(Path(__file__).with_name("small.toml"))
NORTH = (30.27, 120.15)
T = 10 * 3600.0  # 10:00 on day 0, inside the delivery day (09:00 for 12 h)


def _world() -> World:
    scenario = load_scenario(SMALL)
    return World(scenario, draw_orders(scenario, days=1, seed=1), days=1, start_s=START_S)


def _consignment(world: World, k: int, qty: int, due_s: float, *, km: float = 1.1) -> Consignment:
    """A consignment of order `x{k}` about `km` from w-north (as the crow flies), ready
    at 10:00."""
    d = km / 111.32
    point = (NORTH[0] + d * math.cos(k), NORTH[1] + d * math.sin(k))
    order = Order(f"x{k}", T - 3600.0, "sku-0001", qty, "north", *point, False, due_s)
    world.orders[order.id] = OrderState(order, parts=1)
    return Consignment(order.id, "w-north", order.sku, qty, T, True, point, due_key=due_s)


def _tours(world: World, policy: FlexfleetPolicy, ready: list[Consignment]) -> list[list[int]]:
    world.t = T
    spec = world.warehouses["w-north"]
    return policy.tours(world, spec, ready, spec.vehicle_capacity)


def test_a_thin_tour_with_time_to_spare_is_held() -> None:
    """Three 1-unit orders due in two days, ready just now: no van leaves yet."""
    world = _world()
    policy = FlexfleetPolicy(seed=1, time_limit_s=0.2)
    policy.start(world)
    ready = [_consignment(world, k, 1, T + 2 * 86_400.0) for k in range(3)]
    assert _tours(world, policy, ready) == []


def test_a_full_tour_leaves_and_a_fuller_pool_is_held_until_full() -> None:
    """20 orders of 2 units fill a van (40 of 40) and leave together; 16 of them (32 of
    40, 80 %) with two days to spare are held for more stops to share the drive."""
    world = _world()
    policy = FlexfleetPolicy(seed=1, time_limit_s=0.2)
    policy.start(world)
    ready = [_consignment(world, k, 2, T + 2 * 86_400.0) for k in range(20)]
    tours = _tours(world, policy, ready)
    assert tours
    assert all(sum(ready[i].qty for i in tour) == 40 for tour in tours)
    assert policy.tour_reasons == ["full"] * len(tours)
    assert _tours(world, policy, ready[:16]) == []


def test_a_tour_whose_oldest_stop_would_wait_over_6_h_leaves_thin() -> None:
    """Three 1-unit orders ready since 04:30 (5.5 h at 10:00; 6 h by the next look at
    10:30) leave now; ready since 05:00 they are held."""
    world = _world()
    policy = FlexfleetPolicy(seed=1, time_limit_s=0.2)
    policy.start(world)
    ready = [_consignment(world, k, 1, T + 2 * 86_400.0) for k in range(3)]
    for c in ready:
        c.ready_s = T - 5.0 * 3600.0
    assert _tours(world, policy, ready) == []
    for c in ready:
        c.ready_s = T - 5.5 * 3600.0 - 1.0
    tours = _tours(world, policy, ready)
    assert sorted(i for tour in tours for i in tour) == [0, 1, 2]
    assert set(policy.tour_reasons) == {"waited"}


def test_a_promise_that_cannot_wait_sends_its_tour() -> None:
    """Due in 30 min, an order cannot wait for the next look (30 min on): it leaves now;
    due in 60 min it still can (loading, drive and service take about 22 min)."""
    world = _world()
    policy = FlexfleetPolicy(seed=1, time_limit_s=0.2)
    policy.start(world)
    assert _tours(world, policy, [_consignment(world, 0, 1, T + 1800.0)]) == [[0]]
    assert _tours(world, policy, [_consignment(world, 1, 1, T + 3600.0)]) == []


def test_a_van_on_a_tour_is_not_free_for_the_next_wave() -> None:
    """The baseline's two vans each take a tour; a wave an hour later finds none free."""
    world = _world()
    policy = BaselinePolicy()
    policy.start(world)
    world.t = T
    for k in range(2):  # 30 units each: one tour each; 11 km out, over an hour there and back
        world.waiting["w-north"].append(_consignment(world, k, 30, T + 86_400.0, km=11.0))
    world._wave(policy, "w-north")
    assert world.waiting["w-north"] == []
    assert len(world.vehicles_out["w-north"]) == 2
    assert all(back > T + 3600.0 for back in world.vehicles_out["w-north"])
    world.t = T + 3600.0
    world.waiting["w-north"].append(_consignment(world, 9, 1, T + 86_400.0))
    world._wave(policy, "w-north")
    assert len(world.waiting["w-north"]) == 1  # no van free: it waits


def test_a_stream_is_pre_positioned_for_the_top_of_its_uplift() -> None:
    """A 2-hour stream of 10–30 orders/h: mean 20/h; the band's P90 at 30/h (the top)."""
    stream = Announcement(
        index=0,
        known_s=0.0,
        start_s=T,
        end_s=T + 7200.0,
        skus=("sku-0001",),
        expected_per_h=20.0,
        announced=True,
        uplift_min_per_h=10.0,
        uplift_max_per_h=30.0,
    )
    mean, var = stream_units([stream], "sku-0001", lo=0.0, hi=86_400.0, now=0.0, units=1.5)
    assert mean == 2 * 20.0 * 1.5
    assert math.isclose(mean + Z90 * math.sqrt(var), 2 * 30.0 * 1.5)
    assert stream_units([stream], "sku-0002", lo=0.0, hi=86_400.0, now=0.0, units=1.5) == (0, 0)
    unknown = stream_units([stream], "sku-0001", lo=0.0, hi=86_400.0, now=-1.0, units=1.5)
    assert unknown == (0.0, 0.0)  # not announced yet


def test_a_stream_is_counted_half_a_day_early_but_never_before_now() -> None:
    """A 2-hour stream at 10:00 counted 12 h early: a day ahead its units fall before
    midnight (22:00–24:00 the day before); at midnight, 10 h before it, they fall from
    now on (00:00–02:00); once it runs, at its own hours."""
    stream = Announcement(
        index=0,
        known_s=-3 * 86_400.0,
        start_s=T,
        end_s=T + 7200.0,
        skus=("sku-0001",),
        expected_per_h=20.0,
        announced=True,
        uplift_min_per_h=10.0,
        uplift_max_per_h=30.0,
    )

    def hours(lo: float, hi: float, now: float) -> float:
        mean, _ = stream_units(
            [stream], "sku-0001", lo=lo, hi=hi, now=now, units=1.0, early_s=12 * 3600.0
        )
        return mean / 20.0

    day_before = -86_400.0
    assert hours(day_before, 0.0, now=day_before) == 2.0
    assert hours(0.0, 86_400.0, now=day_before) == 0.0
    assert hours(0.0, 3600.0, now=0.0) == 1.0  # the first of its two hours, from now on
    assert hours(0.0, 2 * 3600.0, now=0.0) == 2.0
    assert hours(T, T + 3600.0, now=T + 600.0) == 1.0  # running: at its own hours
