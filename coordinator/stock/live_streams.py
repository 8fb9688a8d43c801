"""Live streams as data: what a stream announces, and the rules for taking it (pure).

A stream is announced ahead (`start_ms`), runs `duration_s` (at most 24 h) on a `channel`,
features some SKUs and comes with an expected audience or an expected number of orders
(at least one of them, neither below 0). `check_stream` refuses a stream that starts in
the past, runs too long, or features a SKU the coordinator does not know. `decide` says
what posting a stream under an id does: `created`, `unchanged` (the same content again: a
retry, whenever it comes) or `updated` (other content, allowed until the stored stream
starts; after that it is a `StreamConflict`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Final, Literal

from coordinator.stock.errors import StreamConflict, StreamInvalid

MAX_DURATION_S: Final = 24 * 3600
MAX_FEATURED_SKUS: Final = 200
Outcome = Literal["created", "unchanged", "updated"]


@dataclass(frozen=True)
class LiveStream:
    """One announced live stream."""

    id: str
    start_ms: int
    duration_s: int
    channel: str
    featured_skus: tuple[str, ...]
    expected_audience: int | None = None
    expected_orders: int | None = None

    @property
    def end_ms(self) -> int:
        """When the stream ends."""
        return self.start_ms + self.duration_s * 1000

    def started(self, now_ms: int) -> bool:
        """Whether the stream has started by `now_ms`."""
        return now_ms >= self.start_ms

    def status(self, now_ms: int) -> Literal["announced", "live", "ended"]:
        """Announced before its start, live while it runs, ended after."""
        if now_ms < self.start_ms:
            return "announced"
        return "live" if now_ms < self.end_ms else "ended"


def check_stream(stream: LiveStream, *, now_ms: int, known_skus: Collection[str]) -> None:
    """Raise `StreamInvalid` naming the field for a stream that cannot be taken."""
    if stream.start_ms <= now_ms:
        raise StreamInvalid("the stream starts in the past", field="start")
    if not 0 < stream.duration_s <= MAX_DURATION_S:
        raise StreamInvalid(
            f"duration must be 1 s to 24 h, got {stream.duration_s} s", field="duration_s"
        )
    for name, value in (
        ("expected_audience", stream.expected_audience),
        ("expected_orders", stream.expected_orders),
    ):
        if value is not None and value < 0:
            raise StreamInvalid(f"{name} must be ≥ 0, got {value}", field=name)
    if stream.expected_audience is None and stream.expected_orders is None:
        raise StreamInvalid(
            "give the expected audience or the expected orders", field="expected_audience"
        )
    if not stream.featured_skus or len(stream.featured_skus) > MAX_FEATURED_SKUS:
        raise StreamInvalid(
            f"a stream features 1 to {MAX_FEATURED_SKUS} SKUs", field="featured_skus"
        )
    if len(set(stream.featured_skus)) != len(stream.featured_skus):
        raise StreamInvalid("a SKU is featured twice", field="featured_skus")
    unknown = sorted(set(stream.featured_skus) - set(known_skus))
    if unknown:
        shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        raise StreamInvalid(f"unknown SKUs: {shown}", field="featured_skus")


def decide(
    stored: LiveStream | None, stream: LiveStream, *, now_ms: int, known_skus: Collection[str]
) -> Outcome:
    """What posting `stream` does given the `stored` one under its id (see the module)."""
    if stored == stream:
        return "unchanged"
    if stored is not None and stored.started(now_ms):
        raise StreamConflict(
            f"live stream {stream.id!r} started at {stored.start_ms} and can no longer change",
            field="id",
        )
    check_stream(stream, now_ms=now_ms, known_skus=known_skus)
    return "created" if stored is None else "updated"


__all__ = [
    "MAX_DURATION_S",
    "MAX_FEATURED_SKUS",
    "LiveStream",
    "Outcome",
    "check_stream",
    "decide",
]
