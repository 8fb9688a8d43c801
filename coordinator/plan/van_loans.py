"""`VanLoans`: vans lent between depots in the running coordinator (`routing.lending`).

`TourDispatch` keeps one when lending is on and asks it at every look: which depot is
behind (a delivery bound there waited longer than `behind_s`), which can spare a van (a
free van, not behind, borrowing none, its tours of the last day fitting in one van fewer),
and which borrowed vans may go home (their home behind, or the borrower caught up). A van
lent is based at the borrower from then on: the router plans it from there, it is sent
there empty (a route of no stops ends at its new depot), and its tours leave from there
once it reports a position at that depot. Its tours are timed (left, back at its depot) so
the van time of each depot's last day is measured, not estimated.

The running coordinator has no delivery day (vans may work around the clock): a day is
`day_s` (24 h) of van time, and a borrowed van may go home at any look. Where each lent
van is based outlives a restart (`PlanState.save_van_bases`, recorded before the van is
told to move), and so do the tours timed (`PlanState.save_van_times`, recorded after each
look that timed one): a restarted coordinator judges which depot can spare a van on the
same day of tours, a van out when it stopped still out since it left.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from coordinator.plan.routing.lending import BEHIND_S, DepotVans, loans, returns
from coordinator.plan.routing.problem import Depot, Vehicle
from coordinator.plan.routing.travel import LatLon, great_circle_m

__all__ = ["DAY_S", "Move", "VanLoans", "VanTimes"]

DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class Move:
    """Vehicle `vehicle_id` to drive empty to depot `to`: lent there, or going home."""

    vehicle_id: str
    to: str
    reason: str  # "lend" or "return"


@dataclass(frozen=True, slots=True)
class VanTimes:
    """The tours timed for the depots' van time: those back within the last day
    (depot, left, back) and the vans out now (vehicle, depot, left); Unix seconds."""

    tours: tuple[tuple[str, float, float], ...] = ()
    out: tuple[tuple[str, str, float], ...] = ()


class VanLoans:
    """Where each van is based now, and the tours timed for the depots' van time (not
    thread-safe: called under the planner's lock)."""

    def __init__(self, *, behind_s: float = BEHIND_S, day_s: float = DAY_S) -> None:
        self.behind_s = behind_s
        self.day_s = day_s
        self.bases: dict[str, str] = {}  # vehicle lent → the depot it is based at now
        self._out: dict[str, tuple[str, float]] = {}  # vehicle on a tour → (depot, left)
        self._tours: deque[tuple[str, float, float]] = deque()  # (depot, left, back)
        self.changes = 0  # grows with every tour that leaves or is timed

    def based(self, vehicles: Iterable[Vehicle]) -> tuple[Vehicle, ...]:
        """The declared vehicles, each at the depot it is based at now."""
        return tuple(
            replace(v, depot_id=self.bases[v.id]) if v.id in self.bases else v for v in vehicles
        )

    def left(self, vehicle_id: str, depot_id: str, at_s: float) -> None:
        """A van left `depot_id` on a tour."""
        self._out[vehicle_id] = (depot_id, at_s)
        self.changes += 1

    def back(self, vehicle_id: str, at_s: float) -> None:
        """A van is back at its depot, nothing on board (its tour, if any, is timed)."""
        tour = self._out.pop(vehicle_id, None)
        if tour is not None:
            self._tours.append((tour[0], tour[1], at_s))
            self.changes += 1

    def times(self, now_s: float) -> VanTimes:
        """The tours timed that still count at `now_s`, and the vans out."""
        self._forget_before(now_s - self.day_s)
        return VanTimes(
            tours=tuple(self._tours),
            out=tuple((v, d, left) for v, (d, left) in sorted(self._out.items())),
        )

    def restore_times(self, times: VanTimes) -> None:
        """Take back the tours timed before a restart (those of vans that are neither
        declared nor out any more are harmless: they only count for their depot's day)."""
        self._tours = deque(sorted(times.tours, key=lambda t: t[2]))
        self._out = {v: (d, left) for v, d, left in times.out}

    def _forget_before(self, since: float) -> None:
        while self._tours and self._tours[0][2] <= since:
            self._tours.popleft()

    def busy_s(self, depot_id: str, now_s: float) -> float:
        """The van time of the depot's tours over the last day (those out count to now)."""
        since = now_s - self.day_s
        self._forget_before(since)
        spans = [(left, back) for d, left, back in self._tours if d == depot_id]
        spans += [(left, now_s) for d, left in self._out.values() if d == depot_id]
        return sum(max(0.0, back - max(left, since)) for left, back in spans)

    def moves(
        self,
        *,
        declared: Sequence[Vehicle],
        free: Iterable[str],
        waits_s: Mapping[str, float],
        depots: Mapping[str, Depot],
        now_s: float,
    ) -> list[Move]:
        """The vans to lend or send home now (`routing.lending.loans`, then `returns`);
        their bases are changed. `declared`: the fleet as declared (each van's home);
        `free`: the vans at their depot with nothing on board; `waits_s`: how long the
        longest-waiting delivery bound to each depot has waited."""
        home = {v.id: v.depot_id for v in declared}
        based = {v.id: v.depot_id for v in self.based(declared)}
        free_now = set(free)
        places = {  # a depot with no place on Earth neither lends nor borrows
            d: LatLon(depot.lat, depot.lon)
            for d, depot in depots.items()
            if depot.lat is not None and depot.lon is not None
        }

        def state() -> list[DepotVans]:
            return [
                DepotVans(
                    d,
                    vans=sum(1 for b in based.values() if b == d),
                    free=sum(1 for v in free_now if based[v] == d),
                    oldest_wait_s=waits_s.get(d, 0.0),
                    busy_s=self.busy_s(d, now_s),
                    borrowed=tuple(home[v] for v in sorted(based) if based[v] == d != home[v]),
                )
                for d in sorted(places)
            ]

        def km(a: str, b: str) -> float:
            return great_circle_m(places[a], places[b]) / 1000.0

        done: list[Move] = []
        for move in loans(state(), day_s=self.day_s, distance_km=km, behind_s=self.behind_s):
            # a lender borrows none: its free vans are its own
            van = min(v for v in free_now if based[v] == move.van_from)
            done.append(self._move(van, move.to, "lend", home, based, free_now))
        for move in returns(state(), day_s=self.day_s, behind_s=self.behind_s):
            going = sorted(v for v in free_now if based[v] == move.van_from and home[v] == move.to)
            if going:  # (the borrower's free van may be one of its own: the loan waits)
                done.append(self._move(going[0], move.to, "return", home, based, free_now))
        return done

    def _move(
        self,
        van: str,
        to: str,
        reason: str,
        home: Mapping[str, str],
        based: dict[str, str],
        free: set[str],
    ) -> Move:
        based[van] = to
        free.discard(van)
        if to == home[van]:
            self.bases.pop(van, None)
        else:
            self.bases[van] = to
        return Move(van, to, reason)
