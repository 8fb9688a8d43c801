"""From what the coordinator knows to a `PlacementProblem` (pure: values in, a problem out).

- A warehouse's demand of a SKU is the sum of the forecasts at its shelf nodes (forecast
  locations are `site/node`; the sales network says which warehouse holds each node); its
  stock is the sum of those nodes' stock levels, and its inbound the units still in
  transit to them (`Inbound`: open replenishment and lateral transfers).
- SKU classes are by forecast sales over the horizon, summed over warehouses.
- A stream that has not ended and starts within the lead time expects, per featured SKU,
  what the event-aware forecast expects it to sell (`model_units`, summed over the SKU's
  locations) once a forecast refresh has seen the stream as it stands; until then its
  expected orders (one unit each) or its expected audience × `orders_per_viewer`, split
  evenly among its featured SKUs. Streams carry no audience place yet, so their uplift
  goes to every warehouse (in proportion to demand). The forecasts' own event units are
  taken out of their mean, so a stream is counted once.
- Forecasts shorter than the longest are extended at their own average daily rate.

`sized_by_plan` feeds the plan's replenishment into the replenishment jobs
(`coordinator.plan.orders.replenishment`), which are made from stock covers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from coordinator.forecast.events.features import StreamEvent
from coordinator.forecast.serving.service import Forecast
from coordinator.sales.network import Network
from coordinator.stock.cover import StockCover
from coordinator.stock.live_streams import LiveStream
from coordinator.stock.placement import (
    Place,
    PlacementProblem,
    StockPlan,
    StreamUplift,
)

HOUR_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class Inbound:
    """Units on their way to a shelf node under one transfer."""

    transfer_id: str
    node: str
    sku: str
    units: int
    kind: str  # "replenishment" or "lateral"
    source: str | None = None  # the sending warehouse of a lateral transfer


def stream_event(stream: LiveStream, *, orders_per_viewer: float) -> StreamEvent:
    """What the forecast needs of a stream: its expected orders, else audience × rate."""
    if stream.expected_orders is not None:
        orders = float(stream.expected_orders)
    else:
        orders = float(stream.expected_audience or 0) * orders_per_viewer
    return StreamEvent(stream.id, stream.start_ms, stream.end_ms, stream.featured_skus, orders)


def stream_uplifts(
    streams: Iterable[LiveStream],
    *,
    now_ms: int,
    lead_time_days: float,
    orders_per_viewer: float,
    model_units: Mapping[tuple[str, str], float] | None = None,
    seen: Mapping[str, StreamEvent] | None = None,
) -> list[StreamUplift]:
    """The expected units per featured SKU of the streams to prepare for (see the module)."""
    out: list[StreamUplift] = []
    horizon_ms = now_ms + lead_time_days * 24 * HOUR_MS
    units_of = model_units or {}
    seen = seen or {}
    for stream in streams:
        if stream.end_ms <= now_ms or stream.start_ms > horizon_ms:
            continue
        event = stream_event(stream, orders_per_viewer=orders_per_viewer)
        hours = max(0.0, (stream.start_ms - now_ms) / HOUR_MS)
        keys = [(stream.id, sku) for sku in stream.featured_skus]
        if seen.get(stream.id) == event and all(k in units_of for k in keys):
            out.extend(
                StreamUplift(
                    stream.id, sku, max(units_of[stream.id, sku], 0.0), hours, source="forecast"
                )
                for sku in stream.featured_skus
            )
            continue
        each = event.expected_orders / len(stream.featured_skus)
        out.extend(StreamUplift(stream.id, sku, each, hours) for sku in stream.featured_skus)
    return out


def placement_problem(
    *,
    forecasts: Sequence[Forecast],
    stock: Iterable[tuple[str, str, str, int]],
    network: Network,
    inbound: Iterable[Inbound],
    uplifts: Sequence[StreamUplift],
) -> PlacementProblem:
    """The problem over the network's warehouses and every SKU forecast or stocked there."""
    houses = network.warehouses
    column = {w.id: j for j, w in enumerate(houses)}
    house_of = network.warehouse_of_node()
    by_node = {node: column[w] for node, w in house_of.items()}
    rows: dict[str, int] = {}

    def row(sku: str) -> int:
        return rows.setdefault(sku, len(rows))

    demand: list[tuple[int, int, Forecast]] = []
    for f in forecasts:
        node = (f.location or "").partition("/")[2]
        if node in by_node and f.horizon_days > 0:
            demand.append((row(f.sku), by_node[node], f))
    held: list[tuple[int, int, int]] = []
    for _site, node, sku, qty in stock:
        if node in by_node:
            held.append((row(sku), by_node[node], max(0, qty)))
    coming: list[tuple[int, int, int]] = []
    for item in inbound:
        if item.node in by_node:
            coming.append((row(item.sku), by_node[item.node], max(0, item.units)))
    uplifts = [u for u in uplifts if u.sku in rows]
    n_s, n_w = len(rows), len(houses)
    days = max((f.horizon_days for _, _, f in demand), default=1)
    mean = np.zeros((n_s, n_w, days))
    spread = np.zeros((n_s, n_w, days))
    for s, w, f in demand:
        m = np.asarray(f.mean, dtype=np.float64)
        if len(f.event_units) == len(m):  # counted once, as the streams' uplift
            m = m - np.asarray(f.event_units, dtype=np.float64)
        m = np.maximum(m, 0.0)
        sp = np.maximum(np.asarray(f.p90, dtype=np.float64) - np.asarray(f.p10), 0.0)
        if len(m) < days:
            m = np.concatenate([m, np.full(days - len(m), m.mean())])
            sp = np.concatenate([sp, np.full(days - len(sp), sp.mean())])
        mean[s, w] += m
        spread[s, w] += sp**2  # independent nodes: variances (so squared spreads) add up
    spread = np.sqrt(spread)
    on_hand = np.zeros((n_s, n_w), dtype=np.int64)
    for s, w, q in held:
        on_hand[s, w] += q
    transit = np.zeros((n_s, n_w), dtype=np.int64)
    for s, w, q in coming:
        transit[s, w] += q
    return PlacementProblem(
        skus=tuple(rows),
        warehouses=tuple(Place(w.id, w.location) for w in houses),
        mean=mean,
        spread=spread,
        on_hand=on_hand,
        inbound=transit,
        sales=mean.sum(axis=(1, 2)),
        factories=tuple(Place(f.id, f.location) for f in network.factories),
        makers=network.makers,
        streams=tuple(uplifts),
    )


def sized_by_plan(
    rows: Sequence[tuple[str, str, StockCover]], plan: StockPlan, network: Network
) -> list[tuple[str, str, StockCover]]:
    """The covers the replenishment jobs are made from, sized by the stock plan: an at-risk
    cover at a shelf of a network warehouse asks for the plan's replenishment of its SKU
    there (what is missing after lateral transfers), on the warehouse's first shelf only,
    and is no longer at risk for the jobs when the plan makes nothing (transfers or stock
    in transit cover it). Shelves outside the network keep their own cover."""
    made = {(r.sku, r.warehouse): r.qty for r in plan.replenishments}
    house_of = network.warehouse_of_node()
    first = {w.id: w.nodes[0] for w in network.warehouses if w.nodes}
    out: list[tuple[str, str, StockCover]] = []
    for site, node, cover in rows:
        house = house_of.get(node)
        if house is None or not cover.at_risk:
            out.append((site, node, cover))
            continue
        qty = made.get((cover.sku, house), 0) if first.get(house) == node else 0
        sized = replace(cover, proposed=qty) if qty > 0 else replace(cover, at_risk=False)
        out.append((site, node, sized))
    return out


__all__ = [
    "Inbound",
    "placement_problem",
    "sized_by_plan",
    "stream_event",
    "stream_uplifts",
]
