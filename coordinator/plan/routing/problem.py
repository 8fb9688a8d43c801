"""The delivery-routing problem (VRPTW with several depots) and its result.

Two ways to say how long a leg takes. Planar (the solver benchmarks): coordinates `x`, `y`
in plan units, the travel time between two points equals their distance, and distances
follow the DIMACS convention (each arc's Euclidean length truncated to
`distance_decimals` decimals). Located (the coordinator): a `TravelMatrix` of travel times
between named places (depots, orders, vehicles' positions), in plan units, made by the
travel-time port (`coordinator.plan.routing.travel`); coordinates are then ignored.
Solvers work on integers in units of 10**-distance_decimals either way.

A vehicle on the road starts from where it is (`VehicleStart`): its route begins there,
at that time, instead of at its depot when the depot opens.
"""

from __future__ import annotations

from dataclasses import dataclass

from coordinator.plan.errors import ProblemError

__all__ = [
    "Depot",
    "Order",
    "PinnedStop",
    "Route",
    "RoutingProblem",
    "RoutingResult",
    "TravelMatrix",
    "Unserved",
    "Vehicle",
    "VehicleStart",
]

NO_LIMIT = 10**12


@dataclass(frozen=True, slots=True)
class Depot:
    """A micro-warehouse vehicles start from and return to, open during [open, close];
    `lat`, `lon` where it is on Earth (None: planar only)."""

    id: str
    x: float
    y: float
    open: float = 0.0
    close: float = NO_LIMIT
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True, slots=True)
class Order:
    """A delivery: where, how much, and the window in which service must start;
    `depot_id`, when it names a depot of the problem, the depot whose vehicles must carry
    it (where its goods are; see `routing.depots`). `promised`: when service should start
    to keep a promise, which dispatch holds a tour to (`routing.tours`) but routes are not
    bound by: a stop past it is still routed, and leaves with the next van."""

    id: str
    x: float
    y: float
    demand: int
    ready: float = 0.0
    due: float = NO_LIMIT
    service: float = 0.0
    lat: float | None = None
    lon: float | None = None
    depot_id: str | None = None
    promised: float = NO_LIMIT

    def __post_init__(self) -> None:
        if self.demand < 0 or self.service < 0:
            raise ProblemError(f"order {self.id}: negative demand or service time")
        if self.due < self.ready:
            raise ProblemError(f"order {self.id}: window closes before it opens")


@dataclass(frozen=True, slots=True)
class VehicleStart:
    """Where a vehicle on the road is (`place_id` names it in a `TravelMatrix`; `x`, `y`
    for planar problems) and when, in plan units."""

    place_id: str
    x: float = 0.0
    y: float = 0.0
    time: float = 0.0


@dataclass(frozen=True, slots=True)
class Vehicle:
    """A vehicle based at `depot_id`; `max_duration` bounds its route's duration; `start`
    says where it is when it is on the road (None: at its depot)."""

    id: str
    depot_id: str
    capacity: int
    max_duration: float | None = None
    start: VehicleStart | None = None

    def __post_init__(self) -> None:
        if self.capacity < 0:
            raise ProblemError(f"vehicle {self.id}: negative capacity")


@dataclass(frozen=True, slots=True)
class PinnedStop:
    """An order committed to a vehicle; a vehicle's pinned stops start its route, in order."""

    order_id: str
    vehicle_id: str


@dataclass(frozen=True)
class TravelMatrix:
    """Travel times in plan units between named places: `times[i][j]` from `ids[i]` to
    `ids[j]` (finite, non-negative)."""

    ids: tuple[str, ...]
    times: tuple[tuple[float, ...], ...]

    def __post_init__(self) -> None:
        n = len(self.ids)
        if len(set(self.ids)) != n:
            raise ProblemError("a travel matrix names a place twice")
        if len(self.times) != n or any(len(row) != n for row in self.times):
            raise ProblemError(f"a travel matrix for {n} places must be {n} x {n}")
        for row in self.times:
            for t in row:
                if not 0.0 <= t < NO_LIMIT:  # also refuses NaN
                    raise ProblemError(f"travel time {t!r} out of range")

    def index(self) -> dict[str, int]:
        """Place id → row."""
        return {place: i for i, place in enumerate(self.ids)}


@dataclass(frozen=True)
class RoutingProblem:
    """Depots, orders, vehicles and committed stops; validated on construction."""

    depots: tuple[Depot, ...]
    orders: tuple[Order, ...]
    vehicles: tuple[Vehicle, ...]
    pinned: tuple[PinnedStop, ...] = ()
    distance_decimals: int = 1
    name: str = ""
    travel: TravelMatrix | None = None

    def __post_init__(self) -> None:
        depot_ids = {d.id for d in self.depots}
        if len(depot_ids) != len(self.depots) or not self.depots:
            raise ProblemError("need at least one depot, with unique ids")
        order_ids = {o.id for o in self.orders}
        if len(order_ids) != len(self.orders):
            raise ProblemError("duplicate order id")
        if order_ids & depot_ids:
            raise ProblemError("an order and a depot share an id")
        vehicle_ids = {v.id for v in self.vehicles}
        if len(vehicle_ids) != len(self.vehicles):
            raise ProblemError("duplicate vehicle id")
        for vehicle in self.vehicles:
            if vehicle.depot_id not in depot_ids:
                raise ProblemError(f"vehicle {vehicle.id} at unknown depot {vehicle.depot_id}")
        seen: set[str] = set()
        for pin in self.pinned:
            if pin.order_id not in order_ids or pin.vehicle_id not in vehicle_ids:
                raise ProblemError(f"pinned stop {pin.order_id} names an unknown order or vehicle")
            if pin.order_id in seen:
                raise ProblemError(f"order {pin.order_id} pinned twice")
            seen.add(pin.order_id)
        if not 0 <= self.distance_decimals <= 4:
            raise ProblemError("distance_decimals must be within 0..4")
        if self.travel is not None:
            known = set(self.travel.ids)
            places = [*depot_ids, *order_ids]
            places += [v.start.place_id for v in self.vehicles if v.start is not None]
            missing = sorted(p for p in places if p not in known)
            if missing:
                raise ProblemError(f"no travel times for {missing[:5]}")


@dataclass(frozen=True, slots=True)
class Route:
    """One vehicle's route: the orders in visiting order, its distance and timing."""

    vehicle_id: str
    depot_id: str
    stops: tuple[str, ...]
    distance: float
    start: float
    end: float
    load: int


@dataclass(frozen=True, slots=True)
class Unserved:
    """An order no route serves, and the limit that blocked it."""

    order_id: str
    reason: str  # "capacity", "time_window", "route_length" or "fleet"
    detail: str


@dataclass(frozen=True, slots=True)
class RoutingResult:
    """Routes (non-empty only), their total distance, and the orders left out."""

    routes: tuple[Route, ...]
    total_distance: float
    unserved: tuple[Unserved, ...] = ()
    solver: str = ""
    wall_time_s: float = 0.0

    def stops_by_vehicle(self) -> dict[str, tuple[str, ...]]:
        """Map each used vehicle to its stops."""
        return {r.vehicle_id: r.stops for r in self.routes}
