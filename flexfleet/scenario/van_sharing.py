"""The flexfleet policy's vans shared between warehouses: the world's facts fed to
`coordinator.plan.routing.lending` at the policy's decision times, and its moves done.

At every dispatch decision of the delivery day a warehouse that is behind borrows a van
(`lending.loans`); at the first step after the delivery day the borrowed vans that are no
longer needed go home (`lending.returns`). A closed warehouse neither lends nor borrows.
What the rule reads is what the world shows: how long the oldest ready consignment has
waited at each warehouse, and the van time of its tours over the last day (loading, the
road kilometres at the delivery speed, the service at each stop).
"""

from __future__ import annotations

from collections import deque

from coordinator.plan.routing.lending import DepotVans, VanMove, loans, returns
from flexfleet.scenario.world import DAY_S, LOADING_S, STEP_S, TourRecord, World


class VanSharing:
    """Which warehouse's vans are lent to which (see the module)."""

    def __init__(self, *, every_s: float) -> None:
        self.every_s = every_s  # the policy's dispatch decisions, this often in the day
        self.borrowed: dict[str, list[str]] = {}  # borrower -> home of each borrowed van
        self._tours: dict[str, deque[tuple[float, float]]] = {}  # departed at, van seconds
        self._seen = 0

    def look(self, world: World) -> list[VanMove]:
        """Lend or send home vans if now is a decision time; the moves done."""
        d = world.scenario.delivery
        day_s = d.delivery_day_h * 3600.0
        into = (world.t - d.wave_hour * 3600.0) % DAY_S  # seconds into the delivery day
        if into < day_s and into % self.every_s < STEP_S / 2:
            moves = loans(
                self._depots(world),
                day_s=day_s,
                distance_km=lambda a, b: world.road_km(world.point(a), world.point(b)),
            )
        elif day_s <= into < day_s + STEP_S:
            moves = returns(self._depots(world), day_s=day_s)
        else:
            return []
        for move in moves:
            world.move_van(move.van_from, move.to)
            if move.reason == "lend":
                self.borrowed.setdefault(move.to, []).append(move.van_from)
            else:
                self.borrowed[move.van_from].remove(move.to)
        return moves

    def _depots(self, world: World) -> list[DepotVans]:
        d = world.scenario.delivery
        for tour in world.log.tours[self._seen :]:
            self._tours.setdefault(tour.warehouse, deque()).append(
                (tour.depart_s, _van_s(tour, d.speed_kmh, d.service_min * 60.0))
            )
        self._seen = len(world.log.tours)
        depots = []
        for w in sorted(world.warehouses):
            if world.closed_until[w] > world.t:
                continue
            history = self._tours.setdefault(w, deque())
            while history and history[0][0] <= world.t - DAY_S:
                history.popleft()
            ready = [c.ready_s for c in world.waiting[w] if c.ready_s <= world.t]
            depots.append(
                DepotVans(
                    w,
                    vans=world.vans[w],
                    free=world.free_vans(w),
                    oldest_wait_s=world.t - min(ready) if ready else 0.0,
                    busy_s=sum(s for _, s in history),
                    borrowed=tuple(self.borrowed.get(w, ())),
                )
            )
        return depots


def _van_s(tour: TourRecord, speed_kmh: float, service_s: float) -> float:
    """A tour's van time: loading, its road kilometres at `speed_kmh`, and its stops."""
    km = tour.depot_km + tour.between_km
    return LOADING_S + km / speed_kmh * 3600.0 + len(tour.orders) * service_s


__all__ = ["VanSharing"]
