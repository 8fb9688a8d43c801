"""Planned starts a machine never reported (pure)."""

from __future__ import annotations

from coordinator.jobs.overdue import PlannedStart, overdue_starts
from coordinator.jobs.progress import OperationProgress

T0 = 1_700_000_000_000
GRACE = 120_000


def started(op: str, state: str = "run") -> OperationProgress:
    return OperationProgress(op, op.split(":", maxsplit=1)[0], "m1", state, 0, 0, T0, T0)  # type: ignore[arg-type]


def test_a_first_operation_past_its_grace_is_overdue() -> None:
    """Planned at T0, nothing reported at T0 + grace + 1 ms: overdue; at T0 + grace: not yet."""
    planned = [PlannedStart("j1:0", "j1", "m1", T0)]
    assert overdue_starts(planned, {}, now_ms=T0 + GRACE, grace_ms=GRACE) == []
    (late,) = overdue_starts(planned, {}, now_ms=T0 + GRACE + 1, grace_ms=GRACE)
    assert (late.job_id, late.machine_id, late.late_ms) == ("j1", "m1", GRACE + 1)


def test_a_reported_start_is_not_overdue() -> None:
    """Once the machine reported the operation, it is executed, however late."""
    planned = [PlannedStart("j1:0", "j1", "m1", T0)]
    assert (
        overdue_starts(planned, {"j1:0": started("j1:0")}, now_ms=T0 + 10**7, grace_ms=GRACE) == []
    )


def test_a_later_operation_waits_for_its_predecessor() -> None:
    """Operation 1 is not the machine's fault while operation 0 is still running."""
    planned = [PlannedStart("j1:1", "j1", "m2", T0)]
    now = T0 + 10**7
    assert overdue_starts(planned, {"j1:0": started("j1:0")}, now_ms=now, grace_ms=GRACE) == []
    done = {"j1:0": started("j1:0", "done")}
    assert [o.operation_id for o in overdue_starts(planned, done, now_ms=now, grace_ms=GRACE)] == [
        "j1:1"
    ]
