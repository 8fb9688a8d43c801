"""A simulated micro-warehouse: stock per SKU, picks for incoming orders, and receipts.

Orders come from a `LiveStreamDemand`. An order is picked at once when its SKU has stock
(a pick is a negative stock change), otherwise it waits as a backorder. When a SKU's
stock falls to its reorder point a replenishment is ordered; it is received after a lead
time (a positive change) and first serves waiting backorders. Deterministic for a seed.
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass

from firmware_sim.demand import DemandParams, LiveStreamDemand
from firmware_sim.errors import SimConfigError


@dataclass(frozen=True, slots=True)
class StockChange:
    """Stock of `sku` changed by `delta` at `t_s`; `reason` is `pick` or `receipt`."""

    t_s: float
    sku: str
    delta: int
    reason: str


@dataclass(frozen=True, slots=True)
class WarehouseParams:
    """Stocking policy of the micro-warehouse."""

    initial_qty: int = 40
    reorder_point: int = 10
    reorder_qty: int = 50
    mean_lead_time_s: float = 900.0

    def __post_init__(self) -> None:
        if not 0 <= self.initial_qty <= 10**9:
            raise SimConfigError("initial_qty", f"must be in 0..1e9, got {self.initial_qty}")
        if not 0 <= self.reorder_point <= 10**9:
            raise SimConfigError("reorder_point", f"must be in 0..1e9, got {self.reorder_point}")
        if not 1 <= self.reorder_qty <= 10**9:
            raise SimConfigError("reorder_qty", f"must be in 1..1e9, got {self.reorder_qty}")
        if not (math.isfinite(self.mean_lead_time_s) and self.mean_lead_time_s > 0):
            raise SimConfigError("mean_lead_time_s", "must be a finite number > 0")


MAX_SKUS = 20_000
"""A simulated shelf's SKUs at most (its count goes in snapshot parts past 2,000)."""


def default_skus(count: int) -> tuple[str, ...]:
    """SKU names `SKU-0001` … for `count` SKUs."""
    if not 1 <= count <= MAX_SKUS:
        raise SimConfigError("skus", f"count must be in 1..{MAX_SKUS}, got {count}")
    return tuple(f"SKU-{i:04d}" for i in range(1, count + 1))


class MicroWarehouse:
    """Stock levels of one micro-warehouse, driven by simulated demand."""

    def __init__(
        self,
        *,
        skus: tuple[str, ...],
        seed: int,
        start_s: float = 0.0,
        params: WarehouseParams | None = None,
        demand_params: DemandParams | None = None,
    ) -> None:
        self.params = params or WarehouseParams()
        self.demand = LiveStreamDemand(skus=skus, seed=seed, start_s=start_s, params=demand_params)
        self._rng = random.Random(seed + 7919)
        self.t_s = start_s
        self.stock: dict[str, int] = dict.fromkeys(skus, self.params.initial_qty)
        self.backorders: dict[str, int] = dict.fromkeys(skus, 0)
        self.on_order: dict[str, int] = dict.fromkeys(skus, 0)
        self._arrivals: list[tuple[float, str, int]] = []
        self.picked_total = 0
        self.orders_total = 0

    def advance_to(self, t_s: float) -> list[StockChange]:
        """Simulate up to `t_s`; returns every stock change, oldest first."""
        changes: list[StockChange] = []
        for order in self.demand.orders_until(t_s):
            self._receive_due(order.t_s, changes)
            self.orders_total += 1
            if self.stock[order.sku] >= order.qty:
                self._pick(order.t_s, order.sku, order.qty, changes)
            else:
                self.backorders[order.sku] += order.qty
            self._maybe_reorder(order.t_s, order.sku)
        self._receive_due(t_s, changes)
        self.t_s = max(self.t_s, t_s)
        return changes

    def receive_transfer(self, t_s: float, items: dict[str, int]) -> list[StockChange]:
        """Goods of a transfer arrived (from a vehicle): stock rises, backorders are served.
        SKUs this warehouse does not stock yet are added."""
        changes: list[StockChange] = []
        for sku, qty in sorted(items.items()):
            self.stock.setdefault(sku, 0)
            self.backorders.setdefault(sku, 0)
            self.on_order.setdefault(sku, 0)
            self.stock[sku] += qty
            changes.append(StockChange(t_s, sku, qty, "receipt"))
            served = min(self.backorders[sku], self.stock[sku])
            if served:
                self.backorders[sku] -= served
                self._pick(t_s, sku, served, changes)
        return changes

    def readings(self) -> dict[str, float]:
        """Aggregate gauges of the warehouse (for telemetry)."""
        return {
            "stock_units": float(sum(self.stock.values())),
            "backorder_units": float(sum(self.backorders.values())),
            "orders_total": float(self.orders_total),
            "picked_units_total": float(self.picked_total),
            "live_stream": 1.0 if self.demand.live else 0.0,
        }

    def _pick(self, t_s: float, sku: str, qty: int, changes: list[StockChange]) -> None:
        self.stock[sku] -= qty
        self.picked_total += qty
        changes.append(StockChange(t_s, sku, -qty, "pick"))

    def _maybe_reorder(self, t_s: float, sku: str) -> None:
        p = self.params
        position = self.stock[sku] + self.on_order[sku] - self.backorders[sku]
        if position <= p.reorder_point:
            qty = p.reorder_qty + max(0, p.reorder_point - position)
            self.on_order[sku] += qty
            due = t_s + self._rng.expovariate(1.0 / p.mean_lead_time_s)
            heapq.heappush(self._arrivals, (due, sku, qty))

    def _receive_due(self, t_s: float, changes: list[StockChange]) -> None:
        while self._arrivals and self._arrivals[0][0] <= t_s:
            due, sku, qty = heapq.heappop(self._arrivals)
            self.on_order[sku] -= qty
            self.stock[sku] += qty
            changes.append(StockChange(due, sku, qty, "receipt"))
            waiting = self.backorders[sku]
            if waiting:
                served = min(waiting, self.stock[sku])
                self.backorders[sku] -= served
                if served:
                    self._pick(due, sku, served, changes)
