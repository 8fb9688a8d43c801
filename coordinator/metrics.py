"""Prometheus metrics, read from the live parts at scrape time (no bookkeeping on the hot path)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from coordinator.service import Coordinator

log = logging.getLogger(__name__)


class CoordinatorCollector(Collector):
    """Ingest rate, queue depth, dead letters, nodes online, alarm counts, per-node seq
    health, planning figures, commands by outcome."""

    def __init__(self, coordinator: Coordinator) -> None:
        self._c = coordinator

    def collect(self) -> Iterator[Metric]:
        """Yield every metric family (called by the registry on each scrape)."""
        c = self._c
        stats = c.writer.stats
        mono = c.clock.monotonic()
        yield _counter(
            "flexfleet_ingest_messages", "MQTT messages taken from the queue", stats.messages
        )
        yield _counter("flexfleet_ingest_samples", "Telemetry samples committed", stats.samples)
        yield _gauge(
            "flexfleet_ingest_samples_per_second",
            "Samples committed per second over the last 10 s",
            stats.samples_per_s(now_s=mono),
        )
        yield _gauge(
            "flexfleet_ingest_queue_depth",
            "Messages waiting for the writer",
            c.writer.queue.qsize(),
        )
        yield _gauge(
            "flexfleet_ingest_queue_capacity", "Size of the ingest queue", c.writer.queue.maxsize
        )
        yield _counter(
            "flexfleet_ingest_backpressure_waits",
            "Times the MQTT thread waited because the ingest queue was full",
            stats.backpressure_waits,
        )
        yield _counter("flexfleet_ingest_batches", "Store transactions committed", stats.batches)
        yield _counter(
            "flexfleet_dead_letters", "Messages that failed decoding", stats.dead_letters
        )
        yield _counter(
            "flexfleet_duplicates_dropped", "Messages dropped as duplicates", stats.duplicates
        )
        yield _counter(
            "flexfleet_rebirth_requests", "Rebirth commands sent", stats.rebirth_requests
        )
        yield _gauge(
            "flexfleet_ingest_up",
            "1 while ingest runs and the broker is connected",
            float(c.healthy),
        )
        nodes = c.twin.nodes()
        yield _gauge(
            "flexfleet_nodes_online", "Nodes online now", sum(1 for n in nodes if n.online)
        )
        yield _gauge("flexfleet_nodes", "Nodes known", len(nodes))
        per_node = {
            "gaps": ("flexfleet_node_gaps", "Seq gaps opened, per node"),
            "duplicates": ("flexfleet_node_duplicates", "Duplicate messages dropped, per node"),
            "lost": ("flexfleet_node_lost", "Messages settled as lost, per node"),
            "received": ("flexfleet_node_messages", "Data messages received, per node"),
        }
        families = {
            k: CounterMetricFamily(n, h, labels=["site", "node"]) for k, (n, h) in per_node.items()
        }
        for n in nodes:
            labels = [n.site, n.node]
            families["gaps"].add_metric(labels, n.counters.gaps_seen)
            families["duplicates"].add_metric(labels, n.counters.duplicates)
            families["lost"].add_metric(labels, n.counters.lost)
            families["received"].add_metric(labels, n.counters.received)
        yield from families.values()
        yield from _alarm_metrics(c)
        yield from _plan_metrics(c)
        yield from _command_metrics(c)


def _alarm_metrics(c: Coordinator) -> Iterator[Metric]:
    """Alarm counts per status and severity (every pair, zeros included), the notification
    channels' counters and the alarm fast lane's."""
    alarms = GaugeMetricFamily(
        "flexfleet_alarms", "Alarms per status and severity", labels=["status", "severity"]
    )
    if c.alarms is not None:
        from coordinator.alarms.model import SEVERITIES, STATUSES  # alarms are optional

        try:
            counts = c.alarms.counts()
            for status in STATUSES:
                for severity in SEVERITIES:
                    alarms.add_metric([status, severity], counts.get((status, severity), 0))
        except Exception:  # a locked alarm table must not break the scrape
            log.warning("alarm counts unavailable for /metrics", exc_info=True)
    yield alarms
    if c.alarms is None:
        return
    stats = c.alarms.channel_stats()
    yield _outcomes(
        "flexfleet_alarm_webhook_deliveries",
        "Webhook delivery attempts by outcome (retried: a failed attempt that will be retried)",
        {o: stats.get(f"webhooks_{o}", 0) for o in ("delivered", "failed", "retried", "dropped")},
    )
    yield _outcomes(
        "flexfleet_alarm_mqtt_alerts",
        "Alerts on the MQTT alert topic by outcome",
        {o: stats.get(f"mqtt_alerts_{o}", 0) for o in ("published", "failed")},
    )
    yield _gauge(
        "flexfleet_alarm_sse_clients", "Clients on the alarm event stream", stats["sse_subscribers"]
    )
    yield _counter(
        "flexfleet_alarm_rejected_triggers",
        "Alarm triggers refused as invalid",
        stats["rejected_triggers"],
    )
    yield _counter(
        "flexfleet_alarm_notify_failures",
        "Notifications a channel failed to take",
        stats["notify_failures"],
    )
    yield _counter(
        "flexfleet_alarms_purged", "Cleared alarms deleted past their retention", c.alarms.purged
    )
    feedback = GaugeMetricFamily(
        "flexfleet_alarm_feedback",
        "Alarms operators marked false or confirmed, per detector and signal (latest verdict)",
        labels=["detector", "signal", "verdict"],
    )
    try:
        for (detector, signal, verdict), count in sorted(c.alarms.feedback_counts().items()):
            feedback.add_metric([detector, signal, verdict], count)
    except Exception:  # a locked alarm table must not break the scrape
        log.warning("alarm feedback unavailable for /metrics", exc_info=True)
    yield feedback
    lane = c.fast_lane
    if lane is not None:
        yield _outcomes(
            "flexfleet_alarm_fast_lane_events",
            "Agent events on the alarm fast lane: dispatched ahead of the ingest queue, left to "
            "the writer (it had them first), or ignored (not a valid event)",
            {
                "dispatched": lane.dispatched,
                "left_to_writer": lane.left_to_writer,
                "ignored": lane.ignored,
            },
        )
        yield _outcomes(
            "flexfleet_alarm_fast_lane_deaths",
            "Node deaths on the alarm fast lane: offline alarm raised ahead of the ingest "
            "queue, or left to the writer (it had them first, or not the current session)",
            {"dispatched": lane.deaths_dispatched, "left_to_writer": lane.deaths_left_to_writer},
        )


def _plan_metrics(c: Coordinator) -> Iterator[Metric]:
    """Plans made per plan kind and trigger kind, the last re-plan's duration and moves,
    the current plans' versions, late jobs per reason and unserved deliveries per reason."""
    if c.plans is None:
        return
    stats = c.plans.service.stats()
    made = CounterMetricFamily(
        "flexfleet_plans_made",
        "Plans made, per plan (schedule, routes) and trigger kind (a plan counts once under "
        "each kind of trigger in its batch)",
        labels=["plan", "trigger"],
    )
    for (plan, trigger), count in sorted(stats.plans_made.items()):
        made.add_metric([plan, trigger], count)
    yield made
    if stats.last_replan_s is not None:
        yield _gauge(
            "flexfleet_plan_last_replan_seconds",
            "Wall time of the last re-plan (schedule and routes of one trigger batch)",
            stats.last_replan_s,
        )
    if stats.last_operations_moved is not None:
        yield _gauge(
            "flexfleet_plan_operations_moved",
            "Operations of the previous schedule the current one moved",
            stats.last_operations_moved,
        )
    versions = GaugeMetricFamily(
        "flexfleet_plan_version", "Version of the current plan", labels=["plan"]
    )
    versions.add_metric(["schedule"], stats.schedule_version)
    versions.add_metric(["routes"], stats.routes_version)
    yield versions
    tours = CounterMetricFamily(
        "flexfleet_tours_departed",
        "Tours sent from their depot since start, per reason (full, promise, waited)",
        labels=["reason"],
    )
    for reason, count in sorted(stats.tours_departed.items()):
        tours.add_metric([reason], count)
    yield tours
    late = GaugeMetricFamily(
        "flexfleet_plan_late_jobs",
        "Jobs the current schedule finishes after their due time, per reason",
        labels=["reason"],
    )
    for reason, count in sorted(Counter(j.reason for j in stats.late_jobs).items()):
        late.add_metric([reason], count)
    yield late
    unserved = GaugeMetricFamily(
        "flexfleet_plan_unserved_deliveries",
        "Delivery orders the current routes leave unserved, per reason",
        labels=["reason"],
    )
    for reason, count in sorted(Counter(stats.unserved_reasons).items()):
        unserved.add_metric([reason], count)
    yield unserved


def _command_metrics(c: Coordinator) -> Iterator[Metric]:
    """Commands sent to nodes and what became of them, per command name and outcome."""
    if c.commands is None:
        return
    family = CounterMetricFamily(
        "flexfleet_commands",
        "Commands to nodes by name and outcome: sent, publish_failed, ok, rejected, expired, "
        "and acks that changed nothing (unknown_ack, duplicate_ack, wrong_node_ack)",
        labels=["name", "outcome"],
    )
    for (name, outcome), count in sorted(c.commands.counts().items()):
        family.add_metric([name, outcome], count)
    yield family


def _outcomes(name: str, doc: str, counts: dict[str, int]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=["outcome"])
    for outcome, count in counts.items():
        family.add_metric([outcome], count)
    return family


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=value)


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def build_registry(coordinator: Coordinator) -> CollectorRegistry:
    """A registry of its own (not the global one), so several apps can live in one process."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CoordinatorCollector(coordinator))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    """The Prometheus text exposition of `registry`."""
    return generate_latest(registry)


__all__ = ["CoordinatorCollector", "build_registry", "render"]
