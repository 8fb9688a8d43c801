"""The fleet twin: tracker restore, views, lookups."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coordinator.errors import InvalidQuery, NotFound
from coordinator.fleet.node import restore_tracker
from protocol import SequenceTracker
from tests.coordinator.conftest import Harness, Node


@settings(max_examples=60, deadline=None)
@given(
    seen=st.lists(st.integers(0, 60), max_size=40), later=st.lists(st.integers(0, 80), max_size=20)
)
def test_restored_tracker_behaves_like_the_original(seen: list[int], later: list[int]) -> None:
    """A tracker rebuilt from (high, gaps, counters) gives the same verdicts as the original."""
    original = SequenceTracker()
    for seq in seen:
        original.observe(seq)
    copy = restore_tracker(
        high=original.high,
        gaps=original.gap_ranges,
        received=original.received,
        duplicates=original.duplicates,
        gaps_seen=original.gaps_seen,
        lost=original.lost,
    )
    assert (copy.high, copy.gap_ranges, copy.received) == (
        original.high,
        original.gap_ranges,
        original.received,
    )
    for seq in later:
        assert copy.observe(seq) == original.observe(seq)
    assert (copy.duplicates, copy.gaps_seen, copy.missing) == (
        original.duplicates,
        original.gaps_seen,
        original.missing,
    )


def test_restore_refuses_inconsistent_gaps() -> None:
    """Gaps out of order or above the high-water mark are refused."""
    with pytest.raises(ValueError, match="out of order"):
        restore_tracker(high=5, gaps=[(3, 4), (1, 2)])
    with pytest.raises(ValueError, match="out of order"):
        restore_tracker(high=5, gaps=[(3, 9)])


def test_node_lookup_errors(harness: Harness) -> None:
    """Unknown nodes raise NotFound; an id present at two sites needs the site."""
    harness.feed(Node(site="a").birth(), Node(site="b").birth())
    with pytest.raises(NotFound):
        harness.twin.node("nope")
    with pytest.raises(InvalidQuery):
        harness.twin.node("m1")
    assert harness.twin.node("m1", site="b").site == "b"
    assert [n.site for n in harness.twin.nodes(site="a")] == ["a"]


def test_per_node_inactivity_timeout(harness: Harness) -> None:
    """Each node uses its own inactivity timeout."""
    harness.pipeline.inactivity_timeout_for = lambda n: 5.0 if n == "fast" else 100.0
    harness.feed(Node(node="fast").birth(), Node(node="slow").birth())
    harness.clock.advance(6)
    out = harness.pipeline.tick()
    assert [r.node for r in out.batch.nodes] == ["fast"]
    assert harness.twin.online_count() == 1
    assert harness.twin.is_online("s1", "slow")
    assert not harness.twin.is_online("s1", "fast")  # silent past its timeout
    assert not harness.twin.is_online("s1", "never-seen")
