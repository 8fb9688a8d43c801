"""A simulated delivery vehicle driving its route on the simulation clock.

The vehicle drives from where it is to each stop in turn: a leg lasts the great-circle
distance × `detour_factor` ÷ `speed_kmh`, times a seeded traffic factor (log-normal, one
per leg, a pure function of seed, route version and stop, so a restart drives the same
legs). At a stop it is `arrived`, spends `service_s`, then the stop is `delivered` (with
its quantity) or, with probability `failure_rate`, `failed` with a reason. A `pickup`
stop of a transfer loads its goods (`cargo`, by transfer id); a `depot` stop unloads every
transfer carried (the stop's change names them in `unloaded`). A new route replaces the
stops still ahead; the vehicle sets off for the first of them from where it is (a stop
being served is finished first, and with transfers on board a depot stop still ahead is
kept first: a van unloads at its warehouse before its next tour). `retained` / `restore`
keep the route, the cargo and where the vehicle is on it through a restart.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from firmware_sim.errors import SimConfigError

EARTH_RADIUS_KM: Final = 6371.0088


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance between two points in degrees, in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True, slots=True)
class VehicleParams:
    """How the vehicle drives; speeds in km/h, times in seconds."""

    speed_kmh: float = 40.0
    service_s: float = 120.0
    detour_factor: float = 1.3
    traffic_sigma: float = 0.2
    failure_rate: float = 0.0

    def __post_init__(self) -> None:
        checks = (
            ("speed_kmh", 0.1, 100_000.0),
            ("service_s", 0.0, 86_400.0),
            ("detour_factor", 1.0, 10.0),
            ("traffic_sigma", 0.0, 2.0),
            ("failure_rate", 0.0, 1.0),
        )
        for name, low, high in checks:
            value = getattr(self, name)
            if not (
                isinstance(value, int | float) and math.isfinite(value) and low <= value <= high
            ):
                raise SimConfigError(name, f"must be in {low}..{high}, got {value!r}")


@dataclass(frozen=True, slots=True)
class Stop:
    """A stop of a route: where it is and what is handed over there."""

    stop_id: str
    lat: float
    lon: float
    action: str = "delivery"
    quantity: int = 0
    transfer_id: str = ""
    sku: str = ""

    def __post_init__(self) -> None:
        if not self.stop_id:
            raise SimConfigError("stop_id", "a stop needs an id")
        if not (-90.0 <= self.lat <= 90.0 and -180.0 <= self.lon <= 180.0):
            raise SimConfigError("lat", f"not a position: {self.lat!r}, {self.lon!r}")
        if self.quantity < 0:
            raise SimConfigError("quantity", f"must be >= 0, got {self.quantity!r}")


@dataclass(frozen=True, slots=True)
class StopChange:
    """At `t_s` the vehicle `arrived` at, `delivered` or `failed` stop `index` of the route
    of `version`, at (`lat`, `lon`); `unloaded`, the transfers it left at a depot stop
    (transfer id → {sku: units})."""

    t_s: float
    change: Literal["arrived", "delivered", "failed"]
    version: int
    index: int
    stop: Stop
    reason: str = ""
    unloaded: tuple[tuple[str, tuple[tuple[str, int], ...]], ...] = ()


class Vehicle:
    """One simulated vehicle, deterministic for a seed."""

    def __init__(
        self, *, seed: int, lat: float, lon: float, params: VehicleParams | None = None
    ) -> None:
        self.params = params or VehicleParams()
        self.seed = seed
        self.lat, self.lon = lat, lon
        self.t_s = 0.0
        self._version = 0
        self._stops: tuple[Stop, ...] = ()
        self._next = 0  # index of the stop being driven to or served
        self._phase: Literal["idle", "driving", "service"] = "idle"
        self._from = (lat, lon)
        self._leg_s = 0.0  # duration of the current leg, or of the service
        self._done_s = 0.0  # time spent in it so far
        self._changes: list[StopChange] = []
        self.cargo: dict[str, dict[str, int]] = {}  # transfer id → units per SKU on board

    @property
    def version(self) -> int:
        """The version of the route being driven (0: none yet)."""
        return self._version

    def stops_left(self) -> int:
        """Stops not yet served."""
        return len(self._stops) - self._next

    def load_route(self, version: int, stops: Sequence[Stop]) -> None:
        """Drive `stops` from now on, in order, from where the vehicle is. A stop being
        served is finished first; with transfers on board, a depot stop the old route still
        had ahead is driven to first (the goods are unloaded before the next tour), unless
        the new route starts at a depot."""
        serving = self._phase == "service"
        ahead = self._stops[self._next + (1 if serving else 0) :]
        unload = next((x for x in ahead if x.action == "depot"), None) if self.cargo else None
        if unload is not None and not (stops and stops[0].action == "depot"):
            stops = (unload, *stops)
        if serving:  # finish serving this stop first
            current = self._stops[self._next]
            self._stops = (current, *stops)
            self._next = 0
        else:
            self._stops = tuple(stops)
            self._next = 0
            self._phase = "idle"
        self._version = version
        if self._phase == "idle":
            self._depart()

    def advance_to(self, t_s: float) -> list[StopChange]:
        """Drive up to `t_s`; returns the stop changes on the way, oldest first."""
        while self.t_s < t_s and self._phase != "idle":
            left = self._leg_s - self._done_s
            if self.t_s + left > t_s:
                self._done_s += t_s - self.t_s
                self.t_s = t_s
                break
            self.t_s += left
            self._done_s = self._leg_s
            if self._phase == "driving":
                self._arrive()
            else:
                self._serve()
        self.t_s = max(self.t_s, t_s)
        if self._phase == "driving" and self._leg_s > 0:
            self._place(self._done_s / self._leg_s)
        changes, self._changes = self._changes, []
        return changes

    def retained(self) -> dict[str, Any]:
        """The route and where the vehicle is on it (JSON-ready)."""
        return {
            "version": self._version,
            "stops": [
                [s.stop_id, s.lat, s.lon, s.action, s.quantity, s.transfer_id, s.sku]
                for s in self._stops
            ],
            "next": self._next,
            "phase": self._phase,
            "position": [self.lat, self.lon],
            "from": list(self._from),
            "leg_s": self._leg_s,
            "done_s": self._done_s,
            "cargo": {t: dict(items) for t, items in self.cargo.items()},
        }

    def restore(self, kept: dict[str, Any]) -> None:
        """Take up the route again from `retained()` output."""
        try:
            self._version = int(kept["version"])
            self._stops = tuple(Stop(*row) for row in kept["stops"])
            self._next = int(kept["next"])
            phase = kept["phase"]
            if phase not in ("idle", "driving", "service") or not 0 <= self._next <= len(
                self._stops
            ):
                raise ValueError(f"phase {phase!r} at stop {self._next}")
            self._phase = phase
            self.lat, self.lon = float(kept["position"][0]), float(kept["position"][1])
            self._from = (float(kept["from"][0]), float(kept["from"][1]))
            self._leg_s, self._done_s = float(kept["leg_s"]), float(kept["done_s"])
            self.cargo = {  # absent from states kept before vehicles carried transfers
                str(t): {str(sku): int(n) for sku, n in items.items()}
                for t, items in kept.get("cargo", {}).items()
            }
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise SimConfigError("retained", f"not a retained vehicle state: {exc}") from None

    def _depart(self) -> None:
        if self._next >= len(self._stops):
            self._phase = "idle"
            return
        stop = self._stops[self._next]
        p = self.params
        self._from = (self.lat, self.lon)
        km = great_circle_km(self.lat, self.lon, stop.lat, stop.lon) * p.detour_factor
        traffic = random.Random(f"traffic:{self.seed}:{self._version}:{stop.stop_id}")
        factor = math.exp(traffic.gauss(0.0, p.traffic_sigma)) if p.traffic_sigma else 1.0
        self._phase, self._leg_s, self._done_s = "driving", km / p.speed_kmh * 3600.0 * factor, 0.0

    def _arrive(self) -> None:
        stop = self._stops[self._next]
        self.lat, self.lon = stop.lat, stop.lon
        self._changes.append(StopChange(self.t_s, "arrived", self._version, self._next, stop))
        self._phase, self._leg_s, self._done_s = "service", self.params.service_s, 0.0

    def _serve(self) -> None:
        stop = self._stops[self._next]
        luck = random.Random(f"serve:{self.seed}:{self._version}:{stop.stop_id}").random()
        if stop.action == "delivery" and luck < self.params.failure_rate:
            change = StopChange(
                self.t_s, "failed", self._version, self._next, stop, "nobody to receive it"
            )
        else:
            unloaded: tuple[tuple[str, tuple[tuple[str, int], ...]], ...] = ()
            if stop.action == "pickup" and stop.transfer_id and stop.sku and stop.quantity:
                self.cargo[stop.transfer_id] = {stop.sku: stop.quantity}
            elif stop.action == "depot" and self.cargo:
                unloaded = tuple(
                    (t, tuple(sorted(items.items()))) for t, items in sorted(self.cargo.items())
                )
                self.cargo = {}
            change = StopChange(
                self.t_s, "delivered", self._version, self._next, stop, unloaded=unloaded
            )
        self._changes.append(change)
        self._next += 1
        self._depart()

    def _place(self, fraction: float) -> None:
        """Position along the current leg (straight in degrees: legs are short)."""
        stop = self._stops[self._next]
        (lat0, lon0), f = self._from, min(1.0, max(0.0, fraction))
        self.lat, self.lon = lat0 + (stop.lat - lat0) * f, lon0 + (stop.lon - lon0) * f
