"""Live-stream rules on hand-made cases: what is refused (naming the field), and what
posting a stream again does before and after it starts."""

from __future__ import annotations

from dataclasses import replace

import pytest

from coordinator.stock.errors import StreamConflict, StreamInvalid
from coordinator.stock.live_streams import LiveStream, check_stream, decide

NOW = 1_800_000_000_000
HOUR = 3_600_000
KNOWN = {"CUP", "MUG", "TEA"}
STREAM = LiveStream(
    id="ls-1",
    start_ms=NOW + 2 * HOUR,
    duration_s=3600,
    channel="douyin",
    featured_skus=("CUP", "MUG"),
    expected_audience=50_000,
)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"start_ms": NOW - 1}, "start"),
        ({"start_ms": NOW}, "start"),
        ({"duration_s": 24 * 3600 + 1}, "duration_s"),
        ({"duration_s": 0}, "duration_s"),
        ({"expected_audience": -1}, "expected_audience"),
        ({"expected_audience": None, "expected_orders": -5}, "expected_orders"),
        ({"expected_audience": None}, "expected_audience"),
        ({"featured_skus": ("CUP", "SPOON")}, "featured_skus"),
        ({"featured_skus": ()}, "featured_skus"),
        ({"featured_skus": ("CUP", "CUP")}, "featured_skus"),
        ({"featured_skus": tuple(f"S{i}" for i in range(201))}, "featured_skus"),
    ],
)
def test_a_stream_that_cannot_be_taken_names_its_field(
    change: dict[str, object], field: str
) -> None:
    """Past start, over 24 h, negative audience or orders, neither given, unknown, none,
    repeated or too many SKUs: each refused with the field it concerns."""
    with pytest.raises(StreamInvalid) as refused:
        check_stream(replace(STREAM, **change), now_ms=NOW, known_skus=KNOWN)  # type: ignore[arg-type]
    assert refused.value.field == field


def test_a_full_day_stream_with_orders_only_is_taken() -> None:
    """Exactly 24 h and an expected number of orders (no audience) is a valid stream."""
    check_stream(
        replace(STREAM, duration_s=24 * 3600, expected_audience=None, expected_orders=0),
        now_ms=NOW,
        known_skus=KNOWN,
    )


def test_posting_again_is_idempotent_and_edits_stop_at_the_start() -> None:
    """New id: created; same content: unchanged, even after the start; other content:
    updated before the start, a conflict after it."""
    assert decide(None, STREAM, now_ms=NOW, known_skus=KNOWN) == "created"
    assert decide(STREAM, STREAM, now_ms=NOW, known_skus=KNOWN) == "unchanged"
    later = replace(STREAM, start_ms=NOW + 3 * HOUR, featured_skus=("TEA",))
    assert decide(STREAM, later, now_ms=NOW, known_skus=KNOWN) == "updated"
    started = STREAM.start_ms + 1
    assert decide(STREAM, STREAM, now_ms=started, known_skus=KNOWN) == "unchanged"
    with pytest.raises(StreamConflict):
        decide(STREAM, later, now_ms=started, known_skus=KNOWN)


def test_an_edit_is_checked_like_a_new_stream() -> None:
    """Moving a stream into the past is refused like posting it there."""
    with pytest.raises(StreamInvalid) as refused:
        decide(STREAM, replace(STREAM, start_ms=NOW - HOUR), now_ms=NOW, known_skus=KNOWN)
    assert refused.value.field == "start"


def test_status_follows_the_clock() -> None:
    """Announced before the start, live while it runs, ended after."""
    assert STREAM.status(NOW) == "announced"
    assert STREAM.status(STREAM.start_ms) == "live"
    assert STREAM.status(STREAM.end_ms) == "ended"
