"""`JobTracker`: what the machines' counts mean for the plan, the alarms and the jobs.

Ingest stores the reports with their batch (`coordinator.store.jobs`); after each commit
`on_commit` (an ingest commit listener, also called on the writer's ticks):

- judges the scrap of every machine that reported a batch done, on its batches of that
  product over the last `scrap_window_s` taken together (`coordinator.jobs.quality`):
  more than the product's limit explains raises `scrap_over_limit` (MAJOR) for that
  machine and product, updated at each batch after it and cleared by the first batch
  after which the window no longer shows it (also when it was raised before a restart);
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
from coordinator.jobs.quality import ScrapEvidence, judge_scrap, remake_order
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
        scrap_window_s: float = 86_400.0,
        scrap_alpha: float = 0.01,
        start_grace_s: float = 300.0,
        replan_interval_s: float = 60.0,
        overdue_interval_s: float = 5.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.planner: Planner | None = None
        self._alarms = alarms
        self._limit_for = scrap_limit_for
        self._scrap_window_ms = int(scrap_window_s * 1000)
        self._scrap_alpha = scrap_alpha
        self._scrap_open: set[tuple[str, str]] = set()  # (site, source) of active alarms
        self._scrap_adopted = False
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
        alarms = self._alarms
        if not done or alarms is None:
            return
        if not self._scrap_adopted:
            # Alarms raised before a restart are this tracker's to update and clear.
            self._scrap_adopted = True
            self._scrap_open = {(site, src) for site, src, _ in alarms.active(SCRAP_OVER_LIMIT)}
        # The latest batch each machine finished of each product in this commit.
        latest: dict[tuple[str, str], tuple[int, OperationProgress]] = {}
        for op in self.store.open_operations().values():
            if op.operation_id not in done or op.finished_ms is None:
                continue
            job = self.store.job(op.job_id)
            if job is None:
                continue
            key = (op.machine, job.job.sku)
            if key not in latest or op.finished_ms > latest[key][0]:
                latest[key] = (op.finished_ms, op)
        for (machine, sku), (until, op) in latest.items():
            site = self.planner.site_of(machine) if self.planner else None
            if site is None:
                continue
            batches = self.store.done_batches(
                machine, sku, since_ms=until - self._scrap_window_ms, until_ms=until
            )
            evidence = judge_scrap(batches, limit=self._limit_for(sku), alpha=self._scrap_alpha)
            self._raise_or_clear(alarms, site, sku, op, until, evidence)

    def _raise_or_clear(
        self,
        alarms: AlarmSink,
        site: str,
        sku: str,
        op: OperationProgress,
        ts_ms: int,
        evidence: ScrapEvidence,
    ) -> None:
        machine = op.machine
        source = f"{machine}/{sku}"
        hours = self._scrap_window_ms / 3_600_000
        counts = (
            f"{evidence.scrap} scrap of {evidence.good + evidence.scrap} in {evidence.batches}"
            f" batch{'es' if evidence.batches != 1 else ''} over {hours:g} h"
            f" ({evidence.share:.1%}, limit {evidence.limit:.1%})"
        )
        if not evidence.over:
            if (site, source) in self._scrap_open:
                self._scrap_open.discard((site, source))
                alarms.clear(
                    site=site,
                    source=source,
                    alarm_type=SCRAP_OVER_LIMIT,
                    message=f"{sku} on {machine} within its limit again: {counts}",
                    ts_ms=ts_ms,
                )
            return
        self._scrap_open.add((site, source))
        alarms.trigger(
            site=site,
            source=source,
            alarm_type=SCRAP_OVER_LIMIT,
            severity="MAJOR",
            message=(
                f"{sku} on {machine}: {counts}; that much by chance at the limit:"
                f" p = {evidence.p_value:.1g}"
            ),
            details={
                "machine": machine,
                "sku": sku,
                "job_id": op.job_id,
                "operation_id": op.operation_id,
                "batches": evidence.batches,
                "good": evidence.good,
                "scrap": evidence.scrap,
                "share": evidence.share,
                "limit": evidence.limit,
                "p_value": evidence.p_value,
                "window_s": self._scrap_window_ms / 1000,
            },
            ts_ms=ts_ms,
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
