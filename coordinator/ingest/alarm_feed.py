"""Hands what ingest saw to the alarm rules of `coordinator.alarms.sources`, after commit.

Ingest never talks to the alarm service directly: it calls the rules, which call the
`AlarmSink` port. A failing sink is logged and never stops ingest.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from coordinator.alarms.port import AlarmSink
from coordinator.alarms.sources import (
    DeadLetterBurstRule,
    LowStockRule,
    on_event,
    on_node_offline,
    on_node_online,
)
from coordinator.ingest.records import (
    AgentEvent,
    DeadLettered,
    Happening,
    NodeCameOnline,
    NodeWentOffline,
    StockChanged,
)

log = logging.getLogger(__name__)


class AlarmFeed:
    """Routes happenings to the alarm rules (one dead-letter burst rule per site)."""

    def __init__(
        self,
        sink: AlarmSink,
        *,
        stock_low_threshold: int | None = 5,
        stock_thresholds: dict[str, int] | None = None,
        dead_letter_burst_count: int = 20,
        dead_letter_burst_window_s: float = 60.0,
    ) -> None:
        self.sink = sink
        self._low_stock = LowStockRule(
            sink, thresholds=dict(stock_thresholds or {}), default_threshold=stock_low_threshold
        )
        self._burst_count = dead_letter_burst_count
        self._burst_window_s = dead_letter_burst_window_s
        self._bursts: dict[str, DeadLetterBurstRule] = {}

    def dispatch(self, happenings: Iterable[Happening]) -> None:
        """Feed each happening to its rule; errors are logged, not raised."""
        for happening in happenings:
            try:
                self._one(happening)
            except Exception:  # an alarm problem must not stop ingest
                log.exception("alarm rule failed for %r", happening)

    def tick(self, *, now_ms: int) -> None:
        """Let time pass for rules that clear on their own (dead-letter bursts)."""
        for rule in self._bursts.values():
            try:
                rule.tick(now_ms=now_ms)
            except Exception:
                log.exception("dead-letter burst rule tick failed")

    def _one(self, happening: Happening) -> None:
        if isinstance(happening, AgentEvent):
            on_event(self.sink, happening.event)
        elif isinstance(happening, NodeWentOffline):
            on_node_offline(
                self.sink,
                site=happening.site,
                node=happening.node,
                reason=happening.reason,
                ts_ms=happening.ts_ms,
            )
        elif isinstance(happening, NodeCameOnline):
            on_node_online(
                self.sink, site=happening.site, node=happening.node, ts_ms=happening.ts_ms
            )
        elif isinstance(happening, StockChanged):
            self._low_stock.on_stock(
                site=happening.site,
                node=happening.node,
                sku=happening.sku,
                quantity=happening.qty,
                ts_ms=happening.ts_ms,
            )
        elif isinstance(happening, DeadLettered):
            rule = self._bursts.get(happening.site)
            if rule is None:
                rule = DeadLetterBurstRule(
                    self.sink,
                    site=happening.site,
                    threshold=self._burst_count,
                    window_s=self._burst_window_s,
                )
                self._bursts[happening.site] = rule
            rule.on_dead_letter(reason=happening.reason, ts_ms=happening.ts_ms)


__all__ = ["AlarmFeed"]
