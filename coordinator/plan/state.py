"""The planner's durable state behind a small port: accepted orders, the delivery fleet
and the latest plan of each kind.

`PlanRunner` writes an order batch through `save_orders` before the planner takes it (an
order the API acknowledged survives a crash), closed orders through `close_orders`,
deliveries loaded on a vehicle through `pin_deliveries`, changeover times through
`save_changeovers`, the rush reserve through `save_reserve`, the fleet through
`save_fleet`, product recipes through `save_products`, each replenishment job with its
record through `save_replenishment` (one transaction: a restarted coordinator finds both
or neither), the units it received through `update_replenishments` and its end through
`close_replenishments`, and every
new plan through `save_plan` before its diffs are published (so a restarted coordinator
never hands out a version number twice). `load` gives it all back at start-up.
`SqlitePlanState` (`coordinator.store.plan_state`) is the production adapter;
`MemoryPlanState` is the in-memory double.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from coordinator.errors import StoreError
from coordinator.plan.orders.replenishment import Replenishment
from coordinator.plan.orders.specs import (
    ChangeoverSpec,
    DeliveryOrder,
    DepotSpec,
    JobOrder,
    ProductSpec,
    ReserveSpec,
    VehicleSpec,
    order_json,
)
from coordinator.plan.routing.problem import RoutingResult
from coordinator.plan.schedule.problem import Schedule
from coordinator.plan.snapshot import PlanKind
from coordinator.plan.van_loans import VanTimes

__all__ = ["MemoryPlanState", "PlanMade", "PlanState", "SavedState"]

_Order = TypeVar("_Order", JobOrder, DeliveryOrder)


@dataclass(frozen=True, slots=True)
class PlanMade:
    """A plan the service made (or restored): its kind and version, when and why it was
    made (`made_ms`, `triggers`), the epoch its plan units count from, the plan itself,
    and the jobs it found finished (the store forgets them with it)."""

    kind: PlanKind
    version: int
    made_ms: int
    triggers: tuple[Mapping[str, str], ...]
    epoch_s: float
    plan: Schedule | RoutingResult
    forgotten_jobs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SavedState:
    """Everything `PlanState.load` returns; orders in the order they were first accepted."""

    jobs: tuple[JobOrder, ...] = ()
    deliveries: tuple[DeliveryOrder, ...] = ()
    depots: tuple[DepotSpec, ...] = ()
    vehicles: tuple[VehicleSpec, ...] = ()
    fleet_saved: bool = False
    plans: tuple[PlanMade, ...] = ()
    changeovers: tuple[ChangeoverSpec, ...] = ()
    reserve: ReserveSpec | None = None
    """The rush reserve last set (None: never set, no reserve)."""
    pins: tuple[tuple[str, str], ...] = ()
    """(delivery id, vehicle id) of the held deliveries loaded on a vehicle, in the order
    they were dispatched."""
    products: tuple[ProductSpec, ...] = ()
    replenishments: tuple[Replenishment, ...] = ()
    """The open replenishment jobs, oldest first."""
    replenish_seq: int = 0
    """The highest `seq` of any replenishment job made (0: none)."""
    accepted_ms: tuple[tuple[str, int], ...] = ()
    """(delivery id, ms since the Unix epoch) of when each held delivery was first
    accepted: how long it has waited outlives a restart."""
    van_bases: tuple[tuple[str, str], ...] = ()
    """(vehicle id, depot id) of each van lent to a depot not its own, by vehicle id."""
    van_times: VanTimes = field(default_factory=VanTimes)
    """The tours timed for the depots' van time when they were last recorded."""


class PlanState(Protocol):
    """Durable planner state; every method is thread-safe and durable when it returns."""

    def save_orders(
        self, jobs: Sequence[JobOrder], deliveries: Sequence[DeliveryOrder], *, at_ms: int
    ) -> tuple[frozenset[str], frozenset[str]]:
        """Store new orders and replace changed ones, in one transaction; returns the ids
        of the jobs and of the deliveries already stored with the same content."""
        ...

    def save_fleet(
        self, depots: Sequence[DepotSpec], vehicles: Sequence[VehicleSpec], *, at_ms: int
    ) -> None:
        """Replace the delivery fleet (every van at home: the van bases are forgotten)."""
        ...

    def save_van_bases(self, bases: Mapping[str, str], *, at_ms: int) -> None:
        """Replace where the lent vans are based (vehicle id → depot id; a van at home is
        not in it)."""
        ...

    def save_van_times(self, times: VanTimes, *, at_ms: int) -> None:
        """Replace the tours timed for the depots' van time."""
        ...

    def save_changeovers(self, changeovers: Sequence[ChangeoverSpec], *, at_ms: int) -> None:
        """Replace the changeover times."""
        ...

    def save_reserve(self, reserve: ReserveSpec, *, at_ms: int) -> None:
        """Replace the rush reserve."""
        ...

    def save_products(self, products: Sequence[ProductSpec], *, at_ms: int) -> None:
        """Replace the product recipes."""
        ...

    def save_replenishment(self, job: JobOrder, record: Replenishment) -> None:
        """Store a replenishment job as a held order and its open record, in one
        transaction."""
        ...

    def update_replenishments(self, records: Sequence[Replenishment]) -> None:
        """Store the units received and the stock level last seen of open records."""
        ...

    def close_replenishments(
        self, ids: Sequence[str], *, reason: str, at_ms: int
    ) -> tuple[frozenset[str], frozenset[str]]:
        """Close open replenishment records and forget their held jobs, in one
        transaction; returns the ids of the jobs that were held and of the records that
        were open."""
        ...

    def save_plan(self, made: PlanMade) -> None:
        """Keep `made` as the latest plan of its kind and forget its finished jobs."""
        ...

    def close_orders(
        self, job_ids: Sequence[str], delivery_ids: Sequence[str]
    ) -> tuple[frozenset[str], frozenset[str]]:
        """Forget held orders, in one transaction; returns the ids of the jobs and of the
        deliveries that were held."""
        ...

    def pin_deliveries(
        self, vehicle_id: str, delivery_ids: Sequence[str], *, at_ms: int
    ) -> frozenset[str]:
        """Record held deliveries as loaded on `vehicle_id`, after its earlier ones and in
        the order given (a delivery pinned before moves), in one transaction; returns the
        ids that were held."""
        ...

    def unpin_deliveries(self, delivery_ids: Sequence[str], *, at_ms: int) -> frozenset[str]:
        """Take deliveries off the vehicle they were loaded on (a failed stop goes back
        into the plan), in one transaction; returns the ids that were pinned."""
        ...

    def orders(self) -> tuple[list[JobOrder], list[DeliveryOrder]]:
        """The held jobs and deliveries, in the order they were first accepted."""
        ...

    def load(self) -> SavedState:
        """The held orders, the fleet and the latest plans."""
        ...


@dataclass
class MemoryPlanState:
    """`PlanState` in memory (the double; also what a coordinator without a store uses)."""

    _jobs: dict[str, tuple[str, JobOrder]] = field(default_factory=dict)
    _deliveries: dict[str, tuple[str, DeliveryOrder]] = field(default_factory=dict)
    _fleet: tuple[tuple[DepotSpec, ...], tuple[VehicleSpec, ...]] | None = None
    _plans: dict[str, PlanMade] = field(default_factory=dict)
    _pins: dict[str, str] = field(default_factory=dict)  # delivery → vehicle, in pin order
    _changeovers: tuple[ChangeoverSpec, ...] = ()
    _reserve: ReserveSpec | None = None
    _products: tuple[ProductSpec, ...] = ()
    _replenishments: dict[str, Replenishment] = field(default_factory=dict)  # open ones
    _replenish_seq: int = 0
    _accepted_ms: dict[str, int] = field(default_factory=dict)
    _van_bases: dict[str, str] = field(default_factory=dict)
    _van_times: VanTimes = field(default_factory=VanTimes)

    def save_orders(
        self, jobs: Sequence[JobOrder], deliveries: Sequence[DeliveryOrder], *, at_ms: int
    ) -> tuple[frozenset[str], frozenset[str]]:
        """See `PlanState.save_orders`."""
        for delivery in deliveries:
            self._accepted_ms.setdefault(delivery.id, at_ms)
        return _upsert(self._jobs, jobs), _upsert(self._deliveries, deliveries)

    def save_fleet(
        self, depots: Sequence[DepotSpec], vehicles: Sequence[VehicleSpec], *, at_ms: int
    ) -> None:
        """See `PlanState.save_fleet`."""
        self._fleet = (tuple(depots), tuple(vehicles))
        self._van_bases.clear()

    def save_van_bases(self, bases: Mapping[str, str], *, at_ms: int) -> None:
        """See `PlanState.save_van_bases`."""
        self._van_bases = dict(bases)

    def save_van_times(self, times: VanTimes, *, at_ms: int) -> None:
        """See `PlanState.save_van_times`."""
        self._van_times = times

    def save_changeovers(self, changeovers: Sequence[ChangeoverSpec], *, at_ms: int) -> None:
        """See `PlanState.save_changeovers`."""
        self._changeovers = tuple(changeovers)

    def save_reserve(self, reserve: ReserveSpec, *, at_ms: int) -> None:
        """See `PlanState.save_reserve`."""
        self._reserve = reserve

    def save_products(self, products: Sequence[ProductSpec], *, at_ms: int) -> None:
        """See `PlanState.save_products`."""
        self._products = tuple(products)

    def save_replenishment(self, job: JobOrder, record: Replenishment) -> None:
        """See `PlanState.save_replenishment`."""
        if any(r.key == record.key for r in self._replenishments.values()):
            raise StoreError(
                f"{record.sku} at {record.location} has an open replenishment",
                operation="save_replenishment",
            )
        _upsert(self._jobs, [job])
        self._replenishments[record.id] = record
        self._replenish_seq = max(self._replenish_seq, record.seq)

    def update_replenishments(self, records: Sequence[Replenishment]) -> None:
        """See `PlanState.update_replenishments`."""
        for record in records:
            if record.id in self._replenishments:
                self._replenishments[record.id] = record

    def close_replenishments(
        self, ids: Sequence[str], *, reason: str, at_ms: int
    ) -> tuple[frozenset[str], frozenset[str]]:
        """See `PlanState.close_replenishments`."""
        jobs = frozenset(i for i in ids if self._jobs.pop(i, None) is not None)
        return jobs, frozenset(i for i in ids if self._replenishments.pop(i, None) is not None)

    def save_plan(self, made: PlanMade) -> None:
        """See `PlanState.save_plan`."""
        self._plans[made.kind] = made
        for job_id in made.forgotten_jobs:
            self._jobs.pop(job_id, None)

    def close_orders(
        self, job_ids: Sequence[str], delivery_ids: Sequence[str]
    ) -> tuple[frozenset[str], frozenset[str]]:
        """See `PlanState.close_orders`."""
        drops = frozenset(d for d in delivery_ids if self._deliveries.pop(d, None) is not None)
        for delivery_id in drops:
            self._pins.pop(delivery_id, None)
        return frozenset(j for j in job_ids if self._jobs.pop(j, None) is not None), drops

    def pin_deliveries(
        self, vehicle_id: str, delivery_ids: Sequence[str], *, at_ms: int
    ) -> frozenset[str]:
        """See `PlanState.pin_deliveries`."""
        held = [d for d in delivery_ids if d in self._deliveries]
        for delivery_id in held:
            self._pins.pop(delivery_id, None)
            self._pins[delivery_id] = vehicle_id
        return frozenset(held)

    def unpin_deliveries(self, delivery_ids: Sequence[str], *, at_ms: int) -> frozenset[str]:
        """See `PlanState.unpin_deliveries`."""
        return frozenset(d for d in delivery_ids if self._pins.pop(d, None) is not None)

    def orders(self) -> tuple[list[JobOrder], list[DeliveryOrder]]:
        """See `PlanState.orders`."""
        return [j for _, j in self._jobs.values()], [d for _, d in self._deliveries.values()]

    def load(self) -> SavedState:
        """See `PlanState.load`."""
        jobs, deliveries = self.orders()
        depots, vehicles = self._fleet or ((), ())
        return SavedState(
            jobs=tuple(jobs),
            deliveries=tuple(deliveries),
            depots=depots,
            vehicles=vehicles,
            fleet_saved=self._fleet is not None,
            plans=tuple(self._plans.values()),
            pins=tuple(self._pins.items()),
            changeovers=self._changeovers,
            reserve=self._reserve,
            products=self._products,
            replenishments=tuple(self._replenishments.values()),
            replenish_seq=self._replenish_seq,
            accepted_ms=tuple(
                (d.id, self._accepted_ms[d.id]) for d in deliveries if d.id in self._accepted_ms
            ),
            van_bases=tuple(sorted(self._van_bases.items())),
            van_times=self._van_times,
        )


def _upsert(held: dict[str, tuple[str, _Order]], batch: Iterable[_Order]) -> frozenset[str]:
    same: set[str] = set()
    for item in batch:
        text = order_json(item)
        if item.id in held and held[item.id][0] == text:
            same.add(item.id)
        else:
            held[item.id] = (text, item)
    return frozenset(same)
