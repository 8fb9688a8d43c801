"""The job tracker between the machines' counts, the planner and the alarms: finished jobs
leave the plan, short ones get a re-make, machines scrapping more than their limit explains
and unexecuted jobs alarm, and a tracker killed before settling settles on restart."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from coordinator.alarms.port import RecordingAlarmSink
from coordinator.ingest.records import BatchOutcome, WriteBatch
from coordinator.jobs.facts import OperationReport
from coordinator.jobs.tracker import JOB_NOT_STARTED, SCRAP_OVER_LIMIT, JobTracker
from coordinator.plan.orders.specs import JobOrder, OperationOrder
from coordinator.plan.runner import PlanRunner
from coordinator.plan.triggers import MachineSeen
from coordinator.store.port import CommitResult
from coordinator.store.sqlite_store import SqliteStore
from fleet_runtime.clock import FakeClock
from tests.coordinator.conftest import command_log

T0 = 1_700_000_000_000
NOTHING = CommitResult(0, 0, 0, 0)


@contextmanager
def wired(
    db: Path, clock: FakeClock, sink: RecordingAlarmSink
) -> Iterator[tuple[SqliteStore, PlanRunner, JobTracker]]:
    """A planner and a tracker over one SQLite file, wired as the coordinator wires them."""
    store = SqliteStore(db)
    runner = PlanRunner(
        clock=clock,
        commands=command_log(clock=clock),
        state=store.plan_state(),
        from_facts=True,
        time_unit_s=60.0,
    )
    tracker = JobTracker(
        store=store.job_store(),
        clock=clock,
        alarms=sink,
        scrap_limit_for=lambda sku: 0.2 if sku == "cup" else 0.05,
        start_grace_s=300.0,
    )
    tracker.attach(runner)
    runner.apply([MachineSeen("s", "m1"), MachineSeen("s", "m2")])
    runner.restore_saved()
    tracker.resume()
    try:
        yield store, runner, tracker
    finally:
        store.close()


def commit(store: SqliteStore, tracker: JobTracker, *reports: OperationReport) -> None:
    outcome = BatchOutcome(batch=WriteBatch(progress=reports))
    store.commit(outcome.batch)
    tracker.on_commit(outcome, NOTHING)


def report(op: str, state: str, good: int, scrap: int = 0, ts: int = T0) -> OperationReport:
    return OperationReport("s", "m1", op.rpartition(":")[0], op, state, good, scrap, ts)  # type: ignore[arg-type]


def order(job_id: str, quantity: int, sku: str = "cup") -> JobOrder:
    return JobOrder(job_id, (OperationOrder({"m1": 600.0}),), quantity=quantity, sku=sku)


def alarms_of(sink: RecordingAlarmSink, alarm_type: str) -> list[tuple[str, dict[str, object]]]:
    return [(kind, call) for kind, call in sink.calls if call["alarm_type"] == alarm_type]


def test_a_short_batch_is_remade_without_an_alarm_chance_explains(tmp_path: Path) -> None:
    """7 good and 3 scrap of 10 (30 % against the cup's 20 %, which a machine at 20 % scraps
    about one time in three): no `scrap_over_limit`, but the job leaves the plan as short
    and a re-make for the 3 missing units is planned."""
    clock, sink = FakeClock(T0 / 1000), RecordingAlarmSink()
    with wired(tmp_path / "c.db", clock, sink) as (store, runner, tracker):
        runner.submit_orders([order("j1", 10)])
        commit(store, tracker, report("j1:0", "run", 3, 1), report("j1:0", "done", 7, 3, T0 + 1))
        assert alarms_of(sink, SCRAP_OVER_LIMIT) == []
        assert runner.job_order("j1") is None
        remake = runner.job_order("j1.r1")
        assert remake is not None
        assert (remake.quantity, remake.operations[0].options) == (3, {"m1": 180.0})
        assert tracker.job("j1").state == "short"  # type: ignore[union-attr]
        assert tracker.store.remake_of("j1") == "j1.r1"
        assert tracker.job("j1.r1").state == "planned"  # type: ignore[union-attr]


def test_one_bad_batch_alarms_on_its_own_for_its_machine_and_product(tmp_path: Path) -> None:
    """4 good and 6 scrap of 10 (60 % against 20 %: p = 0.006): `scrap_over_limit` MAJOR for
    m1/cup, with the pooled counts and the chance in its details."""
    clock, sink = FakeClock(T0 / 1000), RecordingAlarmSink()
    with wired(tmp_path / "c.db", clock, sink) as (store, runner, tracker):
        runner.submit_orders([order("j1", 10)])
        commit(store, tracker, report("j1:0", "done", 4, 6, T0 + 1))
        [(kind, call)] = alarms_of(sink, SCRAP_OVER_LIMIT)
        assert (kind, call["source"], call["severity"]) == ("trigger", "m1/cup", "MAJOR")
        details = call["details"]
        assert isinstance(details, dict)
        assert (details["batches"], details["good"], details["scrap"]) == (1, 4, 6)
        assert (details["job_id"], details["operation_id"]) == ("j1", "j1:0")
        assert 0.005 < float(details["p_value"]) < 0.007
        assert "6 scrap of 10 in 1 batch over 24 h (60.0%, limit 20.0%)" in str(call["message"])


def test_small_batches_alarm_once_their_scrap_together_is_improbable(tmp_path: Path) -> None:
    """Batches of 4 with one scrap each on a 5 % product (`bowl`): one alone is a one-in-five
    chance and raises nothing (the old rule raised MAJOR at 25 %); the fourth within the
    day makes 4 of 16 (p = 0.007) and alarms. Another product on the same machine and the
    same product on another machine are judged apart."""
    clock, sink = FakeClock(T0 / 1000), RecordingAlarmSink()
    with wired(tmp_path / "c.db", clock, sink) as (store, runner, tracker):
        runner.submit_orders([order(f"b{i}", 3, sku="bowl") for i in range(4)])
        runner.submit_orders([order("c1", 3, sku="cup")])
        for i in range(3):
            commit(store, tracker, report(f"b{i}:0", "done", 3, 1, T0 + i * 3_600_000))
        commit(store, tracker, report("c1:0", "done", 3, 1, T0 + 3 * 3_600_000))
        assert alarms_of(sink, SCRAP_OVER_LIMIT) == []
        commit(store, tracker, report("b3:0", "done", 3, 1, T0 + 4 * 3_600_000))
        [(kind, call)] = alarms_of(sink, SCRAP_OVER_LIMIT)
        assert (kind, call["source"]) == ("trigger", "m1/bowl")
        assert "4 scrap of 16 in 4 batches" in str(call["message"])


def test_the_alarm_follows_the_evidence_and_clears_when_it_is_gone(tmp_path: Path) -> None:
    """Once raised, each batch updates the alarm while the window still shows too much
    scrap, and the first batch after which it does not clears it; batches older than the
    window (24 h) no longer count."""
    clock, sink = FakeClock(T0 / 1000), RecordingAlarmSink()
    hour = 3_600_000
    with wired(tmp_path / "c.db", clock, sink) as (store, runner, tracker):
        runner.submit_orders([order(f"b{i}", 10, sku="bowl") for i in range(4)])
        commit(store, tracker, report("b0:0", "done", 10, 4, T0))  # 4 of 14: p = 0.004
        commit(store, tracker, report("b1:0", "done", 10, 0, T0 + hour))  # 4 of 24: p = 0.03
        commit(store, tracker, report("b2:0", "done", 10, 3, T0 + 2 * hour))  # 7 of 37: p = 0.002
        kinds = [k for k, _ in alarms_of(sink, SCRAP_OVER_LIMIT)]
        assert kinds == ["trigger", "clear", "trigger"]
        assert "within its limit again" in str(alarms_of(sink, SCRAP_OVER_LIMIT)[1][1]["message"])
        commit(store, tracker, report("b3:0", "done", 10, 0, T0 + 30 * hour))  # alone: 0 of 10
        assert [k for k, _ in alarms_of(sink, SCRAP_OVER_LIMIT)][-1] == "clear"
        assert sink.active(SCRAP_OVER_LIMIT) == []


def test_a_scrap_alarm_raised_before_a_restart_is_cleared_after_it(tmp_path: Path) -> None:
    """`scrap_over_limit` raised, the coordinator restarts (a new tracker on the same
    database and alarms): the next good batch, 26 h later, clears it."""
    clock, sink = FakeClock(T0 / 1000), RecordingAlarmSink()
    with wired(tmp_path / "c.db", clock, sink) as (store, runner, tracker):
        runner.submit_orders([order("b0", 10, sku="bowl"), order("b1", 10, sku="bowl")])
        commit(store, tracker, report("b0:0", "done", 10, 4, T0))
        assert [s for _, s, _ in sink.active(SCRAP_OVER_LIMIT)] == ["m1/bowl"]
    with wired(tmp_path / "c.db", clock, sink) as (store, runner, tracker):
        commit(store, tracker, report("b1:0", "done", 10, 0, T0 + 26 * 3_600_000))
        assert sink.active(SCRAP_OVER_LIMIT) == []


def test_a_batch_within_its_limit_only_finishes_the_job(tmp_path: Path) -> None:
    """10 good and 2 scrap of 10 (17 % < 20 %): no alarm, no re-make, the job is finished."""
    clock, sink = FakeClock(T0 / 1000), RecordingAlarmSink()
    with wired(tmp_path / "c.db", clock, sink) as (store, runner, tracker):
        runner.submit_orders([order("j1", 10)])
        commit(store, tracker, report("j1:0", "done", 10, 2))
        assert alarms_of(sink, SCRAP_OVER_LIMIT) == []
        assert runner.job_order("j1.r1") is None
        assert tracker.job("j1").state == "finished"  # type: ignore[union-attr]


def test_a_tracker_killed_before_settling_settles_on_restart_once(tmp_path: Path) -> None:
    """Counts committed but the planner never told (the process died in between): on
    restart the job is closed and re-made, once, and not planned again."""
    clock, sink = FakeClock(T0 / 1000), RecordingAlarmSink()
    with wired(tmp_path / "c.db", clock, sink) as (store, runner, _tracker):
        runner.submit_orders([order("j1", 10)])
        store.commit(WriteBatch(progress=(report("j1:0", "done", 6, 4),)))  # no listener ran
        assert runner.job_order("j1") is not None
    for _ in range(2):
        with wired(tmp_path / "c.db", clock, sink) as (_store, runner, tracker):
            assert runner.job_order("j1") is None
            assert [j.id for j in runner.orders()[0]] == ["j1.r1"]
            assert tracker.store.unsettled() == []


def test_a_job_whose_machine_never_starts_it_alarms_until_it_reports(tmp_path: Path) -> None:
    """Planned but unreported past the 300 s grace: `job_not_started` for m1/j1; cleared once
    m1 reports the operation."""
    clock, sink = FakeClock(T0 / 1000), RecordingAlarmSink()
    with wired(tmp_path / "c.db", clock, sink) as (store, runner, tracker):
        runner.submit_orders([order("j1", 10)])
        clock.advance(5.0)
        assert runner.service.tick()  # the first schedule: j1:0 on m1 from now
        tracker.on_commit(BatchOutcome(batch=WriteBatch()), NOTHING)
        assert alarms_of(sink, JOB_NOT_STARTED) == []
        clock.advance(400.0)
        tracker.on_commit(BatchOutcome(batch=WriteBatch()), NOTHING)
        [(kind, call)] = alarms_of(sink, JOB_NOT_STARTED)
        assert (kind, call["source"]) == ("trigger", "m1/j1")
        clock.advance(10.0)
        commit(store, tracker, report("j1:0", "setup", 0, 0, int(clock.now() * 1000)))
        assert [k for k, _ in alarms_of(sink, JOB_NOT_STARTED)] == ["trigger", "clear"]


def test_a_job_made_and_settled_before_the_next_schedule_does_not_alarm(tmp_path: Path) -> None:
    """m1 makes j1 at once; the job is settled and closed, but no schedule is made after it
    (a busy planner): the operation still in the last schedule is not reported as not
    executed, however long that schedule stays."""
    clock, sink = FakeClock(T0 / 1000), RecordingAlarmSink()
    with wired(tmp_path / "c.db", clock, sink) as (store, runner, tracker):
        runner.submit_orders([order("j1", 10)])
        clock.advance(5.0)
        assert runner.service.tick()  # the first schedule: j1:0 on m1 from now
        clock.advance(10.0)
        commit(store, tracker, report("j1:0", "done", 10, 0, int(clock.now() * 1000)))
        assert runner.job_order("j1") is None  # closed
        assert [s.job_id for s in runner.planned_starts()] == []
        clock.advance(900.0)  # the service does not tick: the schedule still holds j1:0
        tracker.on_commit(BatchOutcome(batch=WriteBatch()), NOTHING)
        assert alarms_of(sink, JOB_NOT_STARTED) == []


def test_a_not_started_alarm_raised_before_a_restart_is_cleared_after_it(tmp_path: Path) -> None:
    """`job_not_started` raised, then the coordinator restarts (a new planner and tracker on
    the same database and alarms): once m1 reports the operation, the alarm is cleared."""
    clock, sink = FakeClock(T0 / 1000), RecordingAlarmSink()
    with wired(tmp_path / "c.db", clock, sink) as (store, runner, tracker):
        runner.submit_orders([order("j1", 10)])
        clock.advance(5.0)
        assert runner.service.tick()
        clock.advance(400.0)
        tracker.on_commit(BatchOutcome(batch=WriteBatch()), NOTHING)
        assert [k for k, _ in alarms_of(sink, JOB_NOT_STARTED)] == ["trigger"]
    with wired(tmp_path / "c.db", clock, sink) as (store, runner, tracker):
        clock.advance(10.0)
        commit(store, tracker, report("j1:0", "setup", 0, 0, int(clock.now() * 1000)))
        assert [k for k, _ in alarms_of(sink, JOB_NOT_STARTED)] == ["trigger", "clear"]
        assert sink.active(JOB_NOT_STARTED) == []
