"""The PLC operation registers: commands and status round-trip; bad ones are refused."""

from __future__ import annotations

import pytest

from protocol import InvalidMessage
from protocol.plc import (
    COMMAND_WORDS,
    STATUS_WORDS,
    PlcCommand,
    PlcStatus,
    pack_command,
    pack_status,
    unpack_command,
    unpack_status,
)


def test_a_command_round_trips_through_its_registers() -> None:
    """Token, quantity, setup, job id and family come back from the 68 words."""
    command = PlcCommand(token=7, job_id="J-2026-0001", quantity=70_000, family="bolts", setup_s=90)
    words = pack_command(command)
    assert len(words) == COMMAND_WORDS
    assert all(0 <= w <= 0xFFFF for w in words)
    assert unpack_command(words) == command
    assert unpack_command(pack_command(PlcCommand(token=1, job_id="j" * 64, quantity=1))) == (
        PlcCommand(token=1, job_id="j" * 64, quantity=1)
    )


def test_an_empty_or_garbled_command_block_is_no_command() -> None:
    """No token yet, a wrong length or an invalid command read back gives None."""
    assert unpack_command([0] * COMMAND_WORDS) is None
    assert unpack_command([1] * 3) is None
    garbled = pack_command(PlcCommand(token=3, job_id="j", quantity=5))
    garbled[1:3] = [0, 0]  # quantity 0
    assert unpack_command(garbled) is None


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"token": 0}, "token"),
        ({"token": 65536}, "token"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": 2**32}, "quantity"),
        ({"setup_s": 70_000}, "setup_s"),
        ({"job_id": "é"}, "job_id"),
        ({"job_id": "x" * 65}, "job_id"),
        ({"job_id": ""}, "job_id"),
        ({"family": "a\0b"}, "family"),
    ],
)
def test_commands_out_of_range_are_refused(fields: dict[str, object], field: str) -> None:
    """What the registers cannot hold raises InvalidMessage naming the field."""
    base: dict[str, object] = {"token": 1, "job_id": "j", "quantity": 1}
    with pytest.raises(InvalidMessage) as info:
        PlcCommand(**{**base, **fields})  # type: ignore[arg-type]
    assert info.value.field == field


@pytest.mark.parametrize("state", [None, "setup", "run", "paused", "done"])
def test_a_status_round_trips(state: str | None) -> None:
    """Counts beyond 65535, each state and 'no operation' come back."""
    status = PlcStatus(token=9, state=state, good=70_001, scrap=3)
    words = pack_status(status)
    assert len(words) == STATUS_WORDS
    assert unpack_status(words) == status


def test_a_bad_status_block_is_refused() -> None:
    """An unknown state code or a wrong length raises InvalidMessage."""
    with pytest.raises(InvalidMessage, match="state code 4"):
        unpack_status([0, 0, 0, 0, 4, 1])
    with pytest.raises(InvalidMessage, match="status words"):
        unpack_status([0, 0])
