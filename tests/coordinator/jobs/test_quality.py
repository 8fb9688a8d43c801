"""Batch quality and re-make jobs (pure)."""

from __future__ import annotations

from coordinator.jobs.progress import OperationProgress, TrackedJob, job_progress
from coordinator.jobs.quality import judge_batch, remake_id, remake_order, scrap_share
from coordinator.plan.orders.specs import JobOrder, OperationOrder

T0 = 1_700_000_000_000


def op(state: str = "done", good: int = 90, scrap: int = 10) -> OperationProgress:
    return OperationProgress("j1:0", "j1", "m1", state, good, scrap, T0, T0 + 60_000, T0 + 60_000)  # type: ignore[arg-type]


def test_a_done_batch_over_its_limit_gets_a_verdict() -> None:
    """10 % scrap against a 5 % limit is judged; against 10 % it is not (limit inclusive)."""
    verdict = judge_batch(op(), limit=0.05)
    assert verdict is not None
    assert verdict.share == 0.1
    assert verdict.machine == "m1"
    assert judge_batch(op(), limit=0.10) is None


def test_a_running_batch_is_not_judged_yet() -> None:
    """Only a done batch is judged: the share of a running one still changes."""
    assert judge_batch(op(state="run", good=1, scrap=9), limit=0.05) is None


def test_scrap_share_of_nothing_is_zero() -> None:
    """No units made: no scrap share (no division by zero)."""
    assert scrap_share(0, 0) == 0.0


def test_remake_covers_the_shortfall_with_scaled_durations() -> None:
    """A job short by 30 of 100 is re-made for 30 units, its steps 30 % as long."""
    order = JobOrder(
        "j1",
        (OperationOrder({"m1": 1000.0, "m2": 1200.0}, family="red"), OperationOrder({"m3": 100.0})),
        due_ms=T0 + 10**7,
        quantity=100,
        sku="cup",
    )
    progress = job_progress(
        TrackedJob("j1", 100, 2),
        [
            OperationProgress("j1:0", "j1", "m1", "done", 80, 20, T0, T0 + 1, T0 + 1),
            OperationProgress("j1:1", "j1", "m3", "done", 70, 10, T0 + 2, T0 + 3, T0 + 3),
        ],
    )
    remake = remake_order(order, progress)
    assert remake is not None
    assert (remake.id, remake.quantity, remake.sku, remake.due_ms) == (
        "j1.r1",
        30,
        "cup",
        T0 + 10**7,
    )
    assert remake.operations[0].options == {"m1": 300.0, "m2": 360.0}
    assert remake.operations[0].family == "red"
    assert remake.operations[1].options == {"m3": 30.0}


def test_no_remake_for_a_finished_job() -> None:
    """A job whose good units reached its quantity needs no re-make."""
    order = JobOrder("j1", (OperationOrder({"m1": 10.0}),), quantity=5)
    progress = job_progress(
        TrackedJob("j1", 5, 1), [OperationProgress("j1:0", "j1", "m1", "done", 5, 9, T0, T0, T0)]
    )
    assert remake_order(order, progress) is None


def test_remake_ids_count_up_and_stay_within_the_id_length() -> None:
    """`x` → `x.r1` → `x.r2`; a 60-character id keeps its suffix within 60 characters."""
    assert remake_id("x") == "x.r1"
    assert remake_id("x.r1") == "x.r2"
    long = remake_id("a" * 60)
    assert len(long) == 60
    assert long.endswith(".r1")
