"""Stock placement across micro-warehouses (pure: a `PlacementProblem` in, a `StockPlan` out).

Four rules, applied in this order to every SKU at once (numpy, one array per quantity):

1. **Targets.** Each SKU gets a class by its share of sales (A: the SKUs that make the first
   `class_a_share` of all sales, best sellers first; B: up to `class_b_share`; C: the
   rest) and the class's service level (98 / 95 / 90 % by default). A warehouse's target is
   the service-level quantile of its region's demand over the replenishment lead time:
   daily demands are summed as independent normals, each day's standard deviation read
   from its P10–P90 range, never below √mean (the same reading as `coordinator.stock.cover`),
   a fractional last day counted pro rata; target = ⌈mean + z · sd⌉.
2. **Pre-positioning.** An announced stream adds its expected units per featured SKU
   (`StreamUplift.units`) to the targets of the `nearest_warehouses` closest to its
   audience (every warehouse when the audience's place is unknown), split in proportion
   to their own demand of the SKU over the lead time (evenly when none has any).
3. **Lateral transfers.** A warehouse whose position (on hand + inbound) is below its
   target will run short within the lead time. Warehouses holding spare above their own
   target (at most what they have on hand) send it, nearest first, largest need served
   first; a transfer moves at least `min_transfer_units` (a smaller need is rounded up
   to it when the sender can spare that much, a smaller spare is not moved).
4. **Replenishment.** What is still missing after transfers (target − position) is made
   by the nearest factory that makes the SKU (none when no factory is declared for it).

Every proposal carries `why`, a short reason for the operator.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Final, Literal

import numpy as np

from coordinator.sales.promise import Point, haversine_km
from coordinator.stock.cover import Z90
from coordinator.stock.errors import PlanInvalid

SkuClass = Literal["A", "B", "C"]
CLASSES: Final[tuple[SkuClass, ...]] = ("A", "B", "C")


@dataclass(frozen=True, slots=True)
class PlacementPolicy:
    """How targets are set and stock moved (see the module)."""

    lead_time_days: float = 2.0
    service_a: float = 0.98
    service_b: float = 0.95
    service_c: float = 0.90
    class_a_share: float = 0.80
    class_b_share: float = 0.95
    min_transfer_units: int = 1
    nearest_warehouses: int = 2

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lead_time_days) and 0 < self.lead_time_days <= 366):
            raise PlanInvalid("must be in (0, 366] days", field="lead_time_days")
        for name in ("service_a", "service_b", "service_c"):
            if not 0.5 <= getattr(self, name) < 1.0:
                raise PlanInvalid("must be in [0.5, 1)", field=name)
        if not 0 < self.class_a_share <= self.class_b_share <= 1:
            raise PlanInvalid("need 0 < class_a_share ≤ class_b_share ≤ 1", field="class_a_share")
        if not 1 <= self.min_transfer_units <= 1_000_000:
            raise PlanInvalid("must be 1..1000000", field="min_transfer_units")
        if not 1 <= self.nearest_warehouses <= 1000:
            raise PlanInvalid("must be 1..1000", field="nearest_warehouses")

    def service_level(self, sku_class: SkuClass) -> float:
        """The service level of a class."""
        return {"A": self.service_a, "B": self.service_b, "C": self.service_c}[sku_class]


@dataclass(frozen=True, slots=True)
class Place:
    """A micro-warehouse or a factory, and where it is."""

    id: str
    location: Point


@dataclass(frozen=True, slots=True)
class StreamUplift:
    """What one announced stream is expected to sell of one featured SKU."""

    stream_id: str
    sku: str
    units: float
    starts_in_h: float
    audience_at: Point | None = None
    source: str = "announced"  # or "forecast": the event-aware forecast's units


@dataclass(frozen=True)
class PlacementProblem:
    """Everything placement looks at, per SKU (rows, `skus`) × warehouse (columns,
    `warehouses`): daily forecast `mean` and `spread` (P90 − P10) from tomorrow, shape
    (S, W, days); stock `on_hand` and `inbound` (in transit to it), shape (S, W); `sales`
    per SKU for the classes, shape (S,)."""

    skus: tuple[str, ...]
    warehouses: tuple[Place, ...]
    mean: np.ndarray
    spread: np.ndarray
    on_hand: np.ndarray
    inbound: np.ndarray
    sales: np.ndarray
    factories: tuple[Place, ...] = ()
    makers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    streams: tuple[StreamUplift, ...] = ()

    def __post_init__(self) -> None:
        s, w = len(self.skus), len(self.warehouses)
        if len(set(self.skus)) != s:
            raise PlanInvalid("a SKU is given twice", field="skus")
        if len({p.id for p in self.warehouses}) != w:
            raise PlanInvalid("a warehouse is given twice", field="warehouses")
        if self.mean.ndim != 3 or self.mean.shape[:2] != (s, w) or self.mean.shape[2] < 1:
            raise PlanInvalid(
                f"must be (skus, warehouses, days ≥ 1), got {self.mean.shape}", field="mean"
            )
        for name in ("spread",):
            if getattr(self, name).shape != self.mean.shape:
                raise PlanInvalid("must have the shape of mean", field=name)
        for name in ("on_hand", "inbound"):
            if getattr(self, name).shape != (s, w):
                raise PlanInvalid("must be (skus, warehouses)", field=name)
        if self.sales.shape != (s,):
            raise PlanInvalid("must be (skus,)", field="sales")
        for name in ("mean", "spread", "on_hand", "inbound", "sales"):
            values = getattr(self, name)
            if values.size and not (np.all(np.isfinite(values)) and values.min() >= 0):
                raise PlanInvalid("must be finite and ≥ 0", field=name)
        known = set(self.skus)
        for k, up in enumerate(self.streams):
            if up.sku not in known:
                raise PlanInvalid(f"unknown SKU {up.sku!r}", field=f"streams[{k}].sku")
            if not (math.isfinite(up.units) and up.units >= 0):
                raise PlanInvalid("must be finite and ≥ 0", field=f"streams[{k}].units")


@dataclass(frozen=True, slots=True)
class Target:
    """What one warehouse should hold of one SKU, what it holds, and why."""

    sku: str
    warehouse: str
    sku_class: SkuClass
    service_level: float
    lead_time_mean: float
    lead_time_sd: float
    uplift: float
    target: int
    on_hand: int
    inbound: int
    why: str

    @property
    def position(self) -> int:
        """On hand plus inbound."""
        return self.on_hand + self.inbound


@dataclass(frozen=True, slots=True)
class Transfer:
    """Units to move from one warehouse to another."""

    sku: str
    source: str
    destination: str
    qty: int
    km: float
    why: str


@dataclass(frozen=True, slots=True)
class Preposition:
    """Units a stream adds to one warehouse's target of one SKU."""

    stream_id: str
    sku: str
    warehouse: str
    units: float
    why: str


@dataclass(frozen=True, slots=True)
class Replenish:
    """Units to make for one warehouse, and where."""

    sku: str
    warehouse: str
    qty: int
    factory: str | None
    km: float | None
    why: str


@dataclass(frozen=True, slots=True)
class StockPlan:
    """The outcome of the four rules."""

    targets: tuple[Target, ...]
    prepositions: tuple[Preposition, ...]
    transfers: tuple[Transfer, ...]
    replenishments: tuple[Replenish, ...]


def sku_classes(sales: np.ndarray, policy: PlacementPolicy) -> list[SkuClass]:
    """A, B or C per SKU by its share of `sales` (ties in sales keep their order)."""
    total = float(sales.sum())
    out: list[SkuClass] = ["C"] * len(sales)
    if total <= 0:
        return out
    order = np.argsort(-sales, kind="stable")
    before = (np.cumsum(sales[order]) - sales[order]) / total  # share sold by better SKUs
    for i, share in zip(order.tolist(), before.tolist(), strict=True):
        if sales[i] <= 0:
            continue
        out[i] = (
            "A" if share < policy.class_a_share else "B" if share < policy.class_b_share else "C"
        )
    return out


def _over(daily: np.ndarray, days: float) -> np.ndarray:
    """Sum of `daily` along its last axis over the first `days` (pro rata for a fractional
    day; past the horizon, at the horizon's average rate)."""
    horizon = daily.shape[-1]
    if days > horizon:
        return np.asarray(daily.sum(axis=-1) * days / horizon)
    whole = int(days)
    out = daily[..., :whole].sum(axis=-1)
    if whole < days:
        out = out + (days - whole) * daily[..., whole]
    return np.asarray(out)


def lead_time_demand(
    mean: np.ndarray, spread: np.ndarray, lead_time_days: float
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of the demand over the lead time (see the module)."""
    m = np.maximum(mean, 0.0)
    var = np.maximum((np.maximum(spread, 0.0) / (2.0 * Z90)) ** 2, m)
    return _over(m, lead_time_days), np.sqrt(_over(var, lead_time_days))


def _nearest(places: Sequence[Place], to: Point, k: int) -> list[int]:
    by = sorted(
        range(len(places)), key=lambda i: (haversine_km(places[i].location, to), places[i].id)
    )
    return by[:k]


def _prepositions(
    problem: PlacementProblem, base_mean: np.ndarray, policy: PlacementPolicy
) -> tuple[np.ndarray, list[Preposition]]:
    uplift = np.zeros(base_mean.shape)
    out: list[Preposition] = []
    row = {sku: i for i, sku in enumerate(problem.skus)}
    everywhere = list(range(len(problem.warehouses)))
    for up in problem.streams:
        if up.units <= 0 or not everywhere:
            continue
        s = row[up.sku]
        if up.audience_at is None:
            chosen, where = everywhere, "every warehouse (audience place unknown)"
        else:
            chosen = _nearest(problem.warehouses, up.audience_at, policy.nearest_warehouses)
            where = "the warehouses nearest its audience"
        weights = base_mean[s, chosen]
        share = (
            weights / weights.sum() if weights.sum() > 0 else np.full(len(chosen), 1 / len(chosen))
        )
        for w, part in zip(chosen, share.tolist(), strict=True):
            units = up.units * part
            if units <= 0:
                continue
            uplift[s, w] += units
            out.append(
                Preposition(
                    stream_id=up.stream_id,
                    sku=up.sku,
                    warehouse=problem.warehouses[w].id,
                    units=units,
                    why=(
                        f"stream {up.stream_id} in {up.starts_in_h:.1f} h expects {up.units:g}"
                        f" of {up.sku} ({up.source}); {part:.0%} of it here, at {where}"
                    ),
                )
            )
    return uplift, out


def _transfers(
    problem: PlacementProblem,
    targets: np.ndarray,
    position: np.ndarray,
    policy: PlacementPolicy,
    km: np.ndarray,
) -> tuple[np.ndarray, list[Transfer]]:
    """Lateral transfers; the net change of each position they make."""
    moved = np.zeros(position.shape, dtype=np.int64)
    out: list[Transfer] = []
    need = targets - position
    spare = np.minimum(problem.on_hand.astype(np.int64), position - targets)
    candidates = np.flatnonzero(
        (need > 0).any(axis=1) & (spare >= policy.min_transfer_units).any(axis=1)
    )
    ids = [p.id for p in problem.warehouses]
    for s in candidates.tolist():
        left = spare[s].copy()
        short: list[int] = np.flatnonzero(need[s] > 0).tolist()
        short.sort(key=lambda w: (-int(need[s, w]), ids[w]))
        for dest in short:
            missing = int(need[s, dest])
            donors = [w for w in range(len(ids)) if left[w] >= policy.min_transfer_units]
            donors.sort(key=lambda w: (km[w, dest], ids[w]))
            for src in donors:
                if missing <= 0:
                    break
                qty = min(int(left[src]), max(missing, policy.min_transfer_units))
                left[src] -= qty
                missing -= qty
                moved[s, src] -= qty
                moved[s, dest] += qty
                out.append(
                    Transfer(
                        sku=problem.skus[s],
                        source=ids[src],
                        destination=ids[dest],
                        qty=qty,
                        km=float(km[src, dest]),
                        why=(
                            f"{ids[dest]} holds {int(position[s, dest])} against a target of"
                            f" {int(targets[s, dest])}; {ids[src]} holds"
                            f" {int(spare[s, src])} above its own, {km[src, dest]:.1f} km away"
                        ),
                    )
                )
    return moved, out


def _replenishments(
    problem: PlacementProblem, targets: np.ndarray, position: np.ndarray
) -> list[Replenish]:
    out: list[Replenish] = []
    gap = targets - position
    factories = {f.id: f for f in problem.factories}
    for s, w in zip(*np.nonzero(gap > 0), strict=True):
        sku, house = problem.skus[int(s)], problem.warehouses[int(w)]
        makers = [factories[f] for f in problem.makers.get(sku, ()) if f in factories]
        qty = int(gap[s, w])
        head = f"{qty} short of a target of {int(targets[s, w])} after transfers"
        if not makers:
            out.append(Replenish(sku, house.id, qty, None, None, f"{head}; no factory makes {sku}"))
            continue
        best = min(makers, key=lambda f: (haversine_km(f.location, house.location), f.id))
        dist = haversine_km(best.location, house.location)
        out.append(
            Replenish(sku, house.id, qty, best.id, dist, f"{head}; {best.id} is the nearest maker")
        )
    return out


def plan_stock(problem: PlacementProblem, policy: PlacementPolicy) -> StockPlan:
    """Targets, pre-positioning, lateral transfers and replenishment (see the module)."""
    classes = sku_classes(problem.sales, policy)
    z_of = {c: NormalDist().inv_cdf(policy.service_level(c)) for c in CLASSES}
    z = np.array([z_of[c] for c in classes])
    mean_lt, sd_lt = lead_time_demand(problem.mean, problem.spread, policy.lead_time_days)
    uplift, prepositions = _prepositions(problem, mean_lt, policy)
    raw = mean_lt + z[:, None] * sd_lt + uplift
    targets = np.ceil(raw - 1e-9).astype(np.int64)
    on_hand = problem.on_hand.astype(np.int64)
    inbound = problem.inbound.astype(np.int64)
    position = on_hand + inbound
    places = problem.warehouses
    km = np.zeros((len(places), len(places)))
    for i, a in enumerate(places):
        for j, b in enumerate(places):
            km[i, j] = haversine_km(a.location, b.location)
    moved, transfers = _transfers(problem, targets, position, policy, km)
    replenishments = _replenishments(problem, targets, position + moved)
    out: list[Target] = []
    lt = f"{policy.lead_time_days:g}-day lead time"
    for s, sku in enumerate(problem.skus):
        level = policy.service_level(classes[s])
        for w, house in enumerate(places):
            extra = f" + {uplift[s, w]:.1f} for streams" if uplift[s, w] > 0 else ""
            out.append(
                Target(
                    sku=sku,
                    warehouse=house.id,
                    sku_class=classes[s],
                    service_level=level,
                    lead_time_mean=float(mean_lt[s, w]),
                    lead_time_sd=float(sd_lt[s, w]),
                    uplift=float(uplift[s, w]),
                    target=int(targets[s, w]),
                    on_hand=int(on_hand[s, w]),
                    inbound=int(inbound[s, w]),
                    why=(
                        f"class {classes[s]}: P{level * 100:g} of the {lt} demand"
                        f" ({mean_lt[s, w]:.1f} ± {sd_lt[s, w]:.1f}){extra}"
                    ),
                )
            )
    return StockPlan(tuple(out), tuple(prepositions), tuple(transfers), tuple(replenishments))


__all__ = [
    "CLASSES",
    "Place",
    "PlacementPolicy",
    "PlacementProblem",
    "Preposition",
    "Replenish",
    "SkuClass",
    "StockPlan",
    "StreamUplift",
    "Target",
    "Transfer",
    "lead_time_demand",
    "plan_stock",
    "sku_classes",
]
