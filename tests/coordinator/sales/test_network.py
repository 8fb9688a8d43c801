"""The network document: a valid one builds, every bad field is named, recipes per factory."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from coordinator.plan.orders.specs import ProductSpec, StepOption
from coordinator.sales.network import NetworkError, network_from_json, recipe_at
from coordinator.sales.reach import DEFAULT_SERVICE_RADIUS_KM

GOOD: dict[str, Any] = {
    "factories": [
        {"id": "f-yiwu", "location": {"lat": 29.31, "lon": 120.08},
         "machines": ["m1", "m2"], "hours": {"open": "08:00", "close": "20:00",
         "weekdays": [0, 1, 2, 3, 4, 5], "utc_offset_min": 480},
         "capacity_share": 0.6, "min_batch": 5},
        {"id": "f-jinhua", "location": {"lat": 29.08, "lon": 119.65}, "machines": ["m3"]},
    ],
    "warehouses": [{"id": "w1", "location": {"lat": 30.27, "lon": 120.16}, "nodes": ["shelf-1"]}],
    "products": [{"sku": "CUP", "factories": ["f-yiwu", "f-jinhua"]}],
    "rules": [{"below_qty": 100, "max_km": 150}],
}  # fmt: skip


def test_a_valid_network_builds() -> None:
    """Factories with hours and shares, warehouses, makers and rules come through."""
    net = network_from_json(GOOD)
    yiwu = net.factories[0]
    assert yiwu.hours.open_min == 480
    assert yiwu.hours.close_min == 1200
    assert yiwu.hours.weekdays == frozenset(range(6))
    assert yiwu.capacity_share == 0.6
    assert net.factories[1].hours.close_min == 1440  # around the clock by default
    assert net.makers["CUP"] == ("f-yiwu", "f-jinhua")
    assert net.factory_of_machine()["m3"] == "f-jinhua"
    assert net.warehouse_of_node() == {"shelf-1": "w1"}
    assert net.rules[0].max_km == 150.0


def test_service_radius_per_warehouse_else_the_network_s_else_the_default() -> None:
    """A warehouse's own radius wins, then the network's, then the 200 km default."""
    assert network_from_json(GOOD).warehouses[0].service_radius_km == DEFAULT_SERVICE_RADIUS_KM
    doc = copy.deepcopy(GOOD) | {"service_radius_km": 80}
    doc["warehouses"].append(
        {"id": "w2", "location": {"lat": 29.3, "lon": 120.1}, "nodes": [], "service_radius_km": 25}
    )
    radii = [w.service_radius_km for w in network_from_json(doc).warehouses]
    assert radii == [80.0, 25.0]


def _with(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(GOOD)
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("factories", 0, "location", "lat"), 91, "factories[0].location.lat"),
        (("factories", 0, "location", "lon"), "east", "factories[0].location.lon"),
        (("factories", 0, "location"), KeyError, "factories[0].location"),
        (("factories", 1, "id"), "f-yiwu", "factories[1].id"),
        (("factories", 1, "machines"), ["m1"], "factories[1].machines[0]"),
        (("factories", 0, "capacity_share"), 1.5, "factories[0].capacity_share"),
        (("factories", 0, "min_batch"), 0, "factories[0].min_batch"),
        (("factories", 0, "hours", "open"), "8am", "factories[0].hours.open"),
        (("factories", 0, "hours", "weekdays"), [7], "factories[0].hours.weekdays"),
        (("factories", 0, "hours", "weekdays"), [], "factories[0].hours.weekdays"),
        (("warehouses", 0, "nodes"), ["m1"], "warehouses[0].nodes[0]"),
        (("warehouses", 0, "id"), "bad id", "warehouses[0].id"),
        (("products", 0, "factories"), ["nowhere"], "products[0].factories[0]"),
        (("rules", 0, "below_qty"), True, "rules[0].below_qty"),
        (("factories",), "all of them", "factories"),
        (("factories",), [{"id": "x"}] * 201, "factories"),
        (("colour",), "red", "colour"),
        (("service_radius_km",), 0, "service_radius_km"),
        (("service_radius_km",), True, "service_radius_km"),
        (("warehouses", 0, "service_radius_km"), -5, "warehouses[0].service_radius_km"),
        (("warehouses", 0, "service_radius_km"), 30_000, "warehouses[0].service_radius_km"),
    ],
)
def test_bad_fields_are_named(path: tuple[Any, ...], value: Any, field: str) -> None:
    """Out-of-range coordinates, duplicates, a machine in two factories, unknown factories,
    booleans for numbers, oversized lists and unknown fields each name their JSON path."""
    with pytest.raises(NetworkError) as caught:
        network_from_json(_with(path, value))
    assert caught.value.field.startswith(field)


def test_recipe_at_a_factory_takes_the_fastest_machine_there() -> None:
    """Each operation on its fastest machine at the factory; a factory lacking a machine for
    some operation cannot make the product."""
    net = network_from_json(GOOD)
    product = ProductSpec(
        sku="CUP",
        operations=(
            (StepOption("m1", 30.0, 600.0), StepOption("m2", 20.0, 900.0), StepOption("m3", 10.0)),
            (StepOption("m2", 5.0, 60.0),),
        ),
    )
    recipe = recipe_at(product, net.factories[0])
    assert recipe is not None
    assert recipe.s_per_unit == 25.0
    assert recipe.setup_s == 960.0
    assert recipe_at(product, net.factories[1]) is None
