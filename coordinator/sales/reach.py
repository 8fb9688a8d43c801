"""Whether a delivery van can reach a destination at all (pure).

Every order reaches its customer as a van delivery that loads at a micro-warehouse (a depot
of the delivery fleet, `coordinator.sales.shipping`), including the units made in a factory.
A destination is therefore reachable when at least one of the network's micro-warehouses
serves it:

- it lies within that warehouse's service radius (great-circle km; each warehouse's
  `service_radius_km`, else the network's, else `DEFAULT_SERVICE_RADIUS_KM`), and
- the travel-time port gives a time from the warehouse to it (None means no road).

A network without micro-warehouses has no place a van leaves from: nothing is reachable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from coordinator.sales.promise import Point, TravelTime, haversine_km

DEFAULT_SERVICE_RADIUS_KM: Final = 200.0
"""A van's reach when the network names none: out and back within a working day."""
MAX_SERVICE_RADIUS_KM: Final = 20_037.5  # half the Earth's circumference


def unreachable_reason(
    destination: Point,
    depots: Sequence[tuple[str, Point, float]],
    travel: TravelTime,
) -> str | None:
    """Why no van reaches `destination` from any of `depots` (id, location, service radius
    in km); None when one does."""
    if not depots:
        return "the network has no micro-warehouse a van could deliver from"
    nearest_id, nearest_km, nearest_radius = "", float("inf"), 0.0
    no_road: list[str] = []
    for depot_id, location, radius_km in depots:
        km = haversine_km(location, destination)
        if km <= radius_km:
            if travel(location, destination) is not None:
                return None
            no_road.append(depot_id)
        if km < nearest_km:
            nearest_id, nearest_km, nearest_radius = depot_id, km, radius_km
    if no_road:
        return f"no route from the micro-warehouses in range ({', '.join(no_road[:5])})"
    return (
        f"no micro-warehouse delivers there: the nearest, {nearest_id!r}, is {nearest_km:.0f} km"
        f" away and serves {nearest_radius:g} km"
    )


__all__ = ["DEFAULT_SERVICE_RADIUS_KM", "MAX_SERVICE_RADIUS_KM", "unreachable_reason"]
