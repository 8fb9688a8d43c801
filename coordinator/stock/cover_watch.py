"""Watching stock cover: the latest forecasts against the live stock, on a schedule, with
an alarm for each SKU that may run out before a replenishment could arrive.

`CoverWatch.check()` pairs every forecast of a SKU at a micro-warehouse with that SKU's
current quantity there (the fleet twin's), computes its `StockCover` and hands each to
`StockoutRiskRule`, which raises `stockout_risk` on (site, `node/sku`) when it turns at risk
(WARNING: the P90 demand empties the shelf within the lead time; MAJOR: even the mean
demand does) and clears it when it no longer is. A SKU without a forecast (never sold
there) or without a stock level is left out. The rule raises and clears on changes only;
after a start it does not know what was open, so its first check clears every SKU that is
not at risk, in case an alarm from before the restart is still open.

Each check's covers also go to the `listeners` (e.g. the planner's replenishment,
`coordinator.plan.runner.PlanRunner.on_covers`), after the rule; a failing listener is
logged and the others still run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final

from coordinator.alarms.port import AlarmSink, Severity
from coordinator.forecast.serving.service import Forecast, RefreshSchedule
from coordinator.stock.cover import CoverPolicy, StockCover, stock_covers
from fleet_runtime.clock import Clock, now_ms

STOCKOUT_RISK: Final = "stockout_risk"

StockLevels = Callable[[], Iterable[tuple[str, str, str, int]]]
"""The current stock: (site, node, sku, quantity) per SKU per micro-warehouse."""

CoverListener = Callable[[list[tuple[str, str, StockCover]], int], None]
"""Called with every (site, node, cover) of a check and the check's time in ms."""

log = logging.getLogger(__name__)


def _severity(cover: StockCover, policy: CoverPolicy) -> Severity | None:
    if not cover.at_risk:
        return None
    expected = cover.expected_days
    return "MAJOR" if expected is not None and expected <= policy.lead_time_days else "WARNING"


@dataclass
class StockoutRiskRule:
    """Raises, escalates and clears `stockout_risk` alarms from stock covers."""

    sink: AlarmSink
    policy: CoverPolicy
    _open: dict[tuple[str, str, str], Severity] | None = field(default=None, repr=False)

    def on_covers(self, covers: Iterable[tuple[str, str, StockCover]], ts_ms: int) -> None:
        """Look at every (site, node, cover) of one check."""
        first = self._open is None
        was = self._open or {}
        now: dict[tuple[str, str, str], Severity] = {}
        for site, node, cover in covers:
            key = (site, node, cover.sku)
            source = f"{node}/{cover.sku}"
            severity = _severity(cover, self.policy)
            if severity is not None:
                now[key] = severity
                if was.get(key) != severity:
                    self._raise(site, node, source, cover, severity, ts_ms)
            elif key in was or first:
                self.sink.clear(
                    site=site,
                    source=source,
                    alarm_type=STOCKOUT_RISK,
                    message=f"{cover.sku} at {node}: {cover.stock} cover the lead time",
                    ts_ms=ts_ms,
                )
        self._open = now

    def _raise(
        self, site: str, node: str, source: str, cover: StockCover, severity: Severity, ts: int
    ) -> None:
        days = cover.p90_days
        self.sink.trigger(
            site=site,
            source=source,
            alarm_type=STOCKOUT_RISK,
            severity=severity,
            message=(
                f"{cover.sku} at {node} may run out within {days} day(s): {cover.stock} in"
                f" stock, lead time {self.policy.lead_time_days:g} days; replenish"
                f" {cover.proposed} to reach {cover.order_up_to}"
            ),
            details={"node": node, **cover.to_json()},
            ts_ms=ts,
        )


class CoverWatch:
    """Stock covers of the latest forecasts, checked every `interval_s` (see the module)."""

    def __init__(
        self,
        *,
        forecasts: Callable[[], list[Forecast]],
        stock: StockLevels,
        policy: CoverPolicy,
        clock: Clock,
        interval_s: float,
        rule: StockoutRiskRule | None = None,
    ) -> None:
        self._forecasts = forecasts
        self._stock = stock
        self.policy = policy
        self._clock = clock
        self.schedule = RefreshSchedule(clock=clock, interval_s=interval_s)
        self._rule = rule
        self._lock = threading.Lock()
        self._latest: list[StockCover] = []
        self.checked_ms: int | None = None
        self.listeners: list[CoverListener] = []

    def check(self) -> list[StockCover]:
        """Compute every cover now, hand them to the rule, keep them for `latest`."""
        levels = {
            (f"{site}/{node}", sku): (site, node, qty) for site, node, sku, qty in self._stock()
        }
        places: list[tuple[str, str]] = []
        pairs: list[tuple[Forecast, int]] = []
        for forecast in self._forecasts():
            found = levels.get((forecast.location or "", forecast.sku))
            if found is not None:
                places.append(found[:2])
                pairs.append((forecast, found[2]))
        covers = stock_covers(pairs, self.policy)
        rows = [(site, node, cover) for (site, node), cover in zip(places, covers, strict=True)]
        rows.sort(key=lambda r: (r[2].location, r[2].sku))
        stamp = now_ms(self._clock)
        with self._lock:
            self._latest = [cover for _, _, cover in rows]
            self.checked_ms = stamp
            self.schedule.mark_done()
        if self._rule is not None:
            self._rule.on_covers(rows, stamp)
        for listener in self.listeners:
            try:
                listener(rows, stamp)
            except Exception:  # one listener's failure must not stop the checks
                log.exception("cover listener failed")
        return [cover for _, _, cover in rows]

    def run_pending(self) -> None:
        """Check when due."""
        if self.schedule.due():
            self.check()

    def latest(
        self, *, location: str | None = None, sku: str | None = None, at_risk: bool | None = None
    ) -> list[StockCover]:
        """The covers of the last check, by location and SKU, optionally filtered."""
        with self._lock:
            covers = list(self._latest)
        return [
            c
            for c in covers
            if location in (None, c.location)
            and sku in (None, c.sku)
            and at_risk in (None, c.at_risk)
        ]


__all__ = ["STOCKOUT_RISK", "CoverListener", "CoverWatch", "StockLevels", "StockoutRiskRule"]
