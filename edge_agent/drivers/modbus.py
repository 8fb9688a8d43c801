"""Modbus TCP client driver: reads holding registers described by a TOML register map.

The client connects lazily and, when the device stops answering, closes the socket and
tries again on the agent's one backoff policy (`fleet_runtime.backoff.next_delay`); pymodbus's
own retries are off. Between attempts `read` fails fast, so the sampling loop never stalls
for more than one `timeout_s`. The agent turns the first failure and the recovery into
a `device_offline` event, raised while the device does not answer and cleared once it does.

Once given a schedule, the driver feeds the PLC its operations one at a time through the
operation registers (`protocol.plc`, docs/modbus.md) and reports the PLC's own counts
(`edge_agent.sequencer`).
"""

from __future__ import annotations

import random
from typing import Any

from pymodbus.client import ModbusTcpClient
from pymodbus.exceptions import ModbusException

from edge_agent.drivers.base import DeviceEvent, Reading
from edge_agent.errors import DriverError, PlanRefused
from edge_agent.registers import RegisterMap, decode_value, read_blocks
from edge_agent.sequencer import OperationSequencer
from fleet_runtime.backoff import next_delay
from fleet_runtime.clock import Clock
from protocol import (
    InvalidMessage,
    OperationReport,
    RouteUpdate,
    ScheduleUpdate,
    SignalSpec,
)
from protocol.plc import (
    COMMAND_ADDRESS,
    STATUS_ADDRESS,
    STATUS_WORDS,
    pack_command,
    unpack_status,
)


class ModbusDriver:
    """Reads one Modbus TCP device (unit `unit_id`) at `host`:`port`."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        unit_id: int,
        registers: RegisterMap,
        clock: Clock,
        timeout_s: float = 1.0,
        reconnect_base_s: float = 0.5,
        reconnect_cap_s: float = 10.0,
        seed: int = 0,
    ) -> None:
        self.name = f"modbus://{host}:{port}/{unit_id}"
        self._registers = registers
        self._blocks = read_blocks(registers)
        self._unit_id = unit_id
        self._clock = clock
        self._rng = random.Random(seed)
        self._base_s, self._cap_s = reconnect_base_s, reconnect_cap_s
        self._client: Any = ModbusTcpClient(host, port=port, timeout=timeout_s, retries=0)
        self._failures = 0
        self._retry_at = 0.0
        self.reconnects = 0
        self.sequencer = OperationSequencer()
        self._dirty = False

    def signals(self) -> tuple[SignalSpec, ...]:
        return tuple(SignalSpec(name=e.signal, unit=e.unit) for e in self._registers)

    def stepped_signals(self) -> frozenset[str]:
        return frozenset(e.signal for e in self._registers if e.stepped)

    def mode_signals(self) -> dict[str, str]:
        return {e.signal: e.mode_signal for e in self._registers if e.mode_signal}

    def read(self, now_s: float) -> Reading:
        if self._failures and self._clock.monotonic() < self._retry_at:
            raise DriverError("waiting to reconnect", device=self.name)
        try:
            if not self._client.connected:
                if not self._client.connect():
                    raise DriverError("connection refused", device=self.name)
                if self._failures:
                    self.reconnects += 1
            words: dict[int, int] = {}
            for start, count in self._blocks:
                response = self._client.read_holding_registers(
                    start, count=count, device_id=self._unit_id
                )
                if response.isError():
                    raise DriverError(f"device answered {response}", device=self.name)
                words.update(zip(range(start, start + count), response.registers, strict=False))
            events, retained = self._sequence()
        except (ModbusException, OSError, DriverError) as exc:
            self._fail()
            if isinstance(exc, DriverError):
                raise
            raise DriverError(f"read failed: {exc}", device=self.name) from exc
        self._failures = 0
        values = tuple(
            (e.signal, decode_value([words[a] for a in range(e.address, e.address + e.width)], e))
            for e in self._registers
        )
        return Reading(values=values, events=events, retained=retained)

    # --- executing schedules ---------------------------------------------------------

    def take_schedule(self, schedule: ScheduleUpdate) -> None:
        self.sequencer.take(schedule)
        self._dirty = True

    def take_route(self, route: RouteUpdate) -> None:
        raise PlanRefused("a machine drives no route")

    def restore_state(self, state: dict[str, Any]) -> None:
        sequencer = state.get("sequencer")
        if isinstance(sequencer, dict):
            self.sequencer.restore(sequencer)

    def retained_state(self) -> dict[str, Any] | None:
        return {"sequencer": self.sequencer.retained()}

    def _sequence(self) -> tuple[tuple[DeviceEvent, ...], dict[str, Any] | None]:
        """One step of feeding the PLC its schedule (only once a schedule was given)."""
        if not self.sequencer.version:
            return (), None
        response = self._client.read_holding_registers(
            STATUS_ADDRESS, count=STATUS_WORDS, device_id=self._unit_id
        )
        if response.isError():
            raise DriverError(f"device answered {response}", device=self.name)
        try:
            status = unpack_status(list(response.registers))
        except InvalidMessage as exc:
            raise DriverError(f"operation status: {exc.reason}", device=self.name) from None
        before = self.sequencer.retained()
        reports, command = self.sequencer.step(status)
        if command is not None:
            written = self._client.write_registers(
                COMMAND_ADDRESS, pack_command(command), device_id=self._unit_id
            )
            if written.isError():
                raise DriverError(f"device refused the operation: {written}", device=self.name)
        events = tuple(_report_event(name, report) for name, report in reports)
        changed = self._dirty or self.sequencer.retained() != before
        self._dirty = False
        return events, (self.retained_state() if changed else None)

    def _fail(self) -> None:
        self._client.close()
        delay = next_delay(self._failures, self._rng, base_s=self._base_s, cap_s=self._cap_s)
        self._failures += 1
        self._retry_at = self._clock.monotonic() + delay

    def stock_levels(self) -> dict[str, int] | None:
        return None

    def close(self) -> None:
        self._client.close()


def _report_event(name: str, report: OperationReport) -> DeviceEvent:
    return DeviceEvent(
        name=name,
        severity="WARNING" if report.state == "paused" else "INDETERMINATE",
        reason=f"{report.operation_id} of job {report.job_id}: {report.state},"
        f" {report.good}/{report.quantity} good, {report.scrap} scrap",
        data=report.to_data(),
    )
