"""The baseline policy, the old way: each rule a standard one, done as well as the rule allows.

- **Dispatch**: each machine makes its queue in earliest-due-date order (ties: arrival),
  with no family batching and no re-plan on events; a job joins the queue of the machine
  of its factory that can make its family and has the least queued work (`edd_pick`,
  `least_loaded`).
- **Stock**: a fixed reorder point per SKU × warehouse, mean demand over the lead time plus
  a 95 % safety stock (`reorder_point`), with continuous review of the inventory position;
  an order of a review period's mean demand (at least one unit) to the nearest factory
  that makes the SKU. Mean demand is the long-run rate, streams included on average.
- **Fulfilment**: from the nearest warehouse holding the whole line, else made at one
  factory (the nearest maker to the customer) with no splitting (`nearest_with_stock`).
- **Delivery**: one wave a day at `wave_hour`, tours built by nearest neighbour within the
  vehicle's capacity (`nearest_neighbour_tours`).
- No rush reserve. A stream buyer who finds no stock anywhere is lost (both policies).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from flexfleet.scenario.demand import Order
from flexfleet.scenario.geo import Point
from flexfleet.scenario.schema import WarehouseSpec
from flexfleet.scenario.world import (
    Consignment,
    MachineState,
    OrderState,
    WorkItem,
    World,
)

Z95 = 1.6448536269514722  # standard normal's 95 % quantile


def reorder_point(mean_per_h: float, mean_qty: float, mean_qty_sq: float, lead_h: float) -> int:
    """Mean demand over the lead time plus a 95 % safety stock, in units, for orders
    arriving as a Poisson process at `mean_per_h` with order sizes of mean `mean_qty` and
    second moment `mean_qty_sq` (compound Poisson: variance λL·E[q²])."""
    mean = mean_per_h * lead_h * mean_qty
    sd = math.sqrt(mean_per_h * lead_h * mean_qty_sq)
    return math.ceil(mean + Z95 * sd)


def edd_pick(queue: Sequence[WorkItem]) -> int | None:
    """The index of the queued job with the earliest due date (first queued on ties)."""
    if not queue:
        return None
    return min(range(len(queue)), key=lambda i: (queue[i].due_s, i))


def least_loaded(
    machines: Sequence[MachineState], family: str, queued_s: Callable[[MachineState], float]
) -> MachineState | None:
    """The machine able to make `family` with the least queued work (ties: id)."""
    able = [m for m in machines if family in m.families]
    return min(able, key=lambda m: (queued_s(m), m.id)) if able else None


def nearest_with_stock(
    point: Point,
    qty: int,
    warehouses: Sequence[tuple[str, Point, int]],
    distance: Callable[[Point, Point], float],
) -> str | None:
    """The nearest warehouse (id, location, units available) holding all `qty` units."""
    holding = [(distance(point, p), w) for w, p, units in warehouses if units >= qty]
    return min(holding)[1] if holding else None


def nearest_neighbour_tours(
    depot: Point,
    stops: Sequence[tuple[Point, int]],
    capacity: int,
    distance: Callable[[Point, Point], float],
) -> list[list[int]]:
    """Tours by nearest neighbour: from the depot, the nearest unserved stop that still
    fits the vehicle, until none fits; then the next vehicle. A stop larger than the
    vehicle goes alone."""
    left = list(range(len(stops)))
    tours: list[list[int]] = []
    while left:
        here, load = depot, 0
        tour: list[int] = []
        while True:
            fits = [i for i in left if load + stops[i][1] <= capacity] if tour else list(left)
            if not fits:
                break
            nxt = min(fits, key=lambda i: (distance(here, stops[i][0]), i))
            tour.append(nxt)
            load += stops[nxt][1]
            here = stops[nxt][0]
            left.remove(nxt)
            if load >= capacity:
                break
        tours.append(tour)
    return tours


@dataclass
class BaselinePolicy:
    """The old way (see the module)."""

    name: str = "baseline"
    tour_reasons: list[str] = field(default_factory=list)
    queues: dict[str, list[WorkItem]] = field(default_factory=dict)
    on_order_units: dict[tuple[str, str], int] = field(default_factory=dict)
    rop: dict[tuple[str, str], int] = field(default_factory=dict)
    order_qty: dict[tuple[str, str], int] = field(default_factory=dict)
    _seq: int = 0

    def start(self, world: World) -> None:
        """Reorder points and order sizes from the long-run demand; the initial stock."""
        self.queues = {m: [] for m in world.machines}
        self.wave_hour = world.scenario.delivery.wave_hour
        for w, rate_h, eq, eq2 in demand_rates(world):
            for sku, rate in rate_h.items():
                lead = world.scenario.replenishment.lead_h
                self.rop[(w, sku)] = reorder_point(rate, eq, eq2, lead)
                review_h = world.scenario.replenishment.review_days * 24
                self.order_qty[(w, sku)] = max(1, math.ceil(rate * eq * review_h))
        seed_stock(world)

    # -- orders ---------------------------------------------------------------------------
    def on_order(self, world: World, order: Order) -> None:
        state = world.orders[order.id]
        self._serve(world, state, order.qty)

    def _serve(self, world: World, state: OrderState, qty: int) -> None:
        order = state.order
        point = (order.lat, order.lon)
        found = nearest_with_stock(
            point,
            qty,
            [(w, world.point(w), world.available(w, order.sku)) for w in sorted(world.warehouses)],
            world.road_km,
        )
        if found is not None:
            world.take_stock(state, found, qty)
            self._review(world, found, order.sku)
            return
        if order.stream >= 0 and world.total_available(order.sku) < qty:
            world.lose(state)
            return
        sku = world.skus[order.sku]
        factory = min(sku.makers, key=lambda f: (world.road_km(point, world.point(f)), f))
        dest = world.nearest_warehouse(point)
        world.expect_part(state)
        self._seq += 1
        self._queue(
            world,
            factory,
            WorkItem(
                job_id=f"mto-{self._seq}",
                sku=order.sku,
                family=sku.family,
                qty=qty,
                due_s=order.due_s,
                dest=dest,
                order_id=order.id,
                rush=order.express,
            ),
        )

    def on_lost_consignment(self, world: World, consignment: Consignment) -> None:
        self._serve(world, world.orders[consignment.order_id], consignment.qty)

    # -- stock ----------------------------------------------------------------------------
    def _review(self, world: World, warehouse: str, sku: str) -> None:
        key = (warehouse, sku)
        if key not in self.rop:
            return
        position = world.available(warehouse, sku) + self.on_order_units.get(key, 0)
        while position <= self.rop[key]:
            qty = self.order_qty[key]
            spec = world.skus[sku]
            here = world.point(warehouse)
            factory = min(spec.makers, key=lambda f: (world.road_km(here, world.point(f)), f))
            self._seq += 1
            self._queue(
                world,
                factory,
                WorkItem(
                    job_id=f"rop-{self._seq}",
                    sku=sku,
                    family=spec.family,
                    qty=qty,
                    due_s=world.t + world.scenario.replenishment.lead_h * 3600.0,
                    dest=warehouse,
                ),
            )
            self.on_order_units[key] = self.on_order_units.get(key, 0) + qty
            position += qty

    def on_received(self, world: World, item: WorkItem) -> None:
        if item.order_id is None:
            key = (item.dest, item.sku)
            self.on_order_units[key] = self.on_order_units.get(key, 0) - item.qty
            self._review(world, item.dest, item.sku)

    # -- machines -------------------------------------------------------------------------
    def _queue(self, world: World, factory: str, item: WorkItem) -> None:
        here = [m for m in world.machines.values() if m.factory == factory]

        def queued(m: MachineState) -> float:
            work = sum(i.qty * world.families[i.family].cycle_s for i in self.queues[m.id])
            if m.item is not None:
                work += max(0.0, m.finish_s - world.t)
            return work

        machine = least_loaded(here, item.family, queued)
        if machine is None:  # the schema guarantees a maker has a machine for the family
            raise RuntimeError(f"no machine for {item.family} at {factory}")
        self.queues[machine.id].append(item)

    def next_work(self, world: World, machine: MachineState) -> WorkItem | None:
        queue = self.queues[machine.id]
        pick = edd_pick(queue)
        return None if pick is None else queue.pop(pick)

    def on_made(self, world: World, item: WorkItem, machine: MachineState) -> None:
        return None

    def on_machine_down(self, world: World, machine: MachineState, until_s: float) -> None:
        return None  # no re-plan on events: the queue waits for the repair

    def on_step(self, world: World) -> None:
        return None

    def on_picked(self, world: World, consignment: Consignment) -> None:
        return None

    def on_delivered(self, world: World, state: OrderState) -> None:
        return None

    # -- delivery -------------------------------------------------------------------------
    def wave_times(self, day: int) -> list[float]:
        return [day * 86_400.0 + self.wave_hour * 3600.0]

    wave_hour: float = 9.0

    def tours(
        self, world: World, warehouse: WarehouseSpec, ready: Sequence[Consignment], capacity: int
    ) -> list[list[int]]:
        tours = nearest_neighbour_tours(
            (warehouse.lat, warehouse.lon), [(c.point, c.qty) for c in ready], capacity,
            world.road_km,
        )  # fmt: skip
        self.tour_reasons = ["wave"] * len(tours)
        return tours


def demand_rates(world: World) -> list[tuple[str, dict[str, float], float, float]]:
    """Per warehouse: the long-run mean orders per hour of each SKU from the regions it is
    nearest to (streams and spikes averaged over the run), and E[q], E[q²] of order sizes."""
    scenario = world.scenario
    share: dict[str, float] = {}
    for g in scenario.regions:
        w = world.nearest_warehouse((g.lat, g.lon))
        share[w] = share.get(w, 0.0) + g.share
    hours = world.days * 24.0
    stream_rate: dict[str, float] = {}
    for a in world.demand.streams:
        for sku in a.skus:
            stream_rate[sku] = (
                stream_rate.get(sku, 0.0)
                + a.expected_per_h * ((a.end_s - a.start_s) / 3600.0) / hours
            )
    eq, eq2 = order_size_moments(scenario.catalog.qty_max)
    out = []
    for w in sorted(world.warehouses):
        s = share.get(w, 0.0)
        rates = {
            sku.id: s * (sku.rate_per_day / 24.0 + stream_rate.get(sku.id, 0.0))
            for sku in world.demand.skus
        }
        out.append((w, rates, eq, eq2))
    return out


def order_size_moments(qty_max: int, p: float = 0.55) -> tuple[float, float]:
    """E[q] and E[q²] of the storefront's order sizes: geometric(p) capped at `qty_max`."""
    probs = [(1 - p) ** (k - 1) * p for k in range(1, qty_max)]
    probs.append(1 - sum(probs))
    eq = sum(k * pr for k, pr in zip(range(1, qty_max + 1), probs, strict=True))
    eq2 = sum(k * k * pr for k, pr in zip(range(1, qty_max + 1), probs, strict=True))
    return eq, eq2


def seed_stock(world: World) -> None:
    """Both policies start with `initial_days` of each SKU's mean base demand on the shelf
    of each warehouse."""
    days = world.scenario.replenishment.initial_days
    for w, rates, eq, _ in demand_rates(world):
        for sku in world.demand.skus:
            base = rates[sku.id]
            units = math.ceil(base * eq * 24.0 * days)
            if units:
                world.add_stock(w, sku.id, units)


__all__ = [
    "BaselinePolicy",
    "demand_rates",
    "edd_pick",
    "least_loaded",
    "nearest_neighbour_tours",
    "nearest_with_stock",
    "order_size_moments",
    "reorder_point",
    "seed_stock",
]
