"""The planner inside the running coordinator: inputs from ingest and the API, plans out
to MQTT.

`PlanRunner` owns a `PlanService` and one thread that re-plans when the debouncer says a
batch of triggers is due (the previous plan is the hint); `scheduler` chooses the solver
(CP-SAT by default; the coordinator passes an `IsolatedScheduler`, which solves in a child
process, and the scenario runner CP-SAT in its deterministic mode). Its inputs:

- `on_commit(outcome, result)`, an ingest commit listener: `TriggerMapper` turns what was
  committed into machines joining the factory, machines going down or up, and stock-out
  risks (`coordinator.plan.triggers`);
- `submit_orders(orders)`, the operator API's production orders (a rush order re-plans
  at once, a batch after a quiet spell), `close_orders(jobs, deliveries)` for orders
  done, delivered or cancelled, and `dispatch(vehicle, deliveries)` for deliveries loaded
  on a vehicle (they stay on it through every re-plan);
- `set_changeovers(changeovers)`, the changeover times between product families, and
  `set_reserve(reserve)`, the share of every machine kept free for rush jobs;
- `set_fleet(depots, vehicles)` and the deliveries of `submit_orders`, the delivery fleet
  (depots are micro-warehouse nodes) and the orders it must deliver. Routing measures
  distance in travel time: coordinates are in plan units (`time_unit_s` seconds) of driving;
- `set_products(products)`, how SKUs are made, and `on_covers(covers, ts_ms)`, a cover
  watch listener: an at-risk SKU declared `auto` becomes a replenishment job
  (`coordinator.plan.orders.replenishment`), stored with its record before the planner takes it;
  `follow_fleet` counts the receipts against their transfers (`received`, the store's
  count) and closes each, through `close_orders`, once its quantity is received (an
  operator may close it sooner); a stock rise without a receipt closes nothing;
- `follow_fleet(facts)`, the receipts and the vehicles' stop events (from the
  coordinator's fleet inbox, `coordinator.fleet_facts`): a delivered stop closes its
  delivery, a failed one is planned again.

Orders, the fleet and every new plan are written to the `PlanState` port first (SQLite in
the coordinator): an accepted order is durable before the API answers, and a new plan is
saved before its diffs go out. `restore_saved()` takes them back at start-up: the plan
epoch and versions continue, the held orders and the fleet are planned again. An order
id already held is replaced by a changed order and left alone if it is the same.

Each new plan goes to the agents concerned as `schedule` / `route` commands
(`protocol.plans`), sent through the `CommandLog` (recorded, published at QoS 1, matched to
the agents' answers); the API serves `schedule()` and `routes()`.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from coordinator.commands.log import CommandLog
from coordinator.errors import ConfigError, CoordinatorError
from coordinator.fleet.node import NodeRecord
from coordinator.ingest.records import BatchOutcome
from coordinator.jobs.facts import FleetFact
from coordinator.jobs.overdue import PlannedStart
from coordinator.jobs.progress import OperationProgress, operation_id, operation_index
from coordinator.plan.debounce import Debouncer
from coordinator.plan.errors import OrderRejected, ProblemError
from coordinator.plan.orders.replenishment import PREFIX as REPLENISH_PREFIX
from coordinator.plan.orders.replenishment import Replenishment
from coordinator.plan.orders.replenishment_book import ReplenishmentBook
from coordinator.plan.orders.specs import (
    ChangeoverSpec,
    DeliveryOrder,
    DepotSpec,
    JobOrder,
    OperationOrder,
    OrdersClosed,
    OrdersDispatched,
    OrdersTaken,
    ProductSpec,
    ReserveSpec,
    VehicleSpec,
)
from coordinator.plan.routing.departures import DeparturePolicy
from coordinator.plan.routing.planner import warm_up as warm_up_router
from coordinator.plan.routing.problem import NO_LIMIT, Depot, Order, PinnedStop, Vehicle
from coordinator.plan.routing.travel import TravelTimes
from coordinator.plan.schedule.hours import OpenIntervals, machine_hours
from coordinator.plan.schedule.isolated import IsolatedScheduler
from coordinator.plan.schedule.planner import SchedulePlanner
from coordinator.plan.schedule.planner import warm_up as warm_up_scheduler
from coordinator.plan.schedule.problem import (
    Job,
    Operation,
    OperationOption,
    ReservePolicy,
    Setup,
)
from coordinator.plan.schedule.replan import Observed
from coordinator.plan.service import PlanService
from coordinator.plan.state import MemoryPlanState, PlanMade, PlanState
from coordinator.plan.triggers import (
    DepotSeen,
    MachineDown,
    MachineSeen,
    MachineUp,
    PlanInput,
    StockoutRisk,
    TriggerMapper,
    VehicleSeen,
)
from coordinator.plan.van_loans import VanLoans
from coordinator.store.port import CommitResult
from fleet_runtime.clock import Clock, now_ms
from protocol import ProtocolError, ScheduleUpdate
from protocol.plans import RouteUpdate


def schedule_window(body: dict[str, Any], limit: int) -> dict[str, Any]:
    """A machine's schedule command body cut to its `limit` earliest operations (by start,
    then id), the diff lists cut to what is still named (pure): ids of the window among
    `moved`, `reassigned_in` and `added`; at most `limit` of `removed` and
    `reassigned_out`. A body within the limit is returned as it is."""
    operations = body["operations"]
    if len(operations) <= limit:
        return body
    kept = sorted(operations, key=lambda op: (op["start"], op["operation_id"]))[:limit]
    ids = {op["operation_id"] for op in kept}
    cut = {**body, "operations": kept}
    for key in ("moved", "reassigned_in", "added"):
        cut[key] = [o for o in body[key] if o in ids]
    for key in ("removed", "reassigned_out"):
        cut[key] = body[key][:limit]
    return cut


__all__ = [
    "SCHEDULE_WINDOW",
    "DeliveryOrder",
    "DepotSpec",
    "JobOrder",
    "OperationOrder",
    "OrdersClosed",
    "OrdersDispatched",
    "OrdersTaken",
    "PlanRunner",
    "ReserveSpec",
    "VehicleSpec",
    "schedule_window",
]

if TYPE_CHECKING:  # only a type here; the forecast package imports the store
    from coordinator.stock.cover import StockCover

log = logging.getLogger(__name__)

_IDLE_WAIT_S: Final = 0.5
MAX_RESERVE_SLICES: Final = 1000
"""Reserved slices per machine at most (`horizon_s / period_s`): each is a constraint of
every re-plan."""
SCHEDULE_WINDOW: Final = 1000
"""Operations a `schedule` command carries at most: the machine's earliest (about 150
bytes each, so a burst of thousands of small jobs on one machine stays far inside the
payload limit). A machine works its sequence in order, and the re-plan that closes its
finished job sends the next window."""


class PlanRunner:
    """Feeds the `PlanService`, runs its re-planning loop, and publishes its diffs."""

    def __init__(
        self,
        *,
        clock: Clock,
        commands: CommandLog,
        stock_thresholds: Mapping[str, int] | None = None,
        stock_low_threshold: int | None = None,
        time_unit_s: float = 60.0,
        time_limit_s: float = 2.0,
        quiet_s: float = 2.0,
        urgent_quiet_s: float = 0.2,
        max_delay_s: float = 10.0,
        rest_factor: float = 0.0,
        machine_down_s: float = 4 * 3600.0,
        seed: int = 0,
        state: PlanState | None = None,
        lead_time_days: float = 2.0,
        auto_replenish: bool = True,
        can_order_days: float = 0.0,
        from_facts: bool = False,
        travel: TravelTimes | None = None,
        scheduler: SchedulePlanner | None = None,
        departures: DeparturePolicy | None = None,
        dispatch_every_s: float = 300.0,
        loans: VanLoans | None = None,
        executes: Callable[[str, str], bool] = lambda _site, _machine: False,
    ) -> None:
        try:
            debouncer = Debouncer(
                clock,
                quiet_s=quiet_s,
                urgent_quiet_s=urgent_quiet_s,
                max_delay_s=max_delay_s,
                rest_factor=rest_factor,
            )
        except ValueError as exc:
            raise ConfigError(str(exc), field="plan_quiet_s") from exc
        thresholds = dict(stock_thresholds or {})
        self.clock = clock
        self.state: PlanState = state if state is not None else MemoryPlanState()
        self.service = PlanService(
            clock=clock,
            publish=self._publish,
            scheduler=scheduler,
            debouncer=debouncer,
            schedule_time_limit_s=time_limit_s,
            route_time_limit_s=time_limit_s,
            time_unit_s=time_unit_s,
            default_downtime=max(1, math.ceil(machine_down_s / time_unit_s)),
            seed=seed,
            warm_up_solvers=False,  # done on the runner's thread, not at open
            on_plan=self._plan_made,
            from_facts=from_facts,
            travel=travel,
            departures=departures,
            dispatch_every_s=dispatch_every_s,
            loans=loans,
        )
        self.mapper = TriggerMapper(
            stock_threshold_for=lambda sku: thresholds.get(sku, stock_low_threshold)
        )
        self.commands = commands
        self._executes = executes  # (site, machine): its agent carries out its schedule
        self._unit_s = time_unit_s
        self._sites: dict[str, str] = {}  # node id → site, for commands
        self._warehouses: set[str] = set()
        self._depots: dict[str, DepotSpec] = {}
        self._vehicles: list[VehicleSpec] = []
        self._vehicle_nodes: set[str] = set()  # vehicles with an agent of their own
        self._book = ReplenishmentBook(
            self.state,
            clock,
            lead_time_days=lead_time_days,
            auto=auto_replenish,
            can_order_days=can_order_days,
        )
        self._hours: dict[str, OpenIntervals] = {}
        self._hours_days = 14.0
        self._hours_renew_s = float("inf")
        self.on_take: list[Callable[[list[JobOrder]], None]] = []
        """Called with the jobs about to be planned (the job tracker follows them)."""
        self.produced: Callable[[str], bool] = lambda _job_id: False
        """True for a job its machines have made: it is never planned again."""
        self.received: Callable[[Iterable[str]], Mapping[str, int]] = lambda _ids: {}
        """Units received so far per transfer id (the store's receipts)."""
        self.carry: Callable[[str], DeliveryOrder | None] = lambda _job_id: None
        """The pickup of a made job's good units at its factory, as a transfer to a
        micro-warehouse (None: its units are not carried; see `coordinator.transfers`)."""
        self.plan_listeners: list[Callable[[PlanMade], None]] = []
        """Called with each new plan once it is saved and current, before its diffs go out,
        on the planner's thread: keep them short (the sales book's `PromiseReviser` only
        marks the plan for its own thread)."""
        self._taken: dict[str, JobOrder] = {}  # job id → order, for what machines must make
        self._drops: dict[str, DeliveryOrder] = {}  # delivery id → order, for where to drive
        self._sites_lock = threading.Lock()
        self._orders_lock = threading.Lock()
        self._van_times_saved = -1  # the van time changes last recorded (-1: none yet)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._isolated = scheduler if isinstance(scheduler, IsolatedScheduler) else None

    def _plan_made(self, made: PlanMade) -> None:
        """Save a new plan, then tell the plan listeners (each failure logged, not raised)."""
        try:
            self.state.save_plan(made)
        finally:
            for listener in self.plan_listeners:
                try:
                    listener(made)
                except Exception:
                    log.exception("plan listener failed on %s %d", made.kind, made.version)

    # ---- inputs ---------------------------------------------------------------------
    def restore(self, nodes: Iterable[NodeRecord]) -> None:
        """Take the machines and micro-warehouses the store knows (offline machines start
        down)."""
        self.apply(self.mapper.restore((n.site, n.node, n.kind, n.online) for n in nodes))

    def on_commit(self, outcome: BatchOutcome, _result: CommitResult) -> None:
        """Ingest commit listener: map what was committed to planning inputs, and take the
        vehicles' positions."""
        self.apply(self.mapper.map(outcome))
        self._on_the_road(outcome)

    def _on_the_road(self, outcome: BatchOutcome) -> None:
        """Vehicles' positions (their latest `lat`/`lon`)."""
        vehicles = self.service.vehicles()
        if not vehicles:
            return
        for _site, node, latest in outcome.batch.latest:
            if node in vehicles and "lat" in latest and "lon" in latest:
                self.service.vehicle_at(node, lat=latest["lat"][1], lon=latest["lon"][1])

    def follow_fleet(self, facts: Sequence[FleetFact]) -> None:
        """The fleet's facts: receipts are counted against the open replenishment jobs and
        close the pickups they carried; a delivered stop closes its delivery, a failed one
        goes back into the plan (unpinned, durably). Taking the same facts again changes
        nothing more (receipts are counted from the store's, a delivery closes once, a
        failed stop is unpinned and planned again as the first time)."""
        received = {f.ref for f in facts if f.name == "received"}
        if received:
            self._receive(received)
        self._picked_up(facts)
        delivered: list[str] = []
        for fact in facts:
            if fact.name == "stop_delivered":
                delivered.append(fact.ref)
            elif fact.name == "stop_failed":
                with self._orders_lock:
                    self.state.unpin_deliveries([fact.ref], at_ms=now_ms(self.clock))
                    self.service.stop_failed(fact.ref)
                log.info("stop %s failed (reported by %s)", fact.ref, fact.node)
        if delivered:
            self.close_orders([], delivered, reason="delivered")

    def apply(self, inputs: Iterable[PlanInput]) -> None:
        """Hand planning inputs to the service (each becomes a debounced trigger)."""
        for item in inputs:
            if isinstance(item, MachineSeen):
                with self._sites_lock:
                    self._sites[item.node] = item.site
                self.service.add_machines([item.node])
            elif isinstance(item, DepotSeen):
                with self._sites_lock:
                    self._sites[item.node] = item.site
                    self._warehouses.add(item.node)
            elif isinstance(item, VehicleSeen):
                with self._sites_lock:
                    self._sites[item.node] = item.site
                    self._vehicle_nodes.add(item.node)
            elif isinstance(item, MachineDown):
                log.info("machine %s/%s down (%s): re-planning", item.site, item.node, item.causes)
                self.service.machine_down(item.node)
            elif isinstance(item, MachineUp):
                self.service.machine_up(item.node)
            elif isinstance(item, StockoutRisk):
                self.service.stockout_risk(item.sku, f"{item.site}/{item.node}")
        self._wake.set()

    def submit_orders(
        self, orders: Iterable[JobOrder], deliveries: Iterable[DeliveryOrder] = ()
    ) -> OrdersTaken:
        """Check, store (durably) and add production orders and delivery orders.

        An id already held with the same content is left alone (no re-plan); with other
        content the order replaces the held one. Raises `OrderRejected` when an order
        names a machine the coordinator has not seen, repeats an id of the same batch,
        uses a depot's id for a delivery or has a window that closes before it opens, and
        `StoreError` when it cannot be stored: nothing of the batch is taken then.
        """
        job_orders, delivery_orders = list(orders), list(deliveries)
        for i, order in enumerate(job_orders):
            if order.id.startswith(REPLENISH_PREFIX):
                raise OrderRejected(
                    f"ids starting with {REPLENISH_PREFIX!r} are kept for replenishment jobs",
                    field=f"jobs[{i}].id",
                )
        self._check_jobs(job_orders)
        self._check_quantities(job_orders)
        self._deliveries(delivery_orders)  # checks them
        with self._orders_lock:  # the store and the service see batches in the same order
            same_jobs, same_drops = self.state.save_orders(
                job_orders, delivery_orders, at_ms=now_ms(self.clock)
            )
            self._take(
                [o for o in job_orders if o.id not in same_jobs],
                [o for o in delivery_orders if o.id not in same_drops],
            )
        return OrdersTaken(
            jobs=[o.id for o in job_orders],
            deliveries=[o.id for o in delivery_orders],
            unchanged_jobs=[o.id for o in job_orders if o.id in same_jobs],
            unchanged_deliveries=[o.id for o in delivery_orders if o.id in same_drops],
        )

    def close_orders(
        self, job_ids: Iterable[str], delivery_ids: Iterable[str], *, reason: str = "operator"
    ) -> OrdersClosed:
        """Forget held orders (done, delivered or cancelled), durably, and re-plan without
        them; ids not held are reported, not refused (closing twice is harmless). An open
        replenishment job is held until closed, even after the schedule finished it;
        `reason` is kept on its record."""
        jobs, deliveries = list(dict.fromkeys(job_ids)), list(dict.fromkeys(delivery_ids))
        with self._orders_lock:
            closed_jobs, closed_drops = self.state.close_orders(
                [j for j in jobs if j not in self._book.open], deliveries
            )
            closed_jobs |= self._book.close(jobs, reason=reason)
            self.service.close_orders(closed_jobs, closed_drops)
        self._wake.set()
        return OrdersClosed(
            jobs=[j for j in jobs if j in closed_jobs],
            deliveries=[d for d in deliveries if d in closed_drops],
            unknown_jobs=[j for j in jobs if j not in closed_jobs],
            unknown_deliveries=[d for d in deliveries if d not in closed_drops],
        )

    def dispatch(self, vehicle_id: str, delivery_ids: Iterable[str]) -> OrdersDispatched:
        """Record held deliveries as loaded on `vehicle_id`, durably: every re-plan keeps
        them first on its route, in this order, after the ones loaded before, until they are
        closed. Raises `OrderRejected` for a vehicle not in the declared fleet; ids not held
        are reported, not refused."""
        if vehicle_id not in self.service.vehicles():
            raise OrderRejected(f"{vehicle_id!r} is no declared vehicle", field="vehicle_id")
        ids = list(dict.fromkeys(delivery_ids))
        with self._orders_lock:
            held = self.state.pin_deliveries(vehicle_id, ids, at_ms=now_ms(self.clock))
            self.service.commit_stops([PinnedStop(d, vehicle_id) for d in ids if d in held])
        self._wake.set()
        return OrdersDispatched(
            vehicle_id=vehicle_id,
            deliveries=[d for d in ids if d in held],
            unknown=[d for d in ids if d not in held],
        )

    def orders(self) -> tuple[list[JobOrder], list[DeliveryOrder]]:
        """The held production and delivery orders, as accepted (finished jobs leave)."""
        return self.state.orders()

    def restore_saved(self) -> None:
        """Take back the saved plans, fleet and orders (call after `restore(nodes)`, before
        `start`): plan versions continue, and the held orders are planned again."""
        saved = self.state.load()
        self.service.restore(saved.plans)
        with self._orders_lock:
            self._book.restore(saved)
        self._receive(r.transfer_id for r in self.replenishments().values())
        if saved.changeovers:
            self.service.set_changeovers(self._setups(list(saved.changeovers)))
        if saved.reserve is not None:
            try:
                self.service.set_reserve(self._reserve_policy(saved.reserve))
            except OrderRejected as exc:  # e.g. a longer time unit since it was set
                log.error("saved rush reserve not restored: %s", exc)
        if saved.fleet_saved:
            try:
                self._take_fleet(list(saved.depots), list(saved.vehicles))
                self.service.restore_van_bases(dict(saved.van_bases))
                self.service.restore_van_times(saved.van_times)
            except OrderRejected as exc:  # e.g. a warehouse the nodes table no longer has
                log.error("saved delivery fleet not restored: %s", exc)
        jobs: list[JobOrder] = []
        for job in saved.jobs:
            try:
                self._check_jobs([job])
                jobs.append(job)
            except OrderRejected as exc:  # its machine is no longer known
                log.error("saved job %s not restored: %s", job.id, exc)
        deliveries: list[DeliveryOrder] = []
        for delivery in saved.deliveries:
            try:
                self._deliveries([delivery])
                deliveries.append(delivery)
            except OrderRejected as exc:  # e.g. its id is now a depot's
                log.error("saved delivery %s not restored: %s", delivery.id, exc)
        self._take(jobs, deliveries)
        self.service.commit_stops(PinnedStop(d, v) for d, v in saved.pins)
        self.service.waiting_since(dict(saved.accepted_ms))
        self._receive(d.id for d in deliveries)  # pickups received while it was down
        log.info(
            "restored %d job(s), %d delivery order(s), plan versions %s",
            len(jobs),
            len(deliveries),
            {p.kind: p.version for p in saved.plans},
        )

    def _take(self, jobs: list[JobOrder], deliveries: list[DeliveryOrder]) -> None:
        """Hand checked orders to the service (converted to plan units now); jobs already
        made stay out."""
        jobs = [order for order in jobs if not self.produced(order.id)]
        for hook in self.on_take:
            hook(jobs)
        with self._sites_lock:
            self._taken.update((order.id, order) for order in jobs)
            self._drops.update((order.id, order) for order in deliveries)
        if jobs:
            self.service.submit_jobs([self._job(order) for order in jobs])
        if deliveries:
            self.service.submit_delivery_orders(self._deliveries(deliveries))
        self._wake.set()

    def _check_jobs(self, batch: list[JobOrder]) -> None:
        known = self.service.machines()
        _unique([order.id for order in batch], "jobs")
        for j, order in enumerate(batch):
            for k, step in enumerate(order.operations):
                unknown = sorted(set(step.options) - known)
                if unknown:
                    raise OrderRejected(
                        f"unknown machine {unknown[0]!r} (known: {sorted(known)[:20]})",
                        field=f"jobs[{j}].operations[{k}].options",
                    )

    def _check_quantities(self, batch: list[JobOrder]) -> None:
        """A job without a quantity is refused when a machine it may run on carries out its
        schedule (its agent says `executes`): that machine would refuse its whole schedule,
        every other job's operations with it, for want of a count to make."""
        for j, order in enumerate(batch):
            if order.quantity is not None:
                continue
            for machine in sorted({m for step in order.operations for m in step.options}):
                with self._sites_lock:
                    site = self._sites.get(machine)
                if site is not None and self._executes(site, machine):
                    raise OrderRejected(
                        f"{machine} carries out its schedule and must be told how many parts"
                        " to make: give the job a quantity",
                        field=f"jobs[{j}].quantity",
                    )

    def set_changeovers(self, changeovers: Iterable[ChangeoverSpec]) -> None:
        """Declare the changeover times between product families (replacing the previous
        ones), durably, and re-plan with them. Raises `OrderRejected` for a family pair
        given twice, and `StoreError` when they cannot be stored."""
        specs = list(changeovers)
        seen: set[tuple[str, str]] = set()
        for i, spec in enumerate(specs):
            pair = (spec.from_family, spec.to_family)
            if pair in seen:
                raise OrderRejected(
                    f"changeover {pair[0]!r} -> {pair[1]!r} given twice", field=f"changeovers[{i}]"
                )
            seen.add(pair)
        with self._orders_lock:
            self.state.save_changeovers(specs, at_ms=now_ms(self.clock))
            self.service.set_changeovers(self._setups(specs))
        self._wake.set()

    def set_opening_hours(self, hours: Mapping[str, OpenIntervals], *, days: float = 14.0) -> None:
        """Plan each machine only while its factory is open (`hours`: machine id → its
        factory's open periods), for the next `days` days (renewed daily by the re-planning
        loop); several factories' machines are planned together."""
        self._hours, self._hours_days = dict(hours), days
        self._hours_renew_s = self.clock.now() + 86_400.0
        closed = machine_hours(
            hours,
            start_s=self.clock.now(),
            days=days,
            epoch_s=self.service.epoch_s(),
            unit_s=self._unit_s,
        )
        self.service.set_closed(closed)
        self._wake.set()

    def set_products(self, products: Iterable[ProductSpec]) -> None:
        """Declare how SKUs are made (replacing the previous recipes), durably. Raises
        `OrderRejected` for a SKU given twice, batch bounds the wrong way round or a
        machine the coordinator has not seen, and `StoreError` when they cannot be stored.
        Open replenishment jobs stay as they were made."""
        specs = list(products)
        with self._orders_lock:
            self._book.declare(specs, set(self.service.machines()))

    def products(self) -> list[ProductSpec]:
        """The declared product recipes."""
        with self._orders_lock:
            return list(self._book.products.values())

    def product(self, sku: str) -> ProductSpec | None:
        """How `sku` is made, if declared (one lookup, for the order promise path).

        Read without the orders lock: the recipes are a dict replaced whole on each
        declaration, never changed in place, so one lookup sees the old or the new one. The
        promise path calls this under the sales book's lock, and the orders lock is held
        through each durable hand-over of orders (`submit_orders`): waiting for it here
        would make every promise queue behind the planner's store."""
        return self._book.products.get(sku)

    def schedule_version(self) -> int:
        """The current schedule's version (0 before the first); cheap to poll."""
        return int(self.service.current_version())

    def replenishments(self) -> dict[str, Replenishment]:
        """The open replenishment jobs by id."""
        with self._orders_lock:
            return dict(self._book.open)

    def on_covers(self, covers: Iterable[tuple[str, str, StockCover]], ts_ms: int) -> None:
        """Cover watch listener: submit a replenishment job for each at-risk SKU declared
        `auto` without an open one (see `coordinator.plan.orders.replenishment`), each stored with
        its record before the planner takes it. Nothing without `auto_replenish`."""
        with self._orders_lock:
            taken = self._book.new_jobs((c for _, _, c in covers), ts_ms, self._check_jobs)
            self._take(taken, [])

    def _receive(self, transfer_ids: Iterable[str]) -> None:
        """Count what was received against these transfers (every receipt once, as the
        store keeps it) for the open replenishment jobs; close the fully received. A
        transfer received is also a pickup done: its held pickup stop (same id) closes,
        whether or not its vehicle's stop event was taken (a coordinator killed between
        storing that event and acting on it never sees it again)."""
        counted = self.received(transfer_ids)
        with self._orders_lock:
            done = self._book.receive(counted)
            _, drops = self.state.orders()
        carried = [d.id for d in drops if counted.get(d.id, 0) > 0]
        if done or carried:
            self.close_orders(done, carried, reason="received")
        self.service.unloaded(t for t, units in counted.items() if units > 0)

    def _picked_up(self, facts: Sequence[FleetFact]) -> None:
        """Pickups done at their factories (a vehicle's `stop_delivered` on a held pickup):
        the vehicle carries their transfers to its depot (`PlanService.picked_up`)."""
        done = {f.ref: f.node for f in facts if f.name == "stop_delivered"}
        if not done:
            return
        with self._orders_lock:
            _, drops = self.state.orders()
        loads = [(done[d.id], d.id) for d in drops if d.action == "pickup" and d.id in done]
        if loads:
            self.service.picked_up(loads)

    # ---- facts from the shop floor (the job tracker's `Planner` port) ------------------
    def job_order(self, job_id: str) -> JobOrder | None:
        """The held order of a job (None once closed or never held)."""
        jobs, _ = self.state.orders()
        return next((order for order in jobs if order.id == job_id), None)

    def jobs_produced(self, job_ids: Iterable[str]) -> None:
        """Jobs whose machines made them (or left them short) leave the schedule for good;
        a replenishment job stays open until its units are received. The good units of
        each that `carry` gives a transfer for are picked up at their factory by a vehicle
        of the transfer's warehouse: the pickup is stored and routed with the deliveries
        (taken again unchanged if this is called again for the same job)."""
        ids = list(dict.fromkeys(job_ids))
        pickups = [p for p in (self.carry(j) for j in ids) if p is not None]
        if pickups:
            try:
                self.submit_orders([], pickups)
            except CoordinatorError as exc:
                log.error("transfers of %s not planned: %s", ids, exc)
        with self._orders_lock:
            self.state.close_orders([j for j in ids if j not in self._book.open], [])
            self.service.close_orders(ids, [])
        self._wake.set()

    def submit_remake(self, order: JobOrder) -> None:
        """Store and plan a re-make job (its machines must still be known)."""
        try:
            self._check_jobs([order])
        except OrderRejected as exc:
            log.error("re-make %s not planned: %s", order.id, exc)
            return
        with self._orders_lock:
            self.state.save_orders([order], [], at_ms=now_ms(self.clock))
            self._take([order], [])

    def observe(
        self, progress: Mapping[str, tuple[OperationProgress, int | None]], *, replan: bool
    ) -> None:
        """The reported operations of open jobs (with their job's quantity), in plan units,
        for the service to plan from; `replan` asks for a re-plan."""
        epoch_s = self.service.epoch_s()

        def units(ms: int) -> int:
            return max(0, math.floor((ms / 1000 - epoch_s) / self._unit_s))

        observed = [
            Observed(
                operation_id=op.operation_id,
                machine_id=op.machine,
                start=units(op.started_ms),
                last_report=units(op.updated_ms),
                made=op.made,
                quantity=quantity,
                done_at=units(op.finished_ms)
                if op.state == "done" and op.finished_ms is not None
                else None,
            )
            for op, quantity in progress.values()
        ]
        self.service.observe(observed, replan=replan)
        if replan:
            self._wake.set()

    def planned_starts(self) -> list[PlannedStart]:
        """The operations of the current schedule and when (ms) they should start, of the
        jobs still held (a job made or cancelled since the schedule is in it until the
        next one is made)."""
        plan = self.service.current_schedule()
        held = self.service.held_jobs()
        epoch_ms, unit_ms = plan["epoch_s"] * 1000, plan["time_unit_s"] * 1000
        return [
            PlannedStart(
                o["operation_id"], o["job_id"], machine, int(epoch_ms + o["start"] * unit_ms)
            )
            for machine, ops in plan["machines"].items()
            for o in ops
            if o["job_id"] in held
        ]

    def site_of(self, node: str) -> str | None:
        """The site of a machine or warehouse the planner has seen."""
        with self._sites_lock:
            return self._sites.get(node)

    def _setups(self, specs: list[ChangeoverSpec]) -> list[Setup]:
        return [Setup(c.from_family, c.to_family, self._units(c.duration_s) or 0) for c in specs]

    def set_reserve(self, reserve: ReserveSpec) -> None:
        """Set the rush reserve (replacing the previous one), durably, and re-plan with it.
        Raises `OrderRejected` for a share without a horizon, a slice that fills the whole
        period once rounded to plan units, or more than `MAX_RESERVE_SLICES` periods in
        the horizon, and `StoreError` when it cannot be stored."""
        policy = self._reserve_policy(reserve)
        with self._orders_lock:
            self.state.save_reserve(reserve, at_ms=now_ms(self.clock))
            self.service.set_reserve(policy)
        self._wake.set()

    def _reserve_policy(self, spec: ReserveSpec) -> ReservePolicy:
        period, horizon = self._units(spec.period_s) or 0, self._units(spec.horizon_s) or 0
        if spec.share > 0 and horizon <= 0:
            raise OrderRejected("a reserve share needs a positive horizon_s", field="horizon_s")
        try:
            policy = ReservePolicy(share=spec.share, period=period, horizon=horizon)
        except ProblemError as exc:
            raise OrderRejected(
                f"{exc.reason} (plan units of {self._unit_s:g} s)", field="period_s"
            ) from exc
        slices = math.ceil(horizon / period) if spec.share > 0 else 0
        if slices > MAX_RESERVE_SLICES:
            raise OrderRejected(
                f"horizon_s / period_s makes {slices} reserved slices per machine"
                f" (at most {MAX_RESERVE_SLICES}): lengthen the period or shorten the horizon",
                field="horizon_s",
            )
        return policy

    def set_fleet(self, depots: Iterable[DepotSpec], vehicles: Iterable[VehicleSpec]) -> None:
        """Declare the delivery fleet (replacing the previous one).

        Raises `OrderRejected` for a depot that is no known micro-warehouse, a vehicle at a
        depot not declared, repeated ids or a depot closing before it opens, and
        `StoreError` when it cannot be stored.
        """
        depot_list, vehicle_list = list(depots), list(vehicles)
        self._take_fleet(depot_list, vehicle_list, save=True)

    def _take_fleet(
        self, depot_list: list[DepotSpec], vehicle_list: list[VehicleSpec], *, save: bool = False
    ) -> None:
        with self._sites_lock:
            known = set(self._warehouses)
        _unique([d.id for d in depot_list], "depots")
        _unique([v.id for v in vehicle_list], "vehicles")
        for i, spec in enumerate(depot_list):
            if spec.id not in known:
                raise OrderRejected(
                    f"{spec.id!r} is no known micro-warehouse (known: {sorted(known)[:20]})",
                    field=f"depots[{i}].id",
                )
        declared = {d.id for d in depot_list}
        for i, vehicle in enumerate(vehicle_list):
            if vehicle.depot_id not in declared:
                raise OrderRejected(
                    f"vehicle {vehicle.id!r} is based at undeclared depot {vehicle.depot_id!r}",
                    field=f"vehicles[{i}].depot_id",
                )
        try:
            fleet = [
                Depot(
                    d.id,
                    d.x,
                    d.y,
                    open=max(0, self._at(d.open_ms)) if d.open_ms is not None else 0.0,
                    close=self._at(d.close_ms) if d.close_ms is not None else NO_LIMIT,
                    lat=d.lat,
                    lon=d.lon,
                )
                for d in depot_list
            ]
            cars = [
                Vehicle(v.id, v.depot_id, v.capacity, self._units(v.max_duration_s))
                for v in vehicle_list
            ]
        except ProblemError as exc:
            raise OrderRejected(exc.reason, field="vehicles") from exc
        for i, depot in enumerate(fleet):
            if depot.close <= depot.open:
                raise OrderRejected("the depot closes before it opens", field=f"depots[{i}]")
        with self._orders_lock:
            if save:
                self.state.save_fleet(depot_list, vehicle_list, at_ms=now_ms(self.clock))
            self.service.set_fleet(fleet, cars)
            self._depots = {d.id: d for d in depot_list}
            self._vehicles = vehicle_list
        self._wake.set()

    def fleet(self) -> tuple[list[DepotSpec], list[VehicleSpec]]:
        """The declared depots and vehicles, as declared (empty before a fleet is set)."""
        with self._orders_lock:
            return list(self._depots.values()), list(self._vehicles)

    def depot(self, node: str) -> DepotSpec | None:
        """The declared depot of a micro-warehouse node (None when it is none)."""
        with self._orders_lock:
            return self._depots.get(node)

    def delivery_waits(self) -> dict[str, float]:
        """Per depot, the seconds until its vans could take one more delivery (see
        `PlanService.delivery_waits`)."""
        return self.service.delivery_waits()

    def depots(self) -> list[DepotSpec]:
        """The declared depots."""
        with self._orders_lock:
            return list(self._depots.values())

    def _deliveries(self, batch: list[DeliveryOrder]) -> list[Order]:
        _unique([o.id for o in batch], "deliveries")
        with self._sites_lock:
            depots = set(self._warehouses)
        converted: list[Order] = []
        for i, o in enumerate(batch):
            if o.id in depots:
                raise OrderRejected(
                    f"delivery id {o.id!r} is a depot's id", field=f"deliveries[{i}].id"
                )
            try:
                converted.append(
                    Order(
                        o.id,
                        o.x,
                        o.y,
                        o.demand,
                        ready=max(0, self._at(o.ready_ms)) if o.ready_ms is not None else 0.0,
                        due=self._at(o.due_ms) if o.due_ms is not None else NO_LIMIT,
                        service=self._units(o.service_s) or 0,
                        lat=o.lat,
                        lon=o.lon,
                        depot_id=o.depot_id,
                        promised=self._at(o.promised_ms) if o.promised_ms is not None else NO_LIMIT,
                    )
                )
            except ProblemError as exc:
                raise OrderRejected(exc.reason, field=f"deliveries[{i}]") from exc
        return converted

    def _at(self, ms: int) -> int:
        """Plan time (units since the service's epoch) of a Unix time in ms."""
        offset_s = ms / 1000 - self.clock.now()
        return self.service.now_units() + math.floor(offset_s / self._unit_s)

    def _units(self, seconds: float | None) -> int | None:
        """Seconds as whole plan units, rounded up (None stays None)."""
        return None if seconds is None else math.ceil(seconds / self._unit_s)

    def _job(self, order: JobOrder) -> Job:
        at = self._at

        operations = tuple(
            Operation(
                operation_id(order.id, k),
                tuple(
                    OperationOption(machine, max(1, self._units(seconds) or 1))
                    for machine, seconds in sorted(step.options.items())
                ),
                family=step.family,
            )
            for k, step in enumerate(order.operations)
        )
        return Job(
            order.id,
            operations,
            release=max(0, at(order.release_ms)) if order.release_ms is not None else 0,
            due=at(order.due_ms) if order.due_ms is not None else None,
            weight=order.weight,
            rush=order.rush,
        )

    # ---- views ------------------------------------------------------------------------
    def schedule(self) -> dict[str, Any]:
        """The current production schedule (see `PlanService.current_schedule`)."""
        return self.service.current_schedule()

    def routes(self) -> dict[str, Any]:
        """The current delivery routes (see `PlanService.current_routes`)."""
        return self.service.current_routes()

    def reserve(self) -> dict[str, float]:
        """The rush reserve re-plans use, in seconds as rounded up to plan units:
        `share`, `period_s`, `horizon_s` and `reserved_s` (the slice kept at the end of
        each period)."""
        policy, unit = self.service.reserve(), self._unit_s
        return {
            "share": policy.share,
            "period_s": policy.period * unit,
            "horizon_s": policy.horizon * unit,
            "reserved_s": policy.slice_length * unit,
        }

    @property
    def planner_pid(self) -> int | None:
        """The id of the child process schedules are solved in (None when they are solved
        in this process, or before its child started)."""
        return self._isolated.pid if self._isolated is not None else None

    # ---- loop -------------------------------------------------------------------------
    def start(self) -> None:
        """Start the re-planning thread (it imports the solvers first)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="plan", daemon=True)
        self._thread.start()

    def stop(self, *, timeout_s: float = 30.0) -> None:
        """Stop the thread after the plan in hand (bounded by the planner's time limit),
        then the planner's process, if it has one."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        if self._isolated is not None:
            self._isolated.close()

    def _run(self) -> None:
        if self._isolated is not None:
            self._isolated.start()  # the child imports the solvers, not this process
        else:
            warm_up_scheduler()
        warm_up_router()
        while not self._stop.is_set():
            try:
                if self.clock.now() >= self._hours_renew_s:
                    self.set_opening_hours(self._hours, days=self._hours_days)
                self.service.tick()
                self.save_van_times()
            except Exception:  # a planning bug must not end re-planning for good
                log.exception("re-planning tick failed")
            deadline = self.service.deadline()
            wait = _IDLE_WAIT_S
            if deadline is not None:
                wait = min(max(deadline - self.clock.monotonic(), 0.01), _IDLE_WAIT_S)
            self._wake.wait(wait)
            self._wake.clear()

    # ---- output -----------------------------------------------------------------------
    def _publish(self, node_id: str, payload: dict[str, Any]) -> None:
        """Send one plan diff to `node_id` as a `schedule` or `route` command; a route goes
        to its vehicle instead of its depot when the vehicle has an agent of its own."""
        with self._sites_lock:
            if payload["kind"] == "route" and payload["vehicle_id"] in self._vehicle_nodes:
                node_id = payload["vehicle_id"]
            site = self._sites.get(node_id)
        if site is None:
            log.warning("no site known for %s: its %s update is not sent", node_id, payload["kind"])
            return
        body = {k: v for k, v in payload.items() if k not in ("kind", "departs", "van_move")}
        if payload.get("van_move"):
            log.info("%s %s to %s", payload["vehicle_id"], payload["van_move"], payload["depot_id"])
            self._save_van_bases()
        if payload.get("departs") and not self._load(body["vehicle_id"], body["stops"]):
            return
        if payload["kind"] == "schedule":
            body = schedule_window(body, SCHEDULE_WINDOW)
            body["operations"] = [self._what_to_make(op) for op in body["operations"]]
        else:
            stops = [self._where_to_go(stop) for stop in body["stops"]]
            body["stops"] = self._home(body["depot_id"], stops)
        try:
            update = (
                ScheduleUpdate(**body) if payload["kind"] == "schedule" else RouteUpdate(**body)
            )
            self.commands.send(site=site, node=node_id, name=update.kind, args=update.to_dict())
        except ProtocolError as exc:
            log.error("plan update for %s/%s not sent: %s", site, node_id, exc.reason)
        except Exception:
            log.exception("could not publish the plan update for %s/%s", site, node_id)

    def _load(self, vehicle_id: str, stops: list[str]) -> bool:
        """Record a leaving tour's stops as loaded on its van, durably, before the van is
        told to go (a coordinator killed in between sends it again at start: the stops
        are the van's on restore). False, logged, when they could not be recorded: the van
        is not sent, and the next look at the tours tries again."""
        try:
            with self._orders_lock:
                self.state.pin_deliveries(vehicle_id, stops, at_ms=now_ms(self.clock))
        except Exception:
            log.exception("could not record the tour of %s: it is not sent", vehicle_id)
            self.service.unload(vehicle_id, stops)
            return False
        log.info("%s leaves with %d stop(s)", vehicle_id, len(stops))
        return True

    def _save_van_bases(self) -> None:
        """Record where the lent vans are based, before a van is told to drive there (a
        restart keeps it there). When it cannot be recorded the van is sent all the same
        (it is lent in the plan already); a restart before the next record sends it home."""
        try:
            with self._orders_lock:
                self.state.save_van_bases(self.service.van_bases(), at_ms=now_ms(self.clock))
        except Exception:
            log.exception("could not record where the lent vans are based")

    def save_van_times(self) -> None:
        """Record the tours timed for the depots' van time when a look changed them (the
        loop calls it after each tick). A failure is logged and tried again after the next
        change; a restart before it counts the depots' day from the last record."""
        timed = self.service.van_times(known=self._van_times_saved)
        if timed is None:
            return
        try:
            with self._orders_lock:
                self.state.save_van_times(timed[1], at_ms=now_ms(self.clock))
        except Exception:
            log.exception("could not record the tours timed for the depots' van time")
            return
        self._van_times_saved = timed[0]

    def _what_to_make(self, op: dict[str, Any]) -> dict[str, Any]:
        """A planned operation with the quantity and product family its machine makes
        (left out when the order has none)."""
        with self._sites_lock:
            order = self._taken.get(op["job_id"])
        if order is None:
            return op
        index = operation_index(op["operation_id"])
        family = order.operations[index].family if 0 <= index < len(order.operations) else ""
        extra = {"quantity": order.quantity, "family": family or None}
        return {**op, **{k: v for k, v in extra.items() if v is not None}}

    def _where_to_go(self, stop_id: str) -> str | dict[str, Any]:
        """A route stop with its place and quantity when the delivery has a latitude and
        longitude (a vehicle drives there), and what it does there when it is a transfer's
        pickup; else its bare id."""
        with self._sites_lock:
            order = self._drops.get(stop_id)
        if order is None or order.lat is None or order.lon is None:
            return stop_id
        stop: dict[str, Any] = {
            "stop_id": stop_id,
            "lat": order.lat,
            "lon": order.lon,
            "quantity": order.demand,
        }
        if order.action != "delivery":
            stop["action"] = order.action
        if order.transfer_id:
            stop |= {"transfer_id": order.transfer_id, "sku": order.sku}
        return stop

    def _home(self, depot_id: str, stops: list[str | dict[str, Any]]) -> list[str | dict[str, Any]]:
        """A located route ends back at its depot (a `depot` stop), where the vehicle unloads
        what it picked up: a transfer from a factory reaches its micro-warehouse there."""
        depot = self._depots.get(depot_id)  # replaced whole under the lock: a safe read
        if depot is None or depot.lat is None or depot.lon is None:
            return stops
        if any(isinstance(stop, str) for stop in stops):
            return stops  # a route of bare ids: the vehicle knows its places itself
        back = {"stop_id": depot_id, "lat": depot.lat, "lon": depot.lon, "action": "depot"}
        return [*stops, back]


def _unique(ids: list[str], what: str) -> None:
    seen: set[str] = set()
    for i, item in enumerate(ids):
        if item in seen:
            raise OrderRejected(f"id {item!r} appears twice", field=f"{what}[{i}].id")
        seen.add(item)
