"""Whether a van reaches a destination: the nearest micro-warehouse's service radius, the
travel port's roads, and a network without warehouses (pure)."""

from __future__ import annotations

from coordinator.sales.promise import Point, haversine_km
from coordinator.sales.reach import unreachable_reason

YIWU: Point = (29.31, 120.08)
HANGZHOU: Point = (30.27, 120.16)
KASHGAR: Point = (39.47, 75.99)  # about 4,000 km west of both


def _road(_a: Point, _b: Point) -> float:
    return 1800.0


def test_a_destination_within_some_warehouse_s_radius_is_reachable() -> None:
    """Yiwu is 107 km from Hangzhou: out of a 50 km radius there, inside Yiwu's own 20 km."""
    assert 100 < haversine_km(YIWU, HANGZHOU) < 110
    depots = [("w-hz", HANGZHOU, 50.0), ("w-yw", (29.33, 120.10), 20.0)]
    assert unreachable_reason(YIWU, depots, _road) is None
    assert unreachable_reason(YIWU, depots[:1], _road) is not None


def test_beyond_every_radius_names_the_nearest_warehouse_and_its_reach() -> None:
    """The reason says which warehouse is nearest, how far it is and how far it serves."""
    reason = unreachable_reason(KASHGAR, [("w-hz", HANGZHOU, 200.0), ("w-yw", YIWU, 200.0)], _road)
    assert reason is not None
    assert "'w-hz', is 4114 km away" in reason
    assert "serves 200 km" in reason


def test_no_road_from_the_warehouses_in_range_is_unreachable() -> None:
    """Within the radius but the travel port finds no route (None): not reachable."""
    reason = unreachable_reason(YIWU, [("w-yw", YIWU, 200.0)], lambda _a, _b: None)
    assert reason is not None
    assert "no route" in reason


def test_a_network_without_warehouses_reaches_nowhere() -> None:
    """No micro-warehouse means no van to deliver with."""
    assert unreachable_reason(YIWU, [], _road) is not None
