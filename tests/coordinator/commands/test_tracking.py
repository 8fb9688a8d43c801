"""The pure rules of command tracking: ack matching, duplicates, wrong node, expiry, bounds."""

from __future__ import annotations

import orjson

from coordinator.commands.tracking import (
    MAX_STORED_ARGS_CHARS,
    TrackedCommand,
    answer,
    expire,
    expiry_cutoff,
    metric_name,
    stored_args,
)
from protocol import CommandAck

T0 = 1_700_000_000_000
SENT = TrackedCommand(cmd_id="config-1", site="s1", node="m1", name="config", args="{}", sent_ms=T0)


def _ack(*, ok: bool = True, reason: str = "", site: str = "s1", node: str = "m1") -> CommandAck:
    return CommandAck(
        site=site, node=node, name="config", cmd_id="config-1", ts=T0 + 5, ok=ok, reason=reason
    )


def test_an_ok_ack_answers_the_command() -> None:
    """An ok from the addressee makes the command `ok`, stamped with the coordinator's time."""
    outcome, updated = answer(SENT, _ack(), now_ms=T0 + 10)
    assert outcome == "ok"
    assert updated is not None
    assert (updated.state, updated.reason, updated.answered_ms) == ("ok", "", T0 + 10)


def test_a_nack_keeps_the_reason() -> None:
    """A nack makes the command `rejected` with the node's reason (a blank one is named)."""
    outcome, updated = answer(SENT, _ack(ok=False, reason="no signal 'x'"), now_ms=T0 + 10)
    assert outcome == "rejected"
    assert updated is not None
    assert (updated.state, updated.reason) == ("rejected", "no signal 'x'")
    _, blank = answer(SENT, _ack(ok=False), now_ms=T0 + 10)
    assert blank is not None
    assert blank.reason == "rejected without a reason"


def test_unknown_duplicate_and_wrong_node_acks_change_nothing() -> None:
    """An ack for no recorded command, a second answer, or one from another node or site
    is only an outcome to count."""
    assert answer(None, _ack(), now_ms=T0) == ("unknown", None)
    _, done = answer(SENT, _ack(), now_ms=T0 + 10)
    assert done is not None
    assert answer(done, _ack(ok=False, reason="late"), now_ms=T0 + 20) == ("duplicate", None)
    assert answer(SENT, _ack(node="m2"), now_ms=T0) == ("wrong_node", None)
    assert answer(SENT, _ack(site="s2"), now_ms=T0) == ("wrong_node", None)


def test_expiry_and_a_late_answer() -> None:
    """A command past its timeout expires with a reason; an answer arriving later still
    records what the node did."""
    assert expiry_cutoff(now_ms=T0 + 60_000, timeout_s=60.0) == T0
    expired = expire(SENT, timeout_s=60.0)
    assert (expired.state, expired.reason, expired.answered_ms) == (
        "expired",
        "no answer within 60 s",
        None,
    )
    outcome, late = answer(expired, _ack(ok=False, reason="bad plan"), now_ms=T0 + 90_000)
    assert outcome == "rejected"
    assert late is not None
    assert late.state == "rejected"


def test_stored_arguments_are_bounded() -> None:
    """Small arguments are kept as JSON; a huge plan is kept as a summary under the bound."""
    assert orjson.loads(stored_args({"reason": "out of sync"})) == {"reason": "out of sync"}
    huge = {"operations": [{"operation_id": f"op{i}", "start": i} for i in range(5000)]}
    text = stored_args(huge)
    assert len(text) <= MAX_STORED_ARGS_CHARS
    summary = orjson.loads(text)
    assert summary["truncated"] is True
    assert summary["keys"] == ["operations"]
    assert summary["chars"] > MAX_STORED_ARGS_CHARS


def test_metric_names_are_bounded() -> None:
    """Known command names label metrics; any other name a node sends is `other`."""
    assert [metric_name(n) for n in ("rebirth", "config", "schedule", "route", "x" * 60)] == [
        "rebirth",
        "config",
        "schedule",
        "route",
        "other",
    ]
