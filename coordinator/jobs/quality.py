"""Scrap against its limit and the re-make of a shortfall (pure: values in, values out).

A batch is one operation of a job, done once its machine says so; its scrap share is
scrap / (good + scrap). A product's scrap limit is the share its process may run at, and
one batch says little about that: at a 5 % limit a batch of 4 has one scrap (25 %) about
one time in five by chance alone. So a machine is judged on its recent batches of one
product taken together (`judge_scrap`): over the limit only when scrap this high would
happen by chance less often than `alpha` if the machine ran exactly at the limit (the
binomial upper tail, `scrap_tail`). A small batch with one scrap then raises nothing, a
run of them does, and one large bad batch is enough on its own.

A job whose last operation is done with fewer good units than its quantity (`short`) gets
a re-make job for the missing units: the same operations, their durations scaled to the
shortfall, with an id that says which job it re-makes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

from coordinator.jobs.progress import JobProgress
from coordinator.plan.orders.specs import JobOrder, OperationOrder

MAX_JOB_ID: Final = 60  # the order id rule of POST /api/v1/orders (operation ids add ":k")
_REMAKE: Final = re.compile(r"^(?P<base>.*)\.r(?P<n>\d+)$")


def scrap_share(good: int, scrap: int) -> float:
    """Scrap over all units made (0 when nothing was made)."""
    made = good + scrap
    return scrap / made if made else 0.0


def scrap_tail(made: int, scrap: int, limit: float) -> float:
    """P(X >= scrap) for X ~ Binomial(made, limit): how often a process scrapping a `limit`
    share of its parts scraps at least `scrap` of `made` (1 for no scrap, 0 beyond `made`)."""
    if not 0 <= limit <= 1:
        raise ValueError(f"limit {limit} is not a share in [0, 1]")
    if scrap <= 0:
        return 1.0
    if scrap > made:
        return 0.0
    if limit == 0:
        return 0.0
    if limit == 1:
        return 1.0
    log_p, log_q = math.log(limit), math.log1p(-limit)
    mode = math.floor((made + 1) * limit)
    if scrap <= mode:  # the lower side is the shorter sum, and terms fall away from the mode
        return max(0.0, 1.0 - _binomial_sum(made, range(scrap - 1, -1, -1), log_p, log_q))
    return min(1.0, _binomial_sum(made, range(scrap, made + 1), log_p, log_q))


def _binomial_sum(made: int, ks: range, log_p: float, log_q: float) -> float:
    """Sum of the binomial terms over `ks`, walking away from the mode (stops once a term
    no longer adds to the total in double precision)."""
    total = 0.0
    log_n = math.lgamma(made + 1)
    for k in ks:
        term = math.exp(
            log_n - math.lgamma(k + 1) - math.lgamma(made - k + 1) + k * log_p + (made - k) * log_q
        )
        if term == 0.0 or term < total * 1e-17:  # each term further out is smaller
            break
        total += term
    return total


@dataclass(frozen=True, slots=True)
class ScrapEvidence:
    """A machine's recent batches of one product, pooled, against the product's limit."""

    batches: int
    good: int
    scrap: int
    limit: float
    p_value: float  # scrap_tail of the pooled counts
    over: bool  # p_value < alpha: more scrap than the limit explains

    @property
    def share(self) -> float:
        return scrap_share(self.good, self.scrap)


def judge_scrap(batches: Sequence[tuple[int, int]], *, limit: float, alpha: float) -> ScrapEvidence:
    """Judge `batches` ((good, scrap) of each done batch) together against `limit`: over it
    when their pooled scrap is less likely than `alpha` at the limit."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha {alpha} is not in (0, 1)")
    good = sum(g for g, _ in batches)
    scrap = sum(s for _, s in batches)
    if good < 0 or scrap < 0:
        raise ValueError("counts must not be negative")
    p_value = scrap_tail(good + scrap, scrap, limit)
    return ScrapEvidence(len(batches), good, scrap, limit, p_value, p_value < alpha)


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


__all__ = [
    "ScrapEvidence",
    "judge_scrap",
    "remake_id",
    "remake_order",
    "scrap_share",
    "scrap_tail",
]
