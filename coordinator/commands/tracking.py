"""The commands the coordinator sent and what became of them: values and pure rules.

A command is `sent` when it is recorded (before it is published), then `ok` or
`rejected` when the node's ack arrives, or `expired` when none arrived within the
timeout (or the MQTT client refused it). An ack is matched by `cmd_id` and must come
from the node the command went to: an ack for an unknown `cmd_id`, from another node, or
for a command already answered (a redelivered ack) changes nothing and is only counted.
An answer arriving after the timeout still records what the node did (`expired` becomes
`ok` or `rejected`): an operator would rather know that a machine refused its schedule
late than never.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Final, Literal

import orjson

from protocol import CommandAck
from protocol.config_args import CONFIG_COMMAND
from protocol.plans import PLAN_COMMANDS

CommandState = Literal["sent", "ok", "rejected", "expired"]
STATES: Final[tuple[CommandState, ...]] = ("sent", "ok", "rejected", "expired")
AckOutcome = Literal["ok", "rejected", "unknown", "duplicate", "wrong_node"]
KNOWN_COMMANDS: Final = ("rebirth", CONFIG_COMMAND, *PLAN_COMMANDS)
MAX_STORED_ARGS_CHARS: Final = 4096
"""Arguments longer than this as JSON (a big schedule) are stored as a summary."""


@dataclass(frozen=True, slots=True)
class TrackedCommand:
    """One command as recorded: `args` is JSON text (bounded, see `stored_args`);
    `answered_ms` is when the coordinator took the node's answer (None until then)."""

    cmd_id: str
    site: str
    node: str
    name: str
    args: str
    sent_ms: int
    state: CommandState = "sent"
    reason: str = ""
    answered_ms: int | None = None


def stored_args(args: dict[str, Any]) -> str:
    """The JSON text kept for a command's arguments: the arguments themselves, or, past
    `MAX_STORED_ARGS_CHARS`, `{"truncated": true, "chars": n, "keys": [...]}`."""
    text = orjson.dumps(args).decode()
    if len(text) <= MAX_STORED_ARGS_CHARS:
        return text
    summary = {"truncated": True, "chars": len(text), "keys": sorted(args)[:32]}
    return orjson.dumps(summary).decode()


def metric_name(name: str) -> str:
    """The command name as a metric label: one of `KNOWN_COMMANDS`, else `other` (an ack's
    name comes from the node, so it must not create label values at will)."""
    return name if name in KNOWN_COMMANDS else "other"


def answer(
    tracked: TrackedCommand | None, ack: CommandAck, *, now_ms: int
) -> tuple[AckOutcome, TrackedCommand | None]:
    """What `ack` does to the command it names: the outcome, and the updated command
    (None when nothing changes)."""
    if tracked is None:
        return "unknown", None
    if (tracked.site, tracked.node) != (ack.site, ack.node):
        return "wrong_node", None
    if tracked.state in ("ok", "rejected"):
        return "duplicate", None
    if ack.ok:
        return "ok", replace(tracked, state="ok", reason="", answered_ms=now_ms)
    reason = ack.reason or "rejected without a reason"
    return "rejected", replace(tracked, state="rejected", reason=reason, answered_ms=now_ms)


def expire(tracked: TrackedCommand, *, timeout_s: float) -> TrackedCommand:
    """The command after its timeout passed without an answer."""
    return replace(tracked, state="expired", reason=f"no answer within {timeout_s:g} s")


def expiry_cutoff(*, now_ms: int, timeout_s: float) -> int:
    """Commands sent at or before this time (ms) and still unanswered are expired."""
    return now_ms - int(timeout_s * 1000)


__all__ = [
    "KNOWN_COMMANDS",
    "MAX_STORED_ARGS_CHARS",
    "STATES",
    "AckOutcome",
    "CommandState",
    "TrackedCommand",
    "answer",
    "expire",
    "expiry_cutoff",
    "metric_name",
    "stored_args",
]
