"""The alarm fast lane: events reach the rules ahead of queued telemetry, once, and the
writer still stores and sequences them in order (no false gaps, no duplicates)."""

from __future__ import annotations

from coordinator.alarms.port import RecordingAlarmSink
from coordinator.fleet.twin import FleetTwin
from coordinator.ingest.alarm_feed import AlarmFeed
from coordinator.ingest.fast_lane import EventFastLane
from coordinator.ingest.pipeline import IngestPipeline
from coordinator.ingest.writer import IngestWriter
from coordinator.store.sqlite_store import SqliteStore
from fleet_runtime.clock import FakeClock
from tests.coordinator.conftest import Node, raw


def _lanes(
    store: SqliteStore,
) -> tuple[IngestWriter, EventFastLane, RecordingAlarmSink, AlarmFeed]:
    clock = FakeClock()
    twin = FleetTwin()
    sink = RecordingAlarmSink()
    feed = AlarmFeed(sink)
    pipeline = IngestPipeline(twin, clock, inactivity_timeout_for=lambda _n: 600.0)
    writer = IngestWriter(pipeline=pipeline, store=store, clock=clock, feed=feed)
    return writer, EventFastLane(twin=twin, feed=feed), sink, feed


def _anomaly_calls(sink: RecordingAlarmSink) -> list[tuple[str, object]]:
    return [
        (call, args["details"]["seq"] if call == "trigger" else args["message"])  # type: ignore[index]
        for call, args in sink.calls
        if args["alarm_type"] == "anomaly"
    ]


def test_event_overtakes_queued_telemetry_without_a_false_gap(store: SqliteStore) -> None:
    """The event is dispatched while the telemetry sent before it still waits in the writer's
    queue; once the writer catches up, the event is stored once and dispatched no second
    time, and the node shows no gap, no duplicate and no loss."""
    writer, lane, sink, feed = _lanes(store)
    n = Node()
    writer.process([raw(n.birth()), raw(n.telemetry())])
    queued = [raw(n.telemetry()), raw(n.telemetry())]
    event = raw(n.event("raised"))
    for item in (*queued, event):
        writer.enqueue(item)  # the main subscription: in order, behind the telemetry

    assert lane.offer(event)  # the fast-lane connection's copy arrives first
    assert _anomaly_calls(sink) == [("trigger", 4)]
    assert store.count("events") == 0  # dispatched ahead of its commit

    assert writer.run_once(wait_s=0.01) == 3
    assert _anomaly_calls(sink) == [("trigger", 4)]  # not a second time
    assert store.count("events") == 1
    assert store.count("messages") == 5
    (record,) = store.load_nodes()
    assert (record.gaps_seen, record.duplicates, record.lost, record.received) == (0, 0, 0, 5)
    assert (feed.early_dispatched, feed.late_skipped) == (1, 1)


def test_event_the_writer_sequenced_first_is_left_to_it(store: SqliteStore) -> None:
    """When the writer's copy was sequenced first, the fast lane leaves the event alone."""
    writer, lane, sink, _ = _lanes(store)
    n = Node()
    birth = raw(n.birth())
    event = raw(n.event("raised"))
    writer.process([birth, event])
    assert not lane.offer(event)
    assert _anomaly_calls(sink) == [("trigger", 1)]
    assert lane.left_to_writer == 1


def test_each_event_is_dispatched_once_whatever_the_copies(store: SqliteStore) -> None:
    """A second fast-lane copy of an event (a redelivery) is not dispatched again."""
    writer, lane, sink, _ = _lanes(store)
    n = Node()
    writer.process([raw(n.birth())])
    event = raw(n.event("raised"))
    assert lane.offer(event)
    assert not lane.offer(event)
    writer.process([event])
    writer.process([event])  # the broker redelivers the stored copy: a duplicate
    assert _anomaly_calls(sink) == [("trigger", 1)]
    (record,) = store.load_nodes()
    assert (record.duplicates, record.gaps_seen) == (1, 0)


def test_an_event_the_fast_lane_missed_never_undoes_a_newer_one(store: SqliteStore) -> None:
    """A "raised" that only the writer saw, committed after the fast lane dispatched the
    node's newer "cleared" for the same alarm, is stored but does not reopen the alarm;
    events the fast lane never saw otherwise reach the rules after commit as before."""
    writer, lane, sink, _ = _lanes(store)
    n = Node()
    writer.process([raw(n.birth())])
    raised, cleared = raw(n.event("raised")), raw(n.event("cleared"))
    assert lane.offer(cleared)
    writer.process([raised, cleared])
    assert [call for call, _ in _anomaly_calls(sink)] == ["clear"]
    assert store.count("events") == 2

    missed = raw(n.event("raised"))  # the fast-lane connection was down for this one
    writer.process([missed])
    assert _anomaly_calls(sink)[-1] == ("trigger", 3)


def test_anything_but_a_valid_event_is_ignored(store: SqliteStore) -> None:
    """Undecodable bytes and non-event messages are left to the writer (which dead-letters)."""
    _, lane, sink, _ = _lanes(store)
    n = Node()
    bad = raw(n.event("raised"))
    assert not lane.offer(type(bad)(bad.topic, b"{not json", bad.received_ms))
    assert not lane.offer(raw(n.telemetry()))
    assert lane.ignored == 2
    assert sink.calls == []


def _offline_calls(sink: RecordingAlarmSink) -> list[str]:
    return [call for call, args in sink.calls if args["alarm_type"] == "node_offline"]


def test_death_raises_the_offline_alarm_ahead_of_queued_telemetry(store: SqliteStore) -> None:
    """A death behind a backlog raises the offline alarm at once; the writer still applies
    it in order (its queued data is stored, the node goes offline) and raises nothing twice;
    the next session's birth clears the alarm."""
    writer, lane, sink, _ = _lanes(store)
    n = Node()
    writer.process([raw(n.birth()), raw(n.telemetry())])
    sink.calls.clear()  # the birth's "online"
    death = raw(n.death())
    for item in (raw(n.telemetry()), raw(n.telemetry()), death):
        writer.enqueue(item)

    assert lane.offer(death)
    assert _offline_calls(sink) == ["trigger"]
    (record,) = store.load_nodes()
    assert record.online  # the twin learns of the death in order, from the writer

    assert writer.run_once(wait_s=0.01) == 3
    assert _offline_calls(sink) == ["trigger"]
    (record,) = store.load_nodes()
    assert (record.online, record.received, record.gaps_seen) == (False, 4, 0)
    assert (lane.deaths_dispatched, lane.deaths_left_to_writer) == (1, 0)

    n.bd_seq += 1
    writer.process([raw(n.birth())])
    assert _offline_calls(sink) == ["trigger", "clear"]


def test_death_the_writer_applied_first_is_left_to_it(store: SqliteStore) -> None:
    """When the writer applied the death first, the fast lane's copy raises nothing."""
    writer, lane, sink, _ = _lanes(store)
    n = Node()
    writer.process([raw(n.birth())])
    sink.calls.clear()
    death = raw(n.death())
    writer.process([death])
    assert not lane.offer(death)
    assert _offline_calls(sink) == ["trigger"]
    assert lane.deaths_left_to_writer == 1


def test_will_of_an_older_session_raises_nothing(store: SqliteStore) -> None:
    """A late will of a session the node already replaced (or of a node never born) is not
    offered early, and the writer ignores it too: the node stays online, no alarm."""
    writer, lane, sink, _ = _lanes(store)
    n = Node()
    stale = raw(n.death())
    n.bd_seq += 1
    writer.process([raw(n.birth())])
    sink.calls.clear()
    assert not lane.offer(stale)
    assert not lane.offer(raw(Node(node="m2").death()))
    writer.process([stale])
    assert _offline_calls(sink) == []
    (record,) = store.load_nodes()
    assert record.online


def test_each_death_raises_once_whatever_the_copies(store: SqliteStore) -> None:
    """A redelivered fast-lane copy of a death raises no second alarm."""
    writer, lane, sink, feed = _lanes(store)
    n = Node()
    writer.process([raw(n.birth())])
    sink.calls.clear()
    death = raw(n.death())
    assert lane.offer(death)
    assert not lane.offer(death)
    writer.process([death])
    assert _offline_calls(sink) == ["trigger"]
    assert feed.late_skipped == 1
