"""Hands what ingest saw to the alarm rules of `coordinator.alarms.sources`, after commit.

Ingest never talks to the alarm service directly: it calls the rules, which call the
`AlarmSink` port. A failing sink is logged and never stops ingest.

Agent events can reach the rules twice: early, from the alarm fast lane
(`coordinator.ingest.fast_lane`, ahead of the telemetry backlog), and after their commit,
from the ingest writer. Each event is offered to the rules once: the fast lane `claim`s it
by (site, node, bd_seq, seq) first, and the writer's copy of a claimed event is skipped.
An event the fast lane never saw (its connection was down, or the coordinator restarted) is
dispatched after commit as before, unless a newer event of the same node for the same alarm
was already dispatched early: then it arrived too late to change anything and is skipped,
so a late "raised" never reopens an alarm a newer "cleared" closed.

A node's death takes the same two lanes: the fast lane `offer_death`s it (raising the
node-offline alarm at once) while the twin still holds that session as the node's current,
online one; the writer's copy of an offered death is then skipped, and a death the fast lane
left alone is dispatched after commit as before.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable

from coordinator.alarms.port import AlarmSink
from coordinator.alarms.sources import (
    DeadLetterBurstRule,
    LowStockRule,
    anomaly_key,
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
from protocol import Death, Event

log = logging.getLogger(__name__)

EventKey = tuple[str, str, int, int]
"""(site, node, bd_seq, seq): what makes an agent event unique."""

SessionKey = tuple[str, str, int]
"""(site, node, bd_seq): one session of a node, which dies at most once."""


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
        max_claims: int = 100_000,
    ) -> None:
        self.sink = sink
        self._claims_lock = threading.Lock()
        self._claimed: OrderedDict[EventKey, None] = OrderedDict()
        self._max_claims = max_claims
        self._latest_early: dict[tuple[str, str, str, str], int] = {}
        self._deaths_offered: OrderedDict[SessionKey, None] = OrderedDict()
        self.early_dispatched = 0
        self.late_skipped = 0
        self._low_stock = LowStockRule(
            sink, thresholds=dict(stock_thresholds or {}), default_threshold=stock_low_threshold
        )
        self._burst_count = dead_letter_burst_count
        self._burst_window_s = dead_letter_burst_window_s
        self._bursts: dict[str, DeadLetterBurstRule] = {}

    def dispatch(self, happenings: Iterable[Happening], *, early: bool = False) -> None:
        """Feed each happening to its rule; errors are logged, not raised. Agent events
        the fast lane already dispatched are skipped unless `early`."""
        for happening in happenings:
            if not early and (
                (isinstance(happening, AgentEvent) and not self._after_commit(happening.event))
                or (isinstance(happening, NodeWentOffline) and self._death_offered(happening))
            ):
                continue
            try:
                self._one(happening)
            except Exception:  # an alarm problem must not stop ingest
                log.exception("alarm rule failed for %r", happening)

    def claim(self, event: Event) -> bool:
        """Fast lane: True if no lane has offered this event to the rules yet (then the
        caller dispatches it with `dispatch_early`), False if it was claimed before."""
        key = (event.site, event.node, event.bd_seq, event.seq)
        alarm = (event.site, event.node, *anomaly_key(event))
        with self._claims_lock:
            if key in self._claimed:
                return False
            self._claimed[key] = None
            if len(self._claimed) > self._max_claims:
                self._claimed.popitem(last=False)  # the writer never brought it: forget it
            self._latest_early[alarm] = max(self._latest_early.get(alarm, -1), event.seq)
        return True

    def dispatch_early(self, event: Event) -> None:
        """Feed a claimed event to its rule ahead of its commit; errors are logged."""
        self.early_dispatched += 1
        self.dispatch([AgentEvent(event)], early=True)

    def offer_death(self, death: Death, *, ts_ms: int) -> bool:
        """Fast lane: raise the node-offline alarm for `death` now, unless it was offered
        before; True if raised here. The caller holds the twin lock and has checked that
        the death ends the node's current, online session, so the writer cannot apply the
        death (or a newer birth) until the alarm is raised."""
        key = (death.site, death.node, death.bd_seq)
        with self._claims_lock:
            if key in self._deaths_offered:
                return False
            self._deaths_offered[key] = None
            if len(self._deaths_offered) > self._max_claims:
                self._deaths_offered.popitem(last=False)
        self.early_dispatched += 1
        self.dispatch(
            [NodeWentOffline(death.site, death.node, "death", ts_ms, death.bd_seq)], early=True
        )
        return True

    def _death_offered(self, offline: NodeWentOffline) -> bool:
        """Whether the fast lane already raised the alarm for this death."""
        if offline.bd_seq is None:
            return False
        key = (offline.site, offline.node, offline.bd_seq)
        with self._claims_lock:
            if key not in self._deaths_offered:
                return False
            del self._deaths_offered[key]
            self.late_skipped += 1
            return True

    def tick(self, *, now_ms: int) -> None:
        """Let time pass for rules that clear on their own (dead-letter bursts)."""
        for rule in self._bursts.values():
            try:
                rule.tick(now_ms=now_ms)
            except Exception:
                log.exception("dead-letter burst rule tick failed")

    def _after_commit(self, event: Event) -> bool:
        """Whether the writer should dispatch this committed event (see the module doc)."""
        key = (event.site, event.node, event.bd_seq, event.seq)
        alarm = (event.site, event.node, *anomaly_key(event))
        with self._claims_lock:
            if key in self._claimed:
                del self._claimed[key]
                self.late_skipped += 1
                return False
            if self._latest_early.get(alarm, -1) > event.seq:
                self.late_skipped += 1
                return False
        return True

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
