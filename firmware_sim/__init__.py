"""Simulated device firmware: machines, micro-warehouses, live-stream demand, Modbus TCP.

Everything is deterministic for a seed and advanced explicitly (`advance_to(t_s)`), so a
`fleet_runtime.clock.Clock` drives it. Errors: see `firmware_sim.errors`. The Modbus server
(`firmware_sim.modbus_server`, which imports pymodbus) is not imported here, so the
simulators stay light enough to run inside an edge agent.
"""

from firmware_sim.demand import DemandParams, LiveStreamDemand, Order
from firmware_sim.errors import DeviceServerError, SimConfigError, SimError
from firmware_sim.machine import (
    MACHINE_SIGNALS,
    FaultKind,
    Machine,
    MachineParams,
    MachineState,
    StateChange,
)
from firmware_sim.registers import MACHINE_REGISTER_MAP, RegisterSpec, pack, pack_machine
from firmware_sim.warehouse import MicroWarehouse, StockChange, WarehouseParams, default_skus

__all__ = [
    "MACHINE_REGISTER_MAP",
    "MACHINE_SIGNALS",
    "DemandParams",
    "DeviceServerError",
    "FaultKind",
    "LiveStreamDemand",
    "Machine",
    "MachineParams",
    "MachineState",
    "MicroWarehouse",
    "Order",
    "RegisterSpec",
    "SimConfigError",
    "SimError",
    "StateChange",
    "StockChange",
    "WarehouseParams",
    "default_skus",
    "pack",
    "pack_machine",
]
