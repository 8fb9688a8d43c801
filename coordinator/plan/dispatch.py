"""`TourDispatch`: the running coordinator's vans sent on tours (`routing.tours`).

`PlanService` keeps one when tours are on, and calls it under its lock after every route
plan and whenever a look at the held tours is due (`look_again`). `look` reads the current
routes, what each van carries (the service's pins, which it extends with the stops of each
tour that leaves) and where the vans are, and returns the route commands to send: a van on
a tour its loaded stops when it must be told them, a van at its depot its planned route
when the departure rules let it leave (the command says `departs` and why; the runner
records the load before sending). `view` says what each van does, for the routes API.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from coordinator.plan.routing.departures import DeparturePolicy
from coordinator.plan.routing.live import Position
from coordinator.plan.routing.problem import (
    Depot,
    Order,
    PinnedStop,
    RoutingProblem,
    RoutingResult,
    Vehicle,
)
from coordinator.plan.routing.tours import at_depot, look_at_tour, on_board_to_send

__all__ = ["Look", "TourDispatch"]

Message = tuple[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Look:
    """The moment of a look: plan units and their epoch, wall and monotonic seconds, and
    the version of the routes looked at (the version of the commands)."""

    now: int
    unit_s: float
    epoch_s: float
    wall_s: float
    monotonic_s: float
    version: int


class TourDispatch:
    """The tours' state: when each delivery entered the plan, what each van was sent, why
    and when each van out left, the tours sent per reason, and the next look (not
    thread-safe: the service calls it under its lock)."""

    def __init__(self, policy: DeparturePolicy, *, every_s: float) -> None:
        self.policy = policy
        self.every_s = every_s
        self.since: dict[str, int] = {}  # delivery → when it entered the plan (plan units)
        self.routed: RoutingProblem | None = None  # the problem the current routes solve
        self.look_again: float | None = None  # monotonic time to look at held tours
        self.departed_per_reason: Counter[str] = Counter()
        self.view: dict[str, dict[str, Any]] = {}  # vehicle → what it does
        self._sent: dict[str, tuple[str, ...]] = {}  # vehicle → the stops last sent to it
        self._departed: dict[str, tuple[str, int]] = {}  # vehicle out → (why, when it left)

    def entered(self, order_ids: Sequence[str], now: int) -> None:
        """Deliveries handed to the planner now (one already there keeps its time)."""
        for order_id in order_ids:
            self.since.setdefault(order_id, now)

    def closed(self, order_ids: Sequence[str]) -> None:
        """Deliveries that left the plan (delivered or cancelled)."""
        for order_id in order_ids:
            self.since.pop(order_id, None)

    def unload(self, vehicle_id: str, monotonic_s: float) -> None:
        """A tour that did not leave after all (the service took its stops off the van):
        forget it, and look at the held tours again later."""
        self._sent.pop(vehicle_id, None)
        reason = self._departed.pop(vehicle_id, None)
        if reason is not None:
            self.departed_per_reason[reason[0]] -= 1
        self.look_again = monotonic_s + self.every_s

    def look(
        self,
        at: Look,
        *,
        routes: RoutingResult | None,
        vehicles: Sequence[Vehicle],
        depots: Mapping[str, Depot],
        orders: Mapping[str, Order],
        pins: dict[str, PinnedStop],
        positions: Mapping[str, Position],
    ) -> list[Message]:
        """The route commands to send now (see the module); the stops of each tour that
        leaves are added to `pins`, after the others."""
        self.look_again = None
        problem = self.routed
        if routes is None or problem is None:
            return []
        next_chance = at.now + self.every_s / at.unit_s
        planned = {r.vehicle_id: r for r in routes.routes}
        messages: list[Message] = []
        view: dict[str, dict[str, Any]] = {}
        for vehicle in vehicles:
            on_board = tuple(
                p.order_id
                for p in pins.values()
                if p.vehicle_id == vehicle.id and p.order_id in orders
            )
            base = {
                "vehicle_id": vehicle.id,
                "depot_id": vehicle.depot_id,
                "capacity": vehicle.capacity,
            }
            if on_board:
                if on_board_to_send(on_board, self._sent.get(vehicle.id, ())):
                    messages.append(self._message(vehicle, on_board, None, at.version))
                reason, departed_ms = self._departed.get(vehicle.id, (None, None))
                view[vehicle.id] = base | {
                    "state": "out",
                    "stops": list(on_board),
                    "load": sum(orders[s].demand for s in on_board),
                    "reason": reason,
                    "departed_ms": departed_ms,
                }
                continue
            self._departed.pop(vehicle.id, None)
            route = planned.get(vehicle.id)
            stops = tuple(s for s in route.stops if s in orders) if route else ()
            depot = depots[vehicle.depot_id]
            where = positions.get(vehicle.id)
            if not at_depot(
                None if where is None else (where.lat, where.lon), (depot.lat, depot.lon)
            ):
                # its tour is done and it is on its way back; what is planned for it waits
                view[vehicle.id] = base | {"state": "returning", "stops": list(stops)}
                self.look_again = at.monotonic_s + self.every_s
                continue
            if route is None or not stops:
                view[vehicle.id] = base | {"state": "idle", "stops": []}
                continue
            tour = look_at_tour(
                problem,
                replace(route, stops=stops),
                capacity=vehicle.capacity,
                since=self.since,
                now=at.now,
                next_chance=next_chance,
                unit_s=at.unit_s,
                policy=self.policy,
            )
            if tour.reason is None:
                view[vehicle.id] = base | {
                    "state": "held",
                    "stops": list(stops),
                    "load": tour.load,
                    "leaves_by_ms": int((at.epoch_s + tour.leaves_by * at.unit_s) * 1000),
                }
                self.look_again = at.monotonic_s + self.every_s
                continue
            for stop in stops:
                pins.pop(stop, None)
                pins[stop] = PinnedStop(stop, vehicle.id)
            departed_ms = int(at.wall_s * 1000)
            self._departed[vehicle.id] = (tour.reason, departed_ms)
            self.departed_per_reason[tour.reason] += 1
            messages.append(self._message(vehicle, stops, tour.reason, at.version))
            view[vehicle.id] = base | {
                "state": "out",
                "stops": list(stops),
                "load": tour.load,
                "reason": tour.reason,
                "departed_ms": departed_ms,
            }
        self.view = view
        return messages

    def _message(
        self, vehicle: Vehicle, stops: tuple[str, ...], departs: str | None, version: int
    ) -> Message:
        self._sent[vehicle.id] = stops
        payload = {
            "kind": "route",
            "version": version,
            "vehicle_id": vehicle.id,
            "depot_id": vehicle.depot_id,
            "stops": list(stops),
            "departs": departs,
        }
        return vehicle.depot_id, payload
