"""Turning fleet happenings into alarm triggers and clears through the `AlarmSink` port.

Six of the seven alarm sources live here: anomaly events from agents, node inactivity,
dead-letter bursts, stock below a threshold, plan commands a node rejected and plan commands
an online node never answered. The seventh, stock that will not last the replenishment lead
time (`stockout_risk`), is judged from the stock covers by `StockoutRiskRule`
(`coordinator/stock/cover_watch.py`).
Each rule decides alone whether to trigger or clear; ingest, the fleet twin and the command
log (`coordinator/commands/log.py`) call the matching `on_*` method and never talk to the
alarm service directly.

Alarm keys (site, source, alarm_type):
- anomaly event: (site, `node` or `node/signal`, event name, plus `.detector` when given);
- node inactivity: (site, node, `node_offline`);
- dead-letter burst: (site given at construction, `ingest`, `dead_letter_burst`);
- low stock: (site, `node/sku`, `low_stock`);
- rejected plan command: (site, `node/command`, `command_rejected`), e.g. `m1/schedule`;
- unanswered plan command: (site, `node/command`, `command_unanswered`).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from coordinator.alarms.port import AlarmSink, Severity
from protocol.messages import Event
from protocol.plans import PLAN_COMMANDS
from protocol.reports import OPERATION_EVENTS, STOP_EVENTS

# Reports of work done (job tracking, deliveries), never alarms.
REPORT_EVENTS: Final = frozenset(OPERATION_EVENTS) | frozenset(STOP_EVENTS)

NODE_OFFLINE: Final = "node_offline"
DEAD_LETTER_BURST: Final = "dead_letter_burst"
LOW_STOCK: Final = "low_stock"
COMMAND_REJECTED: Final = "command_rejected"
COMMAND_UNANSWERED: Final = "command_unanswered"


def anomaly_key(event: Event) -> tuple[str, str]:
    """(source, alarm_type) of the alarm an agent event raises or clears."""
    source = f"{event.node}/{event.signal}" if event.signal else event.node
    alarm_type = f"{event.name}.{event.detector}" if event.detector else event.name
    return source, alarm_type


def on_event(sink: AlarmSink, event: Event) -> None:
    """Raise (state `raised` or none) or clear (state `cleared`) the event's alarm.

    Operation and stop reports (protocol v2) are facts for job tracking and deliveries,
    not alarms: they are left alone here."""
    if event.name in REPORT_EVENTS:
        return
    source, alarm_type = anomaly_key(event)
    message = event.reason or event.name
    if event.state == "cleared":
        sink.clear(
            site=event.site, source=source, alarm_type=alarm_type, message=message, ts_ms=event.ts
        )
        return
    details: dict[str, object] = {"node": event.node, "seq": event.seq, "bd_seq": event.bd_seq}
    if event.signal:
        details["signal"] = event.signal
    if event.detector:
        details["detector"] = event.detector
    if event.score is not None:
        details["score"] = event.score
    if event.window:
        details["window"] = list(event.window)
    if event.data:
        details["data"] = dict(event.data)
    if event.historical:
        details["historical"] = True
    sink.trigger(
        site=event.site,
        source=source,
        alarm_type=alarm_type,
        severity=event.severity,
        message=message,
        details=details,
        ts_ms=event.ts,
    )


def on_node_offline(
    sink: AlarmSink, *, site: str, node: str, reason: str, ts_ms: int, severity: Severity = "MAJOR"
) -> None:
    """A node died or went quiet past its inactivity timeout."""
    sink.trigger(
        site=site,
        source=node,
        alarm_type=NODE_OFFLINE,
        severity=severity,
        message=f"node {node} offline: {reason}",
        details={"reason": reason},
        ts_ms=ts_ms,
    )


def on_node_online(sink: AlarmSink, *, site: str, node: str, ts_ms: int) -> None:
    """A node was born again: clear its offline alarm, if any."""
    sink.clear(
        site=site, source=node, alarm_type=NODE_OFFLINE, message=f"node {node} online", ts_ms=ts_ms
    )


def on_command_answer(
    sink: AlarmSink,
    *,
    site: str,
    node: str,
    name: str,
    cmd_id: str,
    ok: bool,
    reason: str,
    ts_ms: int,
    severity: Severity = "MAJOR",
) -> None:
    """A node answered a command: a plan command (`schedule`, `route`) it rejected raises
    `command_rejected` for that node and command, the next one it takes clears it (and a
    `command_unanswered` of the same command). Other commands raise nothing (an operator's
    `config` is answered to the operator)."""
    if name not in PLAN_COMMANDS:
        return
    source = f"{node}/{name}"
    if ok:
        for alarm_type in (COMMAND_REJECTED, COMMAND_UNANSWERED):
            sink.clear(
                site=site,
                source=source,
                alarm_type=alarm_type,
                message=f"{node} took its {name} ({cmd_id})",
                ts_ms=ts_ms,
            )
        return
    sink.trigger(
        site=site,
        source=source,
        alarm_type=COMMAND_REJECTED,
        severity=severity,
        message=f"{node} rejected its {name}: {reason}"[:500],
        details={"node": node, "command": name, "cmd_id": cmd_id, "reason": reason[:500]},
        ts_ms=ts_ms,
    )


def on_command_expired(
    sink: AlarmSink,
    *,
    site: str,
    node: str,
    name: str,
    cmd_id: str,
    timeout_s: float,
    ts_ms: int,
    severity: Severity = "MINOR",
) -> None:
    """An online node never answered a plan command: `command_unanswered` for that node and
    command (its agent may not be handling commands), cleared by the next one it takes."""
    if name not in PLAN_COMMANDS:
        return
    sink.trigger(
        site=site,
        source=f"{node}/{name}",
        alarm_type=COMMAND_UNANSWERED,
        severity=severity,
        message=f"{node} did not answer its {name} within {timeout_s:g} s while online",
        details={"node": node, "command": name, "cmd_id": cmd_id},
        ts_ms=ts_ms,
    )


@dataclass
class DeadLetterBurstRule:
    """Raises an alarm when at least `threshold` dead letters arrive within `window_s`, and
    clears it once the window holds fewer than half that many (hysteresis, so a rate
    hovering at the threshold does not flap)."""

    sink: AlarmSink
    site: str
    threshold: int = 50
    window_s: float = 60.0
    severity: Severity = "MAJOR"
    _times_ms: deque[int] = field(default_factory=deque, repr=False)
    _raised: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def on_dead_letter(self, *, reason: str, ts_ms: int) -> None:
        """Count one dead letter."""
        with self._lock:
            self._times_ms.append(ts_ms)
            self._evaluate(ts_ms, reason)

    def tick(self, *, now_ms: int) -> None:
        """Let time pass without dead letters (so the alarm can clear)."""
        with self._lock:
            self._evaluate(now_ms, "")

    def _evaluate(self, now_ms: int, reason: str) -> None:
        horizon = now_ms - int(self.window_s * 1000)
        while self._times_ms and self._times_ms[0] < horizon:
            self._times_ms.popleft()
        count = len(self._times_ms)
        if not self._raised and count >= self.threshold:
            self._raised = True
            self.sink.trigger(
                site=self.site,
                source="ingest",
                alarm_type=DEAD_LETTER_BURST,
                severity=self.severity,
                message=f"{count} dead letters in {self.window_s:g} s; last: {reason}"[:500],
                details={"count": count, "window_s": self.window_s, "last_reason": reason[:200]},
                ts_ms=now_ms,
            )
        elif self._raised and count < max(self.threshold // 2, 1):
            self._raised = False
            self.sink.clear(
                site=self.site,
                source="ingest",
                alarm_type=DEAD_LETTER_BURST,
                message=f"dead letters back to {count} in {self.window_s:g} s",
                ts_ms=now_ms,
            )


@dataclass
class LowStockRule:
    """Raises `low_stock` when a SKU's quantity at a micro-warehouse falls below its
    threshold (WARNING; MAJOR at zero), clears when it is back to threshold + `hysteresis`.

    `thresholds` maps SKU → minimum quantity; SKUs not in it use `default_threshold`
    (None: not watched).
    """

    sink: AlarmSink
    thresholds: Mapping[str, int] = field(default_factory=dict)
    default_threshold: int | None = None
    hysteresis: int = 1
    _low: set[tuple[str, str, str]] = field(default_factory=set, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def on_stock(self, *, site: str, node: str, sku: str, quantity: int, ts_ms: int) -> None:
        """Look at one SKU's current quantity."""
        threshold = self.thresholds.get(sku, self.default_threshold)
        if threshold is None:
            return
        key = (site, node, sku)
        source = f"{node}/{sku}"
        with self._lock:
            if quantity < threshold:
                self._low.add(key)
                self.sink.trigger(
                    site=site,
                    source=source,
                    alarm_type=LOW_STOCK,
                    severity="MAJOR" if quantity <= 0 else "WARNING",
                    message=f"{sku} at {node}: {quantity} left (threshold {threshold})",
                    details={
                        "sku": sku,
                        "node": node,
                        "quantity": quantity,
                        "threshold": threshold,
                    },
                    ts_ms=ts_ms,
                )
            elif key in self._low and quantity >= threshold + self.hysteresis:
                self._low.discard(key)
                self.sink.clear(
                    site=site,
                    source=source,
                    alarm_type=LOW_STOCK,
                    message=f"{sku} at {node} restocked to {quantity}",
                    ts_ms=ts_ms,
                )
