"""Quality of a batch and the re-make of a shortfall (pure: values in, values out).

A batch is one operation of a job, judged once its machine reports it done: its scrap
share is scrap / (good + scrap). Above the product's limit it raises an alarm. A job whose
last operation is done with fewer good units than its quantity (`short`) gets a re-make
job for the missing units: the same operations, their durations scaled to the shortfall,
with an id that says which job it re-makes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Final

from coordinator.jobs.progress import JobProgress, OperationProgress
from coordinator.plan.orders.specs import JobOrder, OperationOrder

MAX_JOB_ID: Final = 60  # the order id rule of POST /api/v1/orders (operation ids add ":k")
_REMAKE: Final = re.compile(r"^(?P<base>.*)\.r(?P<n>\d+)$")


def scrap_share(good: int, scrap: int) -> float:
    """Scrap over all units made (0 when nothing was made)."""
    made = good + scrap
    return scrap / made if made else 0.0


@dataclass(frozen=True, slots=True)
class QualityVerdict:
    """A finished batch whose scrap share exceeds its limit."""

    job_id: str
    operation_id: str
    machine: str
    good: int
    scrap: int
    share: float
    limit: float


def judge_batch(operation: OperationProgress, *, limit: float) -> QualityVerdict | None:
    """A verdict for a done batch over `limit` (a share in [0, 1]); None otherwise."""
    if operation.state != "done":
        return None
    share = scrap_share(operation.good, operation.scrap)
    if share <= limit:
        return None
    return QualityVerdict(
        job_id=operation.job_id,
        operation_id=operation.operation_id,
        machine=operation.machine,
        good=operation.good,
        scrap=operation.scrap,
        share=share,
        limit=limit,
    )


def remake_id(job_id: str) -> str:
    """`{job}.r1` for a first re-make, `{base}.r{n+1}` for a re-make of `{base}.r{n}`
    (cut to the order id length; the suffix is kept)."""
    found = _REMAKE.match(job_id)
    base, n = (found["base"], int(found["n"]) + 1) if found else (job_id, 1)
    suffix = f".r{n}"
    return base[: MAX_JOB_ID - len(suffix)] + suffix


def remake_order(order: JobOrder, progress: JobProgress) -> JobOrder | None:
    """The job that makes a short job's missing good units (None if it is not short).

    Durations scale with the units: a step of `d` seconds for `q` units takes
    `d * shortfall / q` (at least a second)."""
    missing = progress.shortfall
    if missing <= 0 or order.quantity is None:
        return None
    ratio = missing / order.quantity
    return replace(
        order,
        id=remake_id(order.id),
        quantity=missing,
        operations=tuple(
            OperationOrder(
                {m: max(1.0, math.ceil(s * ratio)) for m, s in step.options.items()},
                family=step.family,
            )
            for step in order.operations
        ),
    )


__all__ = ["QualityVerdict", "judge_batch", "remake_id", "remake_order", "scrap_share"]
