"""Distances and travel times from latitude/longitude (pure): great circle × detour."""

from __future__ import annotations

import math

Point = tuple[float, float]


def great_circle_km(a: Point, b: Point) -> float:
    """Great-circle distance in km between two (lat, lon) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(h)))


def road_km(a: Point, b: Point, *, detour: float) -> float:
    """Road distance estimated as the great circle × `detour`."""
    return great_circle_km(a, b) * detour


def drive_s(a: Point, b: Point, *, detour: float, speed_kmh: float) -> float:
    """Driving time in seconds at `speed_kmh` over the road distance."""
    return road_km(a, b, detour=detour) / speed_kmh * 3600.0


__all__ = ["Point", "drive_s", "great_circle_km", "road_km"]
