"""The product recipes and open replenishment jobs a `PlanRunner` holds.

`ReplenishmentBook` keeps them in memory and in the `PlanState` (recipes replaced as a
whole, each job stored with its record before the planner takes it, receipts counted,
closes kept with their reason). The decisions themselves are pure
(`coordinator.plan.orders.replenishment`); the runner calls the book under its orders lock and hands
the jobs it returns to the planner.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from coordinator.plan.errors import OrderRejected
from coordinator.plan.orders.replenishment import (
    Replenishment,
    apply_receipts,
    jobs_to_submit,
)
from coordinator.plan.orders.specs import JobOrder, ProductSpec
from coordinator.plan.state import PlanState, SavedState
from fleet_runtime.clock import Clock, now_ms

if TYPE_CHECKING:  # only a type here; the forecast package imports the store
    from coordinator.stock.cover import StockCover

log = logging.getLogger(__name__)


class ReplenishmentBook:
    """Recipes by SKU and open replenishment jobs by id (callers hold the runner's lock)."""

    def __init__(
        self,
        state: PlanState,
        clock: Clock,
        *,
        lead_time_days: float,
        auto: bool,
        can_order_days: float = 0.0,
    ) -> None:
        self.state = state
        self.clock = clock
        self.lead_time_days = lead_time_days
        self.can_order_days = can_order_days
        self.auto = auto
        self.products: dict[str, ProductSpec] = {}
        self.open: dict[str, Replenishment] = {}
        self.seq = 0

    def restore(self, saved: SavedState) -> None:
        """Take back the saved recipes, open jobs and job counter."""
        self.products = {p.sku: p for p in saved.products}
        self.open = {r.id: r for r in saved.replenishments}
        self.seq = saved.replenish_seq

    def declare(self, specs: list[ProductSpec], machines: set[str]) -> None:
        """Replace the recipes, durably. Raises `OrderRejected` for a SKU given twice,
        batch bounds the wrong way round or a machine not in `machines`."""
        seen: set[str] = set()
        for i, spec in enumerate(specs):
            if spec.sku in seen:
                raise OrderRejected(f"sku {spec.sku!r} given twice", field=f"products[{i}].sku")
            seen.add(spec.sku)
            if spec.max_batch is not None and spec.max_batch < spec.min_batch:
                raise OrderRejected("max_batch is below min_batch", field=f"products[{i}]")
            for k, step in enumerate(spec.operations):
                unknown = sorted({o.machine for o in step} - machines)
                if unknown:
                    raise OrderRejected(
                        f"unknown machine {unknown[0]!r} (known: {sorted(machines)[:20]})",
                        field=f"products[{i}].operations[{k}].options",
                    )
        self.state.save_products(specs, at_ms=now_ms(self.clock))
        self.products = {spec.sku: spec for spec in specs}
        log.info(
            "%d product(s) declared, %d replenished automatically",
            len(specs),
            sum(spec.replenish == "auto" for spec in specs),
        )

    def new_jobs(
        self,
        covers: Iterable[StockCover],
        ts_ms: int,
        check: Callable[[list[JobOrder]], None],
    ) -> list[JobOrder]:
        """The replenishment jobs for the at-risk covers of SKUs declared `auto` without an
        open job, each checked by `check` (raising `OrderRejected` when a machine of its
        recipe is gone: logged and left out) and stored with its record."""
        if not self.auto or not self.products:
            return []
        taken: list[JobOrder] = []
        made = jobs_to_submit(
            list(covers),
            self.products,
            self.open.values(),
            now_ms=ts_ms,
            lead_time_days=self.lead_time_days,
            next_seq=self.seq + 1,
            can_order_days=self.can_order_days,
        )
        for new in made:
            record = new.record
            try:
                check([new.order])
            except OrderRejected as exc:
                log.error("replenishment of %s not submitted: %s", record.sku, exc)
                continue
            self.state.save_replenishment(new.order, record)
            self.open[record.id] = record
            self.seq = max(self.seq, record.seq)
            taken.append(new.order)
            log.info(
                "%s at %s may run out within %d day(s): replenishment %s of %d%s",
                record.sku,
                record.location,
                (record.due_ms - ts_ms) // 86_400_000,
                record.id,
                record.quantity,
                " (rush)" if record.rush else "",
            )
        return taken

    def receive(self, received: Mapping[str, int]) -> list[str]:
        """Take the units received so far per transfer id, durably; the ids of the jobs
        now fully received."""
        if not self.open:
            return []
        outcome = apply_receipts(self.open.values(), received)
        changed = [*outcome.updated, *outcome.done]
        if changed:
            self.state.update_replenishments(changed)
            self.open.update((r.id, r) for r in changed)
        return [r.id for r in outcome.done]

    def close(self, job_ids: list[str], *, reason: str) -> set[str]:
        """Close the open jobs among `job_ids`, durably, keeping `reason`; their ids."""
        ours = [j for j in job_ids if j in self.open]
        if not ours:
            return set()
        _, records = self.state.close_replenishments(ours, reason=reason, at_ms=now_ms(self.clock))
        for record_id in records:
            record = self.open.pop(record_id)
            log.info(
                "replenishment %s of %d %s for %s closed (%s, %d received)",
                record_id,
                record.quantity,
                record.sku,
                record.location,
                reason,
                record.received,
            )
        return set(records)


__all__ = ["ReplenishmentBook"]
