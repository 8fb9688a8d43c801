"""`JobTracker`: what the machines' counts mean for the plan, the alarms and the jobs.

Ingest stores the reports with their batch (`coordinator.store.jobs`); after each commit
`on_commit` (an ingest commit listener, also called on the writer's ticks):

- judges every batch reported done: a scrap share above its product's limit raises
  `scrap_over_limit` (MAJOR) for that machine and job (`coordinator.jobs.quality`);
- settles finished and short jobs: the planner closes them (they leave the schedule
  because their good units reached the quantity, not because the plan clock passed) and
  a short job gets a re-make for its shortfall; the settlement is stored, so a tracker
  killed in between settles again on start (the re-make id is the same each time);
- hands the operations' progress to the planner, which re-plans from it when an
  operation started, changed state or finished, and at most every `replan_interval_s`
  while something runs (so a late operation pushes its successors);
- raises `job_not_started` (MAJOR) for an operation whose planned start is more than
  `start_grace_s` past with no report from its machine, cleared once it reports (also
  when it was raised before a restart: the tracker takes the open ones over at its first
  check).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, Protocol

from coordinator.alarms.port import AlarmSink
from coordinator.jobs.overdue import PlannedStart, overdue_starts
from coordinator.jobs.progress import JobProgress, OperationProgress, TrackedJob
from coordinator.jobs.quality import judge_batch, remake_order
from coordinator.plan.orders.specs import JobOrder
from coordinator.store.jobs import SqliteJobStore
from fleet_runtime.clock import Clock, now_ms

log = logging.getLogger(__name__)

SCRAP_OVER_LIMIT: Final = "scrap_over_limit"
JOB_NOT_STARTED: Final = "job_not_started"


class Planner(Protocol):
    """What the tracker needs of the planner (`coordinator.plan.runner.PlanRunner`)."""

    on_take: list[Callable[[list[JobOrder]], None]]
    produced: Callable[[str], bool]

    def job_order(self, job_id: str) -> JobOrder | None:
        """The held order of a job (None once closed or never held)."""
        ...

    def jobs_produced(self, job_ids: Iterable[str]) -> None:
        """These jobs are made (or short): take them out of the schedule for good."""
        ...

    def submit_remake(self, order: JobOrder) -> None:
        """Plan a re-make job (stored before it is taken)."""
        ...

    def observe(
        self, progress: Mapping[str, tuple[OperationProgress, int | None]], *, replan: bool
    ) -> None:
        """The reported operations of open jobs, each with its job's quantity."""
        ...

    def planned_starts(self) -> list[PlannedStart]:
        """The operations of the current schedule and when (ms) they should start."""
        ...

    def site_of(self, node: str) -> str | None:
        """The site of a machine, for its alarms."""
        ...


class JobTracker:
    """Follows jobs from the machines' counts (see the module); thread-safe."""

    def __init__(
        self,
        *,
        store: SqliteJobStore,
        clock: Clock,
        alarms: AlarmSink | None = None,
        scrap_limit_for: Callable[[str], float] = lambda _sku: 0.05,
        start_grace_s: float = 300.0,
        replan_interval_s: float = 60.0,
        overdue_interval_s: float = 5.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.planner: Planner | None = None
        self._alarms = alarms
        self._limit_for = scrap_limit_for
        self._grace_ms = int(start_grace_s * 1000)
        self._replan_s = replan_interval_s
        self._overdue_s = overdue_interval_s
        self._lock = threading.Lock()
        self._states: dict[str, str] = {}
        self._last_replan = float("-inf")
        self._next_overdue = float("-inf")
        self._not_started: dict[str, tuple[str, str]] = {}  # operation → (site, source)
        self._adopted = False  # the open job_not_started alarms of a previous run taken over

    def attach(self, planner: Planner) -> None:
        """Follow every job the planner takes, and keep it from planning made ones again
        (call before it restores its saved orders)."""
        self.planner = planner
        planner.on_take.append(self.track)
        planner.produced = self.is_produced

    def resume(self) -> None:
        """Settle what a previous run left unsettled and hand the planner the progress of
        the open jobs (call once the planner restored its saved orders)."""
        with self._lock:
            self._settle()
            self._observe(force=True)

    def track(self, orders: Iterable[JobOrder]) -> None:
        """Follow the jobs the planner takes (a job followed already keeps its record)."""
        at = now_ms(self.clock)
        self.store.track(TrackedJob(o.id, o.quantity, len(o.operations), o.sku, at) for o in orders)

    def is_produced(self, job_id: str) -> bool:
        """True once a job's counts finished it (or left it short): it is not planned again."""
        job = self.store.job(job_id)
        return job is not None and job.state in ("finished", "short")

    def job(self, job_id: str) -> JobProgress | None:
        """One followed job's progress."""
        return self.store.job(job_id)

    def jobs(
        self, *, state: str | None = None, limit: int = 1000, after: str = ""
    ) -> list[JobProgress]:
        """Followed jobs by id, optionally in one state."""
        return self.store.jobs(state=state, limit=limit, after=after)  # type: ignore[arg-type]

    def on_commit(self, outcome: Any, _result: object) -> None:
        """Ingest commit listener (see the module)."""
        reports = outcome.batch.progress
        with self._lock:
            if reports:
                self._judge({r.operation_id for r in reports if r.state == "done"})
                self._settle()
            self._observe(force=False)
            mono = self.clock.monotonic()
            if mono >= self._next_overdue:
                self._next_overdue = mono + self._overdue_s
                self._check_overdue()

    # ---- steps (under the lock) -------------------------------------------------------
    def _judge(self, done: set[str]) -> None:
        if not done or self._alarms is None:
            return
        for op in self.store.open_operations().values():
            if op.operation_id not in done:
                continue
            job = self.store.job(op.job_id)
            limit = self._limit_for(job.job.sku if job is not None else "")
            verdict = judge_batch(op, limit=limit)
            site = self.planner.site_of(op.machine) if self.planner else None
            if verdict is None or site is None:
                continue
            self._alarms.trigger(
                site=site,
                source=f"{op.machine}/{op.job_id}",
                alarm_type=SCRAP_OVER_LIMIT,
                severity="MAJOR",
                message=(
                    f"{op.operation_id} on {op.machine}: {verdict.scrap} scrap of"
                    f" {verdict.good + verdict.scrap} ({verdict.share:.1%}, limit {limit:.1%})"
                ),
                details={
                    "job_id": op.job_id,
                    "operation_id": op.operation_id,
                    "machine": op.machine,
                    "good": verdict.good,
                    "scrap": verdict.scrap,
                    "share": verdict.share,
                    "limit": limit,
                },
                ts_ms=op.finished_ms or op.updated_ms,
            )

    def _settle(self) -> None:
        planner = self.planner
        if planner is None:
            return
        for job in self.store.unsettled():
            remake_id = None
            if job.state == "short":
                order = planner.job_order(job.job.job_id)
                remake = remake_order(order, job) if order is not None else None
                if remake is not None:
                    planner.submit_remake(remake)
                    self.track([remake])
                    remake_id = remake.id
            planner.jobs_produced([job.job.job_id])
            self.store.settle(job.job.job_id, at_ms=now_ms(self.clock), remake_id=remake_id)
            log.info(
                "job %s %s (%d good, %d scrap)", job.job.job_id, job.state, job.good, job.scrap
            )

    def _observe(self, *, force: bool) -> None:
        planner = self.planner
        if planner is None:
            return
        ops = self.store.open_operations()
        states: dict[str, str] = {op_id: op.state for op_id, op in ops.items()}
        mono = self.clock.monotonic()
        changed = states != self._states
        running = any(s != "done" for s in states.values())
        due = running and mono - self._last_replan >= self._replan_s
        if not (changed or due or force):
            return
        quantities: dict[str, int | None] = {}
        for op in ops.values():
            if op.job_id not in quantities:
                job = self.store.job(op.job_id)
                quantities[op.job_id] = job.job.quantity if job is not None else None
        self._states = states
        replan = changed or due
        if replan:
            self._last_replan = mono
        planner.observe({k: (op, quantities[op.job_id]) for k, op in ops.items()}, replan=replan)

    def _check_overdue(self) -> None:
        planner, alarms = self.planner, self._alarms
        if planner is None or alarms is None:
            return
        if not self._adopted:
            # Alarms raised before a restart are this tracker's to clear.
            self._adopted = True
            for site, source, details in alarms.active(JOB_NOT_STARTED):
                op_id = details.get("operation_id")
                if isinstance(op_id, str):
                    self._not_started.setdefault(op_id, (site, source))
        now = now_ms(self.clock)
        progress = self.store.open_operations()
        late = overdue_starts(
            planner.planned_starts(), progress, now_ms=now, grace_ms=self._grace_ms
        )
        late_ids = {o.operation_id for o in late}
        for op_id, (site, source) in list(self._not_started.items()):
            if op_id in late_ids:
                continue
            del self._not_started[op_id]
            alarms.clear(
                site=site,
                source=source,
                alarm_type=JOB_NOT_STARTED,
                message=f"{op_id} reported or re-planned",
                ts_ms=now,
            )
        for item in late:
            machine_site = planner.site_of(item.machine_id)
            if machine_site is None or item.operation_id in self._not_started:
                continue
            source = f"{item.machine_id}/{item.job_id}"
            self._not_started[item.operation_id] = (machine_site, source)
            alarms.trigger(
                site=machine_site,
                source=source,
                alarm_type=JOB_NOT_STARTED,
                severity="MAJOR",
                message=(
                    f"{item.machine_id} has not reported {item.operation_id},"
                    f" planned {item.late_ms // 1000} s ago: not executed"
                ),
                details={
                    "job_id": item.job_id,
                    "operation_id": item.operation_id,
                    "machine": item.machine_id,
                    "planned_start_ms": item.planned_start_ms,
                },
                ts_ms=now,
            )


__all__ = ["JOB_NOT_STARTED", "SCRAP_OVER_LIMIT", "JobTracker", "Planner"]
