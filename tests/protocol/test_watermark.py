"""The commit watermark notice: its shape, what it covers, and refusing malformed ones."""

from __future__ import annotations

from typing import Any

import pytest

from protocol import (
    WATERMARK_COMMAND,
    Command,
    InvalidMessage,
    SequenceTracker,
    committed_through,
    decode,
    encode,
    topic_for,
    watermark_command,
    watermark_seq,
)

TS = 1_700_000_000_000


def test_watermark_round_trips_on_the_nodes_command_topic() -> None:
    """A watermark is a `watermark` command to one node, decoded back to the same seq."""
    notice = watermark_command(site="s1", node="m1", seq=41, ts=TS)
    topic = topic_for(notice)
    assert topic == "ff/v1/s1/m1/cmd/watermark"
    decoded = decode(topic, encode(notice))
    assert isinstance(decoded, Command)
    assert decoded.name == WATERMARK_COMMAND
    assert watermark_seq(decoded) == 41


@pytest.mark.parametrize(
    ("high", "gaps", "expected"),
    [
        (-1, [], -1),
        (9, [], 9),
        (9, [(3, 4)], 2),
        (9, [(0, 0), (5, 6)], -1),
    ],
)
def test_committed_through_stops_before_the_first_gap(
    high: int, gaps: list[tuple[int, int]], expected: int
) -> None:
    """Only the contiguous run from seq 0 counts: a gap holds the watermark back."""
    assert committed_through(high, gaps) == expected


def test_committed_through_follows_a_tracker_filling_its_gap() -> None:
    """A late message filling the gap moves the watermark up to the high-water mark."""
    tracker = SequenceTracker()
    for seq in (0, 1, 4, 5):
        tracker.observe(seq)
    assert committed_through(tracker.high, tracker.gap_ranges) == 1
    tracker.observe(2)
    tracker.observe(3)
    assert committed_through(tracker.high, tracker.gap_ranges) == 5


@pytest.mark.parametrize(
    ("name", "args", "field"),
    [
        ("rebirth", {"seq": 1}, "name"),
        (WATERMARK_COMMAND, {}, "args"),
        (WATERMARK_COMMAND, {"seq": 1, "extra": 2}, "args"),
        (WATERMARK_COMMAND, {"seq": "1"}, "args.seq"),
        (WATERMARK_COMMAND, {"seq": 1.0}, "args.seq"),
        (WATERMARK_COMMAND, {"seq": True}, "args.seq"),
        (WATERMARK_COMMAND, {"seq": -1}, "args.seq"),
        (WATERMARK_COMMAND, {"seq": 2**63}, "args.seq"),
    ],
)
def test_malformed_watermarks_are_refused(name: str, args: dict[str, Any], field: str) -> None:
    """Wrong name, missing, extra, non-integer or out-of-range seq: `InvalidMessage`."""
    command = Command(site="s1", node="m1", name=name, cmd_id="wm-1", ts=TS, args=args)
    with pytest.raises(InvalidMessage) as err:
        watermark_seq(command)
    assert err.value.field == field
