"""Travel times between real places: one port, a default that needs nothing, and the
matrix a routing problem takes.

`TravelTimes.durations_s(points)` answers the driving time in seconds from each point to
each other (latitude/longitude, WGS 84). The default, `GreatCircleTravel`, takes the
great-circle distance (haversine on a sphere of the mean Earth radius) times a detour
factor (roads are not straight: 1.3 is typical of towns) divided by an average speed;
`coordinator.plan.routing.osrm.OsrmTravel` asks an OSRM-compatible `table` service for
road times instead. `travel_matrix` turns either's answer into the problem's
`TravelMatrix` in plan units.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from coordinator.plan.errors import ProblemError
from coordinator.plan.routing.problem import TravelMatrix

EARTH_RADIUS_M: Final = 6_371_008.8  # mean radius (IUGG)


@dataclass(frozen=True, slots=True)
class LatLon:
    """A place on Earth in degrees (WGS 84)."""

    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not (-90.0 <= self.lat <= 90.0 and -180.0 <= self.lon <= 180.0):  # also NaN
            raise ProblemError(f"latitude/longitude out of range: {self.lat!r}, {self.lon!r}")


class TravelTimes(Protocol):
    """Driving times between places."""

    def durations_s(self, points: Sequence[LatLon]) -> list[list[float]]:
        """Seconds from each point to each point (a square matrix, 0 on the diagonal)."""
        ...


def great_circle_m(a: LatLon, b: LatLon) -> float:
    """The great-circle distance in metres (haversine)."""
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dphi, dlam = phi2 - phi1, math.radians(b.lon - a.lon)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True, slots=True)
class GreatCircleTravel:
    """Great-circle distance × `detour_factor` ÷ `speed_kmh` (both configurable)."""

    detour_factor: float = 1.3
    speed_kmh: float = 30.0

    def __post_init__(self) -> None:
        if not self.detour_factor >= 1.0:
            raise ProblemError(f"detour factor {self.detour_factor!r} below 1")
        if not 0.0 < self.speed_kmh <= 300.0:
            raise ProblemError(f"average speed {self.speed_kmh!r} km/h out of range")

    def durations_s(self, points: Sequence[LatLon]) -> list[list[float]]:
        """See `TravelTimes.durations_s`."""
        per_m = self.detour_factor / (self.speed_kmh / 3.6)
        return [[great_circle_m(a, b) * per_m for b in points] for a in points]


def travel_matrix(
    places: Sequence[tuple[str, LatLon]], travel: TravelTimes, *, time_unit_s: float
) -> TravelMatrix:
    """The travel times between `places` (id, location) in plan units of `time_unit_s`."""
    ids = tuple(place_id for place_id, _ in places)
    seconds = travel.durations_s([point for _, point in places])
    return TravelMatrix(ids, tuple(tuple(s / time_unit_s for s in row) for row in seconds))


__all__ = [
    "EARTH_RADIUS_M",
    "GreatCircleTravel",
    "LatLon",
    "TravelTimes",
    "great_circle_m",
    "travel_matrix",
]
