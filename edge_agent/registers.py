"""Modbus register maps: which holding registers hold which signal, and how to decode them.

Configured in TOML as an array of tables::

    [[driver.registers]]
    signal = "spindle_temp_c"
    address = 0          # first holding register (0-based)
    type = "float32"     # uint16 | int16 | uint32 | int32 | float32
    scale = 1.0          # engineering value = raw × scale
    unit = "degC"

Multi-register values are big-endian, high word first ("ABCD"). Pure: no sockets here.
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass
from typing import Any, Final

from edge_agent.errors import ConfigError

WIDTH: Final = {"uint16": 1, "int16": 1, "uint32": 2, "int32": 2, "float32": 2}
_FORMAT: Final = {"uint16": ">H", "int16": ">h", "uint32": ">I", "int32": ">i", "float32": ">f"}
_SIGNAL_RE: Final = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
MAX_READ_REGISTERS: Final = 125  # Modbus limit for one "read holding registers" request
MAX_REGISTER_ENTRIES: Final = 2000


@dataclass(frozen=True, slots=True)
class RegisterEntry:
    """One signal's place in the device's holding registers."""

    signal: str
    address: int
    type: str
    scale: float = 1.0
    unit: str = ""
    stepped: bool = False
    mode_signal: str = ""

    @property
    def width(self) -> int:
        """How many 16-bit registers the value spans."""
        return WIDTH[self.type]


RegisterMap = tuple[RegisterEntry, ...]


def parse_register_map(raw: list[Any]) -> RegisterMap:
    """Validate the `[[driver.registers]]` tables; raises `ConfigError` naming the entry."""
    if len(raw) > MAX_REGISTER_ENTRIES:
        raise ConfigError("driver.registers", f"at most {MAX_REGISTER_ENTRIES} entries")
    entries: list[RegisterEntry] = []
    for i, item in enumerate(raw):
        where = f"driver.registers[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(where, "must be a table")
        unknown = set(item) - {
            "signal",
            "address",
            "type",
            "scale",
            "unit",
            "stepped",
            "mode_signal",
        }
        if unknown:
            raise ConfigError(f"{where}.{sorted(unknown)[0]}", "unknown setting")
        signal, address, kind = item.get("signal"), item.get("address"), item.get("type", "uint16")
        scale, unit = item.get("scale", 1.0), item.get("unit", "")
        if not (isinstance(signal, str) and _SIGNAL_RE.match(signal)):
            raise ConfigError(f"{where}.signal", "1-64 of [A-Za-z0-9_.:-] required")
        if kind not in WIDTH:
            raise ConfigError(f"{where}.type", f"must be one of {', '.join(WIDTH)}")
        if not (isinstance(address, int) and not isinstance(address, bool)):
            raise ConfigError(f"{where}.address", "an integer is required")
        if not 0 <= address <= 65536 - WIDTH[kind]:
            raise ConfigError(f"{where}.address", f"out of range: {address}")
        ok = isinstance(scale, int | float) and not isinstance(scale, bool)
        if not (ok and math.isfinite(scale) and scale != 0):
            raise ConfigError(f"{where}.scale", "must be a finite non-zero number")
        if not (isinstance(unit, str) and len(unit) <= 32):
            raise ConfigError(f"{where}.unit", "a string of at most 32 characters")
        stepped = item.get("stepped", False)
        if not isinstance(stepped, bool):
            raise ConfigError(f"{where}.stepped", "must be true or false")
        mode = item.get("mode_signal", "")
        if not (isinstance(mode, str) and (mode == "" or _SIGNAL_RE.match(mode))):
            raise ConfigError(f"{where}.mode_signal", "the name of another register's signal")
        entries.append(RegisterEntry(signal, address, str(kind), float(scale), unit, stepped, mode))
    names = [e.signal for e in entries]
    if len(set(names)) != len(names):
        raise ConfigError("driver.registers", "signal names must be unique")
    for i, entry in enumerate(entries):
        if entry.mode_signal and (
            entry.mode_signal not in names or entry.mode_signal == entry.signal
        ):
            raise ConfigError(
                f"driver.registers[{i}].mode_signal", "the name of another register's signal"
            )
    return tuple(entries)


def read_blocks(entries: RegisterMap) -> list[tuple[int, int]]:
    """Contiguous (start, count) reads covering every entry, each ≤ 125 registers."""
    spans = sorted((e.address, e.address + e.width) for e in entries)
    blocks: list[tuple[int, int]] = []
    for start, end in spans:
        if blocks and end - blocks[-1][0] <= MAX_READ_REGISTERS and start <= sum(blocks[-1]) + 8:
            first = blocks[-1][0]
            blocks[-1] = (first, max(sum(blocks[-1]), end) - first)
        else:
            blocks.append((start, end - start))
    return blocks


def decode_value(words: list[int], entry: RegisterEntry) -> float:
    """The engineering value of `entry` from its registers (big-endian words)."""
    data = b"".join(int(w & 0xFFFF).to_bytes(2, "big") for w in words[: entry.width])
    return float(struct.unpack(_FORMAT[entry.type], data)[0]) * entry.scale
