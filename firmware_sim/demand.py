"""Bursty live-stream demand: many small orders over many SKUs, arriving in bursts.

Orders arrive as a self-exciting (Hawkes) process on top of a quiet background rate. Live
streams start at random (Poisson) and each features a few SKUs for a random length; while a
stream is on, its featured SKUs take most orders and every order raises the intensity for
a short while (a presenter's flash offer makes viewers buy together), which gives the
clustered arrivals seen in live-stream commerce. Quantities are small (mostly one).

Deterministic for a seed: `orders_until(t_s)` steps in fixed increments, so the same calls
give the same orders.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from firmware_sim.errors import SimConfigError


@dataclass(frozen=True, slots=True)
class Order:
    """One customer order line."""

    t_s: float
    sku: str
    qty: int
    live: bool  # placed during a live stream


@dataclass(frozen=True, slots=True)
class DemandParams:
    """Shape of the demand; rates per second unless named otherwise."""

    step_s: float = 1.0
    background_rate_per_s: float = 0.05
    streams_per_h: float = 1.0
    mean_stream_s: float = 1800.0
    stream_rate_per_s: float = 0.5
    excitation_per_order: float = 0.02
    excitation_half_life_s: float = 20.0
    featured_skus: int = 3
    featured_share: float = 0.8
    zipf_exponent: float = 1.1
    mean_qty: float = 1.3

    def __post_init__(self) -> None:
        for name in (
            "step_s",
            "mean_stream_s",
            "excitation_half_life_s",
            "zipf_exponent",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise SimConfigError(name, f"must be a finite number > 0, got {value!r}")
        for name in ("background_rate_per_s", "streams_per_h", "stream_rate_per_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0 <= value <= 1000):
                raise SimConfigError(name, f"must be in 0..1000, got {value!r}")
        # Branching ratio below one keeps the self-exciting process from exploding.
        branching = self.excitation_per_order * self.excitation_half_life_s / math.log(2)
        if not (self.excitation_per_order >= 0 and branching < 1.0):
            raise SimConfigError(
                "excitation_per_order",
                f"excitation × mean decay time must be < 1 (is {branching:.3f})",
            )
        if not 0 <= self.featured_share <= 1:
            raise SimConfigError("featured_share", f"must be in 0..1, got {self.featured_share}")
        if self.featured_skus < 1:
            raise SimConfigError("featured_skus", f"must be >= 1, got {self.featured_skus}")
        if not (math.isfinite(self.mean_qty) and self.mean_qty >= 1):
            raise SimConfigError("mean_qty", f"must be >= 1, got {self.mean_qty!r}")


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson-distributed count with mean `lam` (Knuth's method, split for large means)."""
    count = 0
    while lam > 30.0:  # keep exp(-lam) well above underflow
        count += poisson(rng, 30.0)
        lam -= 30.0
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return count + k


class LiveStreamDemand:
    """Order generator for a set of SKUs, deterministic for a seed."""

    def __init__(
        self,
        *,
        skus: tuple[str, ...],
        seed: int,
        start_s: float = 0.0,
        params: DemandParams | None = None,
    ) -> None:
        if not skus:
            raise SimConfigError("skus", "at least one SKU is needed")
        if len(set(skus)) != len(skus):
            raise SimConfigError("skus", "SKU names must be unique")
        self.params = params or DemandParams()
        self.skus = skus
        self._rng = random.Random(seed)
        self.t_s = start_s
        weights = [1.0 / (rank + 1) ** self.params.zipf_exponent for rank in range(len(skus))]
        self._rng.shuffle(weights)
        self._weights = weights
        self._excitation = 0.0
        self._stream_left_s = 0.0
        self._featured: tuple[str, ...] = ()

    @property
    def live(self) -> bool:
        """Whether a live stream is on now."""
        return self._stream_left_s > 0

    def orders_until(self, t_s: float) -> list[Order]:
        """Every order placed between the last call and `t_s`, oldest first."""
        p, rng = self.params, self._rng
        decay = math.exp(-math.log(2) * p.step_s / p.excitation_half_life_s)
        orders: list[Order] = []
        while self.t_s + p.step_s <= t_s + 1e-9:
            self.t_s += p.step_s
            if self._stream_left_s > 0:
                self._stream_left_s -= p.step_s
            elif rng.random() < p.streams_per_h * p.step_s / 3600.0:
                self._start_stream()
            rate = p.background_rate_per_s + self._excitation
            if self.live:
                rate += p.stream_rate_per_s
            count = poisson(rng, rate * p.step_s)
            for _ in range(count):
                orders.append(self._order())
            self._excitation = self._excitation * decay + count * p.excitation_per_order * (
                1.0 if self.live else 0.2
            )
        return orders

    def _start_stream(self) -> None:
        p, rng = self.params, self._rng
        self._stream_left_s = rng.expovariate(1.0 / p.mean_stream_s)
        k = min(p.featured_skus, len(self.skus))
        self._featured = tuple(rng.sample(self.skus, k))

    def _order(self) -> Order:
        p, rng = self.params, self._rng
        if self.live and rng.random() < p.featured_share:
            sku = rng.choice(self._featured)
        else:
            sku = rng.choices(self.skus, weights=self._weights)[0]
        qty = 1
        while rng.random() < 1.0 - 1.0 / p.mean_qty:
            qty += 1
        return Order(t_s=self.t_s, sku=sku, qty=qty, live=self.live)
