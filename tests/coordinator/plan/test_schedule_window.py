"""A machine's schedule command carries its earliest operations only (`SCHEDULE_WINDOW`),
so a machine queued with thousands of small jobs still gets its schedule: the whole
sequence would pass the payload limit. The plan itself keeps every operation."""

from __future__ import annotations

from typing import Any

import pytest

from coordinator.plan import runner as runner_module
from coordinator.plan.orders.specs import JobOrder, OperationOrder
from coordinator.plan.runner import SCHEDULE_WINDOW, PlanRunner, schedule_window
from coordinator.plan.triggers import MachineSeen
from fleet_runtime.clock import FakeClock
from protocol import (
    DEFAULT_MAX_PAYLOAD_BYTES,
    EncodeError,
    decode,
    encode,
    plan_command,
    plan_update,
)
from protocol.plans import ScheduleUpdate
from tests.coordinator.conftest import command_log


def _body(count: int) -> dict[str, Any]:
    """A schedule body of `count` operations, given latest first."""
    ops = [
        {"operation_id": f"sales.so-live-{i:06d}.0.0:0", "job_id": f"sales.so-live-{i:06d}.0.0",
         "start": 10 * i, "end": 10 * i + 9, "setup": 2, "quantity": 12, "family": "cups"}
        for i in reversed(range(count))
    ]  # fmt: skip
    ids = [op["operation_id"] for op in ops]
    return {
        "version": 7, "machine_id": "m1", "epoch_ms": 1_700_000_000_000, "time_unit_s": 60.0,
        "operations": ops, "moved": ids, "reassigned_in": ids[:5], "reassigned_out": [],
        "added": ids, "removed": [f"gone-{i}" for i in range(count)],
    }  # fmt: skip


def test_the_window_keeps_the_earliest_operations_and_what_names_them() -> None:
    body = _body(5_000)
    cut = schedule_window(body, 1_000)
    starts = [op["start"] for op in cut["operations"]]
    assert sorted(starts) == [10 * i for i in range(1_000)]
    kept = {op["operation_id"] for op in cut["operations"]}
    assert set(cut["moved"]) == set(cut["added"]) == kept
    assert cut["reassigned_in"] == []  # they were the latest five
    assert len(cut["removed"]) == 1_000
    assert schedule_window(_body(3), 1_000) == _body(3)


def test_a_full_window_fits_the_payload_limit_that_the_whole_sequence_passes() -> None:
    """5,000 operations (the most a plan message may name) are refused as over 512 KB;
    the window of the first 1,000 is under half of it."""

    def command(body: dict[str, Any]) -> Any:
        update = ScheduleUpdate(**body)
        return plan_command(update, site="s", node="m1", cmd_id="c1", ts=1_700_000_000_000)

    whole = _body(5_000)
    with pytest.raises(EncodeError, match="exceeds"):
        encode(command(whole))
    assert (
        len(encode(command(schedule_window(whole, SCHEDULE_WINDOW))))
        < DEFAULT_MAX_PAYLOAD_BYTES / 2
    )


def test_the_runner_sends_a_machine_its_window_and_the_next_after_a_job_closes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a window of 3, five jobs on m1: the command carries the three earliest, the
    plan all five; once the first job is closed the next command brings the fourth."""
    monkeypatch.setattr(runner_module, "SCHEDULE_WINDOW", 3)
    clock = FakeClock(1_700_000_000.0)
    runner = PlanRunner(clock=clock, commands=command_log(clock=clock), time_limit_s=1.0)
    runner.apply([MachineSeen("s", "m1")])
    jobs = [JobOrder(f"j{i}", (OperationOrder({"m1": 600.0}),), due_ms=i) for i in range(5)]
    runner.submit_orders(jobs)
    clock.advance(5.0)
    assert runner.service.tick()
    assert len(runner.schedule()["machines"]["m1"]) == 5

    def sent() -> list[str]:
        message = runner.commands.publisher.messages[-1]  # type: ignore[attr-defined]
        update = plan_update(decode(message.topic, message.payload))  # type: ignore[arg-type]
        assert isinstance(update, ScheduleUpdate)
        return [op.job_id for op in sorted(update.operations, key=lambda op: op.start)]

    first = sent()
    assert len(first) == 3
    runner.close_orders([first[0]], [], reason="done")
    clock.advance(5.0)
    assert runner.service.tick()
    second = sent()
    assert len(second) == 3
    assert first[0] not in second
    assert set(first[1:]) < set(second)
