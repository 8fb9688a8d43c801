"""In-process driver of a simulated vehicle: takes routes, reports position and stops.

The vehicle node executes the routes sent to it (`edge_agent.execution`): located stops as
they are, bare stop ids from the places it knows (its configuration), a stop it cannot
locate refuses the whole route. It reports `lat` / `lon` and `stops_left` as signals and
each stop arrived at, delivered or failed as a stop event; a transfer delivered at a place,
or picked up at a factory and unloaded at the depot its route ends at, is left on the
shared dock (`firmware_sim.dock`) for that place's warehouse. Its route, its cargo and
where it is on it are retained with the stop events (one outbox transaction); a transfer
left twice (after a restart) is one file on the dock, received once.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from edge_agent.drivers.base import DeviceEvent, Reading
from edge_agent.errors import PlanRefused
from firmware_sim.dock import Dock
from firmware_sim.errors import SimConfigError
from firmware_sim.vehicle import Stop, StopChange, Vehicle, VehicleParams
from protocol import RouteStop, RouteUpdate, ScheduleUpdate, SignalSpec, StopReport

_SIGNALS = (("lat", "deg"), ("lon", "deg"), ("stops_left", "stops"))
_EVENT = {"arrived": "stop_arrived", "delivered": "stop_delivered", "failed": "stop_failed"}


def route_stops(route: RouteUpdate, places: Mapping[str, tuple[float, float]]) -> list[Stop]:
    """The vehicle's stops of a route (`PlanRefused` for a stop it cannot locate)."""
    stops: list[Stop] = []
    for i, stop in enumerate(route.stops):
        if isinstance(stop, RouteStop):
            stops.append(
                Stop(
                    stop.stop_id,
                    stop.lat,
                    stop.lon,
                    stop.action,
                    stop.quantity,
                    stop.transfer_id,
                    stop.sku,
                )
            )
            continue
        where = places.get(stop)
        if where is None:
            raise PlanRefused(f"stop {i} {stop!r} is unknown to this vehicle")
        stops.append(Stop(stop, where[0], where[1]))
    return stops


def stop_report(change: StopChange) -> StopReport:
    """The protocol's report of one stop change."""
    stop = change.stop
    delivered = change.change == "delivered"
    return StopReport(
        route_version=change.version,
        stop_id=stop.stop_id,
        index=change.index,
        lat=stop.lat,
        lon=stop.lon,
        quantity=stop.quantity if delivered else 0,
        transfer_id=stop.transfer_id,
    )


def vehicle_params(
    *,
    speed_kmh: float,
    service_s: float,
    detour_factor: float,
    traffic_sigma: float,
    failure_rate: float,
) -> VehicleParams:
    """The simulated vehicle's parameters from the agent's driver settings."""
    return VehicleParams(
        speed_kmh=speed_kmh,
        service_s=service_s,
        detour_factor=detour_factor,
        traffic_sigma=traffic_sigma,
        failure_rate=failure_rate,
    )


class SimVehicleDriver:
    """One simulated vehicle behind a `vehicle` node."""

    def __init__(
        self,
        *,
        seed: int,
        start_s: float,
        lat: float,
        lon: float,
        params: VehicleParams | None = None,
        places: Mapping[str, tuple[float, float]] | None = None,
        dock: Path | None = None,
        speed: float = 1.0,
    ) -> None:
        self.name = "sim-vehicle"
        self._start_s = start_s
        self._speed = speed
        self.vehicle = Vehicle(seed=seed, lat=lat, lon=lon, params=params)
        self._places = dict(places or {})
        self._dock = Dock(dock) if dock is not None else None
        self._dirty = False

    def signals(self) -> tuple[SignalSpec, ...]:
        return tuple(SignalSpec(name=name, unit=unit) for name, unit in _SIGNALS)

    def take_schedule(self, schedule: ScheduleUpdate) -> None:
        raise PlanRefused("a vehicle runs no schedule")

    def take_route(self, route: RouteUpdate) -> None:
        stops = route_stops(route, self._places)
        self.vehicle.load_route(route.version, stops)
        self._dirty = True

    def restore_state(self, state: dict[str, Any]) -> None:
        try:
            self.vehicle.restore(state["vehicle"])
        except (SimConfigError, KeyError, TypeError):
            return  # not a vehicle's state: start afresh

    def retained_state(self) -> dict[str, Any] | None:
        return {"vehicle": self.vehicle.retained()}

    def read(self, now_s: float) -> Reading:
        events: list[DeviceEvent] = []
        for change in self.vehicle.advance_to((now_s - self._start_s) * self._speed):
            report = stop_report(change)
            stop = change.stop
            if (
                change.change == "delivered"
                and stop.transfer_id
                and stop.action == "delivery"
                and self._dock is not None
            ):
                self._dock.drop(stop.stop_id, stop.transfer_id, {stop.sku: stop.quantity})
            if self._dock is not None:
                for transfer_id, items in change.unloaded:
                    self._dock.drop(stop.stop_id, transfer_id, dict(items))
            events.append(
                DeviceEvent(
                    name=_EVENT[change.change],
                    severity="WARNING" if change.change == "failed" else "INDETERMINATE",
                    reason=change.reason or f"{change.change} at {stop.stop_id}",
                    data=report.to_data(),
                )
            )
        values = (
            ("lat", self.vehicle.lat),
            ("lon", self.vehicle.lon),
            ("stops_left", float(self.vehicle.stops_left())),
        )
        retained = None
        if events or self._dirty:
            self._dirty = False
            retained = self.retained_state()
        return Reading(values=values, events=tuple(events), retained=retained)

    def stock_levels(self) -> dict[str, int] | None:
        return None

    def stepped_signals(self) -> frozenset[str]:
        return frozenset({"stops_left"})

    def mode_signals(self) -> dict[str, str]:
        return {}

    def close(self) -> None:
        """Nothing to release."""
