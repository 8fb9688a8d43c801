"""Job progress folded from operation reports (pure)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coordinator.jobs.facts import OperationReport
from coordinator.jobs.progress import (
    OperationProgress,
    TrackedJob,
    advance_operation,
    job_progress,
    operation_id,
)

T0 = 1_700_000_000_000


def report(
    op: str = "j1:0",
    state: str = "run",
    good: int = 0,
    scrap: int = 0,
    ts: int = T0,
    node: str = "m1",
) -> OperationReport:
    return OperationReport("s1", node, op.rpartition(":")[0], op, state, good, scrap, ts)  # type: ignore[arg-type]


def fold(reports: list[OperationReport]) -> dict[str, OperationProgress]:
    out: dict[str, OperationProgress] = {}
    for r in reports:
        out[r.operation_id] = advance_operation(out.get(r.operation_id), r)
    return out


def test_counts_never_go_back_and_a_replay_adds_nothing() -> None:
    """A late or replayed report with lower counts leaves the counts as they were."""
    reports = [report(good=5, ts=T0 + 1000), report(good=9, scrap=1, ts=T0 + 2000)]
    once = fold(reports)["j1:0"]
    replayed = fold([*reports, *reports, *reports[::-1]])["j1:0"]
    late = fold([*reports, report(good=2, ts=T0 + 1500)])["j1:0"]
    assert (once.good, once.scrap) == (9, 1)
    assert replayed == once
    assert (late.good, late.scrap, late.state, late.updated_ms) == (9, 1, "run", T0 + 2000)


def test_started_is_the_first_report_and_done_is_final() -> None:
    """The earliest report dates the start; a `run` report after `done` does not reopen it."""
    progress = fold(
        [
            report(state="setup", ts=T0 + 5000),
            report(state="done", good=10, ts=T0 + 9000),
            report(state="run", good=3, ts=T0 + 1000),
            report(state="run", good=10, ts=T0 + 9500),
        ]
    )["j1:0"]
    assert progress.started_ms == T0 + 1000
    assert progress.state == "done"
    assert progress.finished_ms == T0 + 9000


@given(st.permutations(list(range(6))))
@settings(max_examples=60, deadline=None)
def test_order_of_reports_does_not_matter(order: list[int]) -> None:
    """Folding the same reports in any order gives the same progress."""
    base = [
        report(state="setup", ts=T0),
        report(good=2, ts=T0 + 10),
        report(state="paused", good=4, scrap=1, ts=T0 + 20),
        report(good=7, scrap=1, ts=T0 + 30),
        report(good=9, scrap=2, ts=T0 + 40),
        report(state="done", good=10, scrap=2, ts=T0 + 50),
    ]
    assert fold([base[i] for i in order]) == fold(base)


def test_job_finishes_when_good_units_of_its_last_operation_reach_the_quantity() -> None:
    """Scrap does not count, and the first operation's units do not finish the job."""
    job = TrackedJob("j1", quantity=10, operations=2)
    first = fold([report("j1:0", state="done", good=10, ts=T0 + 100)])
    assert job_progress(job, first.values()).state == "started"
    running = fold([report("j1:1", good=9, scrap=5, ts=T0 + 200)])
    progress = job_progress(job, [*first.values(), *running.values()])
    assert (progress.state, progress.good, progress.scrap) == ("started", 9, 5)
    done = fold([report("j1:1", good=10, scrap=5, ts=T0 + 300)])
    progress = job_progress(job, [*first.values(), *done.values()])
    assert (progress.state, progress.finished_ms, progress.started_ms) == (
        "finished",
        T0 + 300,
        T0 + 100,
    )


def test_a_job_done_short_of_its_quantity_is_short_with_its_shortfall() -> None:
    """The last operation done with 7 good of 10 leaves the job short by 3."""
    job = TrackedJob("j1", quantity=10, operations=1)
    progress = job_progress(job, fold([report(state="done", good=7, scrap=3)]).values())
    assert (progress.state, progress.shortfall) == ("short", 3)


def test_planned_until_reported_and_other_jobs_ignored() -> None:
    """A job nobody reported is planned; another job's operations do not count."""
    job = TrackedJob("j1", quantity=1, operations=1)
    other = fold([report("j2:0", state="done", good=5)])
    assert job_progress(job, other.values()).state == "planned"


def test_a_job_without_quantity_finishes_when_its_last_operation_is_done() -> None:
    """No quantity: the done state of the last operation finishes it."""
    job = TrackedJob("j1", quantity=None, operations=1)
    assert job_progress(job, fold([report(state="done")]).values()).state == "finished"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"good": -1}, "negative"), ({"state": "exploded"}, "unknown operation state")],
)
def test_malformed_reports_are_refused(kwargs: dict[str, object], message: str) -> None:
    """Negative counts and unknown states never enter the tracker."""
    fields = {"good": 0, "scrap": 0, "state": "run", **kwargs}
    with pytest.raises(ValueError, match=message):
        OperationReport("s1", "m1", "j1", "j1:0", fields["state"], fields["good"], 0, T0)  # type: ignore[arg-type]


def test_operation_ids_follow_the_plan_naming() -> None:
    """Operation k of job j is `j:k`, as the runner names it in plans."""
    assert [operation_id("j-1", k) for k in itertools.islice(itertools.count(), 3)] == [
        "j-1:0",
        "j-1:1",
        "j-1:2",
    ]
