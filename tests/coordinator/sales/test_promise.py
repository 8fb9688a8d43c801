"""The promise engine on hand-computed cases: stock, splits, reserve, rules, hours, errors."""

from __future__ import annotations

import pytest

from coordinator.sales.capacity import CapacityPool, OpeningHours, pool_from_schedule
from coordinator.sales.promise import (
    HANDLING_S,
    AllocationRule,
    FactoryOffer,
    Hub,
    Line,
    Point,
    Promise,
    PromiseError,
    Recipe,
    TravelTime,
    WarehouseStock,
    haversine_km,
    promise_order,
)

NOW = 1_796_601_600.0  # a Monday, 00:00 UTC
H = 3600.0
LEG = 1800.0  # every trip in these cases takes half an hour
YIWU: Point = (29.31, 120.08)
HANGZHOU: Point = (30.27, 120.16)
SHANGHAI: Point = (31.23, 121.47)
HOURLY = Recipe(s_per_unit=H)  # one machine-hour per unit


def _travel(_a: Point, _b: Point) -> float:
    return LEG


def _pool(*segments: tuple[int, float]) -> CapacityPool:
    """Hourly buckets: (count, free seconds each) segments in order."""
    free = [value for count, value in segments for _ in range(count)]
    return CapacityPool(start_s=NOW, bucket_s=H, free=free)


def _factory(
    name: str, pool: CapacityPool, *, min_batch: int = 1, at: Point = YIWU
) -> FactoryOffer:
    return FactoryOffer(name, at, {"CUP": HOURLY}, pool, min_batch=min_batch)


# the production deadline for a standard order: 72 h, less handling and the trip
MAKE_BY_H = int((72 * H - HANDLING_S - LEG) // H)  # 71 whole hours


def test_thirty_units_split_fifteen_ten_five_by_free_capacity() -> None:
    """No factory can make 30 by the target; split by what each can make in time, the most
    capable first, and the promise falls within the target."""
    factories = [
        _factory("A", _pool((15, H), (MAKE_BY_H - 15, 0.0), (200, H))),
        _factory("B", _pool((10, H), (MAKE_BY_H - 10, 0.0), (200, H))),
        _factory("C", _pool((5, H), (MAKE_BY_H - 5, 0.0), (200, H))),
    ]
    promise = promise_order(
        [Line("CUP", 30)], destination=SHANGHAI, service="standard", now_s=NOW,
        warehouses=[], factories=factories, makers={"CUP": ["A", "B", "C"]}, travel=_travel,
    )  # fmt: skip
    (line,) = promise.lines
    assert [(m.factory, m.qty) for m in line.made] == [("A", 15), ("B", 10), ("C", 5)]
    assert line.made[0].ready_s == pytest.approx(NOW + 15 * H)
    assert promise.eta_s == pytest.approx(NOW + 15 * H + HANDLING_S + LEG)
    assert promise.targets_met
    assert promise.bound_by == "capacity"
    assert promise.promised_s > promise.eta_s
    assert factories[0].pool.free[0] == H  # the inputs are not booked


def test_one_factory_that_makes_it_all_in_time_is_preferred_to_a_split() -> None:
    """With B able to make all 30 in time, nothing is split, though A alone could make 15
    sooner; with both able, the earlier delivery wins."""
    factories = [
        _factory("A", _pool((15, H), (300, 0.0))),
        _factory("B", _pool((40, H))),
    ]
    promise = promise_order(
        [Line("CUP", 30)], destination=SHANGHAI, service="standard", now_s=NOW,
        warehouses=[], factories=factories, makers={"CUP": ["A", "B"]}, travel=_travel,
    )  # fmt: skip
    assert [(m.factory, m.qty) for m in promise.lines[0].made] == [("B", 30)]
    factories.append(_factory("C", _pool((15, 2 * H), (300, 0.0))))
    promise = promise_order(
        [Line("CUP", 30)], destination=SHANGHAI, service="standard", now_s=NOW,
        warehouses=[], factories=factories, makers={"CUP": ["A", "B", "C"]}, travel=_travel,
    )  # fmt: skip
    assert [(m.factory, m.qty) for m in promise.lines[0].made] == [("C", 30)]


def test_stock_first_one_warehouse_for_the_whole_line_else_nearest_first() -> None:
    """A warehouse holding the whole line beats a split; a split takes the nearest first;
    what stock cannot cover is made."""
    near = WarehouseStock("near", HANGZHOU, {"CUP": 10})
    far = WarehouseStock("far", SHANGHAI, {"CUP": 30})

    def travel(a: Point, b: Point) -> float:
        return haversine_km(a, b) / 40 * H  # 40 km/h

    whole = promise_order(
        [Line("CUP", 20)], destination=HANGZHOU, service="standard", now_s=NOW,
        warehouses=[near, far], factories=[], makers={}, travel=travel,
    )  # fmt: skip
    assert [(p.warehouse, p.qty) for p in whole.lines[0].from_stock] == [("far", 20)]
    assert whole.bound_by == "stock"
    assert whole.stock_taken == (("far", "CUP", 20),)
    split = promise_order(
        [Line("CUP", 45)], destination=HANGZHOU, service="standard", now_s=NOW,
        warehouses=[near, far], factories=[_factory("A", _pool((100, H)))],
        makers={"CUP": ["A"]}, travel=travel,
    )  # fmt: skip
    line = split.lines[0]
    assert [(p.warehouse, p.qty) for p in line.from_stock] == [("near", 10), ("far", 30)]
    assert [(m.factory, m.qty) for m in line.made] == [("A", 5)]


def test_two_lines_of_one_order_do_not_take_the_same_units_or_hours() -> None:
    """The second line sees the stock and capacity the first one took."""
    promise = promise_order(
        [Line("CUP", 8), Line("CUP", 8)], destination=SHANGHAI, service="standard", now_s=NOW,
        warehouses=[WarehouseStock("w", HANGZHOU, {"CUP": 10})],
        factories=[_factory("A", _pool((100, H)))], makers={"CUP": ["A"]}, travel=_travel,
    )  # fmt: skip
    first, second = promise.lines
    assert [p.qty for p in first.from_stock] == [8]
    assert [p.qty for p in second.from_stock] == [2]
    assert [m.qty for m in second.made] == [6]


def test_the_rush_reserve_is_for_express_and_named_when_it_binds() -> None:
    """A standard order cannot use the reserve and is late because of it; an express order
    uses it and is in time."""
    pool = CapacityPool(start_s=NOW, bucket_s=H, free=[0.5 * H] * 200, reserve=[0.5 * H] * 200)
    factories = [_factory("A", pool)]
    common = {"destination": SHANGHAI, "now_s": NOW, "warehouses": [],
              "factories": factories, "makers": {"CUP": ["A"]}, "travel": _travel}  # fmt: skip
    standard = promise_order([Line("CUP", 40)], service="standard", **common)  # type: ignore[arg-type]
    assert standard.eta_s > NOW + 72 * H
    assert not standard.targets_met
    assert standard.bound_by == "reserve"
    assert standard.work_taken == (("A", 40 * H, False),)
    express = promise_order([Line("CUP", 20)], service="express", **common)  # type: ignore[arg-type]
    assert express.eta_s == pytest.approx(NOW + 20 * H + HANDLING_S + LEG)
    assert express.targets_met
    assert express.work_taken == (("A", 20 * H, True),)


def test_a_distance_rule_keeps_small_orders_local_and_is_named() -> None:
    """Under 100 units only factories within 150 km: the free Shanghai factory is excluded
    for a Yiwu customer, so the busy local one sets a late date, bound by the rule."""
    local = _factory("local", _pool((100, 0.0), (200, H)), at=YIWU)
    remote = _factory("remote", _pool((200, H)), at=SHANGHAI)
    assert haversine_km(YIWU, SHANGHAI) > 150
    promise = promise_order(
        [Line("CUP", 10)], destination=YIWU, service="standard", now_s=NOW, warehouses=[],
        factories=[local, remote], makers={"CUP": ["local", "remote"]}, travel=_travel,
        rules=[AllocationRule(below_qty=100, max_km=150.0)],
    )  # fmt: skip
    assert [m.factory for m in promise.lines[0].made] == ["local"]
    assert promise.bound_by == "distance_rule"


def test_minimum_batches_are_respected_in_a_split() -> None:
    """B can make only 4 in time but makes at least 10 per batch: it gets nothing, and the
    line waits for A."""
    factories = [
        _factory("A", _pool((20, H), (MAKE_BY_H - 20, 0.0), (200, H))),
        _factory("B", _pool((4, H), (300, 0.0)), min_batch=10),
    ]
    promise = promise_order(
        [Line("CUP", 24)], destination=SHANGHAI, service="standard", now_s=NOW,
        warehouses=[], factories=factories, makers={"CUP": ["A", "B"]}, travel=_travel,
    )  # fmt: skip
    assert [(m.factory, m.qty) for m in promise.lines[0].made] == [("A", 24)]
    assert not promise.targets_met


def test_opening_hours_are_named_when_they_bind() -> None:
    """A factory open 8 h on weekdays cannot make 60 machine-hours in 3 days; open around
    the clock it could."""
    hours = OpeningHours(open_min=8 * 60, close_min=16 * 60, weekdays=frozenset(range(5)))
    kwargs = {"machines": ["m1"], "busy": {}, "start_s": NOW, "horizon_s": 14 * 24 * H}
    offer = FactoryOffer(
        "A", YIWU, {"CUP": HOURLY}, pool_from_schedule(hours=hours, **kwargs),  # type: ignore[arg-type]
        pool_always_open=pool_from_schedule(**kwargs),  # type: ignore[arg-type]
    )  # fmt: skip
    promise = promise_order(
        [Line("CUP", 60)], destination=SHANGHAI, service="standard", now_s=NOW,
        warehouses=[], factories=[offer], makers={"CUP": ["A"]}, travel=_travel,
    )  # fmt: skip
    assert promise.bound_by == "opening_hours"
    assert promise.lines[0].made[0].ready_s > NOW + 7 * 24 * H  # eight-hour days, weekend


def test_lines_that_cannot_be_promised_name_the_line() -> None:
    """No stock and no maker, or more than the horizon holds: the line's qty is named."""
    with pytest.raises(PromiseError) as caught:
        promise_order(
            [Line("CUP", 1), Line("MUG", 5)], destination=SHANGHAI, service="standard",
            now_s=NOW, warehouses=[], factories=[_factory("A", _pool((10, H)))],
            makers={"CUP": ["A"]}, travel=_travel,
        )  # fmt: skip
    assert caught.value.field == "lines[1].qty"
    with pytest.raises(PromiseError, match="planning horizon"):
        promise_order(
            [Line("CUP", 11)], destination=SHANGHAI, service="standard", now_s=NOW,
            warehouses=[], factories=[_factory("A", _pool((10, H)))], makers={"CUP": ["A"]},
            travel=_travel,
        )  # fmt: skip
    with pytest.raises(PromiseError) as caught:
        promise_order(
            [Line("CUP", 1)], destination=SHANGHAI, service="overnight",  # type: ignore[arg-type]
            now_s=NOW, warehouses=[], factories=[], makers={}, travel=_travel,
        )  # fmt: skip
    assert caught.value.field == "service"


def test_unreachable_places_are_skipped() -> None:
    """Stock or a factory the travel port cannot reach from the customer is not used."""

    def travel(a: Point, _b: Point) -> float | None:
        return None if a == HANGZHOU else LEG

    promise = promise_order(
        [Line("CUP", 5)], destination=SHANGHAI, service="standard", now_s=NOW,
        warehouses=[WarehouseStock("cut-off", HANGZHOU, {"CUP": 50})],
        factories=[_factory("A", _pool((10, H)))], makers={"CUP": ["A"]}, travel=travel,
    )  # fmt: skip
    assert promise.lines[0].from_stock == ()
    assert promise.lines[0].made[0].qty == 5


def _legs(table: dict[tuple[Point, Point], float]) -> TravelTime:
    """A travel port from a table of one-way legs (either direction), None elsewhere."""

    def travel(a: Point, b: Point) -> float | None:
        return table.get((a, b), table.get((b, a)))

    return travel


def test_made_goods_carried_through_a_warehouse_are_promised_by_both_legs() -> None:
    """Made goods that go to the customer's warehouse first: a van drives from the hub to
    the factory (20 min), loads, drives back, the units are handled at the hub, and a
    delivery takes them on (40 min); not the factory's direct drive (10 min)."""
    factory_at, hub, customer = YIWU, HANGZHOU, SHANGHAI
    travel = _legs(
        {(hub, factory_at): 1200.0, (hub, customer): 2400.0, (factory_at, customer): 600.0}
    )

    def promise(through: Hub | None) -> Promise:
        return promise_order(
            [Line("CUP", 2)], destination=customer, service="standard", now_s=NOW, warehouses=[],
            factories=[_factory("A", _pool((50, H)), at=factory_at)], makers={"CUP": ["A"]},
            travel=travel, hub=through,
        )  # fmt: skip

    direct, carried = promise(None), promise(Hub(hub))
    ready = NOW + 2 * H
    assert direct.lines[0].made[0].ready_s == carried.lines[0].made[0].ready_s == ready
    assert direct.eta_s == pytest.approx(ready + HANDLING_S + 600.0)
    legs = 1200.0 + HANDLING_S + 1200.0 + HANDLING_S + 2400.0
    assert carried.eta_s == pytest.approx(ready + legs)
    assert carried.lines[0].made[0].eta_s == pytest.approx(ready + legs)
    assert carried.promised_s > carried.eta_s


def test_a_factory_the_hub_cannot_reach_makes_nothing_for_it() -> None:
    """The van from the hub must reach the factory: one it cannot is left out, as an
    unreachable factory is, though it could drive to the customer itself."""
    near, far, hub, customer = YIWU, SHANGHAI, HANGZHOU, (30.5, 120.9)
    travel = _legs({(hub, near): 900.0, (hub, customer): 600.0, (far, customer): 300.0})

    def makers(through: Hub | None) -> list[str]:
        promise = promise_order(
            [Line("CUP", 1)], destination=customer, service="standard", now_s=NOW, warehouses=[],
            factories=[_factory("far", _pool((50, H)), at=far), _factory("near", _pool((5, 0.0), (50, H)), at=near)],
            makers={"CUP": ["far", "near"]}, travel=travel, hub=through,
        )  # fmt: skip
        return [m.factory for m in promise.lines[0].made]

    assert makers(None) == ["far"]
    assert makers(Hub(hub)) == ["near"]


def test_a_warehouse_whose_vans_are_busy_delivers_when_one_is_free() -> None:
    """Both hold the line: the near one's vans are spoken for the next two hours, so the
    far one (40 min away, a van free) delivers sooner and is chosen; alone, the near one
    promises two hours plus its drive, not its handling plus its drive."""
    busy = WarehouseStock("near", HANGZHOU, {"CUP": 5}, wait_s=2 * H)
    free = WarehouseStock("far", YIWU, {"CUP": 5})
    travel = _legs({(HANGZHOU, SHANGHAI): 600.0, (YIWU, SHANGHAI): 2400.0})

    def promise(*warehouses: WarehouseStock) -> Promise:
        return promise_order(
            [Line("CUP", 2)], destination=SHANGHAI, service="express", now_s=NOW,
            warehouses=list(warehouses), factories=[], makers={}, travel=travel,
        )  # fmt: skip

    both = promise(busy, free)
    assert [p.warehouse for p in both.lines[0].from_stock] == ["far"]
    assert both.eta_s == pytest.approx(NOW + HANDLING_S + 2400.0)
    assert promise(busy).eta_s == pytest.approx(NOW + 2 * H + 600.0)


def test_made_goods_wait_for_a_van_of_their_hub_to_fetch_them_and_to_deliver_them() -> None:
    """Made in 2 h, the hub's vans free in 3 h: the trip starts at 3 h, and back at the hub
    the delivery waits 3 h for a van (not just the handling). Made in 2 h with a van free
    in 1 h: the trip starts when they are made, the delivery waits 1 h."""
    hub = HANGZHOU
    travel = _legs({(hub, YIWU): 1200.0, (hub, SHANGHAI): 2400.0})
    legs = 1200.0 + HANDLING_S + 1200.0 + 2400.0

    def eta(wait_s: float) -> float:
        return promise_order(
            [Line("CUP", 2)], destination=SHANGHAI, service="standard", now_s=NOW, warehouses=[],
            factories=[_factory("A", _pool((50, H)))], makers={"CUP": ["A"]}, travel=travel,
            hub=Hub(hub, wait_s),
        ).eta_s  # fmt: skip

    assert eta(3 * H) == pytest.approx(NOW + 3 * H + legs + 3 * H)
    assert eta(1 * H) == pytest.approx(NOW + 2 * H + legs + 1 * H)
    assert eta(0.0) == pytest.approx(NOW + 2 * H + legs + HANDLING_S)
