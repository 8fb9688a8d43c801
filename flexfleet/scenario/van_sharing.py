"""The flexfleet policy's vans shared between warehouses: the world's facts fed to
`coordinator.plan.routing.lending` at the policy's decision times, and its moves done.

At every dispatch decision of the delivery day the warehouses that are short borrow a van
(`lending.loans`); at the first step after the delivery day the borrowed vans that are no
longer needed go home (`lending.returns`). A closed warehouse neither lends nor borrows.
The figures (van-seconds) come from what the world shows the policy:

- van time per stop: the mean over the warehouse's last `HISTORY_TOURS` tours (loading, the
  drive at the delivery speed, the service at each stop); a warehouse that has sent no tour
  yet takes no part;
- waiting: the consignments waiting there (ready or not) at that time per stop;
- a usual day: the consignments queued there over the last day, at that time per stop;
- what its vans can still do today: each van's rest of the delivery day, from when it is
  back (or arrives) if it is out.
"""

from __future__ import annotations

import bisect
from collections import deque
from typing import Final

from coordinator.plan.routing.lending import DepotVans, VanMove, loans, returns
from flexfleet.scenario.world import DAY_S, LOADING_S, STEP_S, TourRecord, World

HISTORY_TOURS: Final = 40


class VanSharing:
    """Which warehouse's vans are lent to which (see the module)."""

    def __init__(self, *, every_s: float) -> None:
        self.every_s = every_s  # the policy's dispatch decisions, this often in the day
        self.borrowed: dict[str, list[str]] = {}  # borrower -> home of each borrowed van
        self._tours: dict[str, deque[tuple[int, float]]] = {}  # stops, van seconds
        self._seen = 0

    def look(self, world: World) -> list[VanMove]:
        """Lend or send home vans if now is a decision time; the moves done."""
        d = world.scenario.delivery
        day_s = d.delivery_day_h * 3600.0
        into = (world.t - d.wave_hour * 3600.0) % DAY_S  # seconds into the delivery day
        if into < day_s and into % self.every_s < STEP_S / 2:
            self._learn(world)
            depots = self._depots(world, day_left_s=day_s - into)
            moves = loans(
                depots,
                day_s=day_s,
                day_left_s=day_s - into,
                distance_km=lambda a, b: world.road_km(world.point(a), world.point(b)),
            )
        elif day_s <= into < day_s + STEP_S:
            self._learn(world)
            moves = returns(self._depots(world, day_left_s=0.0), day_s=day_s)
        else:
            return []
        for move in moves:
            world.move_van(move.van_from, move.to)
            if move.reason == "lend":
                self.borrowed.setdefault(move.to, []).append(move.van_from)
            else:
                self.borrowed[move.van_from].remove(move.to)
        return moves

    def _learn(self, world: World) -> None:
        d = world.scenario.delivery
        for tour in world.log.tours[self._seen :]:
            history = self._tours.setdefault(tour.warehouse, deque(maxlen=HISTORY_TOURS))
            history.append((len(tour.orders), _van_s(tour, d.speed_kmh, d.service_min * 60.0)))
        self._seen = len(world.log.tours)

    def _depots(self, world: World, *, day_left_s: float) -> list[DepotVans]:
        depots = []
        for w in sorted(world.warehouses):
            history = self._tours.get(w)
            if world.closed_until[w] > world.t or not history:
                continue
            per_stop = sum(s for _, s in history) / max(1, sum(n for n, _ in history))
            out = [back for back in world.vehicles_out[w] if back > world.t]
            free = max(0, world.vans[w] - len(out))
            left = free * day_left_s + sum(max(0.0, day_left_s - (back - world.t)) for back in out)
            queued = world.queued_s[w]
            last_day = len(queued) - bisect.bisect_right(queued, world.t - DAY_S)
            depots.append(
                DepotVans(
                    w,
                    vans=world.vans[w],
                    free=free,
                    waiting_s=len(world.waiting[w]) * per_stop,
                    left_s=left,
                    daily_s=last_day * per_stop,
                    borrowed=tuple(self.borrowed.get(w, ())),
                )
            )
        return depots


def _van_s(tour: TourRecord, speed_kmh: float, service_s: float) -> float:
    """A tour's van time: loading, its road kilometres at `speed_kmh`, and its stops."""
    km = tour.depot_km + tour.between_km
    return LOADING_S + km / speed_kmh * 3600.0 + len(tour.orders) * service_s


__all__ = ["HISTORY_TOURS", "VanSharing"]
