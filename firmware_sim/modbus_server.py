"""Serve a simulated machine over Modbus TCP (pymodbus), as a real PLC would.

The server runs its own asyncio loop in a background thread: one task answers Modbus
requests, another advances the `Machine` on the clock and rewrites the holding registers
(`firmware_sim.registers`) every `update_interval_s`. `stop()` closes the socket, so
tests can restart the device and watch the agent reconnect.

As a PLC, it takes the operation the agent writes into the command block (`protocol.plc`):
a new token makes the machine run that operation (a changeover of `setup_s` if the family
changes), and the status block carries its good and scrap counts and state. The machine
keeps them while the agent is away (restarted, killed), as a PLC keeps its counters.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from firmware_sim.errors import DeviceServerError
from firmware_sim.machine import Machine, Operation
from firmware_sim.registers import pack_machine
from fleet_runtime.clock import Clock
from protocol.plc import (
    COMMAND_ADDRESS,
    COMMAND_WORDS,
    PLC_REGISTER_COUNT,
    STATUS_ADDRESS,
    PlcStatus,
    pack_status,
    unpack_command,
)

_WRITE_REGISTERS = 16  # Modbus function code "write multiple registers"
_READ_REGISTERS = 3  # Modbus function code "read holding registers"


class MachineModbusServer:
    """A simulated machine answering Modbus TCP on `host`:`port` (unit `unit_id`)."""

    def __init__(
        self,
        *,
        machine: Machine,
        clock: Clock,
        host: str = "127.0.0.1",
        port: int = 5020,
        unit_id: int = 1,
        update_interval_s: float = 0.1,
    ) -> None:
        self.machine = machine
        self.clock = clock
        self.host = host
        self.port = port
        self.unit_id = unit_id
        self.update_interval_s = update_interval_s
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._start_s = clock.monotonic() - machine.t_s
        self.updates = 0
        self.token = 0  # the operation command taken last

    def start(self, *, ready_timeout_s: float = 10.0) -> None:
        """Start serving in a background thread; returns once the port is listening."""
        if self._thread is not None:
            raise DeviceServerError("already running", host=self.host, port=self.port)
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, name="modbus-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(ready_timeout_s):
            raise DeviceServerError("did not start in time", host=self.host, port=self.port)
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise DeviceServerError(
                f"could not listen: {self._error}", host=self.host, port=self.port
            ) from self._error

    def stop(self) -> None:
        """Stop serving and close the listening socket (the machine keeps its state)."""
        if self._thread is None:
            return
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)
        self._thread = None

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception as exc:  # reported to start() or lost with the thread
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        device = SimDevice(
            self.unit_id,
            simdata=[SimData(0, count=PLC_REGISTER_COUNT, values=0, datatype=DataType.REGISTERS)],
        )
        server: Any = ModbusTcpServer(device, address=(self.host, self.port))
        await self._update(server)
        await server.listen()
        if not server.is_active():
            raise DeviceServerError("could not listen", host=self.host, port=self.port)
        self._ready.set()
        serving = asyncio.create_task(server.serve_forever())
        try:
            while not self._stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.update_interval_s)
                await self._update(server)
        finally:
            await server.shutdown()
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await serving

    async def _update(self, server: Any) -> None:
        words = await server.async_getValues(
            self.unit_id, _READ_REGISTERS, COMMAND_ADDRESS, COMMAND_WORDS
        )
        self.take(unpack_command([int(w) for w in words]))
        self.machine.advance_to(self.clock.monotonic() - self._start_s)
        self.updates += 1
        await server.async_setValues(
            self.unit_id, _WRITE_REGISTERS, 0, pack_machine(self.machine.readings(), self.updates)
        )
        await server.async_setValues(
            self.unit_id, _WRITE_REGISTERS, STATUS_ADDRESS, pack_status(self.status())
        )

    def take(self, command: Any) -> None:
        """Run the commanded operation if its token is new (None or an old token: nothing)."""
        if command is None or command.token == self.token:
            return
        self.token = command.token
        operation = Operation(
            operation_id=f"plc-{command.token}",
            job_id=command.job_id,
            quantity=command.quantity,
            family=command.family,
            setup_s=float(command.setup_s),
        )
        self.machine.load_schedule(command.token, [operation])

    def status(self) -> PlcStatus:
        """The counts of the operation of the current token."""
        progress = self.machine.progress()
        if progress is None or progress.version != self.token:
            return PlcStatus(token=self.token, state=None, good=0, scrap=0)
        return PlcStatus(
            token=self.token, state=progress.state, good=progress.good, scrap=progress.scrap
        )
