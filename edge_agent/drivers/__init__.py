"""Southbound drivers: the in-process simulator and a Modbus TCP client.

`make_driver` builds the one a configuration names; the Modbus driver (and pymodbus)
is imported only when configured, keeping simulator-driven agents small.
"""

from __future__ import annotations

from edge_agent.config import AgentConfig
from edge_agent.drivers.base import DeviceEvent, Driver, Reading
from fleet_runtime.clock import Clock

__all__ = ["DeviceEvent", "Driver", "Reading", "make_driver"]


def make_driver(config: AgentConfig, clock: Clock) -> Driver:
    """The driver described by `config.driver` for a node of `config.node.kind`."""
    d = config.driver
    if d.type == "modbus":
        from edge_agent.drivers.modbus import ModbusDriver

        return ModbusDriver(
            host=d.host,
            port=d.port,
            unit_id=d.unit_id,
            registers=d.registers,
            clock=clock,
            timeout_s=d.timeout_s,
            seed=d.seed,
        )
    from edge_agent.drivers.sim import SimMachinesDriver, SimWarehouseDriver

    if config.node.kind == "warehouse":
        return SimWarehouseDriver(
            skus=d.skus,
            seed=d.seed,
            start_s=clock.now(),
            place=config.node.node,
            dock=d.dock,
            speed=d.speed,
        )
    if config.node.kind == "vehicle":
        from edge_agent.drivers.sim_vehicle import SimVehicleDriver, vehicle_params

        params = vehicle_params(
            speed_kmh=d.speed_kmh,
            service_s=d.service_s,
            detour_factor=d.detour_factor,
            traffic_sigma=d.traffic_sigma,
            failure_rate=d.failure_rate,
        )
        return SimVehicleDriver(
            seed=d.seed,
            start_s=clock.now(),
            lat=d.lat,
            lon=d.lon,
            params=params,
            places=d.places,
            dock=d.dock,
            speed=d.speed,
        )
    return SimMachinesDriver(
        machines=d.machines,
        seed=d.seed,
        start_s=clock.now(),
        free_running=d.free_running,
        speed=d.speed,
    )
