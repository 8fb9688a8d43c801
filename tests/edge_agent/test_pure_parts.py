"""Deadband and batching: the small pure policies."""

from __future__ import annotations

import math

import pytest

from edge_agent.batcher import Batcher
from edge_agent.deadband import DeadbandFilter


def test_deadband_reports_by_exception_with_heartbeat() -> None:
    """Inside the band nothing is reported until max_silence_ms passes; outside, at once."""
    band = DeadbandFilter(default_deadband=0.5, deadbands={"b": 0.0}, max_silence_ms=1000)
    assert band.admit("a", 0, 10.0)
    assert not band.admit("a", 100, 10.4)
    assert not band.admit("a", 200, 9.6)
    assert band.admit("a", 300, 10.6)  # relative to the last *reported* value
    assert not band.admit("a", 1200, 10.6)
    assert band.admit("a", 1300, 10.6)  # heartbeat
    assert band.admit("b", 0, 1.0)
    assert not band.admit("b", 1, 1.0)
    assert band.admit("b", 2, 1.0000001)  # zero band: every change
    assert band.admit("a", 1400, math.nan)  # non-finite always passes to the caller
    assert band.suppressed == 4


def test_deadband_rejects_negative_or_nonfinite_bands() -> None:
    """Invalid deadbands are refused."""
    with pytest.raises(ValueError, match="deadband"):
        DeadbandFilter(default_deadband=-1.0)
    with pytest.raises(ValueError, match="deadband"):
        DeadbandFilter(deadbands={"x": math.inf})


def test_batcher_flushes_by_count_and_by_age() -> None:
    """A batch is due at max_samples samples or when its first sample is max_age_ms old."""
    batcher = Batcher(max_samples=3, max_age_ms=1000)
    assert not batcher.due(0)
    assert batcher.deadline_ms() is None
    batcher.add(("a", 1, 1.0), 0)
    batcher.add(("a", 2, 2.0), 10)
    assert not batcher.due(999)
    assert batcher.deadline_ms() == 1000
    assert batcher.due(1000)
    batcher.add(("a", 3, 3.0), 20)
    batcher.add(("a", 4, 4.0), 20)
    assert batcher.due(21)
    assert batcher.take() == (("a", 1, 1.0), ("a", 2, 2.0), ("a", 3, 3.0))
    assert batcher.take() == (("a", 4, 4.0),)
    assert len(batcher) == 0
    with pytest.raises(ValueError, match="max_samples"):
        Batcher(max_samples=0)
