"""Job progress in SQLite: folded in the ingest commit, counted once whatever is replayed,
and nothing lost when the writing process is killed (SIGKILL) mid-work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from contextlib import closing
from pathlib import Path

from coordinator.ingest.records import WriteBatch
from coordinator.jobs.facts import OperationReport
from coordinator.jobs.progress import TrackedJob
from coordinator.store.sqlite_store import SqliteStore

T0 = 1_700_000_000_000


def report(op: str, state: str, good: int, scrap: int = 0, ts: int = T0) -> OperationReport:
    return OperationReport("s1", "m1", op.rpartition(":")[0], op, state, good, scrap, ts)  # type: ignore[arg-type]


def test_reports_committed_with_a_batch_update_the_tracked_job(tmp_path: Path) -> None:
    """A batch's reports move the job from planned to started to finished, durably."""
    with closing(SqliteStore(tmp_path / "c.db")) as store:
        jobs = store.job_store()
        jobs.track([TrackedJob("j1", quantity=4, operations=1, sku="cup", tracked_ms=T0)])
        assert jobs.jobs(state="planned")[0].job.job_id == "j1"
        store.commit(WriteBatch(progress=(report("j1:0", "run", 2, 1, T0 + 10),)))
        assert jobs.job("j1").state == "started"  # type: ignore[union-attr]
        store.commit(WriteBatch(progress=(report("j1:0", "run", 4, 1, T0 + 20),)))
    with closing(SqliteStore(tmp_path / "c.db")) as store:
        job = store.job_store().job("j1")
        assert job is not None
        assert (job.state, job.good, job.scrap, job.finished_ms) == ("finished", 4, 1, T0 + 20)
        assert [j.job.job_id for j in store.job_store().unsettled()] == ["j1"]


def test_reports_before_tracking_count_once_tracked(tmp_path: Path) -> None:
    """A machine may report before the planner's job record is stored: it still counts."""
    with closing(SqliteStore(tmp_path / "c.db")) as store:
        store.commit(WriteBatch(progress=(report("j9:0", "done", 3, 0, T0),)))
        store.job_store().track([TrackedJob("j9", quantity=3, operations=1)])
        assert store.job_store().job("j9").state == "finished"  # type: ignore[union-attr]


def test_replayed_batches_change_nothing(tmp_path: Path) -> None:
    """The same reports committed three times (redelivery) leave the same counts."""
    batch = WriteBatch(
        progress=(report("j1:0", "run", 5, 2, T0), report("j1:0", "run", 8, 2, T0 + 5))
    )
    with closing(SqliteStore(tmp_path / "c.db")) as store:
        store.job_store().track([TrackedJob("j1", quantity=10, operations=1)])
        for _ in range(3):
            store.commit(batch)
        job = store.job_store().job("j1")
        assert job is not None
        assert (job.good, job.scrap, job.state) == (8, 2, "started")


def test_settle_is_recorded_once(tmp_path: Path) -> None:
    """A settled job leaves `unsettled`; settling again keeps the first record."""
    with closing(SqliteStore(tmp_path / "c.db")) as store:
        jobs = store.job_store()
        jobs.track([TrackedJob("j1", quantity=2, operations=1)])
        store.commit(WriteBatch(progress=(report("j1:0", "done", 1, 1),)))
        jobs.settle("j1", at_ms=T0, remake_id="j1.r1")
        jobs.settle("j1", at_ms=T0 + 1, remake_id=None)
        assert jobs.unsettled() == []
        assert jobs.remake_of("j1") == "j1.r1"
        assert jobs.open_operations() == {}


_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from coordinator.ingest.records import WriteBatch
    from coordinator.jobs.facts import OperationReport
    from coordinator.jobs.progress import TrackedJob
    from coordinator.store.sqlite_store import SqliteStore

    store = SqliteStore(Path(sys.argv[1]))
    store.job_store().track([TrackedJob(f"j{k}", 1000, 1) for k in range(4)])
    print("ready", flush=True)
    for n in range(1, 1001):
        reports = tuple(
            OperationReport("s1", "m1", f"j{k}", f"j{k}:0", "run", n, n // 10, 1_700_000_000_000 + n)
            for k in range(4)
        )
        store.commit(WriteBatch(progress=reports))
        print(n, flush=True)
    """
)


def test_a_writer_killed_mid_work_loses_nothing_committed_and_replay_counts_once(
    tmp_path: Path,
) -> None:
    """SIGKILL while batches commit: the counts are those of the last committed batch (or
    the one in flight), the same for every job; replaying every batch then gives exactly
    the final counts, never their double."""
    db = tmp_path / "c.db"
    child = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(db)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    last = 0
    while last < 100:
        last = int(child.stdout.readline())
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    child.stdout.close()
    with closing(SqliteStore(db)) as store:
        jobs = store.job_store()
        seen = {(j.good, j.scrap) for j in jobs.jobs()}
        assert len(seen) == 1  # every job's counts come from the same committed batch
        ((good, scrap),) = seen
        assert last <= good <= last + 1
        assert scrap == good // 10
        for first in range(1, 1001, 100):  # the broker redelivers everything, in ten batches
            store.commit(
                WriteBatch(
                    progress=tuple(
                        report(f"j{k}:0", "run", n, n // 10, T0 + n)
                        for n in range(first, first + 100)
                        for k in range(4)
                    )
                )
            )
        assert {(j.good, j.scrap, j.state) for j in jobs.jobs()} == {(1000, 100, "finished")}
