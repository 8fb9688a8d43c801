"""The KPIs of a run (pure: the world's records in, a dict with fixed keys out).

- `orders`: orders placed; `lost_sales_units`: units of stream buyers who found no stock.
- `on_time_rate`: of the orders not lost whose due time fell inside the run, the share
  delivered by it (an order not delivered by the end of the run is late).
- `lead_time_p50_h`, `lead_time_p95_h`: order to delivery, delivered orders.
- `fill_rate_from_stock`: units served from shelf stock at order time / units not lost.
- `stockout_hours_during_streams`: over announced streams, the hours each featured SKU had
  no free unit in any open warehouse, summed.
- `changeover_h`: machine hours spent changing over; `utilisation`: producing hours / open
  machine hours.
- `inventory_days`: mean units on the shelves / mean units delivered per day.
- `delivery_km_per_order`: last-mile road km / orders delivered (vans of the warehouse that
  serves the customer's area, and their empty drives when lent to another warehouse or sent
  home); `transfer_km_per_order` (extra key): line-haul km between
  warehouses for units served from another area, / orders delivered.
- `replans`, `replan_p99_s`: re-plans of the production schedule and their wall time.
- `recovery_h` per drill: hours from the drill until the on-time rate of the orders placed
  in a sliding day returns to its level over the day before the drill (None: not in the run);
  `hours_below` (extra key): of the sliding days starting each hour from the drill to the
  next one (or the run's end), the hours' worth below that level, relapses included.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from typing import Any

from flexfleet.scenario.world import STEP_S, World

KEYS = (
    "orders",
    "on_time_rate",
    "lead_time_p50_h",
    "lead_time_p95_h",
    "fill_rate_from_stock",
    "lost_sales_units",
    "stockout_hours_during_streams",
    "changeover_h",
    "utilisation",
    "inventory_days",
    "delivery_km_per_order",
    "replans",
    "replan_p99_s",
)
TOLERANCE = 0.01


def quantile(values: Sequence[float], q: float) -> float:
    """The `q` quantile by linear interpolation (0.0 for no values)."""
    if not values:
        return 0.0
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def on_time_flags(world: World) -> list[tuple[float, bool]]:
    """(placed at, on time) of every order that counts for the on-time rate."""
    end = world.days * 86_400.0
    out = []
    for state in world.orders.values():
        o = state.order
        if state.lost or o.due_s > end:
            continue
        done = state.delivered_s
        out.append((o.t_s, done is not None and done <= o.due_s))
    out.sort()
    return out


class _SlidingDays:
    """On-time rates of the orders placed in [lo, hi), from (placed at, on time) flags."""

    def __init__(self, flags: Sequence[tuple[float, bool]]) -> None:
        ordered = sorted(flags)
        self._t = [t for t, _ in ordered]
        self._ok = [0, *itertools.accumulate(int(ok) for _, ok in ordered)]

    def rate(self, lo: float, hi: float) -> float | None:
        a, b = bisect.bisect_left(self._t, lo), bisect.bisect_left(self._t, hi)
        return (self._ok[b] - self._ok[a]) / (b - a) if b > a else None


def recovery_h(flags: Sequence[tuple[float, bool]], drill_s: float, end_s: float) -> float | None:
    """Hours after `drill_s` until the on-time rate of orders placed in a sliding day
    [t, t + 24 h) is back at its level over the day before the drill (see the module)."""
    day = 86_400.0
    days = _SlidingDays(flags)
    before = days.rate(drill_s - day, drill_s)
    if before is None:
        return None
    t = drill_s
    while t + day <= end_s:
        now = days.rate(t, t + day)
        if now is not None and now >= before - TOLERANCE:
            return round((t - drill_s) / 3600.0, 2)
        t += 3600.0
    return None


def hours_below(
    flags: Sequence[tuple[float, bool]], drill_s: float, until_s: float, end_s: float
) -> float | None:
    """Of the sliding days starting on each hour from `drill_s` to `until_s` (the next drill
    or the run's end) and ending within the run, how many hours' worth have an on-time rate
    below the level over the day before the drill: the relapses `recovery_h` does not see,
    as it stops at the first return (None: no level before the drill)."""
    day = 86_400.0
    days = _SlidingDays(flags)
    before = days.rate(drill_s - day, drill_s)
    if before is None:
        return None
    below, t = 0, drill_s
    while t < until_s and t + day <= end_s:
        now = days.rate(t, t + day)
        below += now is not None and now < before - TOLERANCE
        t += 3600.0
    return float(below)


def kpis(world: World, *, replans: int, drills: Sequence[tuple[float, str]]) -> dict[str, Any]:
    """The KPI dict of a finished run (keys `KEYS` and `drills`)."""
    states = list(world.orders.values())
    flags = on_time_flags(world)
    served = [s for s in states if not s.lost]
    leads = [(s.delivered_s - s.order.t_s) / 3600.0 for s in served if s.delivered_s is not None]
    units = sum(s.order.qty for s in served)
    from_stock = sum(s.units_from_stock for s in served)
    delivered = sum(1 for s in served if s.delivered_s is not None)
    delivered_units = sum(s.order.qty for s in served if s.delivered_s is not None)
    steps = world.days * 86_400.0 / STEP_S
    mean_units = world.log.inventory_unit_steps / steps if steps else 0.0
    per_day = delivered_units / world.days if world.days else 0.0
    machines = world.machines.values()
    run_s = sum(m.run_s for m in machines)
    end = world.days * 86_400.0
    ordered = sorted(drills)
    untils = [at for at, _ in ordered[1:]] + [end] * bool(ordered)  # the next drill, or the end
    result: dict[str, Any] = {
        "orders": len(states),
        "on_time_rate": round(sum(ok for _, ok in flags) / len(flags), 4) if flags else 0.0,
        "lead_time_p50_h": round(quantile(leads, 0.5), 2),
        "lead_time_p95_h": round(quantile(leads, 0.95), 2),
        "fill_rate_from_stock": round(from_stock / units, 4) if units else 0.0,
        "lost_sales_units": sum(s.order.qty for s in states if s.lost),
        "stockout_hours_during_streams": round(world.log.stockout_steps * STEP_S / 3600.0, 2),
        "changeover_h": round(sum(m.setup_s for m in machines) / 3600.0, 2),
        "utilisation": round(run_s / world.log.open_machine_s, 4)
        if world.log.open_machine_s
        else 0.0,
        "inventory_days": round(mean_units / per_day, 2) if per_day else 0.0,
        "delivery_km_per_order": round(world.log.km / delivered, 3) if delivered else 0.0,
        "transfer_km_per_order": round(world.log.transfer_km / delivered, 3) if delivered else 0.0,
        "replans": replans,
        "replan_p99_s": round(quantile(world.log.replan_s, 0.99), 3),
        "drills": [
            {
                "name": name,
                "day": round(at / 86_400.0, 3),
                "recovery_h": recovery_h(flags, at, end),
                "hours_below": hours_below(flags, at, until, end),
            }
            for (at, name), until in zip(ordered, untils, strict=True)
        ],
    }
    return result


def daily(world: World) -> list[dict[str, float | None]]:
    """Per day: on-time rate of the orders due that day, stock-out hours during announced
    streams, utilisation (producing / open machine time)."""
    out = []
    previous_run = 0.0
    for row in world.log.daily:
        d = int(row["day"])
        lo, hi = d * 86_400.0, (d + 1) * 86_400.0
        due = [s for s in world.orders.values() if not s.lost and lo <= s.order.due_s < hi]
        ok = sum(1 for s in due if s.delivered_s is not None and s.delivered_s <= s.order.due_s)
        run = row["run_s_total"] - previous_run
        previous_run = row["run_s_total"]
        out.append(
            {
                "day": d,
                "on_time_rate": round(ok / len(due), 4) if due else None,
                "stockout_h": round(row["stockout_h"], 2),
                "utilisation": round(run / row["open_machine_s"], 4)
                if row["open_machine_s"]
                else 0.0,
            }
        )
    return out


__all__ = ["KEYS", "daily", "hours_below", "kpis", "on_time_flags", "quantile", "recovery_h"]
