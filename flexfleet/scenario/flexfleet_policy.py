"""The flexfleet policy: the production coordinator objects fed the world's facts.

What runs is the coordinator's own code, built as `coordinator.service` builds it, on a
`FakeClock` that follows the world's time:

- `coordinator.plan.runner.PlanRunner` (with `MemoryPlanState`) and its `PlanService`: the
  machines (`MachineSeen`), the factories' opening hours (`set_opening_hours`), the
  changeovers between families, the products (`set_products`, replenished `auto`), and
  CP-SAT in its deterministic mode (`time_limit_s` per re-plan, ended by its deterministic
  limit and not the wall clock: `SEARCH_WALL_LIMIT_S`). Re-plans run when the
  debouncer says triggers are due, looked at every simulated hour and at once after a
  breakdown; started operations are reported (`observe`, from facts) and finished jobs
  closed (`jobs_produced`), replenishment jobs on receipt (`close_orders`).
- `coordinator.stock.cover.stock_covers` and `PlanRunner.on_covers`: every 2 hours (hourly
  from a lead time before an announced stream to its end), each SKU × warehouse's stock
  against a forecast of the next days (base rates of the regions the warehouse serves, plus
  the streams announced so far, counted `STREAM_EARLY_H` before they start: the mean at
  their expected uplift, the P90 band at the top of the announced uplift range plus
  `STREAM_Z` deviations of the stream's units; the base demand's band that of compound
  Poisson units) makes the replenishment jobs of the real `ReplenishmentBook`, ordered up to
  the lead time plus `REVIEW_DAYS` (joint replenishment by family, `CAN_ORDER_DAYS`, is off).
- `coordinator.sales.book.SalesBook` (with `InMemorySalesStore`): every order is promised
  by the real promise engine on the world's shelves and the current schedule's capacity;
  its production parts become planner jobs through `PlanRunner.submit_orders`; the order
  moves on facts (`follow_production`, `received_at_warehouse`, `picked_up`, `delivered`).
- Deliveries: dynamic dispatch (`coordinator.plan.routing.departures`): every half hour of
  the delivery day the production router `PyVrpRouter` (deterministic, ended by its
  iteration limit) plans tours over
  everything waiting at a warehouse, and a tour leaves when it is full and dense (at most
  `DENSE_KM_PER_STOP`), when waiting longer would miss a promise on it, or when its
  oldest stop would wait too long (never over the night). When a tour queued behind a van's
  return would deliver late, only the most urgent that the free vans carry are planned.
- Vans: a warehouse that is behind (a consignment ready there waited over a day) borrows
  one from the nearest warehouse that can spare it, and sends it home between two
  delivery days once it has caught up (`coordinator.plan.routing.lending`, fed by
  `flexfleet.scenario.van_sharing`).

The boundary: by default the world calls these objects in-process (no MQTT, no SQLite, no
ingest of agent reports): the schedule the planner publishes is read from
`PlanRunner.schedule()`, which is what its `schedule` commands carry, and the plan commands
themselves go to a sink. With `flexfleet scenario run --broker` (`flexfleet.scenario.
broker_policy`) the facts reach this policy through a real broker and the coordinator's
ingest, its plan commands go to the machines over MQTT (`commands`), each machine takes
its next job from the schedule it received (`schedules`), and the shelves are read from
the fleet twin their stock reports keep (`shelves`).
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from coordinator.commands.log import CommandLog
from coordinator.forecast.serving.service import Forecast
from coordinator.jobs.progress import OperationProgress, operation_id
from coordinator.plan.orders.specs import (
    ChangeoverSpec,
    JobOrder,
    ProductSpec,
    StepOption,
)
from coordinator.plan.routing.departures import (
    DeparturePolicy,
    PendingStop,
    could_depart,
    departure_reason,
    latest_departure_s,
)
from coordinator.plan.routing.planner import PyVrpRouter
from coordinator.plan.routing.problem import NO_LIMIT, Depot, RoutingProblem, Vehicle
from coordinator.plan.routing.problem import Order as Stop
from coordinator.plan.routing.travel import GreatCircleTravel
from coordinator.plan.runner import PlanRunner
from coordinator.plan.schedule.hours import OpenIntervals
from coordinator.plan.schedule.planner import CpSatScheduler
from coordinator.plan.state import MemoryPlanState
from coordinator.plan.triggers import DepotSeen, MachineSeen
from coordinator.sales.book import CapacityView, OrderRequest, SalesBook, job_id
from coordinator.sales.capacity import OpeningHours
from coordinator.sales.errors import OrderConflict, OrderInvalid
from coordinator.sales.promise import Line
from coordinator.sales.records import InMemorySalesStore
from coordinator.sales.sources import busy_intervals, pairwise_travel
from coordinator.stock.cover import Z90, CoverPolicy, stock_covers
from fleet_runtime.clock import FakeClock
from flexfleet.scenario.baseline import demand_rates, order_size_moments, seed_stock
from flexfleet.scenario.demand import HOURLY_PROFILE, Announcement, Order
from flexfleet.scenario.schema import WarehouseSpec
from flexfleet.scenario.van_sharing import VanSharing
from flexfleet.scenario.world import (
    DAY_S,
    LOADING_S,
    STEP_S,
    Consignment,
    MachineState,
    OrderState,
    WorkItem,
    World,
)

TIME_UNIT_S = 300.0
FORECAST_DAYS = 7
HOURS_DAYS = 14.0  # opening hours given to the planner this far ahead, renewed daily
MAX_BATCH_H = 6.0  # a replenishment batch at most this many machine hours
ROUTE_LIMIT_S = 0.2
# The wall-clock safety net of CP-SAT and PyVRP, far above their limits: their deterministic
# limits (deterministic time, iterations) end every search, so a seed gives the same run on
# a loaded or slow machine too; a re-plan may take longer there.
SEARCH_WALL_LIMIT_S = 60.0
# The capacity pools follow each new schedule (its version); between re-plans (hourly) they
# are not rebuilt on age alone.
POOL_MAX_AGE_S = 3600.0
# Dynamic dispatch: held tours are looked at this often during the scenario's delivery day.
DISPATCH_EVERY_S = 1800.0
# A full tour leaves early only when its routed km per stop (depot legs included) are at
# most this; a full tour over a sparse pool is held until a stop on it must go (the
# baseline's tours average 2.7 km a stop). Holding them: 0.965-0.98 x the km per order on
# yiwu-livestream, lead time unchanged (BENCHMARKS.md, "Delivery km and inventory").
DENSE_KM_PER_STOP = 2.5
# Joint replenishment: with a SKU of a family at risk, the family's SKUs that would be at
# risk within this many more days are ordered with it (`coordinator.plan.orders.replenishment`).
# Off: at 1 day it held 0.7 days more stock on every shelf (30 days, BENCHMARKS.md), while
# the margin it gave was needed only by the streams' featured SKUs, which are pre-positioned
# early (`STREAM_EARLY_H`) for the top of their announced uplift instead.
CAN_ORDER_DAYS = 0.0
COVER_EVERY_H = 2  # stock covers checked every this many hours; hourly near a stream
# Announced streams are pre-positioned for this quantile of each featured SKU's uplift: the
# storefront draws it anywhere in the announced range, and the cover policy stocks to the
# P90 of demand, so the forecast's P90 carries the uplift at this quantile, not its mean.
# The top of the range: only the few featured SKUs carry it, and with no joint
# replenishment (below) the P90 of the range left a stream short (BENCHMARKS.md).
STREAM_UPLIFT_QUANTILE = 1.0
# ... and for this many standard deviations of the stream's own units at that uplift
# (compound Poisson: orders × sizes, over the whole fleet, each warehouse holding its share),
# so a stream drawn at the top of its range still finds stock: with the P90 band at the top
# alone, 5 of 12 seeds ran a featured SKU out for 5-25 minutes, every unit promised; each
# deviation costs about 0.3 days of stock on every shelf (BENCHMARKS.md, "Outcomes").
STREAM_Z = 2.0
# The cover policy's review period: covers are looked at every 2 hours, so a replenishment
# only has to last half a day past the lead time; ordering up to the scenario's
# `review_days` (the baseline's lot of 3 days) held 0.9 days more stock on every shelf than
# 1 day, and 1 day 0.3 more than half a day, for the same on-time rate (seed 2); the planner
# keeps families together anyway.
REVIEW_DAYS = 0.5
# ... and counted this many hours before they start, so their stock is due that long before.
STREAM_EARLY_H = 12.0
# A stream whose stock takes more machine time than the plants have spare in a day is
# counted earlier by the difference: its featured SKUs' units as the band above holds them,
# in machine hours of their families, against this share of every machine's open hours a
# day (base demand keeps them about a third busy). Counted 12 h early only, the 4-hour
# stream of 8 SKUs ran two seeds of twelve out for 5-20 minutes below the top of its range.
STREAM_SPARE_SHARE = 0.5


class _CommandSink:
    """Where plan commands go in-process: the world reads the schedule itself."""

    def __init__(self) -> None:
        self.sent = 0

    def send(self, **_kwargs: Any) -> None:
        self.sent += 1


def shelf(warehouse: str) -> str:
    """The shelf node of a warehouse."""
    return f"{warehouse}-shelf"


@dataclass
class FlexfleetPolicy:
    """The coordinator's way (see the module)."""

    seed: int = 0
    time_limit_s: float = 0.5
    name: str = "flexfleet"
    replans: int = 0
    clock: FakeClock = field(default_factory=lambda: FakeClock(0.0))
    plans: PlanRunner | None = None
    sales: SalesBook | None = None
    _jobs: dict[str, JobOrder] = field(default_factory=dict)
    _parts: dict[str, tuple[str, str]] = field(default_factory=dict)  # job → (order, dest)
    _running: dict[str, tuple[str, WorkItem, float, float]] = field(default_factory=dict)
    _done: set[str] = field(default_factory=set)
    _urgent: bool = False
    _reported: set[str] = field(default_factory=set)  # jobs started or made since the last look
    _ups: list[tuple[float, str]] = field(default_factory=list)
    _schedule_key: int = -1
    _queue: dict[str, list[str]] = field(default_factory=dict)
    _to_pick: dict[str, int] = field(default_factory=dict)
    _world: World | None = None
    _rates: dict[str, dict[str, float]] = field(default_factory=dict)
    _eq: float = 1.0
    _eq2: float = 1.0
    _shares: dict[str, float] = field(default_factory=dict)
    _featured: frozenset[str] = frozenset()
    _early: dict[int, float] = field(default_factory=dict)  # stream index -> counted early, s
    _hours: dict[str, OpenIntervals] = field(default_factory=dict)
    _router: PyVrpRouter = field(
        default_factory=lambda: PyVrpRouter(deterministic=True, wall_limit_s=SEARCH_WALL_LIMIT_S)
    )
    departures: DeparturePolicy = field(
        default_factory=lambda: DeparturePolicy(dense_km_per_stop=DENSE_KM_PER_STOP)
    )
    # Where the shelves' levels are read (warehouse → {sku: units}); None: the world itself.
    # With `--broker`, the coordinator's fleet twin, kept by the shelves' stock reports.
    shelves: Callable[[str], Mapping[str, int]] | None = None
    # Where plan commands go (`CommandLog.send`'s signature); None: nowhere, the queues are
    # read from `PlanRunner.schedule()`. With `--broker`, the machines over MQTT, and
    # `schedules` gives each machine's jobs in start order from the schedule it received.
    commands: Any = None
    schedules: Callable[[str], Sequence[str]] | None = None
    tour_reasons: list[str] = field(default_factory=list)
    # Vans lent between warehouses (`flexfleet.scenario.van_sharing`); None: each keeps its own.
    sharing: VanSharing | None = field(default_factory=lambda: VanSharing(every_s=DISPATCH_EVERY_S))

    # ---- wiring --------------------------------------------------------------------------
    def start(self, world: World) -> None:
        """Build the coordinator's objects for the world's network."""
        self._world = world
        self.clock = FakeClock(world.start_s)
        sc = world.scenario
        self.plans = PlanRunner(
            clock=self.clock,
            commands=cast(CommandLog, self.commands or _CommandSink()),
            time_unit_s=TIME_UNIT_S,
            time_limit_s=self.time_limit_s,
            quiet_s=60.0,
            urgent_quiet_s=1.0,
            max_delay_s=900.0,
            seed=self.seed,
            state=MemoryPlanState(),
            lead_time_days=sc.replenishment.lead_h / 24.0,
            auto_replenish=True,
            can_order_days=CAN_ORDER_DAYS,
            from_facts=True,
            scheduler=CpSatScheduler(
                num_workers=1, deterministic=True, wall_limit_s=SEARCH_WALL_LIMIT_S
            ),
        )
        plans = self.plans
        plans.on_take.append(lambda jobs: self._jobs.update((j.id, j) for j in jobs))
        plans.apply(MachineSeen(m.factory, m.id) for m in world.machines.values())
        plans.apply(DepotSeen(w, shelf(w)) for w in world.warehouses)
        self._hours = {
            m.id: OpeningHours(
                open_min=_minutes(world.factories[m.factory].open),
                close_min=_minutes(world.factories[m.factory].close),
            ).open_intervals
            for m in world.machines.values()
        }
        plans.set_opening_hours(self._hours, days=HOURS_DAYS)
        fams = [f.id for f in sc.families]
        plans.set_changeovers(
            ChangeoverSpec(a, b, world.families[b].changeover_min * 60.0)
            for a in fams
            for b in fams
            if a != b
        )
        plans.set_products(self._products(world))
        self.sales = SalesBook(
            store=InMemorySalesStore(),
            clock=self.clock,
            stock=self._stock,
            capacity=self._capacity,
            recipe=plans.product,
            travel=pairwise_travel(
                GreatCircleTravel(detour_factor=sc.delivery.detour, speed_kmh=sc.delivery.speed_kmh)
            ),
            pool_max_age_s=POOL_MAX_AGE_S,
            pools_aside=False,  # built before the next promise: the same run on any machine
            schedule_version=plans.schedule_version,
            submit_jobs=plans.submit_orders,
            close_jobs=lambda ids: plans.close_orders(ids, [], reason="order cancelled"),
        )
        self.sales.set_network(self._network(world))
        seed_stock(world)
        self._rates = {w: rates for w, rates, _, _ in demand_rates_base(world)}
        self._eq, self._eq2 = order_size_moments(sc.catalog.qty_max)
        self._featured = frozenset(s for a in world.demand.streams if a.announced for s in a.skus)
        cycle_s = {s.id: world.families[s.family].cycle_s for s in world.demand.skus}
        open_s = sum(
            (_minutes(world.factories[m.factory].close) - _minutes(world.factories[m.factory].open))
            * 60.0
            for m in world.machines.values()
        )
        self._early = {
            a.index: stream_early_s(
                a, size=(self._eq, self._eq2), cycle_s=cycle_s, machine_s_per_day=open_s
            )
            for a in world.demand.streams
        }

    def _products(self, world: World) -> list[ProductSpec]:
        out = []
        for sku in world.demand.skus:
            fam = world.families[sku.family]
            options = tuple(
                StepOption(m.id, fam.cycle_s)
                for m in world.machines.values()
                if m.factory in sku.makers and sku.family in m.families
            )
            out.append(
                ProductSpec(
                    sku=sku.id,
                    operations=(options,),
                    family=sku.family,
                    min_batch=1,
                    max_batch=max(1, int(MAX_BATCH_H * 3600 / fam.cycle_s)),
                    replenish="auto",
                )
            )
        return out

    def _network(self, world: World) -> dict[str, Any]:
        return {
            "factories": [
                {
                    "id": f.id,
                    "location": {"lat": f.lat, "lon": f.lon},
                    "machines": [m.id for m in f.machines],
                    "hours": {"open": f.open, "close": f.close},
                    "capacity_share": f.capacity_share,
                }
                for f in world.scenario.factories
            ],
            "warehouses": [
                {"id": w.id, "location": {"lat": w.lat, "lon": w.lon}, "nodes": [shelf(w.id)]}
                for w in world.scenario.warehouses
            ],
            "products": [{"sku": s.id, "factories": list(s.makers)} for s in world.demand.skus],
        }

    # ---- ports the sales book reads ----------------------------------------------------------
    def _stock(self, skus: Any) -> dict[str, dict[str, int]]:
        world = self._need_world()
        wanted = list(skus)
        return {
            shelf(w): {
                s: self._on_hand(world, w).get(s, 0) if world.closed_until[w] <= world.t else 0
                for s in wanted
            }
            for w in world.warehouses
        }

    def _on_hand(self, world: World, warehouse: str) -> Mapping[str, int]:
        """A warehouse's shelves: as its stock reports told them (`shelves`), else the world's."""
        return world.on_hand[warehouse] if self.shelves is None else self.shelves(warehouse)

    def _available(self, world: World, warehouse: str, sku: str) -> int:
        """Units a new order may take at `warehouse` (0 while it is closed)."""
        if world.closed_until[warehouse] > world.t:
            return 0
        return self._on_hand(world, warehouse).get(sku, 0) - world.reserved[warehouse].get(sku, 0)

    def _total_available(self, world: World, sku: str) -> int:
        return sum(self._available(world, w, sku) for w in world.warehouses)

    def _capacity(self) -> CapacityView:
        world = self._need_world()
        schedule = self._need_plans().schedule()
        jobs = {op["job_id"] for ops in schedule.get("machines", {}).values() for op in ops}
        down = frozenset(m.id for m in world.machines.values() if m.down_until > world.t)
        return CapacityView(
            busy=busy_intervals(schedule),
            unavailable=down,
            planned_jobs=frozenset(jobs),
            version=int(schedule.get("version") or 0),
        )

    # ---- orders -------------------------------------------------------------------------
    def _sync(self, world: World) -> None:
        target = world.start_s + world.t
        if target > self.clock.now():
            self.clock.advance(target - self.clock.now())

    def on_order(self, world: World, order: Order) -> None:
        self._sync(world)
        state = world.orders[order.id]
        self._promise(world, state, order.id, order.qty)

    def _promise(self, world: World, state: OrderState, order_id: str, qty: int) -> None:
        order = state.order
        if order.stream >= 0 and self._total_available(world, order.sku) < qty:
            world.lose(state)
            return
        sales = self._need_sales()
        request = OrderRequest(
            id=order_id,
            customer="storefront",
            lines=(Line(order.sku, qty),),
            destination=(order.lat, order.lon),
            address=order.region,
            service="express" if order.express else "standard",
        )
        try:
            taken = sales.submit(request)
        except (OrderInvalid, OrderConflict):
            world.lose(state)
            return
        line = taken.order.promise["lines"][0]
        picks = shipped = 0
        for part in line["from_stock"]:
            if world.take_stock(state, part["warehouse"], int(part["qty"])).from_stock:
                picks += 1
            else:
                shipped += 1
        if picks:
            self._to_pick[order_id] = picks
        elif shipped:  # every unit left its shelf by line-haul: the holds go
            sales.record_fact(order_id, "picked_up", actor="warehouse")
        dest = world.nearest_warehouse((order.lat, order.lon))
        for k, _part in enumerate(line["made"]):
            world.expect_part(state)
            self._parts[job_id(order_id, 0, k)] = (order.id, dest)

    def on_lost_consignment(self, world: World, consignment: Consignment) -> None:
        self._sync(world)
        state = world.orders[consignment.order_id]
        n = sum(1 for key in self._to_pick if key.startswith(f"{consignment.order_id}.r"))
        self._promise(world, state, f"{consignment.order_id}.r{n + 1}", consignment.qty)

    # ---- machines -----------------------------------------------------------------------
    def _refresh_queue(self) -> None:
        plans = self._need_plans()
        version = plans.schedule_version()
        if version == self._schedule_key:
            return
        self._schedule_key = version
        schedule = plans.schedule()
        self._queue = {
            machine: [op["job_id"] for op in sorted(ops, key=lambda o: (o["start"], o["job_id"]))]
            for machine, ops in schedule.get("machines", {}).items()
        }

    def _machine_queue(self, machine: str) -> Sequence[str]:
        """The jobs planned on `machine`, in start order."""
        if self.schedules is not None:
            return self.schedules(machine)
        self._refresh_queue()
        return self._queue.get(machine, [])

    def next_work(self, world: World, machine: MachineState) -> WorkItem | None:
        busy = {job for job, *_ in self._running.values()}
        for job in self._machine_queue(machine.id):
            if job in self._done or job in busy:
                continue
            order = self._jobs.get(job)
            if order is None or order.quantity is None:
                continue
            item = self._item(world, order)
            if item is None:
                continue
            self._sync(world)
            self._running[machine.id] = (job, item, world.t, 0.0)
            self._reported.add(job)
            return item
        return None

    def _item(self, world: World, order: JobOrder) -> WorkItem | None:
        family = order.operations[0].family
        if order.id in self._parts:
            _, dest = self._parts[order.id]
            owner: str | None = self._parts[order.id][0]
        else:
            record = self._need_plans().replenishments().get(order.id)
            if record is None:
                return None
            dest = record.node.removesuffix("-shelf")
            owner = None
        return WorkItem(
            job_id=order.id,
            sku=order.sku,
            family=family,
            qty=int(order.quantity or 0),
            due_s=(order.due_ms or 0) / 1000 - world.start_s,
            dest=dest,
            order_id=owner,
            rush=order.rush,
        )

    def on_made(self, world: World, item: WorkItem, machine: MachineState) -> None:
        self._sync(world)
        self._running.pop(machine.id, None)
        self._done.add(item.job_id)
        self._reported.add(item.job_id)
        self._need_plans().jobs_produced([item.job_id])

    def on_received(self, world: World, item: WorkItem) -> None:
        self._sync(world)
        if item.order_id is None:
            self._need_plans().close_orders([item.job_id], [], reason="received")

    def on_machine_down(self, world: World, machine: MachineState, until_s: float) -> None:
        self._sync(world)
        units = max(1, math.ceil((until_s - world.t) / TIME_UNIT_S))
        self._need_plans().service.machine_down(machine.id, duration=units)
        self._ups.append((until_s, machine.id))
        self._urgent = True

    # ---- each step ----------------------------------------------------------------------
    def on_step(self, world: World) -> None:
        self._sync(world)
        if self.sharing is not None:
            self.sharing.look(world)
        plans = self._need_plans()
        for until, machine in list(self._ups):
            if until <= world.t:
                self._ups.remove((until, machine))
                plans.service.machine_up(machine)
                self._urgent = True
        if world.t % DAY_S < STEP_S / 2:  # what the runner's own loop renews daily
            plans.set_opening_hours(self._hours, days=HOURS_DAYS)
        hourly = world.t % 3600.0 < STEP_S / 2
        if hourly and (int(world.t // 3600) % COVER_EVERY_H == 0 or self._near_stream(world)):
            self._covers(world)
        if hourly and self._reported:
            reported, self._reported = sorted(self._reported), set()
            self._need_sales().follow_production(reported, self._job_state)
        if not (hourly or self._urgent):
            return
        self._urgent = False
        plans.observe(self._progress(world), replan=False)
        started = time.perf_counter()
        if plans.service.tick():
            world.log.replan_s.append(time.perf_counter() - started)
            self.replans += 1

    def _job_state(self, job: str) -> str | None:
        if job in self._done:
            return "finished"
        if any(job == j for j, *_ in self._running.values()):
            return "started"
        return "planned" if job in self._jobs else None

    def _progress(self, world: World) -> dict[str, tuple[OperationProgress, int | None]]:
        out: dict[str, tuple[OperationProgress, int | None]] = {}
        ms = round((world.start_s + world.t) * 1000)
        for machine, (job, item, started, _) in self._running.items():
            m = world.machines[machine]
            total = max(1.0, m.finish_s - started)
            made = min(item.qty, math.floor(item.qty * (world.t - started) / total))
            op = operation_id(job, 0)
            out[op] = (
                OperationProgress(
                    operation_id=op,
                    job_id=job,
                    machine=machine,
                    state="run",
                    good=made,
                    scrap=0,
                    started_ms=round((world.start_s + started) * 1000),
                    updated_ms=ms,
                ),
                item.qty,
            )
        return out

    def _covers(self, world: World) -> None:
        """Stock against the forecast: at-risk SKUs become replenishment jobs."""
        plans = self._need_plans()
        now = world.t
        profile_day = float(HOURLY_PROFILE.sum())
        pairs = []
        for w in sorted(world.warehouses):
            if world.closed_until[w] > now:
                continue
            share_rates = self._rates[w]
            for sku in world.demand.skus:
                base = share_rates.get(sku.id, 0.0)
                days, variance = [], []
                for d in range(FORECAST_DAYS):
                    lo, hi = now + d * DAY_S, now + (d + 1) * DAY_S
                    stream_mean, stream_var = self._announced(world, w, sku.id, lo, hi)
                    orders = base * profile_day
                    days.append(orders * self._eq + stream_mean)
                    variance.append(orders * self._eq2 + stream_var)
                forecast = self._forecast(world, w, sku.id, days, variance)
                pairs.append((forecast, self._available(world, w, sku.id)))
        if not pairs:
            return
        policy = CoverPolicy(
            lead_time_days=world.scenario.replenishment.lead_h / 24.0, review_days=REVIEW_DAYS
        )
        covers = stock_covers(pairs, policy)
        ts_ms = round((world.start_s + now) * 1000)
        plans.on_covers([(c.location, c.sku, c) for c in covers], ts_ms)

    def _near_stream(self, world: World) -> bool:
        """An announced stream is running or starts within the replenishment lead time."""
        ahead = world.scenario.replenishment.lead_h * 3600.0
        return any(
            a.announced and a.known_s <= world.t < a.end_s and a.start_s - ahead <= world.t
            for a in world.demand.streams
        )

    def _announced(
        self, world: World, warehouse: str, sku: str, lo: float, hi: float
    ) -> tuple[float, float]:
        if sku not in self._featured:
            return 0.0, 0.0
        return stream_units(
            world.demand.streams, sku, lo=lo, hi=hi, now=world.t,
            share=self._share(world, warehouse), size=(self._eq, self._eq2),
            early_s=self._early,
        )  # fmt: skip

    def _share(self, world: World, warehouse: str) -> float:
        if warehouse in self._shares:
            return self._shares[warehouse]
        share = 0.0
        for g in world.scenario.regions:
            if world.nearest_warehouse((g.lat, g.lon)) == warehouse:
                share += g.share
        self._shares[warehouse] = share
        return share

    def _forecast(
        self,
        world: World,
        warehouse: str,
        sku: str,
        days: Sequence[float],
        variance: Sequence[float],
    ) -> Forecast:
        """Each day's mean with a normal P10–P90 band of the day's variance (compound Poisson
        units of the base demand plus the streams' spread)."""
        first = dt.datetime.fromtimestamp(world.start_s + world.t, dt.UTC).date()
        dates = tuple((first + dt.timedelta(days=d + 1)).isoformat() for d in range(len(days)))
        mean = tuple(days)
        sd = [math.sqrt(v) for v in variance]
        return Forecast(
            unique_id=f"{sku}@{warehouse}",
            sku=sku,
            location=f"{warehouse}/{shelf(warehouse)}",
            dates=dates,
            mean=mean,
            p10=tuple(max(0.0, m - Z90 * d) for m, d in zip(mean, sd, strict=True)),
            p50=mean,
            p90=tuple(m + Z90 * d for m, d in zip(mean, sd, strict=True)),
            model_version="scenario-known-rates",
            method="known_rates",
            fallback=False,
            generated_at_ms=round((world.start_s + world.t) * 1000),
        )

    # ---- delivery -----------------------------------------------------------------------
    def on_picked(self, world: World, consignment: Consignment) -> None:
        if not consignment.from_stock:
            return
        key = next((k for k in self._to_pick if k == consignment.order_id), None)
        if key is None:
            return
        self._to_pick[key] -= 1
        if self._to_pick[key] == 0:
            del self._to_pick[key]
            self._sync(world)
            self._need_sales().record_fact(key, "picked_up", actor="vehicle")

    def on_delivered(self, world: World, state: OrderState) -> None:
        self._sync(world)
        sales = self._need_sales()
        order_id = state.order.id
        sales.record_fact(order_id, "picked_up", actor="vehicle")
        sales.record_fact(order_id, "delivered", actor="vehicle")

    def wave_times(self, day: int) -> list[float]:
        """Every `DISPATCH_EVERY_S` of the delivery day: when held tours may leave."""
        world = self._need_world()
        first = day * DAY_S + world.scenario.delivery.wave_hour * 3600.0
        count = int(world.scenario.delivery.delivery_day_h * 3600.0 / DISPATCH_EVERY_S)
        return [first + k * DISPATCH_EVERY_S for k in range(count + 1)]

    def _next_chance(self, world: World) -> float:
        """When a tour held now could leave next: the next decision time, or tomorrow's
        first once the delivery day is over."""
        d = world.scenario.delivery
        first = math.floor(world.t / DAY_S) * DAY_S + d.wave_hour * 3600.0
        if world.t < first:
            return first
        after = world.t + DISPATCH_EVERY_S
        return after if after <= first + d.delivery_day_h * 3600.0 else first + DAY_S

    def tours(
        self, world: World, warehouse: WarehouseSpec, ready: Sequence[Consignment], capacity: int
    ) -> list[list[int]]:
        """The planned tours over everything ready that leave now (`coordinator.plan.routing.
        departures`); the rest wait for the next decision. The world sends them van after
        van, a tour queued behind a van's return leaving hours after the router's deadlines
        assumed; when that would make a stop on a queued tour late (a backlog, as after a
        warehouse was closed), only the most urgent that the free vans carry are planned, and
        the rest wait for a van to come back."""
        leaving = self._leaving(world, warehouse, ready, capacity)
        if not _queued_late(world, warehouse, ready, leaving):
            return leaving
        chosen = _most_urgent(world, warehouse, ready, capacity)
        sub = [ready[i] for i in chosen]
        return [[chosen[i] for i in t] for t in self._leaving(world, warehouse, sub, capacity)]

    def _leaving(
        self, world: World, warehouse: WarehouseSpec, ready: Sequence[Consignment], capacity: int
    ) -> list[list[int]]:
        """The tours over everything ready that the departure rules send now."""
        depot = (warehouse.lat, warehouse.lon)
        service_s = world.scenario.delivery.service_min * 60.0
        due = [world.orders[c.order_id].order.due_s for c in ready]
        chance = self._next_chance(world)
        pending = [
            PendingStop(
                c.qty, c.ready_s, due[i], LOADING_S + world.drive_s(depot, c.point) + service_s
            )
            for i, c in enumerate(ready)
        ]
        self.tour_reasons = []
        if not could_depart(
            pending, capacity=capacity, next_chance_s=chance, policy=self.departures
        ):
            return []
        leaving = []
        for tour in self._plan_tours(world, warehouse, ready, capacity):
            offsets, t, here, km = [], LOADING_S, depot, 0.0
            for i in tour:
                t += world.drive_s(here, ready[i].point) + service_s
                km += world.road_km(here, ready[i].point)
                here = ready[i].point
                offsets.append(t)
            km += world.road_km(here, depot)
            reason = departure_reason(
                load=sum(ready[i].qty for i in tour),
                capacity=capacity,
                oldest_ready_s=min(ready[i].ready_s for i in tour),
                latest_departure=latest_departure_s(offsets, [due[i] for i in tour]),
                next_chance_s=chance,
                policy=self.departures,
                km_per_stop=km / len(tour),
            )
            if reason is not None:
                leaving.append(tour)
                self.tour_reasons.append(reason)
        return leaving

    def _plan_tours(
        self, world: World, warehouse: WarehouseSpec, ready: Sequence[Consignment], capacity: int
    ) -> list[list[int]]:
        """Tours over every ready consignment by the production router, most urgent first."""
        speed = world.scenario.delivery.speed_kmh / world.scenario.delivery.detour  # km/h flown

        def xy(p: tuple[float, float]) -> tuple[float, float]:
            kx = 111.32 * math.cos(math.radians(warehouse.lat))
            return (
                (p[1] - warehouse.lon) * kx / speed * 60.0,
                (p[0] - warehouse.lat) * 111.32 / speed * 60.0,
            )

        total = sum(c.qty for c in ready)
        count = max(1, math.ceil(total / capacity) + 1)
        loading = LOADING_S / 60.0
        stops = tuple(
            Stop(
                f"c{i}",
                *xy(c.point),
                demand=c.qty,
                # the order's due time as a deadline in minutes from now (a stop already too
                # late gets none rather than an impossible one)
                due=due if (due := self._due_min(world, c)) > loading + 60.0 else NO_LIMIT,
                service=world.scenario.delivery.service_min,
            )
            for i, c in enumerate(ready)
        )
        problem = RoutingProblem(
            depots=(Depot("depot", 0.0, 0.0),),
            orders=stops,
            vehicles=tuple(Vehicle(f"v{k}", "depot", capacity) for k in range(count)),
        )
        result = self._router.plan(problem, time_limit_s=ROUTE_LIMIT_S, seed=self.seed)
        tours = [[int(s[1:]) for s in route.stops] for route in result.routes if route.stops]
        served = {i for tour in tours for i in tour}
        tours += [[i] for i in range(len(ready)) if i not in served]  # left out: alone
        # the world sends tours out in this order, vehicle after vehicle: most urgent first
        return sorted(tours, key=lambda t: (min(ready[i].due_key for i in t), t))

    def _due_min(self, world: World, c: Consignment) -> float:
        """Minutes from now until the consignment's order is due."""
        return (world.orders[c.order_id].order.due_s - world.t) / 60.0

    # ---- helpers ------------------------------------------------------------------------
    def _need_world(self) -> World:
        if self._world is None:
            raise RuntimeError("the policy has not started")
        return self._world

    def _need_plans(self) -> PlanRunner:
        if self.plans is None:
            raise RuntimeError("the policy has not started")
        return self.plans

    def _need_sales(self) -> SalesBook:
        if self.sales is None:
            raise RuntimeError("the policy has not started")
        return self.sales


def stream_units(
    streams: Iterable[Announcement],
    sku: str,
    *,
    lo: float,
    hi: float,
    now: float,
    share: float,
    size: tuple[float, float],
    early_s: Mapping[int, float] | float = 0.0,
) -> tuple[float, float]:
    """Units the streams announced by `now` add to a SKU's demand in [lo, hi) at a
    warehouse serving `share` of the buyers, orders of `size` (E[q], E[q²]) units: their
    mean (at each stream's expected uplift), and the variance that puts the forecast band's
    P90 at the stream's units drawn at the uplift's `STREAM_UPLIFT_QUANTILE`, `STREAM_Z`
    standard deviations up (orders Poisson, sizes drawn per order; one uplift draw per SKU
    and stream, so a stream's units vary together).

    A stream is counted `early_s` before it starts (never before `now`, and from its
    start on where it really is), so the stock for it is due that long before it begins:
    covers read the forecast in whole days, and a stream counted at its own hours makes a
    replenishment due about when the stream starts."""
    eq, eq2 = size
    mean = var = 0.0
    for a in streams:
        if not a.announced or a.known_s > now or sku not in a.skus:
            continue
        early = early_s.get(a.index, 0.0) if isinstance(early_s, Mapping) else early_s
        shift = min(early, max(0.0, a.start_s - now))
        hours = max(0.0, min(hi, a.end_s - shift) - max(lo, a.start_s - shift)) / 3600.0
        expected = hours * a.expected_per_h * share * eq
        top_orders = hours * a.uplift_quantile(STREAM_UPLIFT_QUANTILE)
        high = share * (top_orders * eq + STREAM_Z * math.sqrt(top_orders * eq2))
        mean += expected
        var += ((high - expected) / Z90) ** 2
    return mean, var


def _queued_late(
    world: World, warehouse: WarehouseSpec, ready: Sequence[Consignment], tours: list[list[int]]
) -> bool:
    """Whether a stop of a tour that would wait for a van's return (the world sends tours on
    the earliest free van, in order) would be delivered after its order's due time."""
    vans = world.free_vans(warehouse.id)
    if not vans or len(tours) <= vans:
        return False
    timings = world.van_after_van(
        (warehouse.lat, warehouse.lon),
        [world.t] * vans,
        [[ready[i].point for i in tour] for tour in tours],
    )
    return any(
        timing.depart_s > world.t and arrive_s > world.orders[ready[i].order_id].order.due_s
        for tour, timing in zip(tours, timings, strict=True)
        for i, arrive_s in zip(tour, timing.arrive_s, strict=True)
    )


def _most_urgent(
    world: World, warehouse: WarehouseSpec, ready: Sequence[Consignment], capacity: int
) -> list[int]:
    """Indices of the ready consignments the free vans of `warehouse` carry in one trip
    each, earliest due first (all of them when they fit)."""
    room = max(1, world.free_vans(warehouse.id)) * capacity
    if sum(c.qty for c in ready) <= room:
        return list(range(len(ready)))
    chosen, load = [], 0
    for i in sorted(range(len(ready)), key=lambda i: (ready[i].due_key, i)):
        if load + ready[i].qty <= room:
            chosen.append(i)
            load += ready[i].qty
    return sorted(chosen)


def stream_early_s(
    a: Announcement,
    *,
    size: tuple[float, float],
    cycle_s: Mapping[str, float],
    machine_s_per_day: float,
) -> float:
    """How long before its start a stream is counted (seconds): `STREAM_EARLY_H`, plus the
    days by which the machine time its stock needs exceeds `STREAM_SPARE_SHARE` of
    `machine_s_per_day` (each featured SKU's units at the top of the range, `STREAM_Z`
    deviations up, times `cycle_s` of its family)."""
    eq, eq2 = size
    orders = (a.end_s - a.start_s) / 3600.0 * a.uplift_quantile(STREAM_UPLIFT_QUANTILE)
    units = orders * eq + STREAM_Z * math.sqrt(orders * eq2)
    need_s = sum(units * cycle_s[sku] for sku in a.skus if sku in cycle_s)
    spare_s = STREAM_SPARE_SHARE * machine_s_per_day
    extra_days = max(0.0, need_s / spare_s - 1.0) if spare_s > 0 else 0.0
    return STREAM_EARLY_H * 3600.0 + extra_days * DAY_S


def demand_rates_base(world: World) -> list[tuple[str, dict[str, float], float, float]]:
    """Per warehouse, the base (not stream) orders per hour of each SKU it serves."""
    out = []
    for w, _rates, eq, eq2 in demand_rates(world):
        share = sum(
            g.share for g in world.scenario.regions if world.nearest_warehouse((g.lat, g.lon)) == w
        )
        out.append((w, {s.id: share * s.rate_per_day / 24.0 for s in world.demand.skus}, eq, eq2))
    return out


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


__all__ = ["FlexfleetPolicy", "shelf", "stream_early_s", "stream_units"]
