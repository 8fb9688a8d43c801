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
whether each of its parts has arrived (an order made in parts ships with its last one).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import orjson

from coordinator.jobs.progress import JobProgress
from coordinator.jobs.tracker import JobTracker
from coordinator.plan.orders.replenishment import transfer_id
from coordinator.plan.orders.specs import DeliveryOrder, DepotSpec
from coordinator.plan.runner import PlanRunner
from coordinator.sales.book import SalesBook, order_of_job
from coordinator.sales.network import Network

__all__ = ["Origin", "carry_made_goods", "nearest_depot", "transfer_pickup"]

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
    located = [(d.id, d.lat, d.lon) for d in depots if d.lat is not None and d.lon is not None]
    if not located:
        return None

    def distance(place: tuple[str, float, float]) -> tuple[float, str]:
        depot_id, lat, lon = place
        lat1, lat2 = math.radians(to[0]), math.radians(lat)
        dlat, dlon = lat2 - lat1, math.radians(lon - to[1])
        h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
        return (h, depot_id)

    return min(located, key=distance)[0]


def transfer_pickup(origin: Origin, *, depot_id: str, service_s: float) -> DeliveryOrder:
    """The pickup of a finished job's good units at its factory, for `depot_id`."""
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
    )


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

    def going_to(job_id: str) -> str | None:
        shelves = {job: record.node for job, record in plans.replenishments().items()}
        return destination(
            job_id, depots=plans.depots(), shelves=shelves, order_destination=order_destination
        )

    def carry(job_id: str) -> DeliveryOrder | None:
        origin = origin_of(jobs.job(job_id), sales.network)
        depot = going_to(job_id) if origin is not None else None
        if origin is None or depot is None:
            return None
        return transfer_pickup(origin, depot_id=depot, service_s=service_s)

    def arrived(job_id: str) -> bool:
        progress = jobs.job(job_id)
        if progress is None or progress.state not in ("finished", "short"):
            return False
        return carry(job_id) is None or bool(plans.received([transfer_id(job_id)]))

    plans.carry = carry
    sales.carried = lambda job_id: carry(job_id) is not None
    sales.arrived = arrived
