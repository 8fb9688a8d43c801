"""The simulated machine's Modbus holding-register map, and how values are packed into it.

Multi-register values are big-endian with the high word first ("ABCD"), the most common
PLC layout. The agent reads them with a register map in its TOML configuration;
`MACHINE_REGISTER_MAP` is that map for this device, so the two can be checked against
each other.

    address  signal               type     scale
    0-1      spindle_temp_c       float32  1
    2-3      vibration_rms_mm_s   float32  1
    4-5      motor_current_a      float32  1
    6-7      part_count           uint32   1
    8        state                uint16   1   (0 IDLE, 1 SETUP, 2 RUN, 3 DOWN)
    9        heartbeat            uint16   1   (counts updates, wraps at 65536)
    10-15    operation status (written by the PLC), 20-87 operation command (written by
             the agent): `protocol.plc`, docs/modbus.md
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Final

from firmware_sim.errors import SimConfigError

REGISTER_WIDTH: Final = {"uint16": 1, "int16": 1, "uint32": 2, "int32": 2, "float32": 2}
_FORMATS: Final = {"uint16": ">H", "int16": ">h", "uint32": ">I", "int32": ">i", "float32": ">f"}


@dataclass(frozen=True, slots=True)
class RegisterSpec:
    """Where one signal lives: first holding register, data type, and engineering scale."""

    signal: str
    address: int
    type: str
    scale: float = 1.0
    unit: str = ""

    def __post_init__(self) -> None:
        if self.type not in REGISTER_WIDTH:
            raise SimConfigError("type", f"unknown register type {self.type!r}")
        if not 0 <= self.address <= 65535 - REGISTER_WIDTH[self.type] + 1:
            raise SimConfigError("address", f"out of range: {self.address}")
        if not (math.isfinite(self.scale) and self.scale != 0):
            raise SimConfigError("scale", f"must be finite and non-zero, got {self.scale}")


MACHINE_REGISTER_MAP: Final = (
    RegisterSpec("spindle_temp_c", 0, "float32", unit="degC"),
    RegisterSpec("vibration_rms_mm_s", 2, "float32", unit="mm/s"),
    RegisterSpec("motor_current_a", 4, "float32", unit="A"),
    RegisterSpec("part_count", 6, "uint32", unit="parts"),
    RegisterSpec("state", 8, "uint16", unit="code"),
    RegisterSpec("heartbeat", 9, "uint16", unit="count"),
)
MACHINE_REGISTER_COUNT: Final = 10
"""Registers of the machine's readings; the operation blocks follow (`protocol.plc`)."""


def pack(value: float, spec: RegisterSpec) -> list[int]:
    """The 16-bit register words holding `value` (divided by the spec's scale)."""
    raw = value / spec.scale
    fmt = _FORMATS[spec.type]
    if spec.type != "float32":
        info = {"uint16": (0, 0xFFFF), "int16": (-0x8000, 0x7FFF)}
        info |= {"uint32": (0, 0xFFFFFFFF), "int32": (-0x80000000, 0x7FFFFFFF)}
        low, high = info[spec.type]
        raw = min(high, max(low, round(raw)))
        data = struct.pack(fmt, int(raw))
    else:
        data = struct.pack(fmt, raw)
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def pack_machine(readings: dict[str, float], heartbeat: int) -> list[int]:
    """All `MACHINE_REGISTER_COUNT` registers for one machine reading."""
    words = [0] * MACHINE_REGISTER_COUNT
    values = dict(readings, heartbeat=float(heartbeat % 65536))
    for spec in MACHINE_REGISTER_MAP:
        packed = pack(values[spec.signal], spec)
        words[spec.address : spec.address + len(packed)] = packed
    return words
