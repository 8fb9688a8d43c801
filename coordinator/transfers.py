"""Made goods travel to the micro-warehouses: a finished job's units become a transfer.

When the machines finish a job (its counts, `coordinator.jobs`), its good units are picked
up at the factory of the machine that made them by a vehicle based at the warehouse they
go to, as the transfer `t.{job id}` (`coordinator.plan.orders.replenishment.transfer_id`):
a `pickup` stop routed with the deliveries (`DeliveryOrder.depot_id` binds it to that
warehouse's vehicles; the route ends at the depot, where the vehicle unloads it). The
warehouse's agent reports the receipt against the transfer id; a replenishment job closes
on it, a sales order moves to `at_warehouse` and ships from that warehouse.

Where the units go (`transfer_pickup`, pure):
- a replenishment job: the shelf it replenishes, when that node is a declared depot;
- a sales order's job: the declared depot nearest to the order's destination (the one
  that then delivers it);
- any other job, or no located depot, or a machine in no located factory: not carried
  (None): the goods stay where the planner had them before (a sales order ships when
  produced, loading at its vehicle's depot).

`carry_made_goods` wires it: the planner asks for each produced job's pickup, and the
sales book asks whether an order's units are carried (then it waits for the receipt) and
whether each of its parts has arrived (an order made in parts ships with its last one);
the promise engine is told where a destination's made goods are carried (`carried_to`),
so their promise counts both legs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from coordinator.jobs.progress import JobProgress
from coordinator.jobs.tracker import JobTracker
from coordinator.plan.orders.replenishment import transfer_id
from coordinator.plan.orders.specs import DeliveryOrder, DepotSpec
from coordinator.plan.runner import PlanRunner
from coordinator.sales.book import SalesBook, order_of_job, part_of_job
from coordinator.sales.network import Network
from coordinator.sales.promise import Hub

__all__ = [
    "Origin",
    "carry_made_goods",
    "nearest_depot",
    "nearest_depot_place",
    "pickup_promised_ms",
    "transfer_pickup",
]

Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Origin:
    """A finished job: its SKU, good units and the factory location they wait at."""

    job_id: str
    sku: str
    good: int
    factory: Point


def nearest_depot(depots: Iterable[DepotSpec], to: Point) -> str | None:
    """The located depot nearest to `to` (great-circle order; ties by id), or None."""
    found = nearest_depot_place(depots, to)
    return None if found is None else found[0]


def nearest_depot_place(depots: Iterable[DepotSpec], to: Point) -> tuple[str, Point] | None:
    """The located depot nearest to `to` and its place (as `nearest_depot`), or None."""
    located = [(d.id, d.lat, d.lon) for d in depots if d.lat is not None and d.lon is not None]
    if not located:
        return None

    def distance(place: tuple[str, float, float]) -> tuple[float, str]:
        depot_id, lat, lon = place
        lat1, lat2 = math.radians(to[0]), math.radians(lat)
        dlat, dlon = lat2 - lat1, math.radians(lon - to[1])
        h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
        return (h, depot_id)

    depot_id, lat, lon = min(located, key=distance)
    return depot_id, (lat, lon)


def transfer_pickup(
    origin: Origin, *, depot_id: str, service_s: float, promised_ms: int | None = None
) -> DeliveryOrder:
    """The pickup of a finished job's good units at its factory, for `depot_id`; a van
    should be there by `promised_ms` (None: no customer waits for them)."""
    tid = transfer_id(origin.job_id)
    return DeliveryOrder(
        id=tid,
        x=0.0,
        y=0.0,
        demand=origin.good,
        service_s=service_s,
        lat=origin.factory[0],
        lon=origin.factory[1],
        depot_id=depot_id,
        action="pickup",
        transfer_id=tid,
        sku=origin.sku,
        promised_ms=promised_ms,
    )


def pickup_promised_ms(
    promise: Mapping[str, Any], line: int, part: int, *, drive_out_s: float
) -> int | None:
    """When a van should be at the factory for the units of a made part of a promised order
    (`promise` as the API shows it): the part's promised readiness, the van's drive there
    from its warehouse, and half the order's margin (the promised time past its ETA; the
    other half is its delivery's). None when the promise has no such part."""
    try:
        made = promise["lines"][line]["made"][part]
        margin = int(promise["promised_ms"]) - int(promise["eta_ms"])
        return int(made["ready_ms"]) + round(drive_out_s * 1000) + max(0, margin) // 2
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def origin_of(progress: JobProgress | None, network: Network) -> Origin | None:
    """Where a finished job's good units are (None: not finished, none good, or made on
    a machine of no factory)."""
    if progress is None or progress.state not in ("finished", "short") or progress.good < 1:
        return None
    if not progress.job.sku or not progress.operations:
        return None
    machine = progress.operations[-1].machine
    factory = next((f for f in network.factories if machine in f.machines), None)
    if factory is None:
        return None
    return Origin(progress.job.job_id, progress.job.sku, progress.good, factory.location)


def destination(
    job_id: str,
    *,
    depots: list[DepotSpec],
    shelves: Mapping[str, str],
    order_destination: Callable[[str], Point | None],
) -> str | None:
    """The depot a job's units go to (see the module); `shelves` maps open replenishment
    job ids to the shelf node they replenish."""
    declared = {d.id for d in depots}
    if job_id in shelves:
        return shelves[job_id] if shelves[job_id] in declared else None
    order_id = order_of_job(job_id)
    where = order_destination(order_id) if order_id else None
    return None if where is None else nearest_depot(depots, where)


def carry_made_goods(
    plans: PlanRunner, jobs: JobTracker, sales: SalesBook, *, service_s: float
) -> None:
    """Wire the transfers: `plans.carry` gives each produced job's pickup, `sales.carried`
    says whether a job's units are carried to a warehouse (call before the tracker resumes
    and the sales book resumes shipping)."""

    def order_destination(order_id: str) -> Point | None:
        order = sales.store.find(order_id)
        if order is None:
            return None
        place = orjson.loads(order.body)["destination"]
        return (float(place["lat"]), float(place["lon"]))

    def route(job_id: str) -> tuple[Origin, str] | None:
        """Where a job's units are and the depot they go to (None: not carried)."""
        origin = origin_of(jobs.job(job_id), sales.network)
        if origin is None:
            return None
        shelves = {job: record.node for job, record in plans.replenishments().items()}
        depot = destination(
            job_id, depots=plans.depots(), shelves=shelves, order_destination=order_destination
        )
        return None if depot is None else (origin, depot)

    def promised_by(job_id: str, depot: str, factory: Point) -> int | None:
        """When a van of `depot` should be at `factory` for a sales order's job."""
        where = part_of_job(job_id)
        order = sales.store.find(order_of_job(job_id)) if where is not None else None
        home = next((d for d in plans.depots() if d.id == depot), None)
        if where is None or order is None or home is None or home.lat is None or home.lon is None:
            return None
        drive = sales.travel((home.lat, home.lon), factory)
        return pickup_promised_ms(order.promise, *where, drive_out_s=drive or 0.0)

    def carry(job_id: str) -> DeliveryOrder | None:
        found = route(job_id)
        if found is None:
            return None
        origin, depot = found
        return transfer_pickup(
            origin,
            depot_id=depot,
            service_s=service_s,
            promised_ms=promised_by(job_id, depot, origin.factory),
        )

    def arrived(job_id: str) -> bool:
        progress = jobs.job(job_id)
        if progress is None or progress.state not in ("finished", "short"):
            return False
        return route(job_id) is None or bool(plans.received([transfer_id(job_id)]))

    def carried_to(where: Point) -> Hub | None:
        found = nearest_depot_place(plans.depots(), where)
        if found is None:
            return None
        return Hub(found[1], plans.delivery_waits().get(found[0], 0.0))

    plans.carry = carry
    sales.carried = lambda job_id: route(job_id) is not None
    sales.arrived = arrived
    sales.carried_to = carried_to
