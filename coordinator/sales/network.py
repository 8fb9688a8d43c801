"""The supply network sales orders are served from (pure): factories, micro-warehouses (and
how far their vans deliver: `service_radius_km`, per warehouse or for the whole network),
which factories make which SKU, and the allocation rules.

`network_from_json` validates a whole network document and raises `NetworkError` naming the
offending field by its JSON path (e.g. `factories[1].location.lat`), so the API can answer
422 with it. A machine belongs to at most one factory and a shelf node to at most one
warehouse; SKUs name only declared factories. `recipe_at` turns a product's recipe (its
operations with the machines each may run on, `coordinator.plan.orders.specs.ProductSpec`)
into the machine-seconds it takes at one factory, for the capacity model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from coordinator.plan.orders.specs import ProductSpec
from coordinator.sales.capacity import OpeningHours
from coordinator.sales.promise import AllocationRule, Point, Recipe
from coordinator.sales.reach import DEFAULT_SERVICE_RADIUS_KM, MAX_SERVICE_RADIUS_KM
from protocol.topics import ID_PATTERN

MAX_FACTORIES: Final = 200
MAX_WAREHOUSES: Final = 500
MAX_MACHINES: Final = 1000
MAX_SKUS: Final = 100_000
MAX_RULES: Final = 50
_ID: Final = re.compile(ID_PATTERN)
_HHMM: Final = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


class NetworkError(ValueError):
    """A network document that cannot be used; `field` is the JSON path of the culprit."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Factory:
    """A place with machines that makes products for the network."""

    id: str
    location: Point
    machines: tuple[str, ...]
    hours: OpeningHours
    capacity_share: float = 1.0
    min_batch: int = 1


@dataclass(frozen=True, slots=True)
class Warehouse:
    """A micro-warehouse: its shelf nodes, where it is, and how far its vans deliver (km,
    great-circle; `coordinator.sales.reach`)."""

    id: str
    location: Point
    nodes: tuple[str, ...]
    service_radius_km: float = DEFAULT_SERVICE_RADIUS_KM


@dataclass(frozen=True, slots=True)
class Network:
    """Everything the promise engine needs to know about places and who makes what."""

    factories: tuple[Factory, ...] = ()
    warehouses: tuple[Warehouse, ...] = ()
    makers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # sku → factory ids
    rules: tuple[AllocationRule, ...] = ()

    def factory_of_machine(self) -> dict[str, str]:
        """Machine node id → factory id."""
        return {m: f.id for f in self.factories for m in f.machines}

    def warehouse_of_node(self) -> dict[str, str]:
        """Shelf node id → warehouse id."""
        return {n: w.id for w in self.warehouses for n in w.nodes}


def recipe_at(product: ProductSpec, factory: Factory) -> Recipe | None:
    """Machine-seconds per unit and per batch of `product` at `factory`: each operation on
    its fastest machine there; None when some operation has no machine there."""
    here = set(factory.machines)
    per_unit = setup = 0.0
    for step in product.operations:
        options = [o for o in step if o.machine in here]
        if not options:
            return None
        best = min(options, key=lambda o: o.duration_s_per_unit)
        per_unit += best.duration_s_per_unit
        setup += best.setup_s
    return Recipe(s_per_unit=per_unit, setup_s=setup) if per_unit > 0 else None


def _need(data: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in data:
        raise NetworkError(f"{path}.{key}" if path else key, "is required")
    return data[key]


def _obj(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise NetworkError(path, "must be an object")
    return value


def _list(value: Any, path: str, *, limit: int) -> Sequence[Any]:
    if not isinstance(value, list):
        raise NetworkError(path, "must be a list")
    if len(value) > limit:
        raise NetworkError(path, f"at most {limit} entries")
    return value


def _id(value: Any, path: str) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise NetworkError(path, "must be an id: 1-64 of [A-Za-z0-9_.-], starting alphanumeric")
    return value


def _number(value: Any, path: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise NetworkError(path, f"must be a number in [{lo}, {hi}]")
    return float(value)


def _int(value: Any, path: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise NetworkError(path, f"must be an integer in [{lo}, {hi}]")
    return value


def _radius(value: Any, path: str) -> float:
    radius = _number(value, path, 0.0, MAX_SERVICE_RADIUS_KM)
    if radius <= 0:
        raise NetworkError(path, "must be more than 0 km")
    return radius


def location_from_json(value: Any, path: str) -> Point:
    """A (lat, lon) from `{"lat": .., "lon": ..}`, range-checked."""
    data = _obj(value, path)
    return (
        _number(_need(data, "lat", path), f"{path}.lat", -90.0, 90.0),
        _number(_need(data, "lon", path), f"{path}.lon", -180.0, 180.0),
    )


def _minutes(value: Any, path: str) -> int:
    if not isinstance(value, str) or not (m := _HHMM.match(value)):
        raise NetworkError(path, 'must be a time "HH:MM"')
    if value == "24:00":
        return 1440
    return int(m.group(1)) * 60 + int(m.group(2))


def _hours(value: Any, path: str) -> OpeningHours:
    data = _obj(value, path)
    weekdays = _list(data.get("weekdays", list(range(7))), f"{path}.weekdays", limit=7)
    days = frozenset(_int(d, f"{path}.weekdays", 0, 6) for d in weekdays)
    if not days:
        raise NetworkError(f"{path}.weekdays", "must name at least one day (0 = Monday)")
    open_min = _minutes(data.get("open", "00:00"), f"{path}.open")
    if open_min == 1440:
        raise NetworkError(f"{path}.open", "must be before 24:00")
    return OpeningHours(
        open_min=open_min,
        close_min=_minutes(data.get("close", "24:00"), f"{path}.close"),
        weekdays=days,
        utc_offset_min=_int(data.get("utc_offset_min", 0), f"{path}.utc_offset_min", -840, 840),
    )


def network_from_json(data: Any) -> Network:
    """Validate a network document and build the `Network`; `NetworkError` names the field."""
    doc = _obj(data, "body")
    unknown = set(doc) - {"factories", "warehouses", "products", "rules", "service_radius_km"}
    if unknown:
        raise NetworkError(sorted(unknown)[0], "is not a network field")
    radius = _radius(doc.get("service_radius_km", DEFAULT_SERVICE_RADIUS_KM), "service_radius_km")
    factories: list[Factory] = []
    machine_owner: dict[str, str] = {}
    for i, raw in enumerate(_list(doc.get("factories", []), "factories", limit=MAX_FACTORIES)):
        path = f"factories[{i}]"
        item = _obj(raw, path)
        fid = _id(_need(item, "id", path), f"{path}.id")
        if any(f.id == fid for f in factories):
            raise NetworkError(f"{path}.id", f"factory {fid!r} is declared twice")
        machines = _list(_need(item, "machines", path), f"{path}.machines", limit=MAX_MACHINES)
        for j, machine in enumerate(machines):
            _id(machine, f"{path}.machines[{j}]")
            if machine in machine_owner:
                raise NetworkError(
                    f"{path}.machines[{j}]",
                    f"machine {machine!r} already belongs to factory {machine_owner[machine]!r}",
                )
            machine_owner[machine] = fid
        factories.append(
            Factory(
                id=fid,
                location=location_from_json(_need(item, "location", path), f"{path}.location"),
                machines=tuple(machines),
                hours=_hours(item.get("hours", {}), f"{path}.hours"),
                capacity_share=_number(
                    item.get("capacity_share", 1.0), f"{path}.capacity_share", 0.0, 1.0
                ),
                min_batch=_int(item.get("min_batch", 1), f"{path}.min_batch", 1, 1_000_000),
            )
        )
    warehouses: list[Warehouse] = []
    node_owner: dict[str, str] = {}
    for i, raw in enumerate(_list(doc.get("warehouses", []), "warehouses", limit=MAX_WAREHOUSES)):
        path = f"warehouses[{i}]"
        item = _obj(raw, path)
        wid = _id(_need(item, "id", path), f"{path}.id")
        if any(w.id == wid for w in warehouses):
            raise NetworkError(f"{path}.id", f"warehouse {wid!r} is declared twice")
        nodes = _list(_need(item, "nodes", path), f"{path}.nodes", limit=MAX_MACHINES)
        for j, node in enumerate(nodes):
            _id(node, f"{path}.nodes[{j}]")
            if node in node_owner or node in machine_owner:
                raise NetworkError(f"{path}.nodes[{j}]", f"node {node!r} is already placed")
            node_owner[node] = wid
        warehouses.append(
            Warehouse(
                id=wid,
                location=location_from_json(_need(item, "location", path), f"{path}.location"),
                nodes=tuple(nodes),
                service_radius_km=_radius(
                    item.get("service_radius_km", radius), f"{path}.service_radius_km"
                ),
            )
        )
    known = {f.id for f in factories}
    makers: dict[str, tuple[str, ...]] = {}
    for i, raw in enumerate(_list(doc.get("products", []), "products", limit=MAX_SKUS)):
        path = f"products[{i}]"
        item = _obj(raw, path)
        sku = _id(_need(item, "sku", path), f"{path}.sku")
        if sku in makers:
            raise NetworkError(f"{path}.sku", f"SKU {sku!r} is declared twice")
        made_at = _list(_need(item, "factories", path), f"{path}.factories", limit=MAX_FACTORIES)
        for j, fid in enumerate(made_at):
            if fid not in known:
                raise NetworkError(f"{path}.factories[{j}]", f"{fid!r} is no declared factory")
        makers[sku] = tuple(made_at)
    rules: list[AllocationRule] = []
    for i, raw in enumerate(_list(doc.get("rules", []), "rules", limit=MAX_RULES)):
        path = f"rules[{i}]"
        item = _obj(raw, path)
        rules.append(
            AllocationRule(
                below_qty=_int(_need(item, "below_qty", path), f"{path}.below_qty", 1, 1_000_000),
                max_km=_number(_need(item, "max_km", path), f"{path}.max_km", 0.0, 20_037.5),
            )
        )
    return Network(tuple(factories), tuple(warehouses), makers, tuple(rules))
