"""The sales book: takes orders, promises them atomically, and moves them on facts.

`SalesBook.submit` answers a retry of the same id with the stored answer (other content:
`OrderConflict`); otherwise it validates the order against the catalog and the network's
reach (a destination no micro-warehouse's vans serve is refused, `coordinator.sales.reach`)
and, under one lock, computes the promise (`coordinator.sales.promise`) on the stock not yet
held and the factory capacity not yet booked, and applies its holds to the book's in-memory
view, so the next order sees only what is left. Two concurrent orders can therefore never be
given the same units or the same capacity.

The order is then stored by group commit (`coordinator.store.group_commit`), outside the
lock: the orders promised while the previous batch was being written are stored together,
with their holds, transitions and webhook events, in one durable transaction, and the
planner gets their production parts as jobs (`sales.{order}.{line}.{part}`, due at the
promised time) or, served from stock, their deliveries, in one call per batch. Each caller
is answered only after its own order is stored and handed over; if the batch cannot be
stored, its orders give back what they held and the callers get the store's error. A retry
that arrives while the first call is being stored waits for it and gets the stored answer.

Ports it is built with (each a callable, so the coordinator wires its twin and planner and
tests pass plain functions): `stock(skus)` shelf node → SKU → units on hand of those SKUs; `capacity()` the
current schedule's busy intervals per machine, the machines down or offline, and the ids of
the jobs that schedule already holds; `recipes()` SKU → `ProductSpec`; `submit_jobs`,
`close_jobs` and `submit_deliveries` for the planner, and `submit_orders` (jobs and
deliveries in one hand-over, so a batch of new orders costs the planner one durable
transaction; without it the two are handed separately); `travel` the travel-time port.

Orders ship as one delivery each when they are ready (`coordinator.sales.shipping`), bound
to the warehouse their goods are at: the one whose stock was reserved, or the one that
received the made units; an order whose made units are `carried` to a warehouse as a
transfer (`coordinator.transfers`) waits for that receipt instead of shipping when
produced. `follow_stops` and `follow_receipts` move them on the fleet's stop events and the
warehouses' receipts, and `resume_shipping` hands the planner again, after a restart, the
delivery of every order that is ready to ship (the same delivery is a no-op for it).

After each re-plan, `revise_schedule` and `revise_routes` compare what the new plan says of
every order it holds with its promise (`coordinator.sales.revision`): a planned ETA after the
promised time delays the order (`plan_late`, with the reason), an earlier or equal one
confirms it (and takes an order the plans had delayed back to its place: `plan_on_time`).
A revision moves the order only when it says something new (`Revision.key`), so the re-plans
of a busy coordinator push one webhook per real change; it is stored when it delays the
order or ends a delay, while a plain confirmation is only kept in memory (`revision`), so
confirming thousands of promises writes nothing. The promises of the orders in the plans are
kept in memory between re-plans.

Capacity pools are rebuilt from a new schedule (a new `schedule_version()`), at most every
`pool_min_age_s` (a burst of orders re-plans often; the pools keep their own bookings in
between), at least every `pool_max_age_s`, and at the next order after capacity was released
or the network changed. A rebuild reads the schedule and builds the pools outside the lock
(orders go on being promised on the old pools meanwhile, unless `pools_aside` is off) and
swaps them in under it, booking on them again the work held by orders whose jobs are not yet
in that schedule.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final

import orjson

from coordinator.errors import CoordinatorError, NotFound
from coordinator.plan.orders.specs import DeliveryOrder, JobOrder, OperationOrder, ProductSpec
from coordinator.sales.capacity import CapacityPool, OpeningHours, pool_from_schedule
from coordinator.sales.errors import OrderConflict, OrderInvalid
from coordinator.sales.lifecycle import (
    FINAL,
    Standing,
    Status,
    Transition,
    TransitionRefused,
    apply_fact,
)
from coordinator.sales.network import Factory, Network, network_from_json, recipe_at
from coordinator.sales.promise import (
    FactoryOffer,
    Hub,
    Line,
    Point,
    Promise,
    PromiseError,
    Service,
    TravelTime,
    WarehouseStock,
    promise_order,
)
from coordinator.sales.reach import unreachable_reason
from coordinator.sales.records import Hold, NewOrder, OrderAdvance, SalesOrder, SalesStore
from coordinator.sales.revision import (
    PlannedJob,
    Revision,
    revise_delivery,
    revise_production,
    route_deliveries,
    schedule_jobs,
)
from coordinator.sales.shipping import (
    READY_TO_SHIP,
    SERVICE_S,
    SHIP_PREFIX,
    customer_delivery,
    job_of_transfer,
    order_of_delivery,
    stop_fact,
)
from coordinator.sales.summary import SalesSummary, summarise
from coordinator.store.group_commit import BatchFailed, GroupCommit
from fleet_runtime.clock import Clock, now_ms

SYSTEM: Final = "system"
_log = logging.getLogger(__name__)

PLANNER: Final = "planner"
REVISE_CHUNK: Final = 50
"""Orders moved per transaction by a re-plan's revisions (the store's writer is held for one)."""
JOB_PREFIX: Final = "sales."
RELEASING_FACTS: Final = frozenset({"picked_up", "delivered"})
LATE_WINDOW: Final = "time_window"  # the router's reason for a delivery it cannot make in time
HORIZON_S: Final = 21 * 86_400.0  # capacity modelled three weeks ahead
BUCKET_S: Final = 3600.0


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A sales order as the storefront sends it (already shape-checked by the API)."""

    id: str
    customer: str
    lines: tuple[Line, ...]
    destination: Point
    address: str
    service: Service
    webhook_url: str | None = None

    def canonical(self) -> str:
        """The canonical JSON of the request (sorted keys), to recognise a retry."""
        data = asdict(self)
        data["lines"] = [{"sku": line.sku, "qty": line.qty} for line in self.lines]
        data["destination"] = {
            "lat": self.destination[0],
            "lon": self.destination[1],
            "address": self.address,
        }
        del data["address"]
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()


@dataclass(frozen=True, slots=True)
class CapacityView:
    """What the current schedule says about machines: busy intervals (Unix seconds), who is
    down or offline, which jobs it already holds, and its version."""

    busy: Mapping[str, Sequence[tuple[float, float]]]
    unavailable: frozenset[str]
    planned_jobs: frozenset[str]
    version: int


@dataclass(frozen=True, slots=True)
class Taken:
    """The answer to a submitted order: the stored order, and whether this call created it
    (False: a retry answered with the first answer). `token` is the tracking token, shown
    only when the order is created (only its hash is stored)."""

    order: SalesOrder
    created: bool
    token: str | None = None


def job_id(order_id: str, line: int, part: int) -> str:
    """The planner job of one production part: `sales.{order}.{line}.{part}`."""
    return f"{JOB_PREFIX}{order_id}.{line}.{part}"


def part_of_job(job: str) -> tuple[int, int] | None:
    """The (line, part) of an order's production job id (None for other jobs)."""
    if not job.startswith(JOB_PREFIX):
        return None
    parts = job[len(JOB_PREFIX) :].rsplit(".", 2)
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    return int(parts[1]), int(parts[2])


def order_of_job(job: str) -> str:
    """The order id of a production job id (empty for other jobs)."""
    if not job.startswith(JOB_PREFIX):
        return ""
    parts = job[len(JOB_PREFIX) :].rsplit(".", 2)
    return parts[0] if len(parts) == 3 else ""


def _orders_with_work_in(job_ids: Iterable[str]) -> set[str]:
    """Every order id a production job id (`sales.{order}.…`, re-makes included) may
    belong to: each prefix of what follows `sales.` that ends before a dot, so that an
    order's membership is one set lookup, not a scan of the schedule's jobs."""
    found: set[str] = set()
    for job in job_ids:
        if job.startswith(JOB_PREFIX):
            rest = job[len(JOB_PREFIX) :]
            found.update(rest[:i] for i, char in enumerate(rest) if char == ".")
    return found


def token_hash(token: str) -> str:
    """The stored form of a tracking token."""
    return hashlib.sha256(token.encode()).hexdigest()


def promise_json(promise: Promise) -> dict[str, Any]:
    """The promise as the API shows it (times in ms since the Unix epoch)."""

    def ms(t: float) -> int:
        return round(t * 1000)

    return {
        "eta_ms": ms(promise.eta_s),
        "promised_ms": ms(promise.promised_s),
        "bound_by": promise.bound_by,
        "in_service_target": promise.targets_met,
        "lines": [
            {
                "sku": lp.sku,
                "qty": lp.qty,
                "eta_ms": ms(lp.eta_s),
                "bound_by": lp.bound_by,
                "from_stock": [
                    {"warehouse": p.warehouse, "qty": p.qty, "eta_ms": ms(p.eta_s)}
                    for p in lp.from_stock
                ],
                "made": [
                    {
                        "factory": m.factory,
                        "qty": m.qty,
                        "ready_ms": ms(m.ready_s),
                        "eta_ms": ms(m.eta_s),
                    }
                    for m in lp.made
                ],
            }
            for lp in promise.lines
        ],
    }


@dataclass(frozen=True, slots=True)
class _Pending:
    """A promised order on its way to the store, with what the planner gets once stored:
    its production jobs, or (served from stock) its delivery."""

    new: NewOrder
    token: str
    jobs: tuple[JobOrder, ...]
    delivery: DeliveryOrder | None


@dataclass
class SalesBook:
    """Sales orders, their promises and their status; thread-safe."""

    store: SalesStore
    clock: Clock
    stock: Callable[[Iterable[str]], Mapping[str, Mapping[str, int]]]
    capacity: Callable[[], CapacityView]
    recipe: Callable[[str], ProductSpec | None]
    travel: TravelTime
    schedule_version: Callable[[], int] = lambda: 0
    submit_jobs: Callable[[Sequence[JobOrder]], object] = lambda _jobs: None
    close_jobs: Callable[[Sequence[str]], object] = lambda _ids: None
    submit_deliveries: Callable[[Sequence[DeliveryOrder]], object] = lambda _drops: None
    submit_orders: Callable[[Sequence[JobOrder], Sequence[DeliveryOrder]], object] | None = None
    pool_max_age_s: float = 60.0
    pool_min_age_s: float = 5.0
    pools_aside: bool = True
    """Pools due for their age or a new schedule are built on a thread of their own (the
    caller promises on the old ones meanwhile); False: by the caller, before it promises,
    so the promises do not depend on how fast the thread runs (a simulation on a clock of
    its own)."""
    delivery_service_s: float = SERVICE_S
    carried: Callable[[str], bool] = lambda _job_id: False
    """True when a finished production job's units travel to a warehouse as a transfer."""
    carried_to: Callable[[Point], Hub | None] = lambda _destination: None
    """Where made goods for a destination are carried before their delivery (the warehouse
    whose vans deliver them), None: they go from the factory."""
    fleet_waits: Callable[[], Mapping[str, float]] = dict
    """Per depot node, the seconds until its vans could take one more delivery (a
    warehouse's stock is promised from its nodes' shortest wait; none known: 0)."""
    arrived: Callable[[str], bool] = lambda _job_id: True
    """True once a production job's units are at the warehouse its order ships from (the
    job finished, and its transfer was received when its units are carried)."""
    network_listeners: list[Callable[[Network], None]] = field(default_factory=list)
    """Called with each network set (the planner takes its factories' opening hours)."""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    """Guards the promise state: held stock, holds, pools, the network (never held while
    an order's standing is written)."""
    _moves_lock: threading.Lock = field(default_factory=threading.Lock)
    """Orders move on one at a time (read, apply the fact, store): a revision batch's
    transaction never keeps an order from being promised."""
    _network: Network = field(default_factory=Network)
    _held_stock: dict[tuple[str, str], int] = field(default_factory=dict)
    _holds: dict[str, list[Hold]] = field(default_factory=dict)
    _pools: dict[str, CapacityPool] = field(default_factory=dict)
    _always_open: dict[str, CapacityPool] = field(default_factory=dict)
    _pools_network: Network | None = None  # the network the pools were built for
    _pools_version: int = -1  # the schedule version they were built from
    _pools_built_s: float = 0.0
    _pools_stale: bool = False  # capacity was released: rebuild at the next order
    _pools_building: bool = False
    _in_flight: dict[str, threading.Event] = field(default_factory=dict)
    """Orders promised and being stored (set once stored or refused)."""
    _commits: GroupCommit[_Pending, str] = field(init=False)
    _storing: set[asyncio.Future[Taken]] = field(default_factory=set)
    """Orders being stored for async callers (kept referenced until done)."""
    _ship_depots: dict[str, str] = field(default_factory=dict)
    """The node each order's units were received at, where its delivery loads."""
    _revision_lock: threading.Lock = field(default_factory=threading.Lock)
    _promises: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    _revised: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _latest: dict[str, Revision] = field(default_factory=dict)
    _planned: dict[str, tuple[PlannedJob | None, ...]] = field(default_factory=dict)
    """Per order, the planned jobs its latest settled schedule revision was made from."""

    def __post_init__(self) -> None:
        self._commits = GroupCommit(self._write)
        saved = self.store.load_network()
        if saved is not None:
            self._network = network_from_json(orjson.loads(saved))
        for order_id, hold in self.store.open_holds():
            self._hold(order_id, hold)

    # -- network ------------------------------------------------------------------------

    @property
    def network(self) -> Network:
        """The network orders are promised on."""
        return self._network

    def set_network(self, document: Any) -> Network:
        """Validate and store a network document; it applies to orders taken from now on."""
        try:
            network = network_from_json(document)
        except ValueError as exc:
            raise OrderInvalid(str(exc), field=getattr(exc, "field", "")) from None
        body = orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode()
        with self._lock:
            self.store.save_network(body, at_ms=now_ms(self.clock))
            self._network = network  # the pools are rebuilt for it before the next order
        for listener in self.network_listeners:
            listener(network)
        return network

    def network_document(self) -> Any:
        """The stored network document (an empty network when none was set)."""
        saved = self.store.load_network()
        return orjson.loads(saved) if saved is not None else {}

    # -- orders -------------------------------------------------------------------------

    def submit(self, request: OrderRequest) -> Taken:
        """Promise and store `request`, or answer its retry; see the module docstring."""
        body = request.canonical()
        while True:
            prepared = self._admit(request, body)
            if not isinstance(prepared, threading.Event):
                break
            prepared.wait()  # the same id is being stored: answer as a retry once it is
        if isinstance(prepared, Taken):
            return prepared
        try:
            reason = self._commits.commit(prepared)
        except BatchFailed as failed:
            raise self._refused(request.id, failed) from None
        taken = self._stored(prepared)
        return self._delayed(taken, reason) if reason else taken

    async def submit_async(self, request: OrderRequest) -> Taken:
        """`submit` for a caller on an event loop: the promise is computed on the loop (in
        memory: the book's view, the twin's stock and, when due, the capacity pools), the
        order is stored by the group commit's writer thread, and the loop is never blocked
        on the disk. Cancelling the caller does not cancel the order once promised: it is
        stored, its holds kept, and a retry of its id gets the stored answer."""
        body = request.canonical()
        while True:
            prepared = self._admit(request, body)
            if not isinstance(prepared, threading.Event):
                break
            await asyncio.to_thread(prepared.wait)
        if isinstance(prepared, Taken):
            return prepared
        storing = asyncio.ensure_future(self._store_async(prepared))
        self._storing.add(storing)  # the loop keeps only a weak reference to tasks
        storing.add_done_callback(self._storing.discard)
        return await asyncio.shield(storing)

    async def _store_async(self, prepared: _Pending) -> Taken:
        try:
            reason = await self._commits.commit_async(prepared)
        except BatchFailed as failed:
            raise self._refused(prepared.new.order.id, failed) from None
        taken = self._stored(prepared)
        return await asyncio.to_thread(self._delayed, taken, reason) if reason else taken

    def _admit(self, request: OrderRequest, body: str) -> Taken | _Pending | threading.Event:
        """The stored answer of a retry, the order promised with its holds applied (to be
        stored), or the event to wait for when the same id is being stored."""
        while True:
            self._refresh_pools()
            with self._lock:
                if self._pools_network is not self._network:
                    continue  # the network changed since the pools were built
                first = self._in_flight.get(request.id)
                if first is None:
                    return self._prepare(request, body)
            return first

    def _refused(self, order_id: str, failed: BatchFailed) -> BaseException:
        """Nothing of the batch was stored: give back what the order held; the error to
        raise (the store's own)."""
        with self._lock:
            self._release(order_id)
            self._in_flight.pop(order_id).set()
        return failed.cause if isinstance(failed.cause, Exception) else failed

    def _stored(self, prepared: _Pending) -> Taken:
        """The order is stored: a retry of its id no longer waits, and the re-plans revise
        its promise without reading it back."""
        order = prepared.new.order
        with self._revision_lock:
            self._promises[order.id] = order.promise
        with self._lock:
            self._in_flight.pop(order.id).set()
        return Taken(order, created=True, token=prepared.token)

    def _delayed(self, taken: Taken, reason: str) -> Taken:
        """The promise stands; the order says why it may slip (its hand-over failed)."""
        order = self._change(taken.order.id, "delayed", actor=SYSTEM, reason=reason)
        return Taken(order, created=True, token=taken.token)

    def _prepare(self, request: OrderRequest, body: str) -> Taken | _Pending:
        """Under the lock: the stored answer of a retry, or the order's promise with its
        holds applied to the book's view (the caller then stores it)."""
        existing = self.store.find(request.id)
        if existing is not None:
            if existing.body != body:
                raise OrderConflict(f"order {request.id!r} exists with other content", field="id")
            return Taken(existing, created=False)
        skus = {line.sku for line in request.lines}
        levels = self.stock(skus)
        self._check_catalog(request, levels)
        self._check_reach(request.destination)
        now_s = self.clock.now()
        try:
            promise = promise_order(
                request.lines,
                destination=request.destination,
                service=request.service,
                now_s=now_s,
                warehouses=self._warehouse_stock(levels),
                factories=self._offers(skus),
                makers=self._network.makers,
                travel=self.travel,
                rules=self._network.rules,
                hub=self.carried_to(request.destination),
            )
        except PromiseError as exc:
            raise OrderInvalid(exc.reason, field=exc.field) from None
        at = round(now_s * 1000)
        holds = tuple(Hold("stock", w, sku, qty) for w, sku, qty in promise.stock_taken) + tuple(
            Hold("work", f, "", work, rush) for f, work, rush in promise.work_taken
        )
        made = any(lp.made for lp in promise.lines)
        transitions = [
            Transition("received", at, "order", request.customer),
            Transition("promised", at, "promise", SYSTEM, f"bound by {promise.bound_by}"),
        ]
        standing = Standing("promised")
        if not made:
            standing = Standing("reserved")
            transitions.append(Transition("reserved", at, "stock reserved", SYSTEM))
        order = SalesOrder(
            id=request.id,
            customer=request.customer,
            body=body,
            standing=standing,
            promise=promise_json(promise),
            created_ms=at,
            updated_ms=at,
            webhook_url=request.webhook_url,
        )
        token = secrets.token_urlsafe(18)
        for hold in holds:
            self._hold(order.id, hold)
            if hold.kind == "work":
                self._pools[hold.place].book(hold.amount, use_reserve=hold.from_reserve)
        self._in_flight[order.id] = threading.Event()
        return _Pending(
            NewOrder(order, token_hash(token), tuple(transitions), holds),
            token,
            jobs=tuple(self._jobs(order, promise, rush=request.service == "express")),
            delivery=None if made else self._delivery(order),
        )

    def _write(self, batch: Sequence[_Pending]) -> list[str]:
        """Store a batch of new orders in one transaction, then hand the planner their
        production jobs and deliveries at once; per order, why its hand-over failed (''
        when it did not)."""
        self.store.create_all([p.new for p in batch])
        return self._hand_over([p for p in batch if p.jobs or p.delivery is not None], batch)

    def _hand_over(self, handed: Sequence[_Pending], batch: Sequence[_Pending]) -> list[str]:
        """Hand the planner the jobs and deliveries of `handed` in one call; if it refuses
        them, order by order, to find whose it refuses. Per order of `batch`, the reason
        its hand-over was refused ('' when it was not)."""
        refused: dict[str, str] = {}
        try:
            self._submit(handed)
        except CoordinatorError as exc:
            if len(handed) == 1:
                refused[handed[0].new.order.id] = f"{_not_planned(handed[0])}: {exc}"
            else:
                for p in handed:
                    try:
                        self._submit([p])
                    except CoordinatorError as one:
                        refused[p.new.order.id] = f"{_not_planned(p)}: {one}"
        return [refused.get(p.new.order.id, "") for p in batch]

    def _submit(self, pending: Sequence[_Pending]) -> None:
        """One hand-over of the jobs and deliveries of `pending` (two without
        `submit_orders`)."""
        jobs = [job for p in pending for job in p.jobs]
        drops = [p.delivery for p in pending if p.delivery is not None]
        if not jobs and not drops:
            return
        if self.submit_orders is not None:
            self.submit_orders(jobs, drops)
            return
        if jobs:
            self.submit_jobs(jobs)
        if drops:
            self.submit_deliveries(drops)

    @property
    def waiting_to_be_stored(self) -> int:
        """Promised orders waiting for the next group commit."""
        return self._commits.waiting

    def production_jobs(self, order: SalesOrder) -> list[str]:
        """The planner job ids of the order's production parts."""
        return _production_jobs(order.id, order.promise)

    def follow_production(
        self, job_ids: Iterable[str], state_of: Callable[[str], str | None]
    ) -> int:
        """Move the orders of these jobs (those just reported on; others are ignored) by
        their jobs' states (`planned`, `started`, `finished`, `short`; None: unknown):
        started when any job started, produced when every job finished. Returns how many
        orders moved."""
        orders = {order_of_job(j) for j in job_ids if j.startswith(JOB_PREFIX)}
        moved = 0
        for order_id in sorted(o for o in orders if o):
            order = self.store.find(order_id)
            if order is None or order.standing.flow_status not in {"promised", "in_production"}:
                continue
            states = [state_of(job) for job in self.production_jobs(order)]
            facts: list[str] = []
            if any(s in {"started", "finished", "short"} for s in states):
                facts.append("production_started")  # a no-op once in production
            if states and all(s == "finished" for s in states):
                # its start and finish may be first seen together (a short job's batch
                # under a fast clock): the order still passes through in_production
                facts.append("produced")
            if not facts:
                continue
            after = order
            for fact in facts:
                after = self.record_fact(order.id, fact, actor=SYSTEM)
            moved += after.standing != order.standing
            if after.standing.status == "produced":
                self._ship(after)
        return moved

    def follow_stops(self, stops: Iterable[tuple[str, str, str]]) -> int:
        """Move orders on their deliveries' stop events, given as (event name, stop id,
        vehicle node); stops of other deliveries and other events are ignored. Returns how
        many orders moved."""
        moved = 0
        for event, stop_id, vehicle in stops:
            fact, order_id = stop_fact(event), order_of_delivery(stop_id)
            if fact is None or not order_id or self.store.find(order_id) is None:
                continue
            before = self.store.find(order_id)
            try:
                after = self.record_fact(order_id, fact, actor=vehicle)
            except OrderConflict:  # a cancelled order's stop: nothing to move
                continue
            moved += before is not None and after.standing != before.standing
        return moved

    def follow_receipts(
        self, transfer_ids: Iterable[str], *, places: Mapping[str, str] | None = None
    ) -> int:
        """Move the orders whose production units were received at a warehouse (transfer
        `t.{production job id}`) to `at_warehouse`, and ship them from the node that
        received them (`places`: transfer id → warehouse node). An order made in parts
        (split across factories, or several lines) moves with the receipt of its last part
        only: shipped earlier, the van would leave without the parts still on their way.
        Returns how many moved."""
        moved = 0
        where = dict(places or {})
        at: dict[str, str] = {}
        for transfer in transfer_ids:
            order_id = order_of_job(job_of_transfer(transfer))
            if order_id:
                at.setdefault(order_id, where.get(transfer, ""))
        for order_id in sorted(at):
            before = self.store.find(order_id)
            if before is None or before.standing.status == "cancelled":
                continue
            if not all(self.arrived(job) for job in self.production_jobs(before)):
                continue
            after = self.record_fact(order_id, "received_at_warehouse", actor=SYSTEM)
            if after.standing != before.standing:
                moved += 1
                self._ship(after, depot=at[order_id] or None)
        return moved

    def resume_shipping(self, *, limit: int = 10_000) -> int:
        """Hand the planner the delivery of every order ready to ship (after a restart, in
        case one was lost between the fact and the hand-over). Returns how many."""
        count = 0
        for status in sorted(READY_TO_SHIP):
            for order in self.store.list_orders(status=status, limit=limit, after=None):
                self._ship(order)
                count += 1
        return count

    def get(self, order_id: str) -> SalesOrder:
        """The stored order; `NotFound` if there is none."""
        found = self.store.find(order_id)
        if found is None:
            raise NotFound("sales order", order_id)
        return found

    def track(self, token: str) -> SalesOrder | None:
        """The order a tracking token belongs to (None for unknown tokens)."""
        return self.store.find_by_token(token_hash(token))

    def list_orders(
        self, *, status: str | None = None, limit: int = 100, after: str | None = None
    ) -> list[SalesOrder]:
        """Orders by id, optionally of one status, from after `after`."""
        return self.store.list_orders(status=status, limit=limit, after=after)

    def summary(self) -> SalesSummary:
        """Orders by status, the on-time rate and lead times of the delivered ones."""
        return summarise(self.store.outcomes())

    def timeline(self, order_id: str) -> list[Transition]:
        """The order's transitions, oldest first."""
        return self.timeline_of(self.get(order_id))

    def timeline_of(self, order: SalesOrder) -> list[Transition]:
        """The transitions of an order in hand, oldest first (without looking it up again)."""
        return self.store.transitions(order.id)

    def cancel(self, order_id: str, *, actor: str, reason: str = "") -> SalesOrder:
        """Cancel an order that has not shipped; its stock and capacity are released."""
        order = self._change(order_id, "cancelled", actor=actor, reason=reason, release=True)
        self.close_jobs(self.production_jobs(order))
        return order

    def correct(self, order_id: str, status: Status, *, actor: str, reason: str) -> SalesOrder:
        """An operator's correction of the status, recorded as such."""
        return self._change(order_id, "correction", actor=actor, reason=reason, to=status)

    def record_fact(self, order_id: str, fact: str, *, actor: str, reason: str = "") -> SalesOrder:
        """Move the order on a fact from the plant or fleet (no change if it does not fit)."""
        # stock leaves the shelf when picked up: the stock level falls, so the hold goes
        release = fact in RELEASING_FACTS
        return self._change(order_id, fact, actor=actor, reason=reason, release=release)

    # -- revisions by re-plans ----------------------------------------------------------

    def revise_schedule(self, view: Mapping[str, Any]) -> int:
        """Revise the promise of every order whose production jobs the planner's schedule
        view holds. Returns how many orders moved."""
        planned = schedule_jobs(view, prefix=JOB_PREFIX)
        version, at = int(view.get("version") or 0), now_ms(self.clock)
        found: list[tuple[str, Revision]] = []
        seen: dict[str, tuple[PlannedJob | None, ...]] = {}
        for order_id in sorted({order_of_job(j) for j in planned} - {""}):
            promise = self._promise_of(order_id)
            if promise is None:
                continue
            jobs = tuple(planned.get(j) for j in _production_jobs(order_id, promise))
            with self._revision_lock:  # planned as when last revised: the same verdict
                if self._planned.get(order_id) == jobs and self._revised.get(order_id):
                    continue
            revision = revise_production(promise, jobs, version=version, at_ms=at)
            if revision is not None:
                found.append((order_id, revision))
                seen[order_id] = jobs
        return self._revise_all(found, seen)

    def revise_routes(self, view: Mapping[str, Any]) -> int:
        """Revise the promise of every order whose delivery the planner's routes view
        holds (routed or unserved). Returns how many orders moved."""
        planned = route_deliveries(view, prefix=SHIP_PREFIX)
        version, at = int(view.get("version") or 0), now_ms(self.clock)
        found: list[tuple[str, Revision]] = []
        late: list[str] = []
        for delivery_id, delivery in sorted(planned.items()):
            order_id = order_of_delivery(delivery_id)
            promise = self._promise_of(order_id)
            if promise is None:
                continue
            revision = revise_delivery(
                int(promise["promised_ms"]), delivery, version=version, at_ms=at
            )
            found.append((order_id, revision))
            if not delivery.routed and delivery.reason == LATE_WINDOW:
                late.append(order_id)
        moved = self._revise_all(found)
        for order_id in late:
            self._ship_late(order_id)
        return moved

    def _ship_late(self, order_id: str) -> None:
        """A delivery no van can make by its promise goes out as soon as one can: handed
        again without its window (the same hand-over again changes nothing), so a late
        order is delivered late rather than never."""
        order = self.store.find(order_id)
        if order is not None and order.standing.status not in FINAL:
            self._ship(order, windowed=False)

    def revision(self, order_id: str) -> Revision | None:
        """The latest revision of the order's promise that said something new (None before
        any re-plan, and after a restart until the next when it was a plain confirmation)."""
        with self._revision_lock:
            if order_id in self._latest:
                return self._latest[order_id]
        stored = self.store.load_revision(order_id)
        return None if stored is None else Revision.from_json(orjson.loads(stored))

    def _promise_of(self, order_id: str) -> dict[str, Any] | None:
        """The promise of an order still open (None for unknown and finished orders)."""
        with self._revision_lock:
            if order_id in self._promises:
                return self._promises[order_id]
        order = self.store.find(order_id) if order_id else None
        promise = None if order is None or order.standing.status in FINAL else order.promise
        with self._revision_lock:
            self._promises[order_id] = promise
        return promise

    def _revise_all(
        self,
        found: Sequence[tuple[str, Revision]],
        seen: Mapping[str, tuple[PlannedJob | None, ...]] | None = None,
    ) -> int:
        """Take the revisions that say something new (see `_revise_chunk`), a chunk of
        `REVISE_CHUNK` orders at a time; `seen`: the planned jobs each schedule revision
        was made from, kept once it is settled (the next plan that plans them the same
        skips the order). Returns how many orders moved."""
        news: list[tuple[str, Revision, tuple[Any, ...]]] = []
        for order_id, revision in found:
            known = self._known_revision(order_id)
            if known == revision.key:
                with self._revision_lock:
                    self._revised[order_id] = known
                    if seen is not None:
                        self._planned[order_id] = seen[order_id]
            else:
                news.append((order_id, revision, known))
        return sum(
            self._revise_chunk(news[i : i + REVISE_CHUNK], seen)
            for i in range(0, len(news), REVISE_CHUNK)
        )

    def _known_revision(self, order_id: str) -> tuple[Any, ...]:
        """The key of the order's latest revision: cached, or on the first look since start
        what was recorded before (none if the order was delayed since for another cause)."""
        with self._revision_lock:
            known = self._revised.get(order_id)
        if known is not None:
            return known
        stored = self.revision(order_id)
        if stored is None:
            return ()
        if stored.verdict == "on_time":
            order = self.store.find(order_id)  # delayed since for another cause?
            if order is not None and order.standing.delayed_from is not None:
                return ()
        return stored.key

    def _revise_chunk(
        self,
        news: Sequence[tuple[str, Revision, tuple[Any, ...]]],
        seen: Mapping[str, tuple[PlannedJob | None, ...]] | None,
    ) -> int:
        """Move orders on revisions that say something new, in one transaction (a late plan
        delays thousands of orders at once; one write each took seconds), then store the revisions that are or
        end a delay in one more (the transitions first, so a crash in between stores the
        revisions again at the next plan, never an event twice). A confirmation that ends
        no delay is only kept in memory: it writes nothing."""
        taken: list[tuple[str, Revision, bool]] = []  # (order, revision, moved)
        stored: list[tuple[str, str, int]] = []  # the revisions that are or end a delay
        changes: list[OrderAdvance] = []
        with self._moves_lock:
            for order_id, revision, known in news:
                before = self.store.find(order_id)
                if before is None:
                    continue
                standing = before.standing
                if revision.verdict == "late" or before.standing.delayed_from is not None:
                    fact = "plan_late" if revision.verdict == "late" else "plan_on_time"
                    try:
                        standing, change = apply_fact(
                            before.standing,
                            fact,
                            at_ms=now_ms(self.clock),
                            actor=PLANNER,
                            reason=revision.reason,
                        )
                    except TransitionRefused:  # cancelled meanwhile
                        continue
                    if change is not None:
                        changes.append(OrderAdvance(order_id, standing, (change,), change.at_ms))
                moved = standing != before.standing
                taken.append((order_id, revision, moved))
                if moved or "late" in (revision.verdict, *known[1:2]):
                    stored.append(
                        (order_id, orjson.dumps(revision.to_json()).decode(), revision.at_ms)
                    )
            self.store.advance_all(changes)
            for advance in changes:
                self._forget_revision(advance.order_id, advance.transitions[-1])
        self.store.save_revisions(stored)
        for order_id, revision, _moved in taken:
            self._remember(order_id, revision, None if seen is None else seen[order_id])
        return sum(moved for _o, _r, moved in taken)

    def _remember(
        self, order_id: str, revision: Revision, planned: tuple[PlannedJob | None, ...] | None
    ) -> None:
        with self._revision_lock:
            self._revised[order_id] = revision.key
            self._latest[order_id] = revision
            if planned is not None:
                self._planned[order_id] = planned

    def _forget_revision(self, order_id: str, change: Transition) -> None:
        """A finished order leaves the revision caches; one delayed for another cause is
        revised afresh by the next plan (which may take it back on time)."""
        with self._revision_lock:
            self._planned.pop(order_id, None)
            if change.status in FINAL:
                self._promises.pop(order_id, None)
                self._revised.pop(order_id, None)
                self._latest.pop(order_id, None)
            elif change.status == "delayed" and change.cause != "plan_late":
                self._revised[order_id] = ()  # no revision has this key: the next one acts

    # -- internals ----------------------------------------------------------------------

    def _ship(
        self, order: SalesOrder, *, windowed: bool = True, depot: str | None = None
    ) -> SalesOrder:
        """Hand the planner the order's delivery to the customer (see `_delivery`); if it
        refuses, the order is delayed with the reason. A produced order whose units are
        carried to a warehouse ships on their receipt instead."""
        if order.standing.status == "produced" and any(
            self.carried(job) for job in self.production_jobs(order)
        ):
            return order
        try:
            self.submit_deliveries([self._delivery(order, windowed=windowed, depot=depot)])
        except CoordinatorError as exc:
            return self._change(
                order.id, "delayed", actor=SYSTEM, reason=f"delivery not planned: {exc}"
            )
        return order

    def _delivery(
        self, order: SalesOrder, *, windowed: bool = True, depot: str | None = None
    ) -> DeliveryOrder:
        """The order's delivery to the customer (due by the promise while `windowed`),
        loaded at `depot` (else where its units were received, else the first shelf node of
        the warehouse of its largest reserved stock)."""
        if depot:
            self._ship_depots[order.id] = depot  # a re-hand-over (late) loads there too
        depot = depot or self._ship_depots.get(order.id)
        body = orjson.loads(order.body)
        return customer_delivery(
            order.id,
            lat=float(body["destination"]["lat"]),
            lon=float(body["destination"]["lon"]),
            units=sum(int(line["qty"]) for line in body["lines"]),
            promised_ms=int(order.promise["promised_ms"]),
            now_ms=now_ms(self.clock),
            service_s=self.delivery_service_s,
            windowed=windowed,
            depot_id=depot or self._shelf(stock_place(order.promise)),
        )

    def _shelf(self, warehouse: str | None) -> str | None:
        """The first shelf node of a network warehouse (depots are warehouse nodes)."""
        found = next((w for w in self._network.warehouses if w.id == warehouse), None)
        return found.nodes[0] if found is not None and found.nodes else warehouse

    def _change(
        self,
        order_id: str,
        fact: str,
        *,
        actor: str,
        reason: str,
        to: Status | None = None,
        release: bool = False,
    ) -> SalesOrder:
        with self._moves_lock:
            order = self.get(order_id)
            try:
                standing, change = apply_fact(
                    order.standing,
                    fact,
                    at_ms=now_ms(self.clock),
                    actor=actor,
                    reason=reason,
                    to=to,
                )
            except TransitionRefused as exc:
                raise OrderConflict(f"{exc.reason}: cannot {fact}", field="status") from None
            if change is None:
                return order
            self.store.advance(
                order_id, standing, [change], at_ms=change.at_ms, release_holds=release
            )
            if release:
                with self._lock:
                    self._release(order_id)
            self._forget_revision(order_id, change)
            return self.get(order_id)

    def _check_catalog(
        self, request: OrderRequest, levels: Mapping[str, Mapping[str, int]]
    ) -> None:
        known = set(self._network.makers)
        for held in levels.values():
            known.update(held)
        for i, line in enumerate(request.lines):
            if line.sku not in known:
                raise OrderInvalid(f"unknown SKU {line.sku!r}", field=f"lines[{i}].sku")

    def _check_reach(self, destination: Point) -> None:
        """`OrderInvalid` naming `destination` when no van of the network reaches it."""
        depots = [(w.id, w.location, w.service_radius_km) for w in self._network.warehouses]
        reason = unreachable_reason(destination, depots, self.travel)
        if reason is not None:
            raise OrderInvalid(reason, field="destination")

    def _hold(self, order_id: str, hold: Hold) -> None:
        self._holds.setdefault(order_id, []).append(hold)
        if hold.kind == "stock":
            key = (hold.place, hold.sku)
            self._held_stock[key] = self._held_stock.get(key, 0) + int(hold.amount)

    def _release(self, order_id: str) -> None:
        """Give back what the order held: stock at once, capacity at the next pool rebuild
        (due at the next order)."""
        for hold in self._holds.pop(order_id, []):
            if hold.kind == "stock":
                key = (hold.place, hold.sku)
                self._held_stock[key] -= int(hold.amount)
        self._pools_stale = True

    def _warehouse_stock(self, levels: Mapping[str, Mapping[str, int]]) -> list[WarehouseStock]:
        found: list[WarehouseStock] = []
        waits = self.fleet_waits()
        for w in self._network.warehouses:
            units: dict[str, int] = {}
            for node in w.nodes:
                for sku, qty in levels.get(node, {}).items():
                    units[sku] = units.get(sku, 0) + qty
            available = {
                sku: qty - self._held_stock.get((w.id, sku), 0) for sku, qty in units.items()
            }
            wait = min((waits[n] for n in w.nodes if n in waits), default=0.0)
            found.append(WarehouseStock(w.id, w.location, available, wait))
        return found

    def _offers(self, skus: Iterable[str]) -> list[FactoryOffer]:
        """Each factory's capacity and its recipes for just these SKUs (under the lock)."""
        products = {sku: p for sku in skus if (p := self.recipe(sku)) is not None}
        offers = []
        for f in self._network.factories:
            made_here = {
                sku: r
                for sku, product in products.items()
                if f.id in self._network.makers.get(sku, ())
                and (r := recipe_at(product, f)) is not None
            }
            offers.append(
                FactoryOffer(
                    f.id,
                    f.location,
                    made_here,
                    self._pools[f.id],
                    min_batch=f.min_batch,
                    pool_always_open=self._always_open.get(f.id),
                )
            )
        return offers

    def _refresh_pools(self) -> None:
        """Rebuild the capacity pools when due (see the module docstring). They are built
        outside the lock from a snapshot of the schedule, so orders keep being promised on
        the old pools meanwhile, and swapped in under it, with the work of the orders the
        snapshot does not hold (those promised since included) booked on them again. One
        builds at a time. Pools due for their age or a new schedule are built on a thread
        of their own, so the caller (the API's event loop) never waits for a build of
        thousands of operations; pools that no longer hold (capacity released, a new
        network, none yet) are built by the caller, before it promises on them."""
        now_s = self.clock.now()
        with self._lock:
            network = self._network
            usable = self._pools_network is network
            built_version, built_s = self._pools_version, self._pools_built_s
            age = now_s - built_s
            wrong = not usable or self._pools_stale
            stale = (
                wrong
                or age > self.pool_max_age_s
                or (age >= self.pool_min_age_s and self.schedule_version() != built_version)
            )
            if not stale or (usable and self._pools_building):
                return
            self._pools_building = True
            self._pools_stale = False
        if wrong or not self.pools_aside:
            self._build_pools(network, now_s)
            return
        threading.Thread(
            target=self._build_pools_aside, args=(network, now_s), name="pools", daemon=True
        ).start()

    def _build_pools(self, network: Network, now_s: float) -> None:
        try:
            view = self.capacity()
            built = {f.id: _factory_pools(f, view, now_s) for f in network.factories}
            with self._lock:
                if network is self._network:
                    self._install(built, view, now_s)
        finally:
            with self._lock:
                self._pools_building = False

    def _build_pools_aside(self, network: Network, now_s: float) -> None:
        try:
            self._build_pools(network, now_s)
        except Exception:  # the old pools stay; the next order tries again
            with self._lock:
                self._pools_stale = True
            _log.exception("capacity pools could not be rebuilt")

    def _install(
        self,
        built: Mapping[str, tuple[CapacityPool, CapacityPool]],
        view: CapacityView,
        now_s: float,
    ) -> None:
        """Swap in freshly built pools (under the lock), booking on them the work held by
        orders whose jobs the schedule they were built from does not hold yet."""
        self._pools = {f: pools[0] for f, pools in built.items()}
        self._always_open = {f: pools[1] for f, pools in built.items()}
        planned = _orders_with_work_in(view.planned_jobs)
        unplanned: dict[str, float] = {}
        for order_id, holds in self._holds.items():
            if order_id in planned:
                continue  # the schedule already holds this order's work
            for hold in holds:
                if hold.kind == "work" and hold.place in self._pools:
                    unplanned[hold.place] = unplanned.get(hold.place, 0.0) + hold.amount
        for place, work in unplanned.items():
            pool = self._pools[place]
            pool.book(min(work, pool.work_by(pool.end_s, use_reserve=True)), use_reserve=True)
        self._pools_network = self._network
        self._pools_version, self._pools_built_s = view.version, now_s

    def _jobs(self, order: SalesOrder, promise: Promise, *, rush: bool) -> list[JobOrder]:
        """One planner job per factory part, due when the promise says it is ready."""
        factories = {f.id: f for f in self._network.factories}
        jobs: list[JobOrder] = []
        for index, line in enumerate(promise.lines):
            product = self.recipe(line.sku)
            if product is None:  # the recipe was withdrawn while promising
                continue
            for k, part in enumerate(line.made):
                here = set(factories[part.factory].machines)
                operations = tuple(
                    OperationOrder(
                        options={
                            o.machine: o.setup_s + part.qty * o.duration_s_per_unit
                            for o in step
                            if o.machine in here
                        },
                        family=product.family,
                    )
                    for step in product.operations
                )
                jobs.append(
                    JobOrder(
                        id=job_id(order.id, index, k),
                        operations=operations,
                        due_ms=round(part.ready_s * 1000),
                        rush=rush,
                        quantity=part.qty,
                        sku=line.sku,
                    )
                )
        return jobs


def _not_planned(pending: _Pending) -> str:
    """What a refused hand-over of an order means for it."""
    return "production not planned" if pending.jobs else "delivery not planned"


def _factory_pools(
    factory: Factory, view: CapacityView, now_s: float
) -> tuple[CapacityPool, CapacityPool]:
    """A factory's pool within its opening hours, and the same around the clock (to tell
    whether opening hours bound a promise)."""
    common: dict[str, Any] = {
        "machines": factory.machines,
        "busy": view.busy,
        "unavailable": view.unavailable,
        "share": factory.capacity_share,
        "start_s": now_s,
        "horizon_s": HORIZON_S,
        "bucket_s": BUCKET_S,
    }
    return (
        pool_from_schedule(hours=factory.hours, **common),
        pool_from_schedule(hours=OpeningHours(), **common),
    )


def stock_place(promise: Mapping[str, Any]) -> str | None:
    """The warehouse of the largest stock part of a promise (None: none)."""
    parts = [
        (int(part["qty"]), str(part["warehouse"]))
        for line in promise.get("lines", [])
        for part in line.get("from_stock", [])
    ]
    return max(parts, key=lambda p: (p[0], p[1]))[1] if parts else None


def _production_jobs(order_id: str, promise: Mapping[str, Any]) -> list[str]:
    """The planner job ids of a promise's production parts, line by line, part by part."""
    return [
        job_id(order_id, i, k)
        for i, line in enumerate(promise["lines"])
        for k in range(len(line["made"]))
    ]


def lines_from(raw: Iterable[tuple[str, int]]) -> tuple[Line, ...]:
    """Order lines from (sku, qty) pairs."""
    return tuple(Line(sku, qty) for sku, qty in raw)


__all__ = [
    "CapacityView",
    "OrderConflict",
    "OrderInvalid",
    "OrderRequest",
    "SalesBook",
    "Taken",
    "job_id",
    "lines_from",
    "order_of_job",
    "promise_json",
    "token_hash",
]
