"""Replenishment: production jobs for shelves running low (pure: values in, values out).

The cover watch (`coordinator.stock.cover_watch`) says, per SKU and micro-warehouse,
whether the stock may run out before a replenishment could arrive (`StockCover`). For a
SKU whose recipe is declared with `replenish: "auto"` (`ProductSpec`), `jobs_to_submit`
turns an at-risk cover into one production job, unless a replenishment of that SKU for
that location is still open:

- quantity: the cover's `proposed` units (what is missing to its order-up-to level),
  clamped to the product's `min_batch`..`max_batch`, at least 1;
- each operation's duration on each machine: seconds per unit × quantity + setup;
- due at the P90 run-out time (now + `p90_days` days); `rush` when even the mean demand
  runs out within the lead time (`expected_days` ≤ lead time);
- id `replenish-{node}.{sku}-{seq}` (unsafe characters as `_`, cut to the order id's 60
  characters; `seq` counts every replenishment ever made, so the id is unique).

Replenishment of a family is ordered together (a can-order rule of joint replenishment):
with `can_order_days` > 0, when some cover of a family is at risk, every other cover of an
`auto` product of that family, at any location, that would be at risk within
`can_order_days` more days (`p90_days` ≤ lead time + `can_order_days`) is ordered in the
same call. The scheduler then finds the family's work ready together and makes it in one
run per machine, instead of a changeover for each SKU as it runs low on its own.

A job's units travel to its shelf as one transfer, `transfer_id(job id)`; the warehouse
reports their receipt against that id. `apply_receipts` closes a job on its transfer's
receipt, with the units it brought (fewer than ordered when production fell short: the
shortfall is re-made as a job of its own). A rise of the stock level for any other reason
(a return, a recount, another delivery) never closes it, and as the store keeps one
receipt per transfer and SKU, a replayed receipt changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final

from coordinator.plan.orders.specs import JobOrder, OperationOrder, ProductSpec

if TYPE_CHECKING:  # the forecast package imports the store, which imports this module
    from coordinator.stock.cover import StockCover

__all__ = [
    "MAX_JOB_ID",
    "PREFIX",
    "NewJob",
    "Replenishment",
    "StockOutcome",
    "apply_receipts",
    "job_id",
    "jobs_to_submit",
    "transfer_id",
]

PREFIX: Final = "replenish-"
MAX_JOB_ID: Final = 60  # the order id rule of POST /api/v1/orders (operation ids add ":k")
DAY_MS: Final = 86_400_000
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9_.\-]")


@dataclass(frozen=True, slots=True)
class Replenishment:
    """An open replenishment job: what it makes for which shelf, the shelf's stock when it
    was made and the units received since."""

    id: str
    seq: int
    site: str
    node: str
    sku: str
    quantity: int
    stock_at_submit: int
    submitted_ms: int
    due_ms: int
    rush: bool = False
    received: int = 0

    @property
    def location(self) -> str:
        """`site/node`, as covers and forecasts name it."""
        return f"{self.site}/{self.node}"

    @property
    def transfer_id(self) -> str:
        """The transfer that carries its units to the shelf (see `transfer_id`)."""
        return transfer_id(self.id)

    @property
    def key(self) -> tuple[str, str, str]:
        """(site, node, sku): at most one open job each."""
        return (self.site, self.node, self.sku)


@dataclass(frozen=True, slots=True)
class NewJob:
    """A production job to submit and the record that keeps it open until received."""

    order: JobOrder
    record: Replenishment


@dataclass(frozen=True, slots=True)
class StockOutcome:
    """What receipts did to the open jobs: still open with new counts, and done."""

    updated: list[Replenishment]
    done: list[Replenishment]


def transfer_id(job_id: str) -> str:
    """The id of the transfer that moves a job's units to their warehouse: `t.{job id}`."""
    return f"t.{job_id}"


def job_id(node: str, sku: str, seq: int) -> str:
    """`replenish-{node}.{sku}-{seq}` within the order id rules (see the module)."""
    suffix = f"-{seq}"
    body = _UNSAFE.sub("_", f"{node}.{sku}")[: MAX_JOB_ID - len(PREFIX) - len(suffix)]
    return f"{PREFIX}{body}{suffix}"


def _quantity(cover: StockCover, product: ProductSpec) -> int:
    quantity = max(cover.proposed, product.min_batch)
    if product.max_batch is not None:
        quantity = min(quantity, product.max_batch)
    return max(1, quantity)


def _orderable(
    covers: Iterable[StockCover],
    products: Mapping[str, ProductSpec],
    taken: set[tuple[str, str, str]],
    *,
    lead_time_days: float,
    can_order_days: float,
) -> list[StockCover]:
    """The covers to order now: at risk, or (see the module) joining an at-risk one of
    their family; in the order given."""
    eligible = []
    for cover in covers:
        product = products.get(cover.sku)
        if product is None or product.replenish != "auto" or cover.p90_days is None:
            continue
        site, _, node = cover.location.partition("/")
        if (site, node, cover.sku) not in taken:
            eligible.append((cover, product.family))
    triggered = {family for cover, family in eligible if cover.at_risk}
    horizon = lead_time_days + can_order_days
    return [
        cover
        for cover, family in eligible
        if cover.at_risk
        or (
            can_order_days > 0
            and family in triggered
            and cover.proposed > 0
            and cover.p90_days is not None
            and cover.p90_days <= horizon
        )
    ]


def jobs_to_submit(
    covers: Iterable[StockCover],
    products: Mapping[str, ProductSpec],
    open_jobs: Iterable[Replenishment],
    *,
    now_ms: int,
    lead_time_days: float,
    next_seq: int,
    can_order_days: float = 0.0,
) -> list[NewJob]:
    """One job for each at-risk cover of an `auto` product with no open job for its SKU
    and location, and for the covers of its family that may join it (`can_order_days`,
    see the module); `next_seq` numbers the first."""
    taken = {job.key for job in open_jobs}
    seq = next_seq
    out: list[NewJob] = []
    chosen = _orderable(
        covers, products, taken, lead_time_days=lead_time_days, can_order_days=can_order_days
    )
    for cover in chosen:
        product = products[cover.sku]
        site, _, node = cover.location.partition("/")
        if (site, node, cover.sku) in taken or cover.p90_days is None:
            continue
        taken.add((site, node, cover.sku))
        quantity = _quantity(cover, product)
        rush = cover.expected_days is not None and cover.expected_days <= lead_time_days
        record = Replenishment(
            id=job_id(node, cover.sku, seq),
            seq=seq,
            site=site,
            node=node,
            sku=cover.sku,
            quantity=quantity,
            stock_at_submit=cover.stock,
            submitted_ms=now_ms,
            due_ms=now_ms + cover.p90_days * DAY_MS,
            rush=rush,
        )
        order = JobOrder(
            id=record.id,
            operations=tuple(
                OperationOrder(
                    {o.machine: o.duration_s_per_unit * quantity + o.setup_s for o in step},
                    family=product.family,
                )
                for step in product.operations
            ),
            due_ms=record.due_ms,
            rush=rush,
            quantity=quantity,
            sku=cover.sku,
        )
        out.append(NewJob(order, record))
        seq += 1
    return out


def apply_receipts(open_jobs: Iterable[Replenishment], received: Mapping[str, int]) -> StockOutcome:
    """The open jobs whose transfer was received, given the units `received` per transfer
    id (every receipt counted once): done, with what arrived."""
    done = [
        replace(job, received=received[job.transfer_id])
        for job in open_jobs
        if job.transfer_id in received
    ]
    return StockOutcome(updated=[], done=done)
