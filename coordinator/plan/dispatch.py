"""`TourDispatch`: the running coordinator's vans sent on tours (`routing.tours`).

`PlanService` keeps one when tours are on, and calls it under its lock after every route
plan and whenever a look at the held tours is due (`look_again`). `look` reads the current
routes, what each van carries (the service's pins, which it extends with the stops of each
tour that leaves) and where the vans are, and returns the route commands to send: a van on
a tour its loaded stops when it must be told them, a van at its depot its planned route
when the departure rules let it leave (the command says `departs` and why; the runner
records the load before sending). `view` says what each van does, for the routes API.

Two waits keep a van from leaving without goods that are about to join its tour:

- **unloading**: a van back at its depot with transfers it picked up at a factory
  (`picked_up`) waits until the warehouse reports their receipt (`received`): the goods of
  a made order become its delivery only then, and a van that left the moment it was back
  took its next tour without them while they waited hours for its return;
- **the plan**: a tour about to leave while deliveries bound to its depot are in no route
  plan yet (`pending`) is planned once more first (`plan_wanted`: the service re-plans at
  once), which may put them on it; after that plan it leaves, whatever came in since. A
  tour leaving for a promise waits too: one solve (a second at the plant's pace) against
  hours for the new deliveries if the van left without them.

Each lasts at most one look interval (`every_s`) per van: a receipt that never comes (a
warehouse without an agent) or a plan that fails holds no van longer.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from coordinator.plan.routing.departures import DeparturePolicy
from coordinator.plan.routing.live import Position
from coordinator.plan.routing.problem import (
    Depot,
    Order,
    PinnedStop,
    Route,
    RoutingProblem,
    RoutingResult,
    Vehicle,
)
from coordinator.plan.routing.tours import at_depot, look_at_tour, on_board_to_send
from coordinator.plan.van_loans import VanLoans

__all__ = ["Look", "TourDispatch"]

log = logging.getLogger(__name__)

Message = tuple[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Look:
    """The moment of a look: plan units and their epoch, the clock's date (s; simulated
    under a scaled clock), and the version of the routes looked at (the version of the
    commands)."""

    now: int
    unit_s: float
    epoch_s: float
    wall_s: float
    version: int


@dataclass(frozen=True, slots=True)
class _Scene:
    """What one look sees (see `TourDispatch.look`)."""

    at: Look
    problem: RoutingProblem
    planned: Mapping[str, Route]
    depots: Mapping[str, Depot]
    orders: Mapping[str, Order]
    pins: dict[str, PinnedStop]
    positions: Mapping[str, Position]
    pending: frozenset[str]


class TourDispatch:
    """The tours' state: when each delivery entered the plan, what each van was sent, why
    and when each van out left, the tours sent per reason, and the next look (not
    thread-safe: the service calls it under its lock)."""

    def __init__(
        self, policy: DeparturePolicy, *, every_s: float, loans: VanLoans | None = None
    ) -> None:
        self.policy = policy
        self.every_s = every_s
        self.loans = loans
        self.since: dict[str, int] = {}  # delivery → when it entered the plan (plan units)
        self.routed: RoutingProblem | None = None  # the problem the current routes solve
        # the clock's date (s) to look at held tours again: a business interval, on the
        # simulated clock when there is one
        self.look_again: float | None = None
        self.departed_per_reason: Counter[str] = Counter()
        self.view: dict[str, dict[str, Any]] = {}  # vehicle → what it does
        self._sent: dict[str, tuple[str, ...]] = {}  # vehicle → the stops last sent to it
        self._departed: dict[str, tuple[str, int]] = {}  # vehicle out → (why, when it left)
        self.carrying: dict[str, set[str]] = {}  # vehicle → transfers on board, not received
        self.plan_wanted = False  # a tour waits for one more plan (see the module)
        self._unloading_since: dict[str, float] = {}  # vehicle → back at its depot since (s)
        self._plan_asked: dict[str, tuple[float, int]] = {}  # vehicle → (since, routes version)

    def entered(self, order_ids: Sequence[str], now: int) -> None:
        """Deliveries handed to the planner now (one already there keeps its time)."""
        for order_id in order_ids:
            self.since.setdefault(order_id, now)

    def closed(self, order_ids: Sequence[str]) -> None:
        """Deliveries that left the plan (delivered or cancelled)."""
        for order_id in order_ids:
            self.since.pop(order_id, None)

    def picked_up(self, vehicle_id: str, transfer_ids: Iterable[str]) -> None:
        """Transfers `vehicle_id` took on at their factory: it unloads them at its depot."""
        self.carrying.setdefault(vehicle_id, set()).update(transfer_ids)

    def received(self, transfer_ids: Iterable[str]) -> bool:
        """Transfers received at their warehouse; True if a van was waiting to unload them
        (so it may leave: look again)."""
        done = set(transfer_ids)
        unloaded = False
        for vehicle_id, carried in list(self.carrying.items()):
            if carried & done:
                unloaded = True
                carried.difference_update(done)
                if not carried:
                    del self.carrying[vehicle_id]
        return unloaded

    def _waits_for_plan(self, vehicle_id: str, at: Look) -> bool:
        """Whether a tour about to leave waits for one more plan: not once a plan was made
        since it first waited (or `every_s` passed)."""
        since, version = self._plan_asked.setdefault(vehicle_id, (at.wall_s, at.version))
        return at.version == version and at.wall_s - since < self.every_s

    def unload(self, vehicle_id: str, now_s: float) -> None:
        """A tour that did not leave after all (the service took its stops off the van):
        forget it, and look at the held tours again later."""
        self._sent.pop(vehicle_id, None)
        reason = self._departed.pop(vehicle_id, None)
        if reason is not None:
            self.departed_per_reason[reason[0]] -= 1
        self.look_again = now_s + self.every_s

    def based(self, vehicles: Sequence[Vehicle]) -> tuple[Vehicle, ...]:
        """The declared vehicles, each at the depot it is based at now (lent or home)."""
        return self.loans.based(vehicles) if self.loans is not None else tuple(vehicles)

    def routed_fleet(
        self,
        vehicles: Sequence[Vehicle],
        pins: Mapping[str, PinnedStop],
        orders: Mapping[str, Order],
    ) -> tuple[Vehicle, ...]:
        """The vehicles as the router must see them: each at the depot it is based at, and
        a van on a tour with no room beyond what it carries (its capacity its load): what
        it does not carry is at the depot, so the router gives new deliveries to the other
        vans, or to this one once it is back (rather than after its stops, where it would
        hold them until it returns while another van stands free)."""
        load: dict[str, int] = {}
        for pin in pins.values():
            if pin.order_id in orders:
                load[pin.vehicle_id] = load.get(pin.vehicle_id, 0) + orders[pin.order_id].demand
        return tuple(
            replace(v, capacity=min(v.capacity, load[v.id])) if v.id in load else v
            for v in self.based(vehicles)
        )

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
        pending: Collection[str] = (),
    ) -> list[Message]:
        """The route commands to send now (see the module); the stops of each tour that
        leaves are added to `pins`, after the others. `vehicles`: the fleet as declared;
        `pending`: the depots with deliveries bound there in no route plan yet."""
        self.look_again = None
        self.plan_wanted = False
        if routes is None or self.routed is None:
            return []
        scene = _Scene(
            at, self.routed, {r.vehicle_id: r for r in routes.routes}, depots, orders, pins,
            positions, frozenset(pending),
        )  # fmt: skip
        messages: list[Message] = []
        view: dict[str, dict[str, Any]] = {}
        free: list[str] = []
        for vehicle in self.based(vehicles):
            base = {
                "vehicle_id": vehicle.id,
                "depot_id": vehicle.depot_id,
                "capacity": vehicle.capacity,
            }
            state, message = self._look_at_van(scene, vehicle)
            view[vehicle.id] = base | state
            if message is not None:
                messages.append(message)
            if state["state"] in ("idle", "held"):
                free.append(vehicle.id)
            if state["state"] in ("returning", "unloading", "held"):
                self.look_again = at.wall_s + self.every_s
        if self.loans is not None:
            messages += self._lend(at, vehicles, free, depots, orders, pins, view)
        if any(order_id not in pins for order_id in orders):
            # a delivery waits (held, behind a van's tour, or unserved): look again
            self.look_again = at.wall_s + self.every_s
        if self.plan_wanted:  # a tour waits for the plan: the service makes it at once
            self.look_again = at.wall_s
        self.view = view
        return messages

    def _look_at_van(
        self, scene: _Scene, vehicle: Vehicle
    ) -> tuple[dict[str, Any], Message | None]:
        """What one van does now (its `view` entry less the common part) and the command
        to send it, if any."""
        at, orders = scene.at, scene.orders
        on_board = tuple(
            p.order_id
            for p in scene.pins.values()
            if p.vehicle_id == vehicle.id and p.order_id in orders
        )
        if on_board:
            message = None
            if on_board_to_send(on_board, self._sent.get(vehicle.id, ())):
                message = self._message(vehicle, on_board, None, at.version)
            reason, departed_ms = self._departed.get(vehicle.id, (None, None))
            return {
                "state": "out",
                "stops": list(on_board),
                "load": sum(orders[s].demand for s in on_board),
                "reason": reason,
                "departed_ms": departed_ms,
            }, message
        self._departed.pop(vehicle.id, None)
        route = scene.planned.get(vehicle.id)
        stops = tuple(s for s in route.stops if s in orders) if route else ()
        depot = scene.depots[vehicle.depot_id]
        where = scene.positions.get(vehicle.id)
        if not at_depot(None if where is None else (where.lat, where.lon), (depot.lat, depot.lon)):
            # its tour is done and it is on its way back; what is planned for it waits
            message = None
            if vehicle.id not in self._sent:  # told nothing since a restart: go back
                message = self._message(vehicle, (), None, at.version)
            return {"state": "returning", "stops": list(stops)}, message
        if self.loans is not None:
            self.loans.back(vehicle.id, at.wall_s)
        if self._unloading(vehicle.id, at.wall_s):
            carrying = sorted(self.carrying[vehicle.id])
            return {"state": "unloading", "stops": list(stops), "carrying": carrying}, None
        if route is None or not stops:
            self._plan_asked.pop(vehicle.id, None)
            return {"state": "idle", "stops": []}, None
        tour = look_at_tour(
            scene.problem,
            replace(route, stops=stops),
            capacity=vehicle.capacity,
            since=self.since,
            now=at.now,
            next_chance=at.now + self.every_s / at.unit_s,
            unit_s=at.unit_s,
            policy=self.policy,
        )
        held = {"state": "held", "stops": list(stops), "load": tour.load}
        if tour.reason is None:
            self._plan_asked.pop(vehicle.id, None)
            until_s = at.epoch_s + tour.leaves_by * at.unit_s
            return held | {"leaves_by_ms": int(until_s * 1000)}, None
        if vehicle.depot_id in scene.pending and self._waits_for_plan(vehicle.id, at):
            self.plan_wanted = True
            until_s = self._plan_asked[vehicle.id][0] + self.every_s
            return held | {"leaves_by_ms": int(until_s * 1000), "waits_for": "plan"}, None
        message = self._leave(at, vehicle, stops, tour.reason, scene.pins)
        return {
            "state": "out",
            "stops": list(stops),
            "load": tour.load,
            "reason": tour.reason,
            "departed_ms": self._departed[vehicle.id][1],
        }, message

    def _unloading(self, vehicle_id: str, now_s: float) -> bool:
        """Whether a van back at its depot still waits for the receipt of what it carried
        (at most `every_s`; then it goes on, and the missing receipt is logged)."""
        if not self.carrying.get(vehicle_id):
            self._unloading_since.pop(vehicle_id, None)
            return False
        since = self._unloading_since.setdefault(vehicle_id, now_s)
        if now_s - since < self.every_s:
            return True
        log.warning(
            "%s: no receipt for %s within %g s of its return; it goes on",
            vehicle_id,
            ", ".join(sorted(self.carrying.pop(vehicle_id))),
            self.every_s,
        )
        self._unloading_since.pop(vehicle_id, None)
        return False

    def _leave(
        self,
        at: Look,
        vehicle: Vehicle,
        stops: tuple[str, ...],
        reason: str,
        pins: dict[str, PinnedStop],
    ) -> Message:
        """A tour leaving now: its stops loaded on the van, its departure noted."""
        for stop in stops:
            pins.pop(stop, None)
            pins[stop] = PinnedStop(stop, vehicle.id)
        self._plan_asked.pop(vehicle.id, None)
        self._departed[vehicle.id] = (reason, int(at.wall_s * 1000))
        self.departed_per_reason[reason] += 1
        if self.loans is not None:
            self.loans.left(vehicle.id, vehicle.depot_id, at.wall_s)
        return self._message(vehicle, stops, reason, at.version)

    def _lend(
        self,
        at: Look,
        declared: Sequence[Vehicle],
        free: Sequence[str],
        depots: Mapping[str, Depot],
        orders: Mapping[str, Order],
        pins: Mapping[str, PinnedStop],
        view: dict[str, dict[str, Any]],
    ) -> list[Message]:
        """Vans lent to the depots behind, and sent home once not needed (`VanLoans`):
        each is sent to its new depot with no stops, and shows as returning there."""
        assert self.loans is not None
        waits_s: dict[str, float] = {}
        for order in orders.values():
            if order.depot_id is not None and order.id not in pins:
                waited = (at.now - self.since.get(order.id, at.now)) * at.unit_s
                waits_s[order.depot_id] = max(waits_s.get(order.depot_id, 0.0), waited)
        moves = self.loans.moves(
            declared=declared, free=free, waits_s=waits_s, depots=depots, now_s=at.wall_s
        )
        by_id = {v.id: v for v in declared}
        messages = []
        for move in moves:
            vehicle = replace(by_id[move.vehicle_id], depot_id=move.to)
            message = self._message(vehicle, (), None, at.version)
            message[1]["van_move"] = move.reason
            messages.append(message)
            view[vehicle.id] = view[vehicle.id] | {"depot_id": move.to, "state": "returning"}
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
