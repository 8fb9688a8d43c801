"""The baseline's rules, each on a small case computed by hand."""

from __future__ import annotations

import math

from flexfleet.scenario.baseline import (
    edd_pick,
    least_loaded,
    nearest_neighbour_tours,
    nearest_with_stock,
    order_size_moments,
    reorder_point,
)
from flexfleet.scenario.world import MachineState, WorkItem


def _item(job: str, due: float, family: str = "toys") -> WorkItem:
    return WorkItem(job, "s", family, 1, due, "w")


def test_reorder_point_is_mean_over_lead_time_plus_95_percent_safety() -> None:
    """2 orders/h of 1 unit over 24 h: mean 48, sd √48, ROP = ⌈48 + 1.645·6.93⌉ = 60."""
    assert reorder_point(2.0, 1.0, 1.0, 24.0) == 60
    # sizes of mean 2 and E[q²] 5: mean 96, sd √(48·5) = 15.49 → ⌈96 + 25.48⌉ = 122
    assert reorder_point(2.0, 2.0, 5.0, 24.0) == math.ceil(96 + 1.6448536269514722 * math.sqrt(240))
    assert reorder_point(0.0, 2.0, 5.0, 24.0) == 0


def test_edd_takes_the_earliest_due_date_whatever_the_family() -> None:
    """EDD ignores families (no batching) and keeps arrival order on ties."""
    queue = [_item("a", 50.0, "toys"), _item("b", 10.0, "hair"), _item("c", 10.0, "toys")]
    assert edd_pick(queue) == 1
    assert edd_pick([]) is None


def test_least_loaded_machine_that_can_make_the_family() -> None:
    """Of the machines able to make the family, the one with least queued work."""
    machines = [
        MachineState("m1", "f", ("toys",)),
        MachineState("m2", "f", ("toys", "hair")),
        MachineState("m3", "f", ("hair",)),
    ]
    load = {"m1": 300.0, "m2": 100.0, "m3": 0.0}
    chosen = least_loaded(machines, "toys", lambda m: load[m.id])
    assert chosen is not None
    assert chosen.id == "m2"
    assert least_loaded(machines, "lamps", lambda m: 0.0) is None


def test_nearest_warehouse_holding_the_whole_line() -> None:
    """The nearest warehouse with all units wins; one with part of them is skipped."""

    def dist(a: tuple[float, float], b: tuple[float, float]) -> float:
        return abs(a[0] - b[0]) + abs(a[1] - b[1])

    stock = [("near", (0.0, 1.0), 2), ("mid", (0.0, 3.0), 5), ("far", (0.0, 9.0), 9)]
    assert nearest_with_stock((0.0, 0.0), 3, stock, dist) == "mid"
    assert nearest_with_stock((0.0, 0.0), 2, stock, dist) == "near"
    assert nearest_with_stock((0.0, 0.0), 10, stock, dist) is None


def test_nearest_neighbour_tours_fill_vehicles_in_turn() -> None:
    """From the depot at 0 on a line: 1, 2, then 5 does not fit (cap 4) → next tour."""

    def dist(a: tuple[float, float], b: tuple[float, float]) -> float:
        return abs(a[0] - b[0])

    stops = [((5.0, 0.0), 2), ((1.0, 0.0), 1), ((2.0, 0.0), 2), ((-1.0, 0.0), 1)]
    # from 0: nearest is 1 (idx 1) or -1 (idx 3) at distance 1 → lowest index first: 1;
    # from 1: -1 is 2 away, 2 is 1 away → idx 2 (load 3); from 2: -1 (load 4) → full
    assert nearest_neighbour_tours((0.0, 0.0), stops, 4, dist) == [[1, 2, 3], [0]]


def test_order_size_moments_of_the_capped_geometric() -> None:
    """qty_max 1: every order is one unit; E[q] = E[q²] = 1."""
    assert order_size_moments(1) == (1.0, 1.0)
    eq, eq2 = order_size_moments(2, p=0.5)
    assert math.isclose(eq, 1.5)
    assert math.isclose(eq2, 2.5)
