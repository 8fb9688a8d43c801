"""Flexfleet's deliveries (dynamic dispatch through the production departure rules), vans
busy on a tour, and announced streams pre-positioned early for the top of their uplift."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

from coordinator.stock.cover import Z90
from flexfleet.scenario.baseline import BaselinePolicy, order_size_moments
from flexfleet.scenario.demand import Announcement, Order, draw_orders
from flexfleet.scenario.flexfleet_policy import (
    STREAM_EARLY_H,
    STREAM_SPARE_SHARE,
    STREAM_Z,
    FlexfleetPolicy,
    stream_early_s,
    stream_units,
)
from flexfleet.scenario.run import START_S
from flexfleet.scenario.schema import load_scenario
from flexfleet.scenario.world import LOADING_S, Consignment, OrderState, World

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


def test_a_full_dense_tour_leaves_and_a_fuller_pool_is_held_until_full() -> None:
    """20 orders of 2 units 1.1 km out fill a van (40 of 40, about 0.5 km a stop) and
    leave together; 16 of them (32 of 40, 80 %) with two days to spare are held for more
    stops to share the drive."""
    world = _world()
    policy = FlexfleetPolicy(seed=1, time_limit_s=0.2)
    policy.start(world)
    ready = [_consignment(world, k, 2, T + 2 * 86_400.0) for k in range(20)]
    tours = _tours(world, policy, ready)
    assert tours
    assert all(sum(ready[i].qty for i in tour) == 40 for tour in tours)
    assert policy.tour_reasons == ["dense"] * len(tours)
    assert _tours(world, policy, ready[:16]) == []


def test_a_full_sparse_tour_is_held_until_a_stop_must_go() -> None:
    """The same 20 orders of 2 units spread 15 km out fill a van but cost about 6 km a
    stop: held; once they have waited 6 h by the next look the same tour leaves."""
    world = _world()
    policy = FlexfleetPolicy(seed=1, time_limit_s=0.2)
    policy.start(world)
    ready = [_consignment(world, k, 2, T + 2 * 86_400.0, km=15.0) for k in range(20)]
    assert _tours(world, policy, ready) == []
    for c in ready:
        c.ready_s = T - 5.5 * 3600.0 - 1.0
    tours = _tours(world, policy, ready)
    assert sorted(i for tour in tours for i in tour) == list(range(20))
    assert set(policy.tour_reasons) == {"waited"}


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


def test_a_backlog_that_would_be_late_behind_a_van_sends_the_most_urgent_first() -> None:
    """30 orders of 4 units (10 fill a van of 40) waiting since dawn, one of w-north's two
    vans out. Due in two days, all three tours go, two queued behind the free van's
    returns, as before. With 20 of them due in 100 min, a queued tour would deliver some
    late: only what the free van carries is planned, 10 of those due soonest, and the rest
    wait for a van to come back."""
    world = _world()
    policy = FlexfleetPolicy(seed=1, time_limit_s=0.2)
    policy.start(world)

    def sent(urgent_due_s: float) -> list[int]:
        ready = [
            _consignment(world, k, 4, T + (2 * 86_400.0 if k < 10 else urgent_due_s))
            for k in range(30)
        ]
        for c in ready:
            c.ready_s = T - 6 * 3600.0
        return sorted(i for tour in _tours(world, policy, ready) for i in tour)

    world.vehicles_out["w-north"] = [T + 3 * 3600.0]
    assert sent(2 * 86_400.0) == list(range(30))
    assert sent(100 * 60.0) == list(range(10, 20))
    world.vehicles_out["w-north"] = []
    assert set(range(10, 30)) <= set(sent(100 * 60.0))  # both vans free: every urgent one


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


def test_tours_are_timed_van_after_van() -> None:
    """Three tours on two vans: the third leaves on the van back first, loading again;
    each stop is reached after the drive from the one before and the service there."""
    world = _world()
    service_s = world.scenario.delivery.service_min * 60.0
    near = _consignment(world, 1, 1, T, km=1.0).point
    far = _consignment(world, 2, 1, T, km=10.0).point
    timings = world.van_after_van(NORTH, [T, T], [[far], [near], [near, far]])
    assert [t.van for t in timings] == [0, 1, 1]
    to_near = world.drive_s(NORTH, near)
    assert timings[1].arrive_s == (T + LOADING_S + to_near + service_s,)
    assert timings[1].back_s == timings[1].arrive_s[0] + to_near
    assert timings[0].back_s > timings[1].back_s  # the far tour's van is back later
    third = timings[2]
    assert third.depart_s == timings[1].back_s
    assert third.arrive_s[1] == third.arrive_s[0] + world.drive_s(near, far) + service_s


def _stream(known_s: float = 0.0) -> Announcement:
    """A 2-hour stream at 10:00 of 10–30 orders/h per featured SKU (mean 20/h)."""
    return Announcement(
        index=0,
        known_s=known_s,
        start_s=T,
        end_s=T + 7200.0,
        skus=("sku-0001",),
        expected_per_h=20.0,
        announced=True,
        uplift_min_per_h=10.0,
        uplift_max_per_h=30.0,
    )


def test_a_stream_is_pre_positioned_for_the_top_of_its_uplift_and_its_spread() -> None:
    """The mean at 20/h; the band's P90 at the top (30/h) plus `STREAM_Z` compound-Poisson
    deviations of the whole stream's units, the warehouse holding its share of both."""
    size = order_size_moments(4)

    def units(sku: str, now: float) -> tuple[float, float]:
        return stream_units([_stream()], sku, lo=0.0, hi=86_400.0, now=now, share=0.25, size=size)

    mean, var = units("sku-0001", 0.0)
    assert math.isclose(mean, 2 * 20.0 * 0.25 * size[0])
    top = 2 * 30.0
    high = 0.25 * (top * size[0] + STREAM_Z * math.sqrt(top * size[1]))
    assert math.isclose(mean + Z90 * math.sqrt(var), high)
    assert units("sku-0002", 0.0) == (0, 0)
    assert units("sku-0001", -1.0) == (0.0, 0.0)  # not yet announced


def test_the_fleet_holds_enough_for_a_stream_drawn_at_the_top_of_its_range() -> None:
    """The storefront's own draws (Poisson orders at 30/h for 2 h, sizes geometric(0.55)
    capped at 4): what the warehouses hold for the stream together (their shares sum to 1)
    runs short in under 4 % of streams even at the top of the range, and the P90 of the
    range alone (what stocking for the top without the spread gives) would run short far
    more often."""
    size = order_size_moments(4)
    shares = (0.35, 0.3, 0.2, 0.15)
    held = 0.0
    for share in shares:
        mean, var = stream_units(
            [_stream()], "sku-0001", lo=0.0, hi=86_400.0, now=0.0, share=share, size=size
        )
        held += mean + Z90 * math.sqrt(var)
    rng = np.random.default_rng(7)
    draws = 20_000
    orders = rng.poisson(60.0, size=draws)
    units = np.array([np.minimum(rng.geometric(0.55, size=n), 4).sum() for n in orders])
    assert (units > held).mean() < 0.04
    assert (units > 60.0 * size[0]).mean() > 0.3


def test_a_stream_is_counted_half_a_day_early_but_never_before_now() -> None:
    """A 2-hour stream at 10:00 counted 12 h early: a day ahead its units fall before
    midnight (22:00–24:00 the day before); at midnight, 10 h before it, they fall from
    now on (00:00–02:00); once it runs, at its own hours."""
    stream = _stream(known_s=-3 * 86_400.0)

    def hours(lo: float, hi: float, now: float) -> float:
        mean, _ = stream_units(
            [stream], "sku-0001", lo=lo, hi=hi, now=now, share=1.0, size=(1.0, 1.0),
            early_s=12 * 3600.0,
        )  # fmt: skip
        return mean / 20.0

    day_before = -86_400.0
    assert hours(day_before, 0.0, now=day_before) == 2.0
    assert hours(0.0, 86_400.0, now=day_before) == 0.0
    assert hours(0.0, 3600.0, now=0.0) == 1.0  # the first of its two hours, from now on
    assert hours(0.0, 2 * 3600.0, now=0.0) == 2.0
    assert hours(T, T + 3600.0, now=T + 600.0) == 1.0  # running: at its own hours


def test_a_stream_too_big_for_a_days_spare_machine_time_is_counted_earlier() -> None:
    """Two featured SKUs of a 300 s family, 2 h at 30 orders/h, orders of one unit
    (E[q] = E[q²] = 1): 60 + STREAM_Z · √60 units each. Against a day of spare machine time
    that makes exactly half of them the stream is counted a whole day more early; against
    one that makes all of them, only `STREAM_EARLY_H` early."""
    stream = dataclasses.replace(_stream(), skus=("sku-0001", "sku-0002"))
    units = 60.0 + STREAM_Z * math.sqrt(60.0)
    need_s = 2 * units * 300.0
    cycle = {"sku-0001": 300.0, "sku-0002": 300.0}
    base = STREAM_EARLY_H * 3600.0

    def early(spare_s: float) -> float:
        return stream_early_s(
            stream, size=(1.0, 1.0), cycle_s=cycle,
            machine_s_per_day=spare_s / STREAM_SPARE_SHARE,
        )  # fmt: skip

    assert math.isclose(early(need_s / 2), base + 86_400.0)
    assert math.isclose(early(need_s), base)
    assert early(10 * need_s) == base
