"""The simulated world both policies run in: a discrete-event loop on a simulation clock.

Every `STEP_S` the world releases the storefront's orders of that step to the policy, runs
the machines (a changeover when the family changes, then production at the family's cycle
time, only inside the factory's opening hours, paused while the machine is down), moves
transfers (factory → warehouse at the transfer speed), and at each delivery wave of the
policy sends the warehouse's vehicles out on the tours the policy builds (each vehicle
drives tour after tour until the wave's consignments are out; times and kilometres from
great-circle distance × detour at the delivery speed). A free van can be moved to another
warehouse (`move_van`: empty, at the transfer speed, its kilometres counted with the
deliveries'), where it is based from then on. What a policy decides goes through the
`Policy` port; what happened is recorded for the KPIs (`World.log`).

Stock is `on_hand` (on the shelf) and `reserved` (promised to an order, still on the shelf
until its vehicle picks it up); a warehouse on fire loses both, and is closed for a day.
Every change of `on_hand` is told to `World.stock_watch` when one is set (the shelves'
stock reports of `flexfleet scenario run --broker`).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from flexfleet.scenario.demand import Demand, Order, Sku
from flexfleet.scenario.geo import Point, drive_s, road_km
from flexfleet.scenario.schema import FactorySpec, Scenario, WarehouseSpec

STEP_S = 300.0
HANDLING_S = 1800.0  # picking and packing a consignment at a warehouse
LOADING_S = 900.0  # loading a vehicle before a tour
DAY_S = 86_400.0

StockWatch = Callable[[str, "dict[str, int] | None", str], None]
"""Told (warehouse, {sku: change} or None for an emptied shelf, why) on every stock move."""


@dataclass
class WorkItem:
    """Units of one SKU to make on a machine, and where they go when made."""

    job_id: str
    sku: str
    family: str
    qty: int
    due_s: float
    dest: str  # warehouse id
    order_id: str | None = None  # a customer order's part, None: stock
    rush: bool = False


@dataclass
class MachineState:
    """A machine as the world runs it."""

    id: str
    factory: str
    families: tuple[str, ...]
    family: str | None = None
    item: WorkItem | None = None
    started_s: float = 0.0
    finish_s: float = 0.0
    down_until: float = 0.0
    run_s: float = 0.0
    setup_s: float = 0.0


@dataclass
class Consignment:
    """Units of an order waiting at a warehouse for a vehicle."""

    order_id: str
    warehouse: str
    sku: str
    qty: int
    ready_s: float
    from_stock: bool
    point: Point
    due_key: float = 0.0  # when the order is due (run seconds), to sort by urgency
    picked_s: float | None = None
    delivered_s: float | None = None
    made: bool = False  # made for the order (else from a shelf: its own area's or by line-haul)


@dataclass
class OrderState:
    """An order's progress in the world."""

    order: Order
    parts: int = 0  # consignments expected
    delivered_parts: int = 0
    delivered_s: float | None = None
    lost: bool = False
    units_from_stock: int = 0


@dataclass(frozen=True, slots=True)
class TourTiming:
    """One tour of a wave in time: its van, when it leaves, reaches each stop, is back."""

    van: int
    depart_s: float
    arrive_s: tuple[float, ...]
    back_s: float


@dataclass(frozen=True, slots=True)
class TourRecord:
    """One tour a van drove, for the delivery detail (`flexfleet.scenario.delivery_detail`):
    where and when it left, its consignments (order ids, in driving order) and units, the
    kilometres of its first and last legs (depot to the first stop and back from the last)
    and between its stops, and the reason the policy gave for sending it (None: not given)."""

    warehouse: str
    depart_s: float
    orders: tuple[str, ...]
    origins: tuple[str, ...]  # per stop: "stock" (own shelf), "transfer" (line-haul), "made"
    units: int
    capacity: int
    depot_km: float
    between_km: float
    oldest_ready_s: float
    reason: str | None = None


@dataclass
class Log:
    """What happened, for the KPIs."""

    km: float = 0.0  # last mile: vans from micro-warehouses to customers, and vans lent
    transfer_km: float = 0.0  # line-haul between warehouses for orders served from afar
    changeovers: int = 0
    stockout_steps: int = 0  # (featured SKU × step) of announced streams with no stock
    inventory_unit_steps: float = 0.0
    open_machine_s: float = 0.0
    replan_s: list[float] = field(default_factory=list)
    daily: list[dict[str, float]] = field(default_factory=list)
    events: list[tuple[float, str]] = field(default_factory=list)
    tours: list[TourRecord] = field(default_factory=list)
    van_moves: list[tuple[float, str, str, float]] = field(default_factory=list)  # t, from, to, km


class Policy(Protocol):
    """How orders, machines, stock and deliveries are decided (baseline or flexfleet)."""

    name: str

    @property
    def tour_reasons(self) -> Sequence[str]:
        """Why each tour of the last `tours` answer leaves (for the delivery detail)."""

    def start(self, world: World) -> None:
        """Called once before the first step."""

    def on_order(self, world: World, order: Order) -> None:
        """A customer order arrived: serve it (`World.take_stock`, `World.make`) or lose it."""

    def next_work(self, world: World, machine: MachineState) -> WorkItem | None:
        """What an idle machine makes next (None: it waits)."""

    def on_made(self, world: World, item: WorkItem, machine: MachineState) -> None:
        """A machine finished `item` (the world ships its units)."""

    def on_received(self, world: World, item: WorkItem) -> None:
        """`item`'s units arrived at their warehouse."""

    def on_step(self, world: World) -> None:
        """Called every step after orders and machines (re-planning, stock reviews)."""

    def on_machine_down(self, world: World, machine: MachineState, until_s: float) -> None:
        """A machine stopped until `until_s`."""

    def on_lost_consignment(self, world: World, consignment: Consignment) -> None:
        """Stock held for an order burnt: serve those units again."""

    def on_picked(self, world: World, consignment: Consignment) -> None:
        """A vehicle took the consignment."""

    def on_delivered(self, world: World, state: OrderState) -> None:
        """Every part of an order was delivered."""

    def wave_times(self, day: int) -> Sequence[float]:
        """The delivery waves of `day`, in seconds from the run's start."""

    def tours(
        self, world: World, warehouse: WarehouseSpec, ready: Sequence[Consignment], capacity: int
    ) -> list[list[int]]:
        """Tours (indices into `ready`, in driving order), each within `capacity` units."""


class World:
    """The simulated network (see the module)."""

    def __init__(self, scenario: Scenario, demand: Demand, *, days: int, start_s: float) -> None:
        self.scenario = scenario
        self.demand = demand
        self.days = days
        self.start_s = start_s  # Unix seconds of the run's start (local midnight)
        self.t = 0.0  # seconds since the run's start
        self.skus: dict[str, Sku] = {s.id: s for s in demand.skus}
        self.families = {f.id: f for f in scenario.families}
        self.factories: dict[str, FactorySpec] = {f.id: f for f in scenario.factories}
        self.warehouses: dict[str, WarehouseSpec] = {w.id: w for w in scenario.warehouses}
        self.machines: dict[str, MachineState] = {
            m.id: MachineState(m.id, f.id, m.families)
            for f in scenario.factories
            for m in f.machines
        }
        self.on_hand: dict[str, dict[str, int]] = {w: {} for w in self.warehouses}
        self.reserved: dict[str, dict[str, int]] = {w: {} for w in self.warehouses}
        self.closed_until: dict[str, float] = dict.fromkeys(self.warehouses, 0.0)
        # the vans based at each warehouse now (its own less those lent, plus those
        # borrowed), and when each of them out on a tour or on its way here is back
        self.vans: dict[str, int] = {w.id: w.vehicles for w in scenario.warehouses}
        self.vehicles_out: dict[str, list[float]] = {w: [] for w in self.warehouses}
        self.waiting: dict[str, list[Consignment]] = {w: [] for w in self.warehouses}
        self.orders: dict[str, OrderState] = {}
        self.transfers: list[tuple[float, int, WorkItem]] = []
        self._seq = 0
        self.log = Log()
        self.stock_watch: StockWatch | None = None
        d = scenario.delivery
        self._detour, self._speed, self._tspeed = d.detour, d.speed_kmh, d.transfer_speed_kmh
        self._service_s = d.service_min * 60.0
        self._in_stream: list[tuple[float, float, tuple[str, ...]]] = [
            (a.start_s, a.end_s, a.skus) for a in demand.streams if a.announced
        ]

    # ---- places -----------------------------------------------------------------------
    def point(self, place: str) -> Point:
        """Where a factory or warehouse is."""
        if place in self.factories:
            f = self.factories[place]
            return (f.lat, f.lon)
        w = self.warehouses[place]
        return (w.lat, w.lon)

    def drive_s(self, a: Point, b: Point) -> float:
        """Delivery driving time between two points."""
        return drive_s(a, b, detour=self._detour, speed_kmh=self._speed)

    def road_km(self, a: Point, b: Point) -> float:
        """Road kilometres between two points."""
        return road_km(a, b, detour=self._detour)

    def van_after_van(
        self, depot: Point, free_s: Sequence[float], tours: Sequence[Sequence[Point]]
    ) -> list[TourTiming]:
        """When `tours` (their stops' points, in order) leave and deliver, sent as the world
        sends a wave: each on the van that is free earliest (`free_s`: when each van is, the
        lowest index first on a tie), loading then driving stop to stop from `depot`."""
        free = list(free_s)
        timings = []
        for tour in tours:
            v = min(range(len(free)), key=lambda k: (free[k], k))
            t, here, arrive = free[v] + LOADING_S, depot, []
            for point in tour:
                t += self.drive_s(here, point) + self._service_s
                arrive.append(t)
                here = point
            back = t + self.drive_s(here, depot)
            timings.append(TourTiming(van=v, depart_s=free[v], arrive_s=tuple(arrive), back_s=back))
            free[v] = back
        return timings

    def transfer_s(self, factory: str, warehouse: str) -> float:
        """Trucking time from a factory to a warehouse."""
        return drive_s(
            self.point(factory), self.point(warehouse), detour=self._detour, speed_kmh=self._tspeed
        )

    def free_vans(self, warehouse: str) -> int:
        """The vans at `warehouse` and free now."""
        out = sum(1 for back in self.vehicles_out[warehouse] if back > self.t)
        return max(0, self.vans[warehouse] - out)

    def move_van(self, src: str, dst: str) -> float:
        """A free van of `src` drives empty to `dst` (on the road at the trucks' speed) and is
        based there from now, busy until it arrives; its kilometres count as delivery
        kilometres. Returns when it arrives."""
        if src == dst or src not in self.warehouses or dst not in self.warehouses:
            raise ValueError(f"no van move from {src!r} to {dst!r}")
        if self.free_vans(src) < 1:
            raise ValueError(f"{src} has no free van to move")
        a, b = self.point(src), self.point(dst)
        arrive = self.t + drive_s(a, b, detour=self._detour, speed_kmh=self._tspeed)
        self.vans[src] -= 1
        self.vans[dst] += 1
        self.vehicles_out[dst].append(arrive)
        km = self.road_km(a, b)
        self.log.km += km
        self.log.van_moves.append((self.t, src, dst, km))
        return arrive

    def nearest_warehouse(self, p: Point) -> str:
        """The warehouse nearest to `p` (ties by id)."""
        return min(self.warehouses, key=lambda w: (self.road_km(p, self.point(w)), w))

    def is_open(self, factory: str, t: float) -> bool:
        """Whether `factory` works at run time `t`."""
        f = self.factories[factory]
        o, c = _minutes(f.open), _minutes(f.close)
        m = (t % DAY_S) / 60.0
        return o <= m < c if o < c else (m >= o or m < c)

    def _open_until(self, factory: str, t: float) -> float:
        """When the open period containing `t` ends (t itself when closed)."""
        c = _minutes(self.factories[factory].close)
        if not self.is_open(factory, t):
            return t
        day = math.floor(t / DAY_S) * DAY_S
        end = day + c * 60.0
        return end if end > t else end + DAY_S

    def _next_open(self, factory: str, t: float) -> float:
        f = self.factories[factory]
        if self.is_open(factory, t):
            return t
        o = _minutes(f.open) * 60.0
        day = math.floor(t / DAY_S) * DAY_S
        return day + o if day + o > t else day + DAY_S + o

    def work_end(self, machine: MachineState, start: float, seconds: float) -> float:
        """When `seconds` of work started at `start` end, counting only open, up time."""
        t, left = start, seconds
        while left > 1e-9:
            t = max(self._next_open(machine.factory, t), machine.down_until)
            t = self._next_open(machine.factory, t)
            until = self._open_until(machine.factory, t)
            if machine.down_until > t:
                continue
            take = min(left, until - t)
            t += take
            left -= take
        return t

    # ---- stock ------------------------------------------------------------------------
    def available(self, warehouse: str, sku: str) -> int:
        """Units a new order may take at `warehouse` (0 while it is closed)."""
        if self.closed_until[warehouse] > self.t:
            return 0
        return self.on_hand[warehouse].get(sku, 0) - self.reserved[warehouse].get(sku, 0)

    def total_available(self, sku: str) -> int:
        """Units of `sku` free in all open warehouses."""
        return sum(self.available(w, sku) for w in self.warehouses)

    def take_stock(self, state: OrderState, warehouse: str, qty: int) -> Consignment:
        """Take `qty` units of the order's SKU at `warehouse` for it (one consignment).

        From the warehouse serving the customer's area they are reserved and picked by its
        vehicle; from another one they leave its shelf now by line-haul (transfer speed) to
        the customer's warehouse, whose vehicles deliver them (vans serve their own area)."""
        sku = state.order.sku
        point = (state.order.lat, state.order.lon)
        near = self.nearest_warehouse(point)
        state.parts += 1
        state.units_from_stock += qty
        if warehouse == near:
            self.reserved[warehouse][sku] = self.reserved[warehouse].get(sku, 0) + qty
            c = Consignment(
                state.order.id, warehouse, sku, qty, self.t + HANDLING_S, True, point,
                due_key=state.order.due_s,
            )  # fmt: skip
            self.waiting[warehouse].append(c)
            return c
        self.on_hand[warehouse][sku] = self.on_hand[warehouse].get(sku, 0) - qty
        self._moved(warehouse, {sku: -qty}, "line-haul")
        a, b = self.point(warehouse), self.point(near)
        self.log.transfer_km += self.road_km(a, b)
        arrive = self.t + HANDLING_S + drive_s(a, b, detour=self._detour, speed_kmh=self._tspeed)
        c = Consignment(
            state.order.id, near, sku, qty, arrive + HANDLING_S, False, point,
            due_key=state.order.due_s,
        )  # fmt: skip
        self.waiting[near].append(c)
        return c

    def expect_part(self, state: OrderState) -> None:
        """The order waits for one more consignment (a made part)."""
        state.parts += 1

    def lose(self, state: OrderState) -> None:
        """The customer walks away (no stock for a stream buyer)."""
        state.lost = True

    def add_stock(self, warehouse: str, sku: str, qty: int, *, why: str = "stock") -> None:
        """Units arrive on the shelf."""
        self.on_hand[warehouse][sku] = self.on_hand[warehouse].get(sku, 0) + qty
        self._moved(warehouse, {sku: qty}, why)

    def _moved(self, warehouse: str, changes: dict[str, int] | None, why: str) -> None:
        if self.stock_watch is not None:
            self.stock_watch(warehouse, changes, why)

    # ---- production ---------------------------------------------------------------------
    def _ship(self, item: WorkItem, machine: MachineState) -> None:
        arrive = self.t + self.transfer_s(machine.factory, item.dest)
        self._seq += 1
        heapq.heappush(self.transfers, (arrive, self._seq, item))

    def _run_machine(self, m: MachineState, policy: Policy, until: float) -> None:
        while True:
            if m.item is not None:
                if m.finish_s > until:
                    return
                self.t = max(self.t, m.finish_s)
                done, m.item = m.item, None
                policy.on_made(self, done, m)
                self._ship(done, m)
                continue
            if m.down_until > self.t or not self.is_open(m.factory, self.t):
                return
            item = policy.next_work(self, m)
            if item is None:
                return
            family = self.families[item.family]
            setup = family.changeover_min * 60.0 if m.family not in (None, item.family) else 0.0
            if setup:
                self.log.changeovers += 1
            run = item.qty * family.cycle_s
            m.setup_s += setup
            m.run_s += run
            m.family = item.family
            m.item = item
            m.started_s = self.t
            m.finish_s = self.work_end(m, self.t, setup + run)

    def machine_down(self, policy: Policy, machine_id: str, hours: float) -> None:
        """A machine stops now for `hours` (its running work pauses)."""
        m = self.machines[machine_id]
        until = self.t + hours * 3600.0
        if m.item is not None:
            m.finish_s = self.work_end(
                m, until, max(0.0, m.finish_s - self.t) if m.finish_s > self.t else 0.0
            )
        m.down_until = max(m.down_until, until)
        if m.item is not None:
            # the rest of the work runs after the repair
            m.finish_s = max(m.finish_s, until)
        self.log.events.append((self.t, f"{machine_id} down {hours:g} h"))
        policy.on_machine_down(self, m, until)

    def fire(self, policy: Policy, warehouse: str, hours: float) -> None:
        """A warehouse burns: its stock and the consignments waiting there are lost."""
        self.on_hand[warehouse] = {}
        self._moved(warehouse, None, "fire")
        self.reserved[warehouse] = {}
        self.closed_until[warehouse] = self.t + hours * 3600.0
        lost, self.waiting[warehouse] = self.waiting[warehouse], []
        self.log.events.append((self.t, f"{warehouse} fire"))
        for c in lost:
            if c.from_stock:
                self.orders[c.order_id].units_from_stock -= c.qty
            self.orders[c.order_id].parts -= 1
            policy.on_lost_consignment(self, c)

    # ---- delivery ---------------------------------------------------------------------
    def _wave(self, policy: Policy, warehouse: str) -> None:
        if self.closed_until[warehouse] > self.t:
            return
        spec = self.warehouses[warehouse]
        self.vehicles_out[warehouse] = [u for u in self.vehicles_out[warehouse] if u > self.t]
        count = self.free_vans(warehouse)
        ready = [c for c in self.waiting[warehouse] if c.ready_s <= self.t]
        if count <= 0 or not ready:
            return
        planned = policy.tours(self, spec, ready, spec.vehicle_capacity)
        reasons = list(policy.tour_reasons)
        numbered = [(n, tour) for n, tour in enumerate(planned) if tour]
        depot = self.point(warehouse)
        timings = self.van_after_van(
            depot, [self.t] * count, [[ready[i].point for i in tour] for _, tour in numbered]
        )
        sent: set[int] = set()
        for (n, tour), timing in zip(numbered, timings, strict=True):
            points = [depot, *(ready[i].point for i in tour), depot]
            legs = [self.road_km(a, b) for a, b in itertools.pairwise(points)]
            for i, arrive_s in zip(tour, timing.arrive_s, strict=True):
                c = ready[i]
                sent.add(i)
                self._pick(policy, c)
                self._deliver(policy, c, arrive_s)
            self.log.km += sum(legs)
            self.log.tours.append(
                TourRecord(
                    warehouse=warehouse,
                    depart_s=timing.depart_s,
                    orders=tuple(ready[i].order_id for i in tour),
                    origins=tuple(_origin(ready[i]) for i in tour),
                    units=sum(ready[i].qty for i in tour),
                    capacity=spec.vehicle_capacity,
                    depot_km=legs[0] + legs[-1],
                    between_km=sum(legs[1:-1]),
                    oldest_ready_s=min(ready[i].ready_s for i in tour),
                    reason=reasons[n] if n < len(reasons) else None,
                )
            )
        picked = {id(ready[i]) for i in sent}
        self.waiting[warehouse] = [c for c in self.waiting[warehouse] if id(c) not in picked]
        # vans still on the road are not free for the next wave
        self.vehicles_out[warehouse] += [
            back for back in _backs(timings, count, self.t) if back > self.t
        ]

    def _pick(self, policy: Policy, c: Consignment) -> None:
        c.picked_s = self.t
        if c.from_stock:
            w, sku = c.warehouse, c.sku
            self.on_hand[w][sku] = self.on_hand[w].get(sku, 0) - c.qty
            self._moved(w, {sku: -c.qty}, "pick")
            self.reserved[w][sku] = self.reserved[w].get(sku, 0) - c.qty
        policy.on_picked(self, c)

    def _deliver(self, policy: Policy, c: Consignment, at: float) -> None:
        c.delivered_s = at
        state = self.orders[c.order_id]
        state.delivered_parts += 1
        if state.delivered_parts >= state.parts:
            state.delivered_s = max(at, state.delivered_s or 0.0)
            policy.on_delivered(self, state)

    # ---- the loop ---------------------------------------------------------------------
    def run(
        self,
        policy: Policy,
        *,
        drills: Iterable[tuple[float, str]] = (),
        on_drill: object = None,
        progress: object = None,
    ) -> None:
        """Run every step of the run (drills: (run time, name) applied by `on_drill`)."""
        policy.start(self)
        orders = list(self.demand.orders)
        pending_drills = sorted(drills)
        k = 0
        end = self.days * DAY_S
        waves = sorted(t for day in range(self.days) for t in policy.wave_times(day))
        wi = 0
        steps = int(end / STEP_S)
        day_stats = _DayStats()
        for n in range(steps):
            lo, hi = n * STEP_S, (n + 1) * STEP_S
            self.t = lo
            while pending_drills and pending_drills[0][0] < hi:
                _at, name = pending_drills.pop(0)
                if callable(on_drill):
                    on_drill(self, policy, name)
            while k < len(orders) and orders[k].t_s < hi:
                order = orders[k]
                self.t = max(lo, order.t_s)
                state = OrderState(order)
                self.orders[order.id] = state
                policy.on_order(self, order)
                k += 1
            for m in self.machines.values():
                self.t = lo
                self._run_machine(m, policy, hi)
            self.t = lo
            while self.transfers and self.transfers[0][0] < hi:
                arrive, _, item = heapq.heappop(self.transfers)
                self.t = max(lo, arrive)
                if self.closed_until[item.dest] > self.t:  # waits at the dock
                    heapq.heappush(self.transfers, (self.closed_until[item.dest], _, item))
                    continue
                self._arrive(policy, item)
            self.t = lo
            policy.on_step(self)
            while wi < len(waves) and waves[wi] < hi:
                self.t = max(lo, waves[wi])
                for w in sorted(self.warehouses):
                    self._wave(policy, w)
                wi += 1
            self.t = hi
            self._sample(day_stats)
            if (n + 1) % int(DAY_S / STEP_S) == 0:
                self.log.daily.append(day_stats.close(self, day=len(self.log.daily)))
                day_stats = _DayStats()
                if callable(progress):
                    progress(len(self.log.daily))

    def _arrive(self, policy: Policy, item: WorkItem) -> None:
        if item.order_id is None:
            self.add_stock(item.dest, item.sku, item.qty, why="receipt")
        else:
            state = self.orders[item.order_id]
            self.waiting[item.dest].append(
                Consignment(
                    item.order_id,
                    item.dest,
                    item.sku,
                    item.qty,
                    self.t + HANDLING_S,
                    False,
                    (state.order.lat, state.order.lon),
                    due_key=state.order.due_s,
                    made=True,
                )
            )
        policy.on_received(self, item)

    def _sample(self, day: _DayStats) -> None:
        for start, stop, skus in self._in_stream:
            if start <= self.t - STEP_S < stop:
                out = sum(1 for s in skus if self.total_available(s) <= 0)
                self.log.stockout_steps += out
                day.stockout_steps += out
        units = sum(sum(v.values()) for v in self.on_hand.values())
        self.log.inventory_unit_steps += units
        open_now = sum(
            1 for m in self.machines.values() if self.is_open(m.factory, self.t - STEP_S)
        )
        self.log.open_machine_s += open_now * STEP_S
        day.open_machine_s += open_now * STEP_S


@dataclass
class _DayStats:
    stockout_steps: int = 0
    open_machine_s: float = 0.0
    run_before: float = 0.0

    def close(self, world: World, *, day: int) -> dict[str, float]:
        run = sum(m.run_s for m in world.machines.values())
        return {
            "day": float(day),
            "stockout_h": self.stockout_steps * STEP_S / 3600.0,
            "open_machine_s": self.open_machine_s,
            "run_s_total": run,
        }


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def _backs(timings: Sequence[TourTiming], vans: int, now_s: float) -> list[float]:
    """When each of `vans` vans is back from its last tour in `timings` (`now_s` if none)."""
    back = [now_s] * vans
    for timing in timings:
        back[timing.van] = timing.back_s
    return back


def _origin(c: Consignment) -> str:
    if c.from_stock:
        return "stock"
    return "made" if c.made else "transfer"


__all__ = [
    "HANDLING_S",
    "STEP_S",
    "Consignment",
    "Log",
    "MachineState",
    "OrderState",
    "Policy",
    "StockWatch",
    "TourRecord",
    "WorkItem",
    "World",
]
