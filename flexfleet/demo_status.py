"""The demo's status line: where the sales orders stand, read from the API.

`tally` (pure) counts orders as `GET /api/v1/sales-orders` lists them: received (all),
waiting for or in production (`promised`, `in_production`, and `delayed` from one of
them), out for delivery (`out_for_delivery` and `failed_delivery`: a failed one is planned
again), delivered, and delivered on time (its last change, the delivery, no later than
the promised time). `fetch_orders` pages through the API.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_PRODUCTION = frozenset({"promised", "in_production"})
_ON_THE_ROAD = frozenset({"out_for_delivery", "failed_delivery"})


@dataclass(frozen=True, slots=True)
class Tally:
    """How many orders stand where."""

    received: int = 0
    in_production: int = 0
    out_for_delivery: int = 0
    delivered: int = 0
    on_time: int = 0


def tally(orders: Iterable[Mapping[str, Any]]) -> Tally:
    """Count orders by where they stand (see the module)."""
    received = production = road = delivered = on_time = 0
    for order in orders:
        received += 1
        status = order.get("status")
        flow = order.get("delayed_from") or status
        production += flow in _PRODUCTION
        road += flow in _ON_THE_ROAD
        if status == "delivered":
            delivered += 1
            promised = (order.get("promise") or {}).get("promised_ms")
            on_time += isinstance(promised, int) and order.get("updated_ms", 0) <= promised
    return Tally(received, production, road, delivered, on_time)


def status_line(elapsed_s: float, counts: Tally) -> str:
    """One line for the demo's output."""
    return (
        f"[{elapsed_s / 60:5.1f} min] orders received {counts.received}, "
        f"in production {counts.in_production}, out for delivery {counts.out_for_delivery}, "
        f"delivered {counts.delivered}, on time {counts.on_time}"
    )


def fetch_orders(api_url: str, *, page: int = 1000, timeout_s: float = 10.0) -> list[Any]:
    """Every sales order the API lists (all pages)."""
    orders: list[Any] = []
    after: str | None = None
    while True:
        url = f"{api_url}/api/v1/sales-orders?limit={page}"
        if after is not None:
            url += f"&after={after}"
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 (loopback)
            body = json.load(response)
        orders += body["orders"]
        after = body.get("next_after")
        if after is None:
            return orders


__all__ = ["Tally", "fetch_orders", "status_line", "tally"]
