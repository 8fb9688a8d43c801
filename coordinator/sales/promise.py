"""The promise engine (pure): match a sales order to stock or to factory capacity, and say when.

For each line, in order:
1. **From stock**: the warehouses holding the SKU, cheapest delivery first (handling, or the
   wait until its vans can take one more delivery if longer (`WarehouseStock.wait_s`), and
   the travel time to the customer); one warehouse that holds the whole line is preferred
   to a split, and a split takes the nearest warehouses first. Only stock a warehouse can
   deliver by the service's target counts; if none can, the nearest stock is still used
   (the promise is then later).
2. **Made**: what stock does not cover is made in the factories that may make the SKU (the
   product's factories, the allocation rules on quantity and distance), each offering its
   `CapacityPool` (free schedule time inside opening hours, minus the rush reserve unless the
   order is express). One factory that finishes in time is preferred to a split (the
   earliest delivery among them); otherwise the line is split across factories by what each
   can make by the target (30 pieces → 15 / 10 / 5), respecting minimum batches; if even the
   split misses the target, the earliest time at which the factories together can make it.
   Made units reach the customer from their factory, or, where made goods are carried to a
   warehouse first (`Hub`: the warehouse nearest the customer, whose vans then deliver
   them), by that path: once made and a van of the hub is free, it drives to the factory
   and back, the units are handled at the hub and leave again in a delivery, which waits
   for a van as long again (while the vans are busy, the backlog a trip joins stands about
   as long when the units come back).
The promised time is the latest delivery of any part plus a margin; `bound_by` names the
constraint that set it: `stock`, `capacity`, `reserve` (the order would be earlier with the
rush reserve), `distance_rule` (earlier with the factories a rule excluded) or
`opening_hours` (earlier were the factories open around the clock).

The engine never mutates its inputs: it books on copies, and returns what it reserved
(`Promise.stock_taken`, `Promise.work_taken`) for the caller to apply atomically.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from coordinator.plan.routing.travel import LatLon, great_circle_m
from coordinator.sales.capacity import CapacityPool

Service = Literal["express", "standard", "economy"]
# Delivery targets per service, from the order's arrival (hours).
SERVICE_TARGET_S: Final[Mapping[str, float]] = {
    "express": 24 * 3600.0,
    "standard": 72 * 3600.0,
    "economy": 168 * 3600.0,
}
HANDLING_S: Final = 1800.0  # picking and packing at a warehouse, or loading at a factory
MIN_MARGIN_S: Final = 3600.0  # the promise is the ETA plus max(this, MARGIN_SHARE × lead time)
MARGIN_SHARE: Final = 0.1

Point = tuple[float, float]  # (lat, lon)
TravelTime = Callable[[Point, Point], "float | None"]  # seconds, None: unreachable


class PromiseError(ValueError):
    """An order that cannot be promised; `field` names the part (e.g. `lines[0].qty`)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class WarehouseStock:
    """What a micro-warehouse can give now: units per SKU not yet reserved, and how long
    until its vans can take one more delivery (`wait_s`, 0: one is free)."""

    warehouse: str
    location: Point
    available: Mapping[str, int]
    wait_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Hub:
    """The warehouse made goods for a customer are carried to before their delivery: its
    place, and how long until its vans can take one more trip (`wait_s`, 0: one is free)."""

    place: Point
    wait_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Recipe:
    """Machine-seconds to make a SKU at one factory: `setup_s` once plus `s_per_unit` each."""

    s_per_unit: float
    setup_s: float = 0.0


@dataclass(frozen=True, slots=True)
class FactoryOffer:
    """A factory's place, recipes, minimum batch, and capacity with and without opening hours."""

    factory: str
    location: Point
    recipes: Mapping[str, Recipe]
    pool: CapacityPool
    min_batch: int = 1
    # the same machines as if open around the clock (for telling what opening hours cost)
    pool_always_open: CapacityPool | None = None


@dataclass(frozen=True, slots=True)
class AllocationRule:
    """Lines of fewer than `below_qty` units go only to factories within `max_km` of the
    customer (e.g. "orders under 100 units only to factories within 150 km")."""

    below_qty: int
    max_km: float


@dataclass(frozen=True, slots=True)
class Line:
    """One order line."""

    sku: str
    qty: int


@dataclass(frozen=True, slots=True)
class StockPart:
    """Units reserved at a warehouse, and when they reach the customer."""

    warehouse: str
    qty: int
    eta_s: float


@dataclass(frozen=True, slots=True)
class MadePart:
    """Units to make at a factory: when they are made and when they reach the customer."""

    factory: str
    qty: int
    ready_s: float
    eta_s: float


@dataclass(frozen=True, slots=True)
class LinePromise:
    """How one line is served."""

    sku: str
    qty: int
    from_stock: tuple[StockPart, ...]
    made: tuple[MadePart, ...]
    eta_s: float
    bound_by: str


@dataclass(frozen=True, slots=True)
class Promise:
    """The answer to an order: per line, the ETA, the promised time and what bound it."""

    lines: tuple[LinePromise, ...]
    eta_s: float
    promised_s: float
    bound_by: str
    stock_taken: tuple[tuple[str, str, int], ...] = ()  # (warehouse, sku, qty)
    work_taken: tuple[tuple[str, float, bool], ...] = ()  # (factory, machine-s, from reserve)
    targets_met: bool = True


def haversine_km(a: Point, b: Point) -> float:
    """Great-circle distance in km between two (lat, lon) points (the planner's formula)."""
    return great_circle_m(LatLon(*a), LatLon(*b)) / 1000.0


@dataclass
class _Candidate:
    offer: FactoryOffer
    recipe: Recipe
    pool: CapacityPool
    to_door_s: float  # from the units being made (and a van free) to their delivery
    free_s: float = -math.inf  # when a van can first set out for them


def to_door_s(
    factory: Point, destination: Point, travel: TravelTime, hub: Hub | None = None
) -> float | None:
    """Seconds from units made at `factory` (and, carried, a van of the hub free) to their
    delivery at `destination` (None: a leg is unreachable): loaded and driven there; or,
    carried through the warehouse at `hub`, a van's drive from the hub to the factory,
    loading, the drive back, handling at the hub (or the wait for a van, if longer) and
    the delivery drive."""
    if hub is None:
        leg = travel(factory, destination)
        return None if leg is None else HANDLING_S + leg
    legs = (travel(hub.place, factory), travel(factory, hub.place), travel(hub.place, destination))
    if any(leg is None for leg in legs):
        return None
    return sum(leg for leg in legs if leg is not None) + HANDLING_S + max(HANDLING_S, hub.wait_s)


@dataclass
class _State:
    stock: dict[str, dict[str, int]]
    pools: dict[str, CapacityPool]
    stock_taken: list[tuple[str, str, int]] = field(default_factory=list)
    work_taken: list[tuple[str, float, bool]] = field(default_factory=list)


def promise_order(
    lines: Sequence[Line],
    *,
    destination: Point,
    service: Service,
    now_s: float,
    warehouses: Sequence[WarehouseStock],
    factories: Sequence[FactoryOffer],
    makers: Mapping[str, Sequence[str]],
    travel: TravelTime,
    rules: Sequence[AllocationRule] = (),
    hub: Hub | None = None,
) -> Promise:
    """Promise `lines` to `destination`; raise `PromiseError` naming the line that cannot be.
    `hub`: where made goods for `destination` are carried before delivery (None: they go
    from the factory)."""
    if service not in SERVICE_TARGET_S:
        raise PromiseError("service", f"must be one of {', '.join(SERVICE_TARGET_S)}")
    target_s = now_s + SERVICE_TARGET_S[service]
    state = _State(
        stock={w.warehouse: dict(w.available) for w in warehouses},
        pools={f.factory: f.pool.copy() for f in factories},
    )
    by_factory = {f.factory: f for f in factories}
    done: list[LinePromise] = []
    for index, line in enumerate(lines):
        where = f"lines[{index}]"
        holders = _holders(line.sku, warehouses, state, destination, travel, now_s)
        timely = [h for h in holders if h[0] <= target_s]
        stock_parts = _take_stock(line.sku, line.qty, timely, state)
        left = line.qty - sum(p.qty for p in stock_parts)
        made: list[MadePart] = []
        bound = "stock"
        if left > 0:
            offers = [by_factory[f] for f in makers.get(line.sku, ()) if f in by_factory]
            make = _Making(
                sku=line.sku,
                where=where,
                destination=destination,
                rush=service == "express",
                target_s=target_s,
                offers=offers,
                state=state,
                travel=travel,
                rules=rules,
                total_qty=sum(x.qty for x in lines),
                now_s=now_s,
                hub=hub,
            )
            late = [h for h in holders if h[0] > target_s]
            if late and not make.in_time(left):
                # production would be late too: late stock first (it is on a shelf), then make
                stock_parts += _take_stock(line.sku, left, late, state)
                left = line.qty - sum(p.qty for p in stock_parts)
            if left > 0:
                made, bound = make.book(left)
        etas = [p.eta_s for p in stock_parts] + [m.eta_s for m in made]
        done.append(
            LinePromise(line.sku, line.qty, tuple(stock_parts), tuple(made), max(etas), bound)
        )
    latest = max(done, key=lambda lp: lp.eta_s)
    eta = latest.eta_s
    margin = max(MIN_MARGIN_S, MARGIN_SHARE * (eta - now_s))
    return Promise(
        lines=tuple(done),
        eta_s=eta,
        promised_s=eta + margin,
        bound_by=latest.bound_by,
        stock_taken=tuple(state.stock_taken),
        work_taken=tuple(state.work_taken),
        targets_met=eta <= target_s,
    )


def _holders(
    sku: str,
    warehouses: Sequence[WarehouseStock],
    state: _State,
    destination: Point,
    travel: TravelTime,
    now_s: float,
) -> list[tuple[float, str, int]]:
    """(delivery time, warehouse, units) of every warehouse holding `sku`, soonest first."""
    holders: list[tuple[float, str, int]] = []
    for w in warehouses:
        have = state.stock[w.warehouse].get(sku, 0)
        leg = travel(w.location, destination) if have > 0 else None
        if leg is not None:
            holders.append((now_s + max(HANDLING_S, w.wait_s) + leg, w.warehouse, have))
    return sorted(holders)


def _take_stock(
    sku: str, qty: int, holders: Sequence[tuple[float, str, int]], state: _State
) -> list[StockPart]:
    """Reserve up to `qty` from `holders` in order: one holder of the whole quantity if
    there is one (fewer splits), else the first ones."""
    whole = [h for h in holders if h[2] >= qty]
    chosen = whole[:1] or list(holders)
    parts: list[StockPart] = []
    left = qty
    for eta, warehouse, have in chosen:
        if left == 0:
            break
        take = min(have, left)
        state.stock[warehouse][sku] -= take
        state.stock_taken.append((warehouse, sku, take))
        parts.append(StockPart(warehouse, take, eta))
        left -= take
    return parts


def _work(recipe: Recipe, qty: int) -> float:
    return recipe.setup_s + qty * recipe.s_per_unit


def _units_by(c: _Candidate, deadline_s: float, use_reserve: bool, min_batch: int) -> int:
    """Units the candidate can finish by `deadline_s` (0 if fewer than its minimum batch)."""
    if deadline_s - c.to_door_s < c.free_s:
        return 0
    work = c.pool.work_by(deadline_s - c.to_door_s, use_reserve=use_reserve)
    units = math.floor((work - c.recipe.setup_s) / c.recipe.s_per_unit + 1e-9)
    return units if units >= min_batch else 0


def _eligible(
    offers: Sequence[FactoryOffer],
    sku: str,
    destination: Point,
    rules: Sequence[AllocationRule],
    total_qty: int,
    travel: TravelTime,
    state: _State,
    *,
    apply_rules: bool,
    hub: Hub | None,
    now_s: float,
) -> list[_Candidate]:
    found: list[_Candidate] = []
    for offer in offers:
        recipe = offer.recipes.get(sku)
        if recipe is None:
            continue
        if apply_rules and any(
            total_qty < r.below_qty and haversine_km(offer.location, destination) > r.max_km
            for r in rules
        ):
            continue
        leg = to_door_s(offer.location, destination, travel, hub)
        if leg is None:
            continue
        free = -math.inf if hub is None else now_s + hub.wait_s
        found.append(_Candidate(offer, recipe, state.pools[offer.factory], leg, free))
    return found


def _plan_split(
    candidates: Sequence[_Candidate], qty: int, deadline_s: float, use_reserve: bool
) -> list[tuple[_Candidate, int]] | None:
    """Who makes how many by `deadline_s`: one factory if one can, else the most capable
    first; None if together they cannot."""
    able = [(c, _units_by(c, deadline_s, use_reserve, c.offer.min_batch)) for c in candidates]
    single = [c for c, units in able if units >= qty]
    if single:
        best = min(single, key=lambda c: _eta(c, qty, use_reserve) or math.inf)
        return [(best, qty)]
    able.sort(key=lambda cu: -cu[1])
    split: list[tuple[_Candidate, int]] = []
    left = qty
    for c, units in able:
        if left == 0:
            break
        if units <= 0:
            continue
        take = min(units, left)
        if take < c.offer.min_batch:
            continue
        split.append((c, take))
        left -= take
    return split if left == 0 else None


def _eta(c: _Candidate, qty: int, use_reserve: bool) -> float | None:
    ready = c.pool.finish_s(_work(c.recipe, qty), use_reserve=use_reserve)
    return None if ready is None else max(ready, c.free_s) + c.to_door_s


def _earliest(
    candidates: Sequence[_Candidate], qty: int, use_reserve: bool, lo: float, hi: float
) -> tuple[float, list[tuple[_Candidate, int]]] | None:
    """The earliest deadline (to the minute) by which the candidates together make `qty`."""
    best = _plan_split(candidates, qty, hi, use_reserve)
    if best is None:
        return None
    while hi - lo > 60.0:
        mid = (lo + hi) / 2
        split = _plan_split(candidates, qty, mid, use_reserve)
        if split is None:
            lo = mid
        else:
            hi, best = mid, split
    return hi, best


def _finish_time(
    candidates: Sequence[_Candidate], qty: int, target_s: float, use_reserve: bool
) -> tuple[float, list[tuple[_Candidate, int]]] | None:
    if not candidates:
        return None
    split = _plan_split(candidates, qty, target_s, use_reserve)
    if split is not None:
        return max(_eta(c, n, use_reserve) or math.inf for c, n in split), split
    horizon = max(max(c.pool.end_s, c.free_s) + c.to_door_s for c in candidates)
    return _earliest(candidates, qty, use_reserve, target_s, horizon)


@dataclass
class _Making:
    """Production of one line's remainder: which factories, and what bound its date."""

    sku: str
    where: str
    destination: Point
    rush: bool
    target_s: float
    offers: Sequence[FactoryOffer]
    state: _State
    travel: TravelTime
    rules: Sequence[AllocationRule]
    total_qty: int
    now_s: float
    hub: Hub | None = None

    def candidates(self, *, apply_rules: bool = True) -> list[_Candidate]:
        return _eligible(
            self.offers,
            self.sku,
            self.destination,
            self.rules,
            self.total_qty,
            self.travel,
            self.state,
            apply_rules=apply_rules,
            hub=self.hub,
            now_s=self.now_s,
        )

    def in_time(self, qty: int) -> bool:
        """Whether the factories can make `qty` by the target."""
        return _plan_split(self.candidates(), qty, self.target_s, self.rush) is not None

    def book(self, qty: int) -> tuple[list[MadePart], str]:
        """Choose the factories, name the binding constraint, and book their capacity."""
        candidates = self.candidates()
        chosen = _finish_time(candidates, qty, self.target_s, self.rush)
        if chosen is None:
            if not self.offers:
                reason = f"not enough stock of {self.sku!r}, and no factory makes it"
            else:
                reason = f"{qty} units of {self.sku!r} cannot be made within the planning horizon"
            raise PromiseError(f"{self.where}.qty", reason)
        eta, split = chosen
        bound = self._binding(eta, qty, candidates)
        parts: list[MadePart] = []
        for c, n in split:
            work = _work(c.recipe, n)
            ready = c.pool.finish_s(work, use_reserve=self.rush)
            if ready is None:  # _plan_split hands out only what the pool can finish
                raise PromiseError(f"{self.where}.qty", "capacity changed while promising")
            c.pool.book(work, use_reserve=self.rush)
            self.state.work_taken.append((c.offer.factory, work, self.rush))
            parts.append(MadePart(c.offer.factory, n, ready, max(ready, c.free_s) + c.to_door_s))
        return parts, bound

    def _binding(self, eta: float, qty: int, candidates: Sequence[_Candidate]) -> str:
        """Which constraint set the date: each is lifted in turn and the first whose lifting
        makes the line earlier (by more than a minute) is named; `capacity` otherwise."""
        if eta <= self.target_s:
            return "capacity"

        def earlier(cands: Sequence[_Candidate], use_reserve: bool) -> bool:
            found = _finish_time(cands, qty, self.target_s, use_reserve)
            return found is not None and found[0] < eta - 60.0

        if not self.rush and earlier(candidates, True):
            return "reserve"
        unruled = self.candidates(apply_rules=False)
        if len(unruled) > len(candidates) and earlier(unruled, self.rush):
            return "distance_rule"
        # (the always-open pools do not carry this order's earlier lines: an approximation)
        always = [
            _Candidate(c.offer, c.recipe, c.offer.pool_always_open, c.to_door_s, c.free_s)
            for c in candidates
            if c.offer.pool_always_open is not None
        ]
        if always and earlier(always, self.rush):
            return "opening_hours"
        return "capacity"
