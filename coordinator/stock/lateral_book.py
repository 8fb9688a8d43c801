"""`LateralTransferBook`: lateral transfers carried out, from proposal to receipt.

`carry_out(plan)` turns the plan's proposed transfers into `LateralTransfer`s
(`coordinator.stock.lateral.to_submit`), stores them (durable before anything else sees
them) and hands each to the planner as a delivery of its transfer id to the receiving
shelf node's depot; a destination that is no depot of the declared fleet waits, open,
until it is one (the next `carry_out` or `restore` hands it again). Handing is idempotent:
the planner leaves an order it already holds with the same content alone, so a restart
after storing and before handing, or handing twice, delivers each transfer once.

`on_receipts(ids)` (after each ingest commit) counts the receipts of open lateral
transfers, from the store's receipts (one per transfer and SKU), closes them with the
units that arrived and closes their deliveries in the planner; a closed transfer is not
open any more, so a replayed receipt counts nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from coordinator.plan.orders.specs import DeliveryOrder, DepotSpec
from coordinator.stock.lateral import PREFIX, LateralTransfer, apply_receipts, to_submit
from coordinator.stock.placement import StockPlan
from coordinator.stock.plan_inputs import Inbound
from fleet_runtime.clock import Clock, now_ms

log = logging.getLogger(__name__)


class LateralStore(Protocol):
    """Where the book keeps its transfers (`coordinator.store.lateral_transfers`)."""

    def add(self, transfers: Sequence[LateralTransfer]) -> None:
        """Store new open transfers."""

    def close(self, done: Sequence[LateralTransfer], *, at_ms: int) -> list[str]:
        """Record what open transfers received; the ids that were open."""

    def open(self) -> list[LateralTransfer]:
        """The open transfers."""

    def last_seq(self) -> int:
        """The highest sequence number given."""


class TransferCarrier(Protocol):
    """The part of the planner (`coordinator.plan.runner.PlanRunner`) that carries them."""

    def submit_orders(self, orders: Iterable[Any], deliveries: Iterable[DeliveryOrder]) -> Any:
        """Take delivery orders (idempotent by id and content)."""

    def close_orders(
        self, job_ids: Iterable[str], delivery_ids: Iterable[str], *, reason: str = ...
    ) -> Any:
        """Forget held orders."""

    def depot(self, node: str) -> DepotSpec | None:
        """The declared depot of a shelf node."""


class LateralTransferBook:
    """Lateral transfers from proposal to receipt (see the module)."""

    def __init__(
        self,
        store: LateralStore,
        carrier: TransferCarrier,
        clock: Clock,
        *,
        nodes: Callable[[], Mapping[str, Sequence[str]]],
        received: Callable[[Iterable[str]], Mapping[str, int]],
    ) -> None:
        self._store = store
        self._carrier = carrier
        self._clock = clock
        self._nodes = nodes
        self._received = received
        self._lock = threading.Lock()

    def carry_out(self, plan: StockPlan) -> list[LateralTransfer]:
        """Store and hand the plan's new transfers; the transfers made."""
        with self._lock:
            made = to_submit(
                plan.transfers,
                self._store.open(),
                self._nodes(),
                next_seq=self._store.last_seq() + 1,
                now_ms=now_ms(self._clock),
            )
            if made:
                self._store.add(made)
            for t in made:
                log.info(
                    "lateral transfer %s: %d %s %s → %s",
                    t.id,
                    t.qty,
                    t.sku,
                    t.source,
                    t.destination,
                )
            self._hand(self._store.open())
        return made

    def restore(self) -> None:
        """After a start: count the receipts that came while nobody counted, then hand
        every transfer still open to the planner again."""
        self.on_receipts(t.id for t in self._store.open())
        with self._lock:
            self._hand(self._store.open())

    def _hand(self, transfers: Sequence[LateralTransfer]) -> None:
        deliveries: list[DeliveryOrder] = []
        for t in transfers:
            depot = self._carrier.depot(t.node)
            if depot is None:
                continue  # no depot for its shelf yet: it stays open and is handed later
            deliveries.append(DeliveryOrder(id=t.id, x=depot.x, y=depot.y, demand=t.qty))
        if deliveries:
            self._carrier.submit_orders([], deliveries)

    def on_receipts(self, transfer_ids: Iterable[str]) -> list[str]:
        """Close the open transfers among `transfer_ids` that have a receipt; their ids."""
        ids = {i for i in transfer_ids if i.startswith(PREFIX)}
        if not ids:
            return []
        with self._lock:
            ours = [t for t in self._store.open() if t.id in ids]
            done = apply_receipts(ours, self._received([t.id for t in ours]))
            closed = self._store.close(done, at_ms=now_ms(self._clock)) if done else []
            if closed:
                self._carrier.close_orders([], closed, reason="received")
        for t in done:
            if t.id in closed:
                log.info("lateral transfer %s received: %s of %d", t.id, t.received, t.qty)
        return closed

    def open(self) -> list[LateralTransfer]:
        """The transfers not received yet."""
        return self._store.open()

    def inbound(self) -> list[Inbound]:
        """The open transfers as units in transit to their shelves."""
        return [
            Inbound(t.id, t.node, t.sku, t.qty, "lateral", source=t.source) for t in self.open()
        ]


__all__ = ["LateralStore", "LateralTransferBook", "TransferCarrier"]
