"""Where the last-mile kilometres of a run go (pure: the world's tour records in, a dict out).

`delivery_km_per_order` is one figure; this splits it so two policies can be compared
part by part (the `delivery` key of a run's JSON, `benchmarks/bench_delivery_km.py`):

- `stops_per_order`: consignments delivered per delivered order (above 1: orders split
  across shelves or factories), with the share of orders delivered in more than one stop,
  in more than one tour, and the stops by origin (own shelf, line-haul from another
  warehouse, made for the order);
- per tour: stops, units, fill (units / capacity), km; the share of tours leaving under
  `UNDERFILLED` of capacity and, per departure reason, how many tours and their fill;
- km per order split into depot legs (out to the first stop and back from the last) and
  legs between stops; per warehouse, km per delivered order;
- `wait_h`: hours from a tour's oldest stop being ready to its departure;
- `van_moves`: vans lent between warehouses or sent home (when, from, to, km), and their km
  per order (counted in `delivery_km_per_order`, not in the tours' figures).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from flexfleet.scenario.kpis import quantile
from flexfleet.scenario.world import TourRecord, World

UNDERFILLED = 0.8  # a tour under this share of its van's capacity counts as under-filled


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def delivery_detail(world: World) -> dict[str, Any]:
    """The decomposition of a finished run's last-mile kilometres (see the module)."""
    return detail_of(world.log.tours, delivered_orders(world), world.log.van_moves)


def delivered_orders(world: World) -> int:
    """Orders delivered in full by the end of the run."""
    return sum(1 for s in world.orders.values() if not s.lost and s.delivered_s is not None)


def detail_of(
    tours: Sequence[TourRecord],
    delivered: int,
    van_moves: Sequence[tuple[float, str, str, float]] = (),
) -> dict[str, Any]:
    """The decomposition over `tours` and `van_moves` (run seconds, from, to, km), per
    `delivered` order (see the module)."""
    stops_of: Counter[str] = Counter()
    tours_of: dict[str, set[int]] = defaultdict(set)
    origins: Counter[str] = Counter()
    reasons: dict[str, list[float]] = defaultdict(list)
    per_warehouse_km: dict[str, float] = defaultdict(float)
    per_warehouse_orders: dict[str, set[str]] = defaultdict(set)
    for n, tour in enumerate(tours):
        for order in tour.orders:
            stops_of[order] += 1
            tours_of[order].add(n)
        origins.update(tour.origins)
        reasons[tour.reason or "unknown"].append(tour.units / tour.capacity)
        per_warehouse_km[tour.warehouse] += tour.depot_km + tour.between_km
        per_warehouse_orders[tour.warehouse].update(tour.orders)
    stops = sum(stops_of.values())
    orders_seen = len(stops_of)
    depot_km = sum(t.depot_km for t in tours)
    between_km = sum(t.between_km for t in tours)
    fills = [t.units / t.capacity for t in tours]
    per = max(1, delivered)
    return {
        "orders_delivered": delivered,
        "stops": stops,
        "stops_per_order": round(stops / orders_seen, 3) if orders_seen else 0.0,
        "orders_in_several_stops": round(
            sum(1 for k in stops_of.values() if k > 1) / max(1, orders_seen), 4
        ),
        "orders_in_several_tours": round(
            sum(1 for t in tours_of.values() if len(t) > 1) / max(1, orders_seen), 4
        ),
        "stops_by_origin": {k: origins[k] for k in sorted(origins)},
        "tours": len(tours),
        "stops_per_tour": round(stops / len(tours), 2) if tours else 0.0,
        "fill_mean": round(_mean(fills), 3),
        "underfilled_share": round(sum(1 for f in fills if f < UNDERFILLED) / len(fills), 3)
        if fills
        else 0.0,
        "km_per_tour": round((depot_km + between_km) / len(tours), 2) if tours else 0.0,
        "km_per_order": round((depot_km + between_km) / per, 3),
        "depot_km_per_order": round(depot_km / per, 3),
        "between_km_per_order": round(between_km / per, 3),
        "between_km_per_stop_gap": round(between_km / max(1, stops - len(tours)), 3),
        "wait_h_p50": round(
            quantile([(t.depart_s - t.oldest_ready_s) / 3600.0 for t in tours], 0.5), 2
        ),
        "by_reason": {
            r: {
                "tours": len(f),
                "fill_mean": round(_mean(f), 3),
                "underfilled": sum(1 for x in f if x < UNDERFILLED),
            }
            for r, f in sorted(reasons.items())
        },
        "km_per_order_by_warehouse": {
            w: round(per_warehouse_km[w] / max(1, len(per_warehouse_orders[w])), 3)
            for w in sorted(per_warehouse_km)
        },
        "van_moves": [
            {
                "day": int(t // 86_400),
                "hour": round(t % 86_400 / 3600, 2),
                "from": a,
                "to": b,
                "km": round(km, 1),
            }
            for t, a, b, km in van_moves
        ],
        "van_move_km_per_order": round(sum(m[3] for m in van_moves) / per, 3),
    }


__all__ = ["UNDERFILLED", "delivered_orders", "delivery_detail", "detail_of"]
