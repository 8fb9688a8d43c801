"""Prometheus metrics, read from the live parts at scrape time (no bookkeeping on the hot path)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from coordinator.service import Coordinator

log = logging.getLogger(__name__)


class CoordinatorCollector(Collector):
    """Ingest rate, queue depth, dead letters, nodes online, alarm counts, per-node seq health."""

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
        alarms = GaugeMetricFamily(
            "flexfleet_alarms", "Alarms per status and severity", labels=["status", "severity"]
        )
        if c.alarms is not None:
            try:
                for (status, severity), count in sorted(c.alarms.counts().items()):
                    alarms.add_metric([str(status), str(severity)], count)
            except Exception:  # a locked alarm table must not break the scrape
                log.warning("alarm counts unavailable for /metrics", exc_info=True)
        yield alarms


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
