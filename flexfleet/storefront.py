"""A storefront simulator: live-stream shoppers' orders posted to `POST /api/v1/sales-orders`.

`order_times` is the pure part: seeded arrival times (seconds from the start) at a base
rate, with a live-stream burst (`burst_factor` × the rate) between `burst_start_s` and
`burst_end_s`; `order_body` is the n-th order (seeded SKU, quantity, service and a
customer within `radius_deg` of the centre). `Storefront` posts them on a thread and
counts what the coordinator answered.
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Shoppers:
    """How shoppers order: orders per minute, the live-stream burst, what they buy."""

    per_minute: float = 8.0
    burst_factor: float = 4.0
    burst_start_s: float = 30.0
    burst_end_s: float = 150.0
    max_qty: int = 4
    radius_deg: float = 0.06

    def __post_init__(self) -> None:
        if not 0 < self.per_minute <= 6000 or not 1 <= self.burst_factor <= 100:
            raise ValueError("per_minute in (0, 6000], burst_factor in [1, 100]")
        if not 0 <= self.burst_start_s <= self.burst_end_s or not 1 <= self.max_qty <= 1000:
            raise ValueError("the burst ends after it starts; max_qty in 1..1000")


def order_times(shoppers: Shoppers, *, seed: int, until_s: float) -> list[float]:
    """Arrival times (s from the start) up to `until_s`: a Poisson process at the base rate,
    `burst_factor` times faster during the burst."""
    rng = random.Random(seed)
    times: list[float] = []
    t = 0.0
    while True:
        in_burst = shoppers.burst_start_s <= t < shoppers.burst_end_s
        rate = shoppers.per_minute / 60.0 * (shoppers.burst_factor if in_burst else 1.0)
        t += rng.expovariate(rate)
        if t >= until_s:
            return times
        times.append(t)


def order_body(
    n: int,
    *,
    seed: int,
    skus: Sequence[str],
    centre: tuple[float, float],
    shoppers: Shoppers,
    prefix: str = "shop",
) -> dict[str, Any]:
    """The n-th order of the storefront (a pure function of seed and n)."""
    rng = random.Random(seed * 1_000_003 + n)
    lat = centre[0] + rng.uniform(-shoppers.radius_deg, shoppers.radius_deg)
    lon = centre[1] + rng.uniform(-shoppers.radius_deg, shoppers.radius_deg)
    return {
        "id": f"{prefix}-{n:06d}",
        "customer": f"viewer-{rng.randrange(10_000):04d}",
        "lines": [{"sku": rng.choice(list(skus)), "qty": rng.randint(1, shoppers.max_qty)}],
        "destination": {"lat": round(lat, 5), "lon": round(lon, 5), "address": "Yiwu"},
        "service": rng.choices(["express", "standard", "economy"], weights=[2, 6, 2])[0],
    }


@dataclass
class Storefront:
    """Posts the orders of `order_times` to the API on a thread, until stopped."""

    api_url: str
    skus: Sequence[str]
    centre: tuple[float, float]
    seed: int = 7
    shoppers: Shoppers = field(default_factory=Shoppers)
    token: str | None = None
    posted: int = 0
    refused: int = 0
    failed: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self, *, until_s: float = 86_400.0) -> None:
        """Start posting (orders fall due from now)."""
        times = order_times(self.shoppers, seed=self.seed, until_s=until_s)
        self._thread = threading.Thread(
            target=self._run, args=(times,), name="storefront", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop posting and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self, times: list[float]) -> None:
        start = time.monotonic()
        for n, due in enumerate(times):
            if self._stop.wait(max(0.0, start + due - time.monotonic())):
                return
            body = order_body(
                n, seed=self.seed, skus=self.skus, centre=self.centre, shoppers=self.shoppers
            )
            self._post(body)

    def _post(self, body: dict[str, Any]) -> None:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(  # noqa: S310 (the demo's own loopback API)
            f"{self.api_url}/api/v1/sales-orders",
            data=json.dumps(body).encode(),
            headers=headers,
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                self.posted += response.status in (200, 201)
        except urllib.error.HTTPError as exc:
            self.refused += exc.code in (409, 422)
            self.failed += exc.code not in (409, 422)
        except OSError:
            self.failed += 1


__all__ = ["Shoppers", "Storefront", "order_body", "order_times"]
