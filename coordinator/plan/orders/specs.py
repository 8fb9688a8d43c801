"""Orders and the delivery fleet as the operator sends them (times in ms since the Unix
epoch, durations in seconds), and their JSON form for the store.

The planner converts them to plan units when it takes them (`coordinator.plan.runner`);
the store keeps them in this unconverted form, so a restarted coordinator converts them
again against the same plan epoch. `order_json` is canonical (sorted keys): two equal
orders have the same text, which is how a repeated order is recognised.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

import orjson

__all__ = [
    "DeliveryOrder",
    "DepotSpec",
    "JobOrder",
    "OperationOrder",
    "OrdersClosed",
    "OrdersDispatched",
    "OrdersTaken",
    "ProductSpec",
    "ReserveSpec",
    "StepOption",
    "VehicleSpec",
    "delivery_from_json",
    "depot_from_json",
    "job_from_json",
    "order_json",
    "product_from_json",
    "reserve_from_json",
    "vehicle_from_json",
]


@dataclass(frozen=True, slots=True)
class OrdersTaken:
    """The ids of an accepted batch, and those of them already held with the same content
    (left alone: no re-plan)."""

    jobs: list[str]
    deliveries: list[str]
    unchanged_jobs: list[str]
    unchanged_deliveries: list[str]


@dataclass(frozen=True, slots=True)
class OrdersClosed:
    """The ids of a close request that were held (now forgotten) and those that were not."""

    jobs: list[str]
    deliveries: list[str]
    unknown_jobs: list[str]
    unknown_deliveries: list[str]


@dataclass(frozen=True, slots=True)
class OrdersDispatched:
    """The deliveries of a dispatch request now pinned to the vehicle, and the ids not held."""

    vehicle_id: str
    deliveries: list[str]
    unknown: list[str]


@dataclass(frozen=True, slots=True)
class OperationOrder:
    """One step of an order: the machines it may run on, with its duration on each."""

    options: Mapping[str, float]  # machine id → duration in seconds
    family: str = ""


@dataclass(frozen=True, slots=True)
class JobOrder:
    """A production order: a chain of operations, with optional release and due times
    (ms since the Unix epoch), a weight for lateness, and the rush flag; `quantity` good
    units of `sku` finish it (counted by its machines; None: its last operation done)."""

    id: str
    operations: tuple[OperationOrder, ...]
    due_ms: int | None = None
    release_ms: int | None = None
    weight: int = 1
    rush: bool = False
    quantity: int | None = None
    sku: str = ""


@dataclass(frozen=True, slots=True)
class DepotSpec:
    """A micro-warehouse (its node id) as a depot: position (`x`, `y` in plan units of
    driving, or `lat`, `lon` in degrees), and opening times in ms since the Unix epoch
    (None: always open)."""

    id: str
    x: float
    y: float
    open_ms: int | None = None
    close_ms: int | None = None
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True, slots=True)
class VehicleSpec:
    """A vehicle based at a depot, with its capacity and longest route in seconds."""

    id: str
    depot_id: str
    capacity: int
    max_duration_s: float | None = None


@dataclass(frozen=True, slots=True)
class DeliveryOrder:
    """A stop to route: position (as `DepotSpec`), load, the window in which service must
    start (ms since the Unix epoch, None: open) and the service time in seconds.

    `depot_id` (None: any) is the depot whose vehicles carry it: where a delivery's goods
    are loaded, or where a pickup's goods are unloaded (its vehicle's route ends there).
    `action` is `delivery` (hand goods over) or `pickup` (take goods on: a transfer from a
    factory, `transfer_id` carrying `demand` units of `sku`). `promised_ms` (None: no
    promise) is when service should start to keep a customer's promise: a tour holding it
    leaves in time, and once it has passed, with the next van; unlike `due_ms` it does not
    bind the routes."""

    id: str
    x: float
    y: float
    demand: int
    ready_ms: int | None = None
    due_ms: int | None = None
    service_s: float = 0.0
    lat: float | None = None
    lon: float | None = None
    depot_id: str | None = None
    action: str = "delivery"
    transfer_id: str = ""
    sku: str = ""
    promised_ms: int | None = None


@dataclass(frozen=True, slots=True)
class ChangeoverSpec:
    """Changeover time in seconds on any machine when `to_family` follows `from_family`."""

    from_family: str
    to_family: str
    duration_s: float


def changeover_from_json(data: Mapping[str, Any]) -> ChangeoverSpec:
    """A `ChangeoverSpec` from its `order_json` form (parsed)."""
    return ChangeoverSpec(**data)


@dataclass(frozen=True, slots=True)
class ReserveSpec:
    """The rush reserve: `share` of every machine kept for rush jobs at the end of each
    period of `period_s` seconds, in the periods starting within `horizon_s` of a re-plan."""

    share: float
    period_s: float
    horizon_s: float


def reserve_from_json(data: Mapping[str, Any]) -> ReserveSpec:
    """A `ReserveSpec` from its `order_json` form (parsed)."""
    return ReserveSpec(**data)


@dataclass(frozen=True, slots=True)
class StepOption:
    """A machine a product's operation may run on: seconds per unit made, plus a setup
    time in seconds once per job."""

    machine: str
    duration_s_per_unit: float
    setup_s: float = 0.0


@dataclass(frozen=True, slots=True)
class ProductSpec:
    """How a SKU is made (`PUT /api/v1/plans/products`): its operations in order, each
    with the machines it may run on; the batch bounds of a replenishment job; and whether
    the coordinator replenishes it by itself (`"auto"`) or not (`"off"`); the scrap share
    above which a batch raises an alarm (None: the coordinator's default)."""

    sku: str
    operations: tuple[tuple[StepOption, ...], ...]
    family: str = ""
    min_batch: int = 1
    max_batch: int | None = None
    replenish: Literal["auto", "off"] = "auto"
    max_scrap_share: float | None = None


def product_from_json(data: Mapping[str, Any]) -> ProductSpec:
    """A `ProductSpec` from its `order_json` form (parsed)."""
    return ProductSpec(
        sku=data["sku"],
        operations=tuple(
            tuple(StepOption(**option) for option in step) for step in data["operations"]
        ),
        family=data["family"],
        min_batch=data["min_batch"],
        max_batch=data["max_batch"],
        replenish=data["replenish"],
        max_scrap_share=data.get("max_scrap_share"),  # absent from recipes stored before it
    )


def order_json(
    item: JobOrder
    | DeliveryOrder
    | DepotSpec
    | VehicleSpec
    | ChangeoverSpec
    | ReserveSpec
    | ProductSpec,
) -> str:
    """The canonical JSON text of an order or fleet entry (sorted keys)."""
    return orjson.dumps(asdict(item), option=orjson.OPT_SORT_KEYS).decode()


def job_from_json(data: Mapping[str, Any]) -> JobOrder:
    """A `JobOrder` from its `order_json` form (parsed)."""
    return JobOrder(
        id=data["id"],
        operations=tuple(
            OperationOrder(dict(op["options"]), family=op["family"]) for op in data["operations"]
        ),
        due_ms=data["due_ms"],
        release_ms=data["release_ms"],
        weight=data["weight"],
        rush=data["rush"],
        quantity=data.get("quantity"),  # absent from orders stored before quantities
        sku=data.get("sku", ""),
    )


def delivery_from_json(data: Mapping[str, Any]) -> DeliveryOrder:
    """A `DeliveryOrder` from its `order_json` form (parsed)."""
    return DeliveryOrder(**data)


def depot_from_json(data: Mapping[str, Any]) -> DepotSpec:
    """A `DepotSpec` from its `order_json` form (parsed)."""
    return DepotSpec(**data)


def vehicle_from_json(data: Mapping[str, Any]) -> VehicleSpec:
    """A `VehicleSpec` from its `order_json` form (parsed)."""
    return VehicleSpec(**data)
