"""Modbus TCP client driver: reads holding registers described by a TOML register map.

The client connects lazily and, when the device stops answering, closes the socket and
tries again on the agent's one backoff policy (`fleet_runtime.backoff.next_delay`); pymodbus's
own retries are off. Between attempts `read` fails fast, so the sampling loop never stalls
for more than one `timeout_s`. The agent turns the first failure and the recovery into
a `device_offline` event, raised while the device does not answer and cleared once it does.
"""

from __future__ import annotations

import random
from typing import Any

from pymodbus.client import ModbusTcpClient
from pymodbus.exceptions import ModbusException

from edge_agent.drivers.base import Reading
from edge_agent.errors import DriverError
from edge_agent.registers import RegisterMap, decode_value, read_blocks
from fleet_runtime.backoff import next_delay
from fleet_runtime.clock import Clock
from protocol import SignalSpec


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
        return Reading(values=values)

    def _fail(self) -> None:
        self._client.close()
        delay = next_delay(self._failures, self._rng, base_s=self._base_s, cap_s=self._cap_s)
        self._failures += 1
        self._retry_at = self._clock.monotonic() + delay

    def stock_levels(self) -> dict[str, int] | None:
        return None

    def close(self) -> None:
        self._client.close()
