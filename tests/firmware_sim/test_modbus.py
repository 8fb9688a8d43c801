"""The Modbus TCP device and the agent's Modbus driver, over a real socket."""

from __future__ import annotations

import time

import pytest

from edge_agent.drivers.modbus import ModbusDriver
from edge_agent.errors import DriverError
from edge_agent.registers import RegisterEntry
from firmware_sim import MACHINE_REGISTER_MAP, Machine
from firmware_sim.errors import DeviceServerError
from firmware_sim.modbus_server import MachineModbusServer
from fleet_runtime.clock import SystemClock
from flexfleet.broker import free_port

REGISTERS = tuple(
    RegisterEntry(s.signal, s.address, s.type, s.scale, s.unit) for s in MACHINE_REGISTER_MAP
)


def test_driver_reads_the_served_machine_and_reconnects_after_a_device_restart() -> None:
    """Values match the machine; after the server restarts the driver recovers by itself."""
    clock = SystemClock()
    port = free_port()
    machine = Machine(seed=1)
    server = MachineModbusServer(machine=machine, clock=clock, port=port, update_interval_s=0.05)
    server.start()
    driver = ModbusDriver(
        host="127.0.0.1", port=port, unit_id=1, registers=REGISTERS, clock=clock,
        timeout_s=0.5, reconnect_base_s=0.05, reconnect_cap_s=0.2,
    )  # fmt: skip
    try:
        values = dict(driver.read(clock.now()).values)
        assert values["state"] == float(int(machine.state))
        assert abs(values["spindle_temp_c"] - machine.readings()["spindle_temp_c"]) < 1.0
        beat = values["heartbeat"]
        server.stop()
        with pytest.raises(DriverError):
            driver.read(clock.now())
        with pytest.raises(DriverError):
            driver.read(clock.now())  # fails fast while waiting to reconnect
        server.start()
        deadline = time.monotonic() + 10
        while True:
            try:
                values = dict(driver.read(clock.now()).values)
                break
            except DriverError:
                assert time.monotonic() < deadline, "driver never reconnected"
                time.sleep(0.05)
        assert values["heartbeat"] != beat
        assert driver.reconnects == 1
    finally:
        driver.close()
        server.stop()


def test_server_on_a_busy_port_raises_device_server_error() -> None:
    """A second server on the same port fails with DeviceServerError, not a pymodbus error."""
    clock = SystemClock()
    port = free_port()
    first = MachineModbusServer(machine=Machine(seed=1), clock=clock, port=port)
    first.start()
    try:
        with pytest.raises(DeviceServerError):
            MachineModbusServer(machine=Machine(seed=1), clock=clock, port=port).start(
                ready_timeout_s=5
            )
    finally:
        first.stop()
