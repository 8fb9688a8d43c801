"""The commit watermark: the coordinator tells a node the highest seq it has committed.

The broker's PUBACK only says the broker has a message; a broker killed before it hands
the message on (or writes its persistence file) loses it. So an agent that announces the
`watermark` capability in its birth keeps every outbox row until a watermark covers it,
and the coordinator, after each commit, sends it

    ff/v1/{site}/{node}/cmd/watermark   {"kind": "cmd", "name": "watermark",
                                          "cmd_id": "wm-{seq}", "args": {"seq": N}, ...}

meaning: every seq <= N of this node is stored (or was settled as lost, so the node no
longer holds it). It is a notice, not a request: the agent does not answer it. N is the
end of the node's contiguous committed run (`committed_through`): a gap below the
high-water mark holds it back until the gap is filled or settled, so a message the broker
lost is never released. Nodes that do not announce the capability never get one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from protocol.errors import InvalidMessage
from protocol.messages import MAX_SEQ, Command

WATERMARK_COMMAND: Final = "watermark"
WATERMARK_CAPABILITY: Final = "watermark"


def committed_through(high: int, gaps: Sequence[tuple[int, int]]) -> int:
    """The highest seq N such that every seq <= N was received: the seq before the first
    open gap, else `high` (-1 when nothing was received). `gaps` are sorted ranges."""
    return gaps[0][0] - 1 if gaps else high


def watermark_command(*, site: str, node: str, seq: int, ts: int) -> Command:
    """The watermark notice telling (site, node) that every seq <= `seq` is committed."""
    return Command(
        site=site,
        node=node,
        name=WATERMARK_COMMAND,
        cmd_id=f"wm-{seq}",
        ts=ts,
        args={"seq": seq},
    )


def watermark_seq(command: Command) -> int:
    """The seq a watermark notice covers; `InvalidMessage` unless `command` is a
    well-formed one (name `watermark`, args exactly `{"seq": integer in 0..2**63-1}`)."""
    if command.name != WATERMARK_COMMAND:
        raise InvalidMessage(f"not a watermark: command {command.name!r}", field="name")
    if set(command.args) != {"seq"}:
        raise InvalidMessage("watermark args must be exactly {seq}", field="args")
    seq = command.args["seq"]
    if type(seq) is not int or not 0 <= seq <= MAX_SEQ:
        raise InvalidMessage("watermark seq must be an integer in 0..2**63-1", field="args.seq")
    return seq


__all__ = [
    "WATERMARK_CAPABILITY",
    "WATERMARK_COMMAND",
    "committed_through",
    "watermark_command",
    "watermark_seq",
]
