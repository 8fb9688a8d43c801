"""Sequence tracking: new, late and duplicate seqs, gaps, settling and bounds."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import SequenceTracker, Verdict


def test_in_order_stream_has_no_gaps() -> None:
    """Consecutive seqs are all new and open no gap."""
    tracker = SequenceTracker()
    for seq in range(5):
        obs = tracker.observe(seq)
        assert obs.verdict is Verdict.NEW
        assert obs.opened_gap is None
    assert tracker.high == 4
    assert tracker.received == 5
    assert tracker.missing == 0


def test_duplicate_is_dropped_and_counted() -> None:
    """A seq seen before is a duplicate, whether it is the latest or an older one."""
    tracker = SequenceTracker()
    for seq in (0, 1, 2):
        tracker.observe(seq)
    assert tracker.observe(2).verdict is Verdict.DUPLICATE
    assert tracker.observe(0).verdict is Verdict.DUPLICATE
    assert tracker.duplicates == 2
    assert tracker.received == 3


def test_gap_opens_and_late_arrivals_fill_it() -> None:
    """A jump opens a gap; replayed seqs inside it are late, then duplicates."""
    tracker = SequenceTracker()
    tracker.observe(0)
    obs = tracker.observe(5)
    assert obs.opened_gap == (1, 4)
    assert tracker.gaps_seen == 1
    assert tracker.gap_ranges == [(1, 4)]
    assert tracker.observe(3).verdict is Verdict.LATE  # splits the range
    assert tracker.gap_ranges == [(1, 2), (4, 4)]
    assert tracker.observe(1).verdict is Verdict.LATE  # trims the start
    assert tracker.observe(2).verdict is Verdict.LATE  # removes a one-seq range
    assert tracker.observe(4).verdict is Verdict.LATE
    assert tracker.missing == 0
    assert tracker.observe(4).verdict is Verdict.DUPLICATE


def test_late_arrival_trims_end_of_range() -> None:
    """Filling the last seq of a gap shortens it from the end."""
    tracker = SequenceTracker()
    tracker.observe(0)
    tracker.observe(4)
    assert tracker.observe(3).verdict is Verdict.LATE
    assert tracker.gap_ranges == [(1, 2)]


def test_first_message_above_zero_opens_gap_from_zero() -> None:
    """A tracker that starts mid-stream records the seqs it never saw."""
    tracker = SequenceTracker()
    assert tracker.observe(3).opened_gap == (0, 2)


def test_settle_declares_unfillable_gaps_lost() -> None:
    """settle(n) closes every missing seq below n and counts them lost."""
    tracker = SequenceTracker()
    tracker.observe(0)
    tracker.observe(10)  # gap 1..9
    tracker.observe(20)  # gap 11..19
    assert tracker.settle(5) == 4  # 1..4
    assert tracker.gap_ranges == [(5, 9), (11, 19)]
    assert tracker.settle(15) == 5 + 4  # 5..9 and 11..14
    assert tracker.gap_ranges == [(15, 19)]
    assert tracker.lost == 13
    assert tracker.settle(0) == 0


def test_gap_bound_marks_out_of_sync_and_counts_lost() -> None:
    """Past max_gap_ranges the oldest ranges are dropped as lost and sync is lost."""
    tracker = SequenceTracker(max_gap_ranges=2)
    for seq in (0, 2, 4, 6):  # gaps at 1, 3, 5
        tracker.observe(seq)
    assert tracker.out_of_sync
    assert tracker.gap_ranges == [(3, 3), (5, 5)]
    assert tracker.lost == 1
    tracker.resync()
    assert not tracker.out_of_sync


def test_splitting_a_range_respects_the_bound() -> None:
    """A late seq that splits a range cannot push the range count past the bound."""
    tracker = SequenceTracker(max_gap_ranges=1)
    tracker.observe(0)
    tracker.observe(10)
    tracker.observe(5)
    assert len(tracker.gap_ranges) == 1
    assert tracker.out_of_sync


def test_settling_everything_restores_sync() -> None:
    """Once no gap is left, the tracker is in sync again."""
    tracker = SequenceTracker(max_gap_ranges=1)
    for seq in (0, 2, 4):
        tracker.observe(seq)
    assert tracker.out_of_sync
    tracker.settle(100)
    assert not tracker.out_of_sync


def test_rejects_zero_bound() -> None:
    """A tracker needs room for at least one gap range."""
    with pytest.raises(ValueError, match="at least 1"):
        SequenceTracker(max_gap_ranges=0)


@given(st.lists(st.integers(0, 200), max_size=400), st.randoms(use_true_random=False))
def test_any_arrival_order_counts_each_seq_once(seqs: list[int], rng: random.Random) -> None:
    """Whatever the order and repetition, each distinct seq is received exactly once."""
    rng.shuffle(seqs)
    tracker = SequenceTracker(max_gap_ranges=10_000)
    accepted = [s for s in seqs if tracker.observe(s).verdict is not Verdict.DUPLICATE]
    assert sorted(accepted) == sorted(set(seqs))
    assert tracker.duplicates == len(seqs) - len(set(seqs))
    if seqs:
        assert tracker.missing == max(seqs) + 1 - len(set(seqs))


@given(st.lists(st.integers(0, 100), max_size=200))
def test_seen_answers_what_observe_would_call_a_duplicate(seqs: list[int]) -> None:
    """`seen(seq)` is true exactly for the seqs `observe` would drop, and records nothing."""
    tracker = SequenceTracker(max_gap_ranges=10_000)
    for seq in seqs:
        before = (tracker.high, tracker.gap_ranges, tracker.received)
        was_seen = tracker.seen(seq)
        assert (tracker.high, tracker.gap_ranges, tracker.received) == before
        assert was_seen == (tracker.observe(seq).verdict is Verdict.DUPLICATE)
