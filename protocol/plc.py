"""The holding registers through which an agent hands a PLC its current operation.

Both sides of the Modbus link use this layout: the agent writes the operation it wants
made into the command block, the PLC runs it and keeps its counts in the status block
(docs/modbus.md). Multi-register numbers are big-endian, high word first; texts are
ASCII, two characters per register, NUL-padded.

    address  block    field        type
    10-11    status   good         uint32   parts made good in the operation
    12-13    status   scrap        uint32
    14       status   state        uint16   0 setup, 1 run, 2 paused, 3 done, 65535 none
    15       status   token        uint16   the command token the counts belong to
    20       command  token        uint16   a new token makes the PLC take the operation
    21-22    command  quantity     uint32   good parts to make
    23       command  setup_s      uint16   changeover seconds if the family changes
    24-55    command  job_id       64 chars
    56-87    command  family       64 chars
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from protocol.errors import InvalidMessage

STATUS_ADDRESS: Final = 10
STATUS_WORDS: Final = 6
COMMAND_ADDRESS: Final = 20
COMMAND_WORDS: Final = 68
TEXT_WORDS: Final = 32
NO_STATE: Final = 0xFFFF
PLC_REGISTER_COUNT: Final = COMMAND_ADDRESS + COMMAND_WORDS
_STATES: Final = ("setup", "run", "paused", "done")


@dataclass(frozen=True, slots=True)
class PlcCommand:
    """The operation the agent wants made (`token` 1..65535 names this hand-over)."""

    token: int
    job_id: str
    quantity: int
    family: str = ""
    setup_s: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.token <= 0xFFFF:
            raise InvalidMessage(f"token {self.token} is outside 1..65535", field="token")
        if not 1 <= self.quantity <= 0xFFFFFFFF:
            raise InvalidMessage(
                f"quantity {self.quantity} is outside 1..2**32-1", field="quantity"
            )
        if not 0 <= self.setup_s <= 0xFFFF:
            raise InvalidMessage(f"setup_s {self.setup_s} is outside 0..65535", field="setup_s")
        for name in ("job_id", "family"):
            value = getattr(self, name)
            if len(value) > 2 * TEXT_WORDS or not value.isascii() or "\0" in value:
                raise InvalidMessage(f"{name} must be ASCII of at most 64 characters", field=name)
        if not self.job_id:
            raise InvalidMessage("job_id is empty", field="job_id")


@dataclass(frozen=True, slots=True)
class PlcStatus:
    """The PLC's counts for the operation of `token` (state None: no operation)."""

    token: int
    state: str | None
    good: int
    scrap: int


def _text(value: str) -> list[int]:
    raw = value.encode("ascii").ljust(2 * TEXT_WORDS, b"\0")
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]


def _untext(words: list[int]) -> str:
    raw = b"".join(w.to_bytes(2, "big") for w in words)
    return raw.split(b"\0", 1)[0].decode("ascii", errors="replace")


def _u32(value: int) -> list[int]:
    return [value >> 16 & 0xFFFF, value & 0xFFFF]


def pack_command(command: PlcCommand) -> list[int]:
    """The `COMMAND_WORDS` words from `COMMAND_ADDRESS`."""
    return [
        command.token,
        *_u32(command.quantity),
        command.setup_s,
        *_text(command.job_id),
        *_text(command.family),
    ]


def unpack_command(words: list[int]) -> PlcCommand | None:
    """The command in the block (None: no token yet, or not a valid command)."""
    if len(words) != COMMAND_WORDS or words[0] == 0:
        return None
    try:
        return PlcCommand(
            token=words[0],
            quantity=words[1] << 16 | words[2],
            setup_s=words[3],
            job_id=_untext(words[4 : 4 + TEXT_WORDS]),
            family=_untext(words[4 + TEXT_WORDS :]),
        )
    except InvalidMessage:
        return None


def pack_status(status: PlcStatus) -> list[int]:
    """The `STATUS_WORDS` words from `STATUS_ADDRESS`."""
    state = NO_STATE if status.state is None else _STATES.index(status.state)
    return [*_u32(status.good), *_u32(status.scrap), state, status.token]


def unpack_status(words: list[int]) -> PlcStatus:
    """The status block read back (`InvalidMessage` if it holds an unknown state)."""
    if len(words) != STATUS_WORDS:
        raise InvalidMessage(f"{len(words)} status words, expected {STATUS_WORDS}", field="status")
    code = words[4]
    if code != NO_STATE and code >= len(_STATES):
        raise InvalidMessage(f"unknown operation state code {code}", field="state")
    return PlcStatus(
        token=words[5],
        state=None if code == NO_STATE else _STATES[code],
        good=words[0] << 16 | words[1],
        scrap=words[2] << 16 | words[3],
    )


__all__ = [
    "COMMAND_ADDRESS",
    "COMMAND_WORDS",
    "PLC_REGISTER_COUNT",
    "STATUS_ADDRESS",
    "STATUS_WORDS",
    "PlcCommand",
    "PlcStatus",
    "pack_command",
    "pack_status",
    "unpack_command",
    "unpack_status",
]
