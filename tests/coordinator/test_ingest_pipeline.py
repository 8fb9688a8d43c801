"""The ingest pipeline in memory: dedupe, gaps, settle, rebirth requests, dead letters."""

from __future__ import annotations

from dataclasses import replace

import pytest

from coordinator.ingest.records import (
    AgentEvent,
    DeadLettered,
    NodeCameOnline,
    NodeWentOffline,
    RawMessage,
    StockChanged,
)
from protocol import Stock, encode
from tests.coordinator.conftest import T0_MS, Harness, Node, raw


def test_duplicate_message_is_dropped_and_counted(harness: Harness, node: Node) -> None:
    """A message seen before (same seq) is dropped and counted as a duplicate."""
    birth = node.birth()
    t = node.telemetry()
    first = harness.feed(birth, t)
    second = harness.feed(t)
    assert len(first.batch.accepted) == 2
    assert second.batch.accepted == ()
    assert second.duplicates == 1
    assert harness.twin.node("m1").counters.duplicates == 1


def test_gap_is_seen_then_filled_by_a_late_message(harness: Harness, node: Node) -> None:
    """A jump in seq opens a gap; the missing message arriving later is accepted."""
    harness.feed(node.birth(), node.telemetry(seq=1), node.telemetry(seq=4))
    view = harness.twin.node("m1")
    assert (view.counters.gaps_seen, view.counters.missing) == (1, 2)
    late = harness.feed(node.telemetry(seq=2, historical=True))
    assert len(late.batch.accepted) == 1
    assert harness.twin.node("m1").counters.missing == 1


def test_birth_settles_gaps_below_pending_from_seq_as_lost(harness: Harness, node: Node) -> None:
    """Gaps below the birth's pending_from_seq can never fill: they are counted lost."""
    harness.feed(node.birth(), node.telemetry(seq=1), node.telemetry(seq=10))
    node.seq = 11
    harness.feed(node.birth(pending_from_seq=6))
    view = harness.twin.node("m1")
    assert view.counters.lost == 4  # seqs 2..5; 6..9 may still be replayed
    assert view.counters.missing == 4


def test_birth_without_pending_settles_everything_below_it(harness: Harness, node: Node) -> None:
    """An empty outbox (pending_from_seq None) settles every gap below the birth's seq."""
    harness.feed(node.birth(), node.telemetry(seq=1))
    node.seq = 20
    harness.feed(node.birth())
    view = harness.twin.node("m1")
    assert view.counters.lost == 18
    assert view.counters.missing == 0


def test_data_without_birth_requests_rebirth_rate_limited(harness: Harness, node: Node) -> None:
    """Data from an unknown node is stored and earns one rebirth request per interval."""
    first = harness.feed(node.telemetry(seq=5))
    assert len(first.batch.accepted) == 1
    assert [(c.node, c.name) for c in first.commands] == [("m1", "rebirth")]
    assert harness.feed(node.telemetry(seq=6)).commands == ()
    harness.clock.advance(31)
    assert len(harness.feed(node.telemetry(seq=7)).commands) == 1


def test_out_of_sync_tracker_requests_rebirth() -> None:
    """Too many open gap ranges put the node out of sync, which asks for a rebirth."""
    h = Harness()
    h.pipeline.twin._max_gap_ranges = 2
    n = Node()
    h.feed(n.birth())
    outcome = h.feed(*(n.telemetry(seq=s) for s in (2, 4, 6, 8)))
    assert h.twin.node("m1").out_of_sync
    assert [c.name for c in outcome.commands] == ["rebirth"]


def test_death_marks_offline_and_stale_death_is_ignored(harness: Harness, node: Node) -> None:
    """Death of the current session marks the node offline; an older session's will does not."""
    harness.feed(node.birth(), node.telemetry())
    old = Node(bd_seq=7)
    assert harness.feed(old.death()).happenings == ()
    assert harness.twin.node("m1").online
    outcome = harness.feed(node.death())
    assert not harness.twin.node("m1").online
    (happening,) = outcome.happenings
    assert isinstance(happening, NodeWentOffline)
    assert (happening.node, happening.reason) == ("m1", "death")
    assert all(s.stale for s in harness.twin.node("m1").signals)


def test_inactivity_timeout_marks_offline_and_data_brings_back(
    harness: Harness, node: Node
) -> None:
    """A node silent past its timeout goes offline; its next message brings it back online."""
    harness.feed(node.birth())
    harness.pipeline.tick()  # starts the clock for restored/new nodes
    harness.clock.advance(61)
    expired = harness.pipeline.tick()
    assert [type(h) for h in expired.happenings] == [NodeWentOffline]
    assert expired.batch.nodes[0].online is False
    back = harness.feed(node.telemetry())
    assert any(isinstance(h, NodeCameOnline) for h in back.happenings)
    assert harness.twin.node("m1").online


def test_stock_snapshot_deltas_and_late_messages(harness: Harness) -> None:
    """Deltas add to a snapshot; a delta older than the snapshot is skipped; a late
    snapshot is rebased on the newer deltas."""
    w = Node(node="w1")
    harness.feed(w.birth())
    harness.feed(w.stock("snapshot", {"a": 10, "b": 3}, seq=5), w.stock("delta", {"a": -2}, seq=6))
    assert {i.sku: i.qty for i in harness.twin.stock()} == {"a": 8, "b": 3}
    harness.feed(w.stock("delta", {"a": -100}, seq=4))  # included in snapshot 5 already
    assert {i.sku: i.qty for i in harness.twin.stock()} == {"a": 8, "b": 3}
    late = harness.feed(w.stock("snapshot", {"a": 50}, seq=3))
    assert {i.sku: i.qty for i in harness.twin.stock()} == {"a": 8, "b": 3}
    assert late.batch.stock == ()
    harness.feed(w.stock("delta", {"b": 1}, seq=8))
    out = harness.feed(w.stock("snapshot", {"a": 20, "b": 0}, seq=7))  # replayed late
    assert {i.sku: i.qty for i in harness.twin.stock()} == {"a": 20, "b": 1}
    assert any(isinstance(h, StockChanged) and h.sku == "b" and h.qty == 1 for h in out.happenings)


def test_events_are_handed_on(harness: Harness, node: Node) -> None:
    """Agent events become happenings for the alarm rules, after being accepted."""
    harness.feed(node.birth())
    out = harness.feed(node.event("raised"))
    assert [type(h) for h in out.happenings] == [AgentEvent]


def test_latest_values_keep_the_newest_timestamp(harness: Harness, node: Node) -> None:
    """The twin keeps the newest sample per signal even when older data arrives later."""
    harness.feed(node.birth())
    harness.feed(
        node.telemetry(("temp", T0_MS + 10, 5.0)), node.telemetry(("temp", T0_MS + 5, 9.0))
    )
    (signal,) = harness.twin.node("m1").signals
    assert (signal.ts_ms, signal.value, signal.stale) == (T0_MS + 10, 5.0, False)


def _bad_inputs() -> list[tuple[str, bytes, str]]:
    n = Node()
    good = encode(n.telemetry())
    return [
        ("ff/v1/s1/m1/telemetry", b"\x00\xff garbage", "MalformedPayload"),
        ("ff/v1/s1/m1/telemetry", good[: len(good) // 2], "IncompleteMessage"),
        ("ff/v1/s1/m1/telemetry", good.replace(b'"seq":0', b'"seq":"0"'), "InvalidMessage"),
        ("ff/v1/s1/m1/telemetry", b'{"v":1,"kind":"bogus"}', "UnknownKind"),
        ("ff/v1/s1/m2/telemetry", good, "TopicMismatch"),
        ("ff/v1/s1/m1/stock", good, "TopicMismatch"),
        ("ff/v1/s1/m1/telemetry", good.replace(b'"v":1', b'"v":9'), "UnsupportedVersion"),
        ("ff/v1/s1/m1/telemetry", b"[" * 5000 + b"]" * 5000, "MalformedPayload"),
        ("ff/v1/s1/m1/telemetry", b"{" + b" " * (70 * 1024) + b"}", "PayloadTooLarge"),
        ("ff/v1/s1/m1/telemetry", b'"just a string"', "MalformedPayload"),
        ("not/a/flexfleet/topic/x", good, "TopicError"),
        ("ff/v1/s%20bad/m1/telemetry", good, "TopicError"),
        (
            "ff/v1/s1/m1/telemetry",
            good.replace(b'"samples":[', b'"samples":[["temp",1,1e400],'),
            "MalformedPayload",
        ),
    ]


@pytest.mark.parametrize(("topic", "payload", "error"), _bad_inputs())
def test_every_bad_input_kind_becomes_a_dead_letter(
    harness: Harness, node: Node, topic: str, payload: bytes, error: str
) -> None:
    """Each kind of bad input is dead-lettered with its reason, and ingest carries on."""
    good = node.telemetry(seq=50)
    outcome = harness.feed(RawMessage(topic, payload, T0_MS), good)
    (letter,) = outcome.batch.dead_letters
    assert letter.error in {error, "InvalidMessage", "MalformedPayload", "IncompleteMessage"}
    assert letter.error == error or error == "MalformedPayload"
    assert letter.reason
    assert letter.payload_size == len(payload)
    assert len(letter.payload_prefix) <= 256
    assert any(isinstance(h, DeadLettered) for h in outcome.happenings)
    assert [a.message.seq for a in outcome.batch.accepted] == [50]


def test_unattributable_dead_letter_counts_under_unknown_site(harness: Harness) -> None:
    """A dead letter whose topic names no usable site is attributed to the 'unknown' site."""
    out = harness.feed(RawMessage("ff/v1/", b"x", T0_MS))
    assert [h.site for h in out.happenings if isinstance(h, DeadLettered)] == ["unknown"]


def test_decoder_bug_is_dead_lettered_not_raised(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected exception inside decode is kept as a dead letter; ingest continues."""
    import coordinator.ingest.pipeline as pipeline

    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(pipeline, "decode", broken)
    out = harness.feed(raw(Node().telemetry()))
    assert out.batch.dead_letters[0].error == "InternalError"


def _part(w: Node, seq: int, part: int, parts: int, items: dict[str, int]) -> Stock:
    return replace(w.stock("snapshot", items, seq=seq), part=part, parts=parts)


def test_a_snapshot_in_parts_is_one_snapshot_once_every_part_is_in(harness: Harness) -> None:
    """Each part sets its SKUs' levels as it comes (rebased on newer deltas, in any
    order); the SKUs no part named are dropped only when the last part is in, and said
    so; a SKU that only a newer delta names stays."""
    w = Node(node="w1")
    harness.feed(w.birth(), w.stock("snapshot", {"a": 5, "z": 9}, seq=1))
    harness.feed(_part(w, 4, 2, 3, {"c": 3}), _part(w, 2, 0, 3, {"a": 1}))
    harness.feed(w.stock("delta", {"b": 1, "y": 4}, seq=5))  # after the snapshot
    assert {i.sku: i.qty for i in harness.twin.stock()} == {"a": 1, "b": 1, "c": 3, "y": 4, "z": 9}
    last = harness.feed(_part(w, 3, 1, 3, {"b": 2}))
    assert {i.sku: i.qty for i in harness.twin.stock()} == {"a": 1, "b": 3, "c": 3, "y": 4}
    assert sorted((h.sku, h.qty) for h in last.happenings if isinstance(h, StockChanged)) == [
        ("b", 3),
        ("z", 0),
    ]
    harness.feed(_part(w, 6, 0, 2, {"a": 7}), _part(w, 7, 1, 2, {"b": 0}))
    out = {i.sku: i.qty for i in harness.twin.stock()}
    assert out == {"a": 7, "b": 0}  # c and z named by no part of the newer snapshot
    assert harness.twin.entries[("s1", "w1")].stock_snapshot_seq == 7


def test_parts_of_an_older_snapshot_and_deltas_it_includes_change_nothing(
    harness: Harness,
) -> None:
    """A newer snapshot's first part is in: a late part of the older one, and a late
    delta taken before the newer one began, are skipped."""
    w = Node(node="w1")
    harness.feed(w.birth(), _part(w, 10, 0, 2, {"a": 4}), _part(w, 20, 0, 2, {"a": 6}))
    stale = harness.feed(_part(w, 11, 1, 2, {"b": 9}), w.stock("delta", {"a": 5}, seq=15))
    assert stale.batch.stock == ()
    assert {i.sku: i.qty for i in harness.twin.stock()} == {"a": 6}
    harness.feed(_part(w, 21, 1, 2, {"b": 1}))
    assert {i.sku: i.qty for i in harness.twin.stock()} == {"a": 6, "b": 1}


def test_parts_after_a_restart_still_set_their_levels(harness: Harness) -> None:
    """A coordinator restarted between two parts no longer knows the first: the later
    parts still set their SKUs, nothing is dropped, and the next snapshot settles it."""
    w = Node(node="w1")
    harness.feed(w.birth(), w.stock("snapshot", {"old": 2}, seq=1), _part(w, 2, 0, 2, {"a": 1}))
    harness.twin.entries[("s1", "w1")].in_parts = None  # what a restart forgets
    harness.feed(_part(w, 3, 1, 2, {"b": 2}))
    assert {i.sku: i.qty for i in harness.twin.stock()} == {"a": 1, "b": 2, "old": 2}
    harness.feed(w.stock("snapshot", {"a": 1, "b": 2}, seq=4))
    assert {i.sku: i.qty for i in harness.twin.stock()} == {"a": 1, "b": 2}
