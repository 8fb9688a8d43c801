"""`PlanService`: keeps the current schedule and routes, re-plans on debounced events,
and publishes what changed to the nodes concerned.

Wiring (done by the coordinator): call the `submit_*` / `machine_*` methods from ingest
and the API, call `tick()` periodically (it re-plans when the debouncer says so), serve
`current_schedule()` at `/api/v1/plans/schedule` and `current_routes()` at
`/api/v1/plans/routes`, and pass a `publish(node_id, payload)` that sends to MQTT.
Schedule diffs go to each machine whose sequence changed (node id = machine id), route
diffs to the depot of each changed vehicle (node id = depot id).

Times inside problems are integers in `time_unit_s` seconds since the plan epoch: the
moment the service started, or the epoch of the plans `restore` hands back after a
restart (so restored plans keep their meaning). A re-plan solves outside the state lock,
so readers of the current plans never wait for the solver; solves are serialised among
themselves. Each new plan goes to `on_plan` (the store) before its diffs are published,
so a plan version is never published unless it can be restored.

A service made `from_facts` plans from what the machines report (`observe`): started
operations keep their start and their estimated end (`schedule.replan.keep_started`),
and a job leaves the problem only when it is closed (its counts finished it), never
because the plan clock passed it; otherwise operations the plan started before now are
pinned where the plan put them, and jobs whose last operation ended are forgotten.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from coordinator.plan.debounce import Debouncer, Trigger
from coordinator.plan.diff import diff_routes, diff_schedules
from coordinator.plan.dispatch import Look, TourDispatch
from coordinator.plan.errors import PlanError
from coordinator.plan.routing.backlog import Backlog, depot_waits, wait_now
from coordinator.plan.routing.departures import DeparturePolicy
from coordinator.plan.routing.depots import merge_results, split_by_depot
from coordinator.plan.routing.live import Position, back_at_depot, from_the_road, locate
from coordinator.plan.routing.planner import PyVrpRouter, RoutePlanner
from coordinator.plan.routing.planner import warm_up as warm_up_router
from coordinator.plan.routing.problem import (
    Depot,
    Order,
    PinnedStop,
    RoutingProblem,
    RoutingResult,
    Vehicle,
)
from coordinator.plan.routing.travel import LatLon, TravelTimes
from coordinator.plan.schedule.planner import CpSatScheduler, SchedulePlanner
from coordinator.plan.schedule.planner import warm_up as warm_up_scheduler
from coordinator.plan.schedule.problem import (
    Job,
    LateJob,
    Machine,
    ReservePolicy,
    Schedule,
    SchedulingProblem,
    Setup,
    Window,
)
from coordinator.plan.schedule.replan import (
    Observed,
    add_jobs,
    advance,
    keep_started,
    machine_down,
)
from coordinator.plan.state import PlanMade
from coordinator.plan.van_loans import VanLoans, VanTimes
from fleet_runtime.clock import Clock

__all__ = ["PlanService", "PlanStats", "Publish"]

Publish = Callable[[str, dict[str, Any]], None]
_Message = tuple[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class PlanStats:
    """Planning figures for /metrics: plans made per (plan kind, trigger kind) (a plan
    counts once under each kind of its batch's triggers that re-plans it: routing_orders
    for routes, the others for the schedule), the last re-plan's wall time
    and operations moved, the current plans' versions, late jobs, unserved orders and the
    tours sent per departure reason since start."""

    plans_made: dict[tuple[str, str], int]
    last_replan_s: float | None
    last_operations_moved: int | None
    schedule_version: int
    routes_version: int
    late_jobs: tuple[LateJob, ...]
    unserved_reasons: tuple[str, ...]
    tours_departed: dict[str, int]


_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _ProblemInputs:
    """What a schedule problem is built from: the machines with their closed and down
    windows, the jobs, the previous schedule, the outages now and (from facts) what the
    machines reported."""

    machines: tuple[Machine, ...]
    jobs: tuple[Job, ...]
    setups: tuple[Setup, ...]
    reserve: ReservePolicy
    now: int
    frozen_horizon: int
    previous: Schedule | None
    down: tuple[tuple[str, Window], ...]
    observed: tuple[Observed, ...] | None


def _problem_from(inputs: _ProblemInputs) -> SchedulingProblem:
    """The schedule problem: the jobs added, the previous plan advanced to now, the
    machines down taken out and, from facts, started operations kept."""
    problem = SchedulingProblem(
        machines=inputs.machines,
        jobs=(),
        setups=inputs.setups,
        reserve=inputs.reserve,
        now=inputs.now,
    )
    problem = add_jobs(problem, inputs.jobs)
    if inputs.previous is not None:
        known = {op.id for job in inputs.jobs for op in job.operations}
        kept = tuple(r for r in inputs.previous.operations if r.operation_id in known)
        problem = advance(
            problem,
            replace(inputs.previous, operations=kept),
            now=inputs.now,
            frozen_horizon=inputs.frozen_horizon,
        )
    for machine_id, window in inputs.down:
        problem = machine_down(problem, machine_id, window)
    if inputs.observed is not None:
        problem = keep_started(problem, inputs.observed, now=inputs.now)
    return problem


class PlanService:
    """The coordinator's planning state and re-planning loop (thread-safe)."""

    def __init__(
        self,
        *,
        clock: Clock,
        publish: Publish,
        scheduler: SchedulePlanner | None = None,
        router: RoutePlanner | None = None,
        debouncer: Debouncer | None = None,
        schedule_time_limit_s: float = 2.0,
        route_time_limit_s: float = 2.0,
        time_unit_s: float = 60.0,
        frozen_horizon: int = 0,
        default_downtime: int = 240,
        seed: int = 0,
        warm_up_solvers: bool = True,
        on_plan: Callable[[PlanMade], None] | None = None,
        from_facts: bool = False,
        travel: TravelTimes | None = None,
        departures: DeparturePolicy | None = None,
        dispatch_every_s: float = 300.0,
        loans: VanLoans | None = None,
    ) -> None:
        self._clock = clock
        # tours (`plan.dispatch`); None sends every route as planned
        self._tours = (
            TourDispatch(departures, every_s=dispatch_every_s, loans=loans)
            if departures is not None
            else None
        )
        self._travel = travel
        self._positions: dict[str, Position] = {}
        self._closed: dict[str, tuple[Window, ...]] = {}
        self._failed: set[str] = set()
        self._from_facts = from_facts
        self._observed: dict[str, Observed] = {}
        # machine → (start, family) of the latest operation it reported: the family it is
        # set up for, which outlives the operation's job (see `observe`)
        self._set_up_for: dict[str, tuple[int, str]] = {}
        self._publish = publish
        self._on_plan = on_plan
        self._scheduler = scheduler or CpSatScheduler()
        self._router = router or PyVrpRouter()
        self._debouncer = debouncer or Debouncer(clock)
        self._schedule_limit_s = schedule_time_limit_s
        self._route_limit_s = route_time_limit_s
        self._unit_s = time_unit_s
        self._epoch_s = clock.now()
        self._frozen = frozen_horizon
        self._default_down = default_downtime
        self._seed = seed
        self._lock = threading.RLock()
        self._solve_lock = threading.Lock()
        self._machines: dict[str, Machine] = {}
        self._setups: tuple[Setup, ...] = ()
        self._reserve = ReservePolicy()
        self._jobs: dict[str, Job] = {}
        self._down: dict[str, Window] = {}
        self._schedule: Schedule | None = None
        self._schedule_version = 0
        self._schedule_made: tuple[int, list[dict[str, str]]] | None = None
        self._depots: tuple[Depot, ...] = ()
        self._vehicles: tuple[Vehicle, ...] = ()
        self._orders: dict[str, Order] = {}
        self._pins: dict[str, PinnedStop] = {}
        self._routes: RoutingResult | None = None
        self._routes_version = 0
        self._routes_made: tuple[int, list[dict[str, str]]] | None = None
        self._waits: tuple[float, dict[str, Backlog]] = (0.0, {})  # (planned at, per depot), s
        self._unrouted: dict[str, str] = {}  # bound deliveries in no route plan yet → depot
        self._forgotten: list[str] = []  # finished jobs not yet reported to `on_plan`
        self._plans_made: Counter[tuple[str, str]] = Counter()
        self._last_replan_s: float | None = None
        if warm_up_solvers:
            # Import the solver libraries now: the first re-plan must not pay for it.
            warm_up_scheduler()
            warm_up_router()

    # ---- time -----------------------------------------------------------------------
    def now_units(self) -> int:
        """The clock's time in plan units since the service started."""
        return int((self._clock.now() - self._epoch_s) // self._unit_s)

    def epoch_s(self) -> float:
        """Unix time (s) from which plan units count."""
        return self._epoch_s

    def restore(self, plans: Iterable[PlanMade]) -> None:
        """Take back the latest plans of an earlier run, before any input or plan: the
        plan epoch becomes theirs, versions continue from theirs, and the schedule is the
        previous plan of the next re-plan (diff base and warm start)."""
        with self._lock:
            for made in plans:
                self._epoch_s = made.epoch_s
                if isinstance(made.plan, Schedule):
                    self._schedule, self._schedule_version = made.plan, made.version
                    self._schedule_made = (made.made_ms, [dict(t) for t in made.triggers])
                else:
                    self._routes, self._routes_version = made.plan, made.version
                    self._routes_made = (made.made_ms, [dict(t) for t in made.triggers])

    # ---- inputs -----------------------------------------------------------------------
    def set_factory(
        self,
        machines: Iterable[Machine],
        *,
        setups: Iterable[Setup] = (),
        reserve: ReservePolicy | None = None,
    ) -> None:
        """Declare the machines, changeover times and rush reserve (replaces earlier ones)."""
        with self._lock:
            self._machines = {m.id: m for m in machines}
            self._setups = tuple(setups)
            self._reserve = reserve or ReservePolicy()
            self._debouncer.submit(Trigger("new_orders", "factory"))

    def set_changeovers(self, setups: Iterable[Setup]) -> None:
        """Replace the changeover times between product families."""
        with self._lock:
            self._setups = tuple(setups)
            self._debouncer.submit(Trigger("new_orders", "changeovers"))

    def set_reserve(self, reserve: ReservePolicy) -> None:
        """Replace the share of capacity kept free for rush jobs."""
        with self._lock:
            self._reserve = reserve
            self._debouncer.submit(Trigger("new_orders", "reserve"))

    def reserve(self) -> ReservePolicy:
        """The rush reserve the next re-plan uses."""
        with self._lock:
            return self._reserve

    def add_machines(self, machine_ids: Iterable[str]) -> None:
        """Add machines not declared yet (no downtime, no initial family); known ones stay."""
        with self._lock:
            new = [m for m in machine_ids if m not in self._machines]
            for machine_id in new:
                self._machines[machine_id] = Machine(machine_id)
            if new:
                self._debouncer.submit(Trigger("new_orders", "factory"))

    def machines(self) -> frozenset[str]:
        """The ids of the declared machines."""
        with self._lock:
            return frozenset(self._machines)

    def submit_jobs(self, jobs: Iterable[Job]) -> None:
        """Add production jobs; any rush job makes the re-plan urgent."""
        with self._lock:
            batch = list(jobs)
            for job in batch:
                self._jobs[job.id] = job
            for job in batch:
                kind = "rush_order" if job.rush else "new_orders"
                self._debouncer.submit(Trigger(kind, job.id if job.rush else "batch"))

    def machine_down(self, machine_id: str, *, duration: int | None = None) -> None:
        """A machine stopped now, for `duration` plan units (a default when unknown)."""
        with self._lock:
            now = self.now_units()
            self._down[machine_id] = Window(now, now + (duration or self._default_down))
            self._debouncer.submit(Trigger("machine_down", machine_id))

    def machine_up(self, machine_id: str) -> None:
        """A machine works again."""
        with self._lock:
            window = self._down.pop(machine_id, None)
            now = self.now_units()
            if window is not None and window.start < now:
                self._down[machine_id] = Window(window.start, now)
            self._debouncer.submit(Trigger("machine_up", machine_id))

    def set_closed(self, closed: Mapping[str, tuple[Window, ...]]) -> None:
        """Replace the machines' closed windows (their factory's hours: several factories
        are planned together, each machine only while its factory is open)."""
        with self._lock:
            self._closed = dict(closed)
            self._debouncer.submit(Trigger("new_orders", "hours"))

    def observe(self, observed: Iterable[Observed], *, replan: bool) -> None:
        """What the machines reported of the operations they started (replacing what was
        known); `replan` when an operation started, paused, resumed or finished. Used
        only by a service made `from_facts`."""
        with self._lock:
            self._observed = {o.operation_id: o for o in observed}
            families = {op.id: op.family for job in self._jobs.values() for op in job.operations}
            for fact in self._observed.values():
                family = families.get(fact.operation_id)
                seen = self._set_up_for.get(fact.machine_id)
                if family and (seen is None or fact.start >= seen[0]):
                    self._set_up_for[fact.machine_id] = (fact.start, family)
            if replan:
                self._debouncer.submit(Trigger("progress", "facts"))

    def stockout_risk(self, sku: str, location: str) -> None:
        """Stock of `sku` at `location` may run out: re-plan (replenishment jobs come
        through `submit_jobs`)."""
        with self._lock:
            self._debouncer.submit(Trigger("stockout_risk", f"{sku}@{location}"))

    def set_fleet(self, depots: Iterable[Depot], vehicles: Iterable[Vehicle]) -> None:
        """Declare depots and vehicles for delivery routing."""
        with self._lock:
            self._depots, self._vehicles = tuple(depots), tuple(vehicles)
            if self._tours is not None and self._tours.loans is not None:
                self._tours.loans.bases.clear()  # a fleet declared anew: every van at home
            self._debouncer.submit(Trigger("routing_orders", "fleet"))

    def submit_delivery_orders(self, orders: Iterable[Order]) -> None:
        """Add delivery orders to route."""
        with self._lock:
            now = self.now_units()
            for order in orders:
                if order.id not in self._orders and order.depot_id is not None:
                    self._unrouted[order.id] = order.depot_id
                self._orders[order.id] = order
                if self._tours is not None:
                    self._tours.entered([order.id], now)
            self._debouncer.submit(Trigger("routing_orders", "batch"))

    def picked_up(self, loads: Iterable[tuple[str, str]]) -> None:
        """Transfers vehicles took on at their factories, as (vehicle id, transfer id):
        back at its depot, each van waits for their receipt before its next tour (with
        tours on; `plan.dispatch`)."""
        with self._lock:
            if self._tours is not None:
                declared = {v.id for v in self._vehicles}
                for vehicle_id, transfer in loads:
                    if vehicle_id in declared:  # (another node's report is not a van's load)
                        self._tours.picked_up(vehicle_id, [transfer])

    def unloaded(self, transfer_ids: Iterable[str]) -> None:
        """Transfers received at their warehouses: a van that waited to unload them may
        leave (the held tours are looked at again now)."""
        with self._lock:
            if self._tours is not None and self._tours.received(transfer_ids):
                self._tours.look_again = self._clock.now()

    def van_bases(self) -> dict[str, str]:
        """Where each lent van is based now (vehicle id → depot id; a van at home is not in
        it, and without lending it is empty)."""
        with self._lock:
            loans = self._tours.loans if self._tours is not None else None
            return dict(loans.bases) if loans is not None else {}

    def van_times(self, *, known: int = -1) -> tuple[int, VanTimes] | None:
        """The tours timed for the depots' van time, with how many changes they hold (None
        without lending, or while they hold no change beyond `known`)."""
        with self._lock:
            loans = self._tours.loans if self._tours is not None else None
            if loans is None or loans.changes == known:
                return None
            return loans.changes, loans.times(self._clock.now())

    def restore_van_times(self, times: VanTimes) -> None:
        """The tours timed before a restart (call before the first look)."""
        with self._lock:
            if self._tours is not None and self._tours.loans is not None:
                self._tours.loans.restore_times(times)

    def restore_van_bases(self, bases: Mapping[str, str]) -> None:
        """Vans lent before a restart based where they were (call after the fleet is
        declared; a van or depot no longer declared, and a van at home, are left out)."""
        with self._lock:
            if self._tours is None or self._tours.loans is None:
                return
            home = {v.id: v.depot_id for v in self._vehicles}
            depots = {d.id for d in self._depots}
            self._tours.loans.bases.update(
                (van, depot)
                for van, depot in bases.items()
                if van in home and depot in depots and depot != home[van]
            )
            self._debouncer.submit(Trigger("routing_orders", "fleet"))

    def waiting_since(self, accepted_ms: Mapping[str, int]) -> None:
        """When held deliveries were first accepted (ms since the Unix epoch), before a
        restart: a tour's wait counts from then (with tours on; else nothing to do)."""
        with self._lock:
            if self._tours is not None:
                self._tours.since.update(
                    (order_id, int((ms / 1000.0 - self._epoch_s) // self._unit_s))
                    for order_id, ms in accepted_ms.items()
                    if order_id in self._orders
                )

    def commit_stops(self, stops: Iterable[PinnedStop]) -> None:
        """Orders now committed to a vehicle (loaded or under way) stay on it, after its
        earlier ones and in the order given (an order committed before moves). A pin whose
        order or vehicle is no longer planned is left out of the problem."""
        with self._lock:
            batch = list(stops)
            for stop in batch:
                self._pins.pop(stop.order_id, None)
                self._pins[stop.order_id] = stop
            if batch:
                self._debouncer.submit(Trigger("routing_orders", "dispatched"))

    def vehicle_at(self, vehicle_id: str, *, lat: float, lon: float) -> None:
        """A vehicle's latest position (degrees): a vehicle on the road starts from it. A
        position off the Earth is ignored (logged): it would fail every route plan."""
        try:
            LatLon(lat, lon)
        except PlanError:
            _log.warning("vehicle %s reported no position on Earth: %r, %r", vehicle_id, lat, lon)
            return
        with self._lock:
            self._positions[vehicle_id] = Position(vehicle_id, lat, lon, self.now_units())

    def stop_failed(self, order_id: str) -> None:
        """A delivery could not be served: it goes back into the plan, unpinned."""
        with self._lock:
            self._failed.add(order_id)
            self._pins.pop(order_id, None)
            self._debouncer.submit(Trigger("routing_orders", "failed"))

    def unload(self, vehicle_id: str, stops: Iterable[str]) -> None:
        """A tour that did not leave after all (its load could not be recorded): its stops
        are no longer on the van, and the held tours are looked at again later."""
        with self._lock:
            for stop in stops:
                pin = self._pins.get(stop)
                if pin is not None and pin.vehicle_id == vehicle_id:
                    del self._pins[stop]
            if self._tours is not None:
                self._tours.unload(vehicle_id, self._clock.now())

    def held_jobs(self) -> frozenset[str]:
        """The ids of the jobs to plan (closed ones leave at once, their schedule later)."""
        with self._lock:
            return frozenset(self._jobs)

    def vehicles(self) -> frozenset[str]:
        """The ids of the declared vehicles."""
        with self._lock:
            return frozenset(v.id for v in self._vehicles)

    def close_orders(self, job_ids: Iterable[str], delivery_ids: Iterable[str]) -> None:
        """Jobs done or cancelled and orders delivered or cancelled leave the problems;
        the plans they were in are made again without them."""
        with self._lock:
            jobs = [j for j in job_ids if self._jobs.pop(j, None) is not None]
            drops = [o for o in delivery_ids if self._orders.pop(o, None) is not None]
            for order_id in drops:
                self._pins.pop(order_id, None)
                self._unrouted.pop(order_id, None)
            if self._tours is not None:
                self._tours.closed(drops)
            if jobs:
                self._debouncer.submit(Trigger("new_orders", "closed"))
            if drops:
                self._debouncer.submit(Trigger("routing_orders", "closed"))

    # ---- re-planning ------------------------------------------------------------------
    def deadline(self) -> float | None:
        """Monotonic time at which the pending triggers, or a look at the held tours, are
        due (None when idle)."""
        with self._lock:
            due = [t for t in (self._debouncer.deadline(), self._look_deadline()) if t is not None]
            return min(due, default=None)

    def tick(self) -> bool:
        """Re-plan if the debouncer says a batch of triggers is due; True if it did."""
        with self._solve_lock:
            with self._lock:
                batch = self._debouncer.take_due()
            if not batch:
                return self._look_at_held_tours()
            causes = [{"kind": t.kind, "key": t.key} for t in batch]
            routing = any(t.kind == "routing_orders" for t in batch)
            production = any(t.kind != "routing_orders" for t in batch)
            started = self._clock.monotonic()
            try:
                if production:
                    self._replan_schedule(causes)
                if routing:
                    self._replan_routes(causes)
            except PlanError:
                # The previous plans stay current; the next trigger tries again.
                _log.exception("re-planning failed for %d trigger(s)", len(batch))
            with self._lock:
                self._last_replan_s = self._clock.monotonic() - started
                self._debouncer.ran(self._last_replan_s)
            return True

    def _inputs(self) -> _ProblemInputs | None:
        """What the next schedule problem is built from, read under the lock (the build
        itself runs outside it, so hand-overs of new jobs never wait for it)."""
        if not self._machines or not self._jobs:
            return None
        now = self.now_units()
        previous = self._schedule
        jobs = tuple(self._jobs.values())
        if previous is not None and not self._from_facts:
            ends = {r.operation_id: r.end for r in previous.operations}
            jobs = tuple(j for j in jobs if ends.get(j.operations[-1].id, now + 1) > now)
            live = {j.id for j in jobs}
            self._forgotten.extend(j for j in self._jobs if j not in live)
            self._jobs = {j.id: j for j in jobs}  # finished jobs are forgotten
        machines = tuple(
            replace(
                m,
                # from facts, a machine starts the plan set up for what it made last, so
                # its first operation of another family pays the changeover
                initial_family=(
                    self._set_up_for[m.id][1]
                    if self._from_facts and m.id in self._set_up_for
                    else m.initial_family
                ),
                unavailable=(
                    *m.unavailable,
                    *(w for w in self._closed.get(m.id, ()) if w.end > now),
                    *(
                        (self._down[m.id],)
                        if m.id in self._down and self._down[m.id].end > now
                        else ()
                    ),
                ),
            )
            for m in self._machines.values()
        )
        return _ProblemInputs(
            machines=machines,
            jobs=jobs,
            setups=self._setups,
            reserve=self._reserve,
            now=now,
            frozen_horizon=self._frozen,
            previous=previous,
            down=tuple(
                (machine_id, Window(now, window.end))
                for machine_id, window in self._down.items()
                if window.end > now and machine_id in self._machines
            ),
            observed=tuple(self._observed.values()) if self._from_facts else None,
        )

    def _replan_schedule(self, causes: list[dict[str, str]]) -> None:
        with self._lock:
            inputs = self._inputs()
            # the last jobs were closed: an empty schedule takes their operations away
            emptied = not self._jobs and self._schedule is not None and self._schedule.operations
        if inputs is not None:
            schedule = self._scheduler.plan(
                _problem_from(inputs), time_limit_s=self._schedule_limit_s, seed=self._seed
            )
        elif emptied:
            schedule = Schedule(
                operations=(), makespan=0, weighted_tardiness=0, changeover=0, solver="none"
            )
        else:
            return
        # Only this thread (solves are serialised) replaces the schedule: the diff's
        # messages are built outside the lock, and the new schedule swapped in under it.
        version = self._schedule_version + 1
        messages = self._schedule_messages(self._schedule, schedule, version)
        with self._lock:
            self._schedule, self._schedule_version = schedule, version
            self._schedule_made = (int(self._clock.now() * 1000), causes)
            made = PlanMade(
                "schedule",
                self._schedule_version,
                self._schedule_made[0],
                tuple(causes),
                self._epoch_s,
                schedule,
                forgotten_jobs=tuple(self._forgotten),
            )
            self._forgotten.clear()
        self._made(made, messages)

    def _made(self, made: PlanMade, messages: list[_Message]) -> None:
        """Count the plan, hand it to `on_plan`, then publish its diffs (in this order)."""
        with self._lock:
            for kind in {t["kind"] for t in made.triggers}:
                # A schedule counts the triggers that re-plan production, routes the rest.
                if (kind == "routing_orders") == (made.kind == "routes"):
                    self._plans_made[(made.kind, kind)] += 1
        if self._on_plan is not None:
            try:
                self._on_plan(made)
            except Exception:  # the plan is current either way; agents still get it
                _log.exception("could not save %s plan version %d", made.kind, made.version)
        for node_id, payload in messages:
            self._publish(node_id, payload)

    def _schedule_messages(
        self, previous: Schedule | None, schedule: Schedule, version: int
    ) -> list[_Message]:
        """The messages of what `schedule` changes against `previous`, one per machine."""
        old = previous.by_operation() if previous else {}
        diff = diff_schedules(previous, schedule)
        messages: list[_Message] = []
        if diff.empty:
            return messages
        # Grouped by machine in one pass each (scanning every operation once per changed
        # machine took seconds at 10,000).
        ops_on: dict[str, list[dict[str, Any]]] = {}
        machine_of: dict[str, str] = {}
        changed = set(diff.machines)
        for r in schedule.operations:
            machine_of[r.operation_id] = r.machine_id
            if r.machine_id in changed:
                ops_on.setdefault(r.machine_id, []).append(_op_json(r))
        was_on = {o: r.machine_id for o, r in old.items()}

        def per_machine(ids: Iterable[str], where: Mapping[str, str]) -> dict[str, list[str]]:
            grouped: dict[str, list[str]] = {}
            for o in ids:
                machine = where.get(o)
                if machine is not None:
                    grouped.setdefault(machine, []).append(o)
            return grouped

        moved = per_machine(diff.moved, machine_of)
        reassigned_in = per_machine(diff.reassigned, machine_of)
        reassigned_out = per_machine(diff.reassigned, was_on)
        added = per_machine(diff.added, machine_of)
        removed = per_machine(diff.removed, was_on)
        for machine_id in diff.machines:
            messages.append(
                (
                    machine_id,
                    {
                        "kind": "schedule",
                        "version": version,
                        "machine_id": machine_id,
                        "epoch_ms": int(self._epoch_s * 1000),
                        "time_unit_s": self._unit_s,
                        "operations": ops_on.get(machine_id, []),
                        "moved": moved.get(machine_id, []),
                        "reassigned_in": reassigned_in.get(machine_id, []),
                        "reassigned_out": reassigned_out.get(machine_id, []),
                        "added": added.get(machine_id, []),
                        "removed": removed.get(machine_id, []),
                    },
                )
            )
        return messages

    def _replan_routes(self, causes: list[dict[str, str]]) -> None:
        with self._lock:
            if not self._depots or not self._vehicles:
                return
            now = self.now_units()
            # Vehicles leave no earlier than now: windows are in the service's time units.
            depots = tuple(replace(d, open=min(max(d.open, now), d.close)) for d in self._depots)
            vehicle_ids = {v.id for v in self._vehicles}
            problem = RoutingProblem(
                depots,
                tuple(self._orders.values()),
                (
                    self._tours.routed_fleet(self._vehicles, self._pins, self._orders)
                    if self._tours is not None
                    else self._vehicles
                ),
                pinned=tuple(
                    pin
                    for pin in self._pins.values()
                    if pin.order_id in self._orders and pin.vehicle_id in vehicle_ids
                ),
            )
            positions = dict(self._positions)
            problem = from_the_road(
                problem,
                positions=positions,
                failed=set(self._failed),
                now=now,
            )
            self._failed.clear()  # back in the plan now; a later failure is a new fact
        if self._travel is not None:
            if self._tours is not None:
                problem = back_at_depot(
                    problem, self._travel, time_unit_s=self._unit_s, positions=positions, now=now
                )
            problem = locate(problem, self._travel, time_unit_s=self._unit_s, positions=positions)
        routes = self._route(problem)
        backlogs = depot_waits(problem, routes, now=now)
        with self._lock:
            self._waits = (
                self._epoch_s + now * self._unit_s,
                {depot: b.scaled(self._unit_s) for depot, b in backlogs.items()},
            )
            for order in problem.orders:
                self._unrouted.pop(order.id, None)
            if self._tours is not None:
                self._tours.routed = problem
            messages = self._apply_routes(routes, causes)
            made = PlanMade(
                "routes",
                self._routes_version,
                self._routes_made[0] if self._routes_made else 0,
                tuple(causes),
                self._epoch_s,
                routes,
            )
        self._made(made, messages)

    def _route(self, problem: RoutingProblem) -> RoutingResult:
        """Routes for the problem; split by depot when orders are bound to where their goods
        are (`routing.depots`), the time limit shared among the parts."""
        split = split_by_depot(problem)
        if len(split.parts) == 1 and not split.unserved:
            (part,) = split.parts  # the whole problem, or the one depot with orders
            return self._router.plan(part, time_limit_s=self._route_limit_s, seed=self._seed)
        limit_s = max(0.1, self._route_limit_s / max(1, len(split.parts)))
        results = [
            self._router.plan(part, time_limit_s=limit_s, seed=self._seed) for part in split.parts
        ]
        return merge_results(results, split.unserved)

    def _apply_routes(self, routes: RoutingResult, causes: list[dict[str, str]]) -> list[_Message]:
        diff = diff_routes(self._routes, routes)
        self._routes = routes
        self._routes_version += 1
        self._routes_made = (int(self._clock.now() * 1000), causes)
        if self._tours is not None:
            return self._tour_messages()
        by_vehicle = {r.vehicle_id: r for r in routes.routes}
        depot_of = {v.id: v.depot_id for v in self._vehicles}
        return [
            (
                depot_of[vehicle_id],
                {
                    "kind": "route",
                    "version": self._routes_version,
                    "vehicle_id": vehicle_id,
                    "depot_id": depot_of[vehicle_id],
                    "stops": list(route.stops) if (route := by_vehicle.get(vehicle_id)) else [],
                },
            )
            for vehicle_id in diff.changed_vehicles
        ]

    def _look_deadline(self) -> float | None:
        """Monotonic time of the next look at held tours, counting the clock's seconds as
        real ones (a simulated clock runs faster: the runner's loop wakes at least every
        half second and `tick` compares dates)."""
        if self._tours is None or self._tours.look_again is None:
            return None
        return self._clock.monotonic() + max(0.0, self._tours.look_again - self._clock.now())

    def _look_at_held_tours(self) -> bool:
        """Send the held tours that may leave now, when it is time to look (the solve lock
        held); True if it looked."""
        with self._lock:
            due = self._tours.look_again if self._tours is not None else None
            if due is None or self._clock.now() < due:
                return False
            messages = self._tour_messages()
            plan_wanted = self._tours is not None and self._tours.plan_wanted
        for node_id, payload in messages:
            self._publish(node_id, payload)
        if plan_wanted:  # a tour about to leave is planned once more with what is new
            try:
                self._replan_routes([{"kind": "routing_orders", "key": "tour_waits"}])
            except PlanError:
                _log.exception("re-planning for a tour about to leave failed")
        return True

    def _tour_messages(self) -> list[_Message]:
        """The route commands of tours (the lock held; `plan.dispatch`); a departure
        re-plans the rest around the vans that left."""
        if self._tours is None:
            return []
        messages = self._tours.look(
            Look(
                now=self.now_units(),
                unit_s=self._unit_s,
                epoch_s=self._epoch_s,
                wall_s=self._clock.now(),
                version=self._routes_version,
            ),
            routes=self._routes,
            vehicles=self._vehicles,
            depots={d.id: d for d in self._depots},
            orders=self._orders,
            pins=self._pins,
            positions=self._positions,
            pending=frozenset(self._unrouted.values()),
        )
        if any(payload["departs"] or payload.get("van_move") for _node, payload in messages):
            self._debouncer.submit(Trigger("routing_orders", "departed"))
        return messages

    # ---- figures ------------------------------------------------------------------------
    def stats(self) -> PlanStats:
        """Planning figures for /metrics (see `PlanStats`)."""
        with self._lock:
            s, r = self._schedule, self._routes
            return PlanStats(
                plans_made=dict(self._plans_made),
                last_replan_s=self._last_replan_s,
                last_operations_moved=s.operations_moved if s is not None else None,
                schedule_version=self._schedule_version,
                routes_version=self._routes_version,
                late_jobs=s.late_jobs if s is not None else (),
                unserved_reasons=tuple(u.reason for u in r.unserved) if r is not None else (),
                tours_departed=(
                    dict(self._tours.departed_per_reason) if self._tours is not None else {}
                ),
            )

    # ---- views --------------------------------------------------------------------------
    def delivery_waits(self) -> dict[str, float]:
        """Per depot, the seconds until its vans could take one more delivery, from the
        latest routes and the deliveries submitted since (`routing.backlog`; empty before
        the first plan)."""
        with self._lock:
            planned_at, backlogs = self._waits
            added = Counter(self._unrouted.values())
        return wait_now(backlogs, planned_at=planned_at, now=self._clock.now(), added=added)

    def current_version(self) -> int:
        """The current schedule's version (0 before the first plan)."""
        with self._lock:
            return self._schedule_version

    def current_schedule(self) -> dict[str, Any]:
        """The current schedule as JSON-able data: version 0, status None and an empty
        machine map before the first plan; `made_ms` and `triggers` say when and why the
        current one was made."""
        with self._lock:
            s = self._schedule
            made_ms, causes = self._schedule_made or (None, [])
            base: dict[str, Any] = {
                "version": self._schedule_version,
                "made_ms": made_ms,
                "triggers": causes,
                "time_unit_s": self._unit_s,
                "epoch_s": self._epoch_s,
                "now": self.now_units(),
            }
            machine_ids = list(self._machines)
        if s is None:
            return {**base, "status": None, "solver": None, "machines": {}, "late_jobs": []}
        # the schedule is immutable: its thousands of rows are turned into JSON outside
        # the lock that hand-overs of new jobs take
        machines: dict[str, list[dict[str, Any]]] = {m: [] for m in machine_ids}
        for row in s.operations:
            machines.setdefault(row.machine_id, []).append(_op_json(row))
        return {
            **base,
            "status": s.status,
            "solver": s.solver,
            "makespan": s.makespan,
            "weighted_tardiness": s.weighted_tardiness,
            "changeover": s.changeover,
            "operations_moved": s.operations_moved,
            "machines": machines,
            "late_jobs": [asdict(j) for j in s.late_jobs],
        }

    def current_routes(self) -> dict[str, Any]:
        """The current routes as JSON-able data (version 0, no routes before the first plan);
        `tours`, with tours on, what each van does (`routing.tours`): `out` with what it
        carries (why and when it left), `held` at its depot with the load planned and the
        latest it leaves if nothing fills it, `returning` from a finished tour, or `idle`."""
        with self._lock:
            r = self._routes
            made_ms, causes = self._routes_made or (None, [])
            base: dict[str, Any] = {
                "version": self._routes_version,
                "made_ms": made_ms,
                "triggers": causes,
                "tours": (
                    [dict(t) for _v, t in sorted(self._tours.view.items())]
                    if self._tours is not None
                    else []
                ),
            }
            if r is None:
                return {
                    **base,
                    "solver": None,
                    "routes": [],
                    "total_distance": 0.0,
                    "unserved": [],
                }
            return {
                **base,
                "solver": r.solver,
                "total_distance": r.total_distance,
                "routes": [
                    {
                        "vehicle_id": x.vehicle_id,
                        "depot_id": x.depot_id,
                        "stops": list(x.stops),
                        "distance": x.distance,
                        "start": x.start,
                        "end": x.end,
                        "load": x.load,
                    }
                    for x in r.routes
                ],
                "unserved": [
                    {"order_id": u.order_id, "reason": u.reason, "detail": u.detail}
                    for u in r.unserved
                ],
            }


def _op_json(row: Any) -> dict[str, Any]:
    return {
        "operation_id": row.operation_id,
        "job_id": row.job_id,
        "start": row.start,
        "end": row.end,
        "setup": row.setup,
    }
