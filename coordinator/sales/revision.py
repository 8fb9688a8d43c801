"""Promises revised by each re-plan (pure): does the new plan still keep the promised date?

The promise is answered from a capacity model; the planner's next schedule and routes say
what will really happen. After each re-plan the sales book (`SalesBook.revise`) compares,
for every order that plan holds:

- **a schedule**: each production part's planned completion (the end of its job's last
  operation) plus the part's delivery leg as promised (handling and travel: its promised
  `eta_ms - ready_ms`) gives the part's planned ETA; parts from stock keep theirs, and a
  part whose job the schedule no longer holds (finished, or not planned yet) keeps its
  promised ETA. The order's planned ETA is the latest of its parts.
- **routes**: the order's delivery (`ship.{order}`) is routed, which the router does only
  inside its window (due at the promised time), or left unserved with the router's reason;
  a delivery still on the road after the promised time has passed is late.

A planned ETA later than the promised time is `late`, and names what bound it: the job and
machine that finish last and the planner's reason for the job being late
(`machine_unavailable`, `machine_capacity`, `reserved_capacity`, `too_short_window`), or the
router's reason (`delivery_time_window`, `delivery_capacity`, ...). Earlier or equal is
`on_time`: the promise is confirmed. `Revision.key` is what makes a revision a real change
(plan kind, verdict, binding constraint and job): the book records a revision and moves the
order only when that key changes, so a re-plan that says the same thing again pushes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

Verdict = Literal["on_time", "late"]
PlanKind = Literal["schedule", "routes"]


@dataclass(frozen=True, slots=True)
class PlannedJob:
    """A production job as a schedule plans it: when its last operation ends, on which
    machine, and the planner's reason if it finishes after its due time."""

    job_id: str
    machine: str
    end_ms: int
    late_reason: str = ""
    late_detail: str = ""


@dataclass(frozen=True, slots=True)
class PlannedDelivery:
    """A delivery as routes plan it: routed, or unserved with the router's reason."""

    delivery_id: str
    routed: bool
    reason: str = ""
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Revision:
    """What one re-plan says of one order's promise."""

    verdict: Verdict
    plan: PlanKind
    plan_version: int
    promised_ms: int
    planned_eta_ms: int | None  # None: routed inside its window, no finer time known
    constraint: str  # what bound a late ETA ("" when on time)
    job_id: str  # the job (or delivery) that finishes last / is late
    reason: str  # for people: the planned ETA and why
    at_ms: int

    @property
    def key(self) -> tuple[str, str, str, str]:
        """What must change for a revision to be recorded again."""
        return (self.plan, self.verdict, self.constraint, self.job_id)

    def to_json(self) -> dict[str, Any]:
        """The revision as stored and shown by the API."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Revision:
        """A stored revision back."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


PLANNER_REASONS = frozenset({"machine_unavailable", "reserved_capacity", "machine_capacity"})
"""The planner's reasons for a late job that speak of what it waited for."""


def schedule_jobs(view: Mapping[str, Any], *, prefix: str = "") -> dict[str, PlannedJob]:
    """The jobs (ids starting with `prefix`) of the planner's schedule view (plan units from
    `epoch_s`, `time_unit_s` each), by the end of their last operation, with why they wait.

    The planner names why a job is late against its due time. For a sales job that due
    time is the promised readiness, with no slack, so its `too_short_window` (the job's own
    length, rounded to plan units) says nothing of the promise; the job's wait is then
    read from the schedule itself (`_waited`)."""
    epoch, unit = float(view.get("epoch_s") or 0.0), float(view.get("time_unit_s") or 1.0)
    machines: Mapping[str, Sequence[Mapping[str, Any]]] = view.get("machines", {})
    late = {j["job_id"]: j for j in view.get("late_jobs", []) if j["job_id"].startswith(prefix)}
    ops_of: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    for machine, rows in machines.items():
        for op in rows:
            if op["job_id"].startswith(prefix):
                ops_of.setdefault(op["job_id"], []).append((machine, op))
    found: dict[str, PlannedJob] = {}
    for job, ops in ops_of.items():
        machine, last = max(ops, key=lambda mo: mo[1]["end"])
        why = late.get(job, {})
        reason, detail = why.get("reason", ""), _in_time(why, epoch, unit)
        if job in late and reason not in PLANNER_REASONS:
            reason, detail = _waited(machines, ops, int(view.get("now") or 0), unit) or (
                reason,
                detail,
            )
        end_ms = round((epoch + last["end"] * unit) * 1000)
        found[job] = PlannedJob(job, machine, end_ms, reason, detail)
    return found


def _in_time(why: Mapping[str, Any], epoch_s: float, unit_s: float) -> str:
    """The planner's reason for a late job with its figures in time, not plan units (its
    own `detail` when the figures are missing: a plan saved before they were given)."""
    reason, machine, op = why.get("reason"), why.get("machine_id"), why.get("operation_id")
    waited = why.get("waited")
    if reason == "too_short_window" and why.get("earliest_start") is not None:
        start = round((epoch_s + int(why["earliest_start"]) * unit_s) * 1000)
        needs = f"{int(why['processing']) * unit_s / 60:.0f} min"
        return f"it can start {_when(start)} at the earliest and needs {needs} of machine time"
    if reason == "machine_unavailable" and why.get("unavailable_until") is not None:
        since = round((epoch_s + int(why["unavailable_from"]) * unit_s) * 1000)
        until = round((epoch_s + int(why["unavailable_until"]) * unit_s) * 1000)
        return f"{machine} unavailable {_when(since)} to {_when(until)}, delaying {op}"
    if reason in ("machine_capacity", "reserved_capacity") and waited is not None:
        minutes = f"{int(waited) * unit_s / 60:.0f} min"
        if reason == "reserved_capacity":
            return f"{op} waited {minutes}: capacity on {machine} held for rush orders"
        return f"{op} waited {minutes} for {machine}, busy with other jobs"
    return str(why.get("detail", ""))


def _waited(
    machines: Mapping[str, Sequence[Mapping[str, Any]]],
    ops: Sequence[tuple[str, Mapping[str, Any]]],
    now: int,
    unit_s: float,
) -> tuple[str, str] | None:
    """What a job's operations waited for before they started, from `now` (plan units):
    their machine idle yet not used (`machine_unavailable`: down, closed or held for rush
    orders) or busy with other jobs (`machine_capacity`); None when they did not wait."""
    ready = now
    idle_most: tuple[int, str, str] = (0, "", "")
    wait_most: tuple[int, str, str] = (0, "", "")
    for machine, op in sorted(ops, key=lambda mo: mo[1]["start"]):
        start = op["start"] - op.get("setup", 0)
        wait = max(0, start - ready)
        busy = sum(
            max(0, min(o["end"], start) - max(o["start"] - o.get("setup", 0), ready))
            for o in machines.get(machine, ())
            if o["operation_id"] != op["operation_id"]
        )
        idle_most = max(idle_most, (wait - busy, machine, op["operation_id"]))
        wait_most = max(wait_most, (wait, machine, op["operation_id"]))
        ready = max(ready, op["end"])
    if idle_most[0] >= 1:
        units, machine, op_id = idle_most
        return "machine_unavailable", (
            f"{machine} not available for {units * unit_s / 60:.0f} min before"
            f" {op_id} (down, closed or held for rush orders)"
        )
    if wait_most[0] >= 1:
        units, machine, op_id = wait_most
        return "machine_capacity", (
            f"{op_id} waited {units * unit_s / 60:.0f} min for {machine}, busy with other jobs"
        )
    return None


def route_deliveries(view: Mapping[str, Any], *, prefix: str = "") -> dict[str, PlannedDelivery]:
    """The deliveries (ids starting with `prefix`) of the planner's routes view: routed, or
    unserved with the router's reason."""
    found = {
        stop: PlannedDelivery(stop, routed=True)
        for route in view.get("routes", [])
        for stop in route.get("stops", [])
        if isinstance(stop, str) and stop.startswith(prefix)
    }
    for u in view.get("unserved", []):
        if u["order_id"].startswith(prefix):
            found[u["order_id"]] = PlannedDelivery(u["order_id"], False, u["reason"], u["detail"])
    return found


def revise_production(
    promise: Mapping[str, Any],
    jobs: Sequence[PlannedJob | None],
    *,
    version: int,
    at_ms: int,
) -> Revision | None:
    """The schedule's verdict on a promise; `jobs` are the planned jobs of its production
    parts in the promise's order (line by line, part by part; None: not in the schedule).
    None when the schedule holds none of them (nothing to say)."""
    if not any(jobs):
        return None
    promised = int(promise["promised_ms"])
    latest_ms, latest_job = 0, None
    parts = (part for line in promise["lines"] for part in line["made"])
    for part, job in zip(parts, jobs, strict=True):
        eta = int(part["eta_ms"])
        if job is not None:
            eta = job.end_ms + int(part["eta_ms"]) - int(part["ready_ms"])
        if eta > latest_ms:
            latest_ms, latest_job = eta, job
    for line in promise["lines"]:
        for stock in line["from_stock"]:
            if int(stock["eta_ms"]) > latest_ms:
                latest_ms, latest_job = int(stock["eta_ms"]), None
    # (stock and unplanned parts keep their promised ETAs, never after the promised time)
    if latest_ms <= promised or latest_job is None:
        reason = f"confirmed by schedule {version}: planned ETA {_when(latest_ms)}"
        return Revision("on_time", "schedule", version, promised, latest_ms, "", "", reason, at_ms)
    constraint = latest_job.late_reason or "machine_capacity"
    detail = f": {latest_job.late_detail}" if latest_job.late_detail else ""
    reason = (
        f"schedule {version}: planned ETA {_when(latest_ms)}, after the promised"
        f" {_when(promised)}: job {latest_job.job_id} ends {_when(latest_job.end_ms)} on"
        f" {latest_job.machine} ({constraint}{detail})"
    )
    return Revision(
        "late", "schedule", version, promised, latest_ms, constraint, latest_job.job_id, reason,
        at_ms,
    )  # fmt: skip


def revise_delivery(
    promised_ms: int, delivery: PlannedDelivery, *, version: int, at_ms: int
) -> Revision:
    """The routes' verdict on a promise: unserved is late with the router's reason; routed
    is on time (inside the window due at the promised time) unless that time has passed."""
    drop = delivery.delivery_id
    if not delivery.routed:
        reason = (
            f"routes {version}: delivery {drop} not routed ({delivery.reason}: {delivery.detail})"
        )
        verdict: Verdict = "late"
        constraint = f"delivery_{delivery.reason}"
    elif at_ms > promised_ms:
        reason = f"routes {version}: delivery {drop} still to make after {_when(promised_ms)}"
        verdict, constraint = "late", "promise_passed"
    else:
        reason = f"confirmed by routes {version}: delivery {drop} routed by {_when(promised_ms)}"
        verdict, constraint = "on_time", ""
    return Revision(verdict, "routes", version, promised_ms, None, constraint, drop, reason, at_ms)


__all__ = [
    "PlannedDelivery",
    "PlannedJob",
    "Revision",
    "revise_delivery",
    "revise_production",
    "route_deliveries",
    "schedule_jobs",
]
