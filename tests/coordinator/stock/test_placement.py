"""Stock placement rules on hand-computed cases (`coordinator.stock.placement`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pytest

from coordinator.stock.cover import Z90
from coordinator.stock.errors import PlanInvalid
from coordinator.stock.placement import (
    Place,
    PlacementPolicy,
    PlacementProblem,
    StreamUplift,
    lead_time_demand,
    plan_stock,
    sku_classes,
)

# Three warehouses on the equator: W2 ~11 km east of W1, W3 ~111 km east of W1.
W1, W2, W3 = Place("W1", (0.0, 0.0)), Place("W2", (0.0, 0.1)), Place("W3", (0.0, 1.0))


def problem(
    daily: Sequence[Sequence[float]],
    on_hand: Sequence[Sequence[int]],
    *,
    houses: Sequence[Place] = (W1, W2, W3),
    inbound: Sequence[Sequence[int]] | None = None,
    sales: Sequence[float] | None = None,
    sd: float = 0.0,
    days: int = 7,
    factories: Sequence[Place] = (),
    makers: Mapping[str, tuple[str, ...]] | None = None,
    streams: Sequence[StreamUplift] = (),
) -> PlacementProblem:
    """Constant daily demand per SKU × warehouse; `sd` per day read from the P10–P90 spread."""
    mean = np.repeat(np.asarray(daily, dtype=float)[:, :, None], days, axis=2)
    skus = tuple(f"S{i}" for i in range(len(daily)))
    return PlacementProblem(
        skus=skus,
        warehouses=tuple(houses),
        mean=mean,
        spread=np.full(mean.shape, 2 * Z90 * sd),
        on_hand=np.asarray(on_hand, dtype=np.int64),
        inbound=np.zeros((len(daily), len(houses)), dtype=np.int64)
        if inbound is None
        else np.asarray(inbound, dtype=np.int64),
        sales=np.asarray(sales if sales is not None else [1.0] * len(daily)),
        factories=tuple(factories),
        makers=dict(makers or {}),
        streams=tuple(streams),
    )


def test_classes_by_share_of_sales() -> None:
    """A up to 80 % of sales, B up to 95 %, C the rest and every SKU that sold nothing."""
    got = sku_classes(np.array([5.0, 80.0, 15.0, 0.0]), PlacementPolicy())
    assert got == ["C", "A", "B", "C"]
    assert sku_classes(np.zeros(2), PlacementPolicy()) == ["C", "C"]


def test_target_is_the_class_quantile_of_lead_time_demand() -> None:
    """10/day over 2 days is 20 ± √20 (Poisson floor): A ⌈20 + 2.054·4.472⌉ = 30, B 28, C 26."""
    plan = plan_stock(
        problem([[10.0], [10.0], [10.0]], [[0], [0], [0]], houses=[W1], sales=[80, 15, 5]),
        PlacementPolicy(),
    )
    assert [(t.sku, t.sku_class, t.target) for t in plan.targets] == [
        ("S0", "A", 30),
        ("S1", "B", 28),
        ("S2", "C", 26),
    ]
    assert plan.targets[0].lead_time_mean == pytest.approx(20.0)
    assert plan.targets[0].lead_time_sd == pytest.approx(math.sqrt(20))
    assert "class A" in plan.targets[0].why
    assert "P98" in plan.targets[0].why


def test_target_reads_the_spread_and_a_fractional_lead_time() -> None:
    """4/day with sd 3/day over 1.5 days: 6 ± √13.5 → ⌈6 + 2.054·3.674⌉ = 14."""
    mean, sd = lead_time_demand(np.full((1, 1, 5), 4.0), np.full((1, 1, 5), 6 * Z90), 1.5)
    assert float(mean[0, 0]) == pytest.approx(6.0)
    assert float(sd[0, 0]) == pytest.approx(math.sqrt(13.5))
    plan = plan_stock(
        problem([[4.0]], [[0]], houses=[W1], sd=3.0), PlacementPolicy(lead_time_days=1.5)
    )
    assert plan.targets[0].target == 14


def test_service_levels_are_configurable() -> None:
    """A 50 % service level puts the target at the mean demand over the lead time."""
    policy = PlacementPolicy(service_a=0.5)
    plan = plan_stock(problem([[10.0]], [[0]], houses=[W1]), policy)
    assert plan.targets[0].target == 20


def test_lateral_transfers_nearest_spare_first() -> None:
    """W1 needs 25 (5 of 30): W2 (11 km) sends its 10 spare, W3 (111 km) the other 15."""
    plan = plan_stock(problem([[10.0, 10.0, 10.0]], [[5, 40, 60]]), PlacementPolicy())
    assert [(t.source, t.destination, t.qty) for t in plan.transfers] == [
        ("W2", "W1", 10),
        ("W3", "W1", 15),
    ]
    assert plan.transfers[0].km == pytest.approx(11.12, abs=0.05)
    assert "target of 30" in plan.transfers[0].why
    assert plan.replenishments == ()


def test_minimum_transfer_size_skips_small_spare_and_rounds_small_need_up() -> None:
    """With at least 12 a move: W2's 10 spare stays; W1's need of 5 (5 + 20 inbound of 30)
    comes as 12 from W3."""
    base = problem([[10.0, 10.0, 10.0]], [[5, 40, 60]], inbound=[[20, 0, 0]])
    plan = plan_stock(base, PlacementPolicy(min_transfer_units=12))
    assert [(t.source, t.destination, t.qty) for t in plan.transfers] == [("W3", "W1", 12)]


def test_only_stock_on_hand_is_spare() -> None:
    """W2 holds 10 on hand and 50 inbound: it can send its 10, not the 30 above its target."""
    plan = plan_stock(
        problem([[10.0, 10.0]], [[0, 10]], houses=[W1, W2], inbound=[[0, 50]]), PlacementPolicy()
    )
    assert [(t.source, t.qty) for t in plan.transfers] == [("W2", 10)]
    assert [(r.warehouse, r.qty) for r in plan.replenishments] == [("W1", 20)]


def test_replenishment_from_the_nearest_maker_sized_to_the_gap() -> None:
    """W1 holds 12 of 30 and nobody has spare: 18 made at F2 (near), not F1 (far)."""
    far, near = Place("F1", (0.0, 2.0)), Place("F2", (0.0, -0.2))
    plan = plan_stock(
        problem(
            [[10.0], [10.0]],
            [[12], [0]],
            houses=[W1],
            factories=[far, near],
            makers={"S0": ("F1", "F2")},
        ),
        PlacementPolicy(),
    )
    got = [(r.sku, r.warehouse, r.qty, r.factory) for r in plan.replenishments]
    # two SKUs with equal sales: both A (50 % sold by better SKUs before S1), target 30
    assert got == [("S0", "W1", 18, "F2"), ("S1", "W1", 30, None)]
    assert "no factory makes S1" in plan.replenishments[1].why


def test_stream_uplift_everywhere_in_proportion_to_demand() -> None:
    """40 units for a stream with no audience place: W1 (10/day) +10, W2 (30/day) +30."""
    up = StreamUplift("live-1", "S0", 40.0, starts_in_h=2.0)
    plain = plan_stock(problem([[10.0, 30.0]], [[0, 0]], houses=[W1, W2]), PlacementPolicy())
    raised = plan_stock(
        problem([[10.0, 30.0]], [[0, 0]], houses=[W1, W2], streams=[up]), PlacementPolicy()
    )
    assert [p.units for p in raised.prepositions] == pytest.approx([10.0, 30.0])
    # W1: ⌈29.18 + 10⌉ = 40; W2: 60 ± √60 → ⌈75.91 + 30⌉ = 106
    assert [t.target for t in plain.targets] == [30, 76]
    assert [t.target for t in raised.targets] == [40, 106]
    assert "live-1" in raised.prepositions[0].why


def test_stream_uplift_at_the_warehouses_nearest_its_audience() -> None:
    """Audience 4 km from W1: the two nearest (W1, W2) share it 1:3, W3 is untouched."""
    up = StreamUplift("live-1", "S0", 40.0, starts_in_h=2.0, audience_at=(0.0, 0.04))
    plan = plan_stock(problem([[10.0, 30.0, 10.0]], [[0, 0, 0]], streams=[up]), PlacementPolicy())
    assert [(p.warehouse, round(p.units, 6)) for p in plan.prepositions] == [
        ("W1", 10.0),
        ("W2", 30.0),
    ]
    assert [t.target for t in plan.targets] == [40, 106, 30]
    one = plan_stock(
        problem(
            [[10.0, 30.0, 10.0]],
            [[0, 0, 0]],
            streams=[StreamUplift("live-2", "S0", 7.0, 1.0, audience_at=(0.0, 0.9))],
        ),
        PlacementPolicy(nearest_warehouses=1),
    )
    assert [(p.warehouse, p.units) for p in one.prepositions] == [("W3", 7.0)]


def test_streams_leave_other_skus_alone() -> None:
    """A stream featuring S1 raises no target of S0."""
    up = StreamUplift("live-1", "S1", 50.0, starts_in_h=3.0)
    plan = plan_stock(
        problem([[10.0], [10.0]], [[0], [0]], houses=[W1], sales=[1, 1], streams=[up]),
        PlacementPolicy(),
    )
    assert [t.uplift for t in plan.targets] == [0.0, 50.0]


def test_same_problem_same_plan() -> None:
    """Planning is deterministic."""
    rng = np.random.default_rng(3)
    daily = rng.uniform(0, 20, (20, 3)).tolist()
    stock = rng.integers(0, 80, (20, 3)).tolist()
    a = plan_stock(problem(daily, stock), PlacementPolicy())
    b = plan_stock(problem(daily, stock), PlacementPolicy())
    assert a == b
    assert a.transfers  # the random case does move stock


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"mean": np.full((1, 1, 3), np.nan)}, "mean"),
        ({"mean": np.ones((1, 1))}, "mean"),
        ({"spread": np.ones((1, 1, 2))}, "spread"),
        ({"on_hand": np.array([[-1]])}, "on_hand"),
        ({"inbound": np.array([[np.inf]])}, "inbound"),
        ({"sales": np.array([1.0, 2.0])}, "sales"),
        ({"skus": ("S0", "S0")}, "skus"),
        ({"streams": (StreamUplift("x", "nope", 1.0, 1.0),)}, "streams[0].sku"),
        ({"streams": (StreamUplift("x", "S0", -1.0, 1.0),)}, "streams[0].units"),
    ],
)
def test_malformed_problem_names_the_field(change: dict[str, object], field: str) -> None:
    """A problem with bad arrays, twice-given SKUs or bad streams is refused naming the part."""
    base = problem([[1.0]], [[0]], houses=[W1], days=3)
    values = {
        name: getattr(base, name)
        for name in ("skus", "warehouses", "mean", "spread", "on_hand", "inbound", "sales")
    }
    with pytest.raises(PlanInvalid) as err:
        PlacementProblem(**{**values, **change})
    assert err.value.field == field


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"service_a": 1.0}, "service_a"),
        ({"service_c": 0.2}, "service_c"),
        ({"lead_time_days": 0.0}, "lead_time_days"),
        ({"lead_time_days": math.nan}, "lead_time_days"),
        ({"class_a_share": 0.99, "class_b_share": 0.9}, "class_a_share"),
        ({"min_transfer_units": 0}, "min_transfer_units"),
    ],
)
def test_bad_policy_names_the_field(kwargs: dict[str, float], field: str) -> None:
    """Service levels outside [0.5, 1), a zero lead time, shares the wrong way round refused."""
    with pytest.raises(PlanInvalid) as err:
        PlacementPolicy(**kwargs)  # type: ignore[arg-type]
    assert err.value.field == field
