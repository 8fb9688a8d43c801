"""`StreamUpliftMeter` on a real store: an ended stream measured once from the stock deltas
and the `live_stream` flag, kept across a restart, and a crash between two streams loses
and duplicates nothing."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from coordinator.errors import StoreError
from coordinator.stock.live_streams import LiveStream
from coordinator.stock.stream_uplift import DAY_MS, HOUR_MS, RealisedUplift
from coordinator.stock.uplift_meter import StreamUpliftMeter
from coordinator.store.sqlite_store import SqliteStore
from coordinator.store.stream_uplifts import SqliteStreamUpliftStore
from fleet_runtime.clock import FakeClock
from protocol import Message
from tests.coordinator.conftest import T0_MS, Harness, Node

DAY0 = T0_MS // DAY_MS
NOON = (DAY0 + 5) * DAY_MS + 12 * HOUR_MS
STREAM = LiveStream("ls-1", NOON, 2 * 3600, "douyin", ("tea", "cup"), expected_orders=50)
LATER = LiveStream("ls-2", NOON + DAY_MS, 3600, "douyin", ("tea",), expected_orders=50)
FAMILIES = {"tea": "drinks", "cup": "ware"}


def _history(store: SqliteStore, harness: Harness) -> None:
    """tea sells 672 in the days before (1 an hour); on the stream's day 3 at 12:10 and
    10 at 13:00; cup 4 at 13:00; w1's flag is on 12:30–13:30."""
    w1 = Node(node="w1")
    messages: list[Message] = [
        w1.birth(signals=("live_stream",)),
        replace(w1.stock("delta", {"tea": -672}), ts=(DAY0 + 1) * DAY_MS),
        replace(w1.stock("delta", {"tea": -3}), ts=NOON + 10 * 60_000),
        replace(w1.stock("delta", {"tea": -10, "cup": -4}), ts=NOON + HOUR_MS),
        w1.telemetry(
            ("live_stream", NOON - HOUR_MS, 0.0),
            ("live_stream", NOON + HOUR_MS // 2, 1.0),
            ("live_stream", NOON + HOUR_MS, 1.0),
            ("live_stream", NOON + 3 * HOUR_MS // 2, 1.0),
            ("live_stream", NOON + 2 * HOUR_MS, 0.0),
        ),
    ]
    store.commit(harness.feed(*messages).batch)


def _meter(
    store: SqliteStore | SqliteStreamUpliftStore, clock: FakeClock, *streams: LiveStream
) -> StreamUpliftMeter:
    kept = store.stream_uplift_store() if isinstance(store, SqliteStore) else store
    return StreamUpliftMeter(
        store=kept, streams=lambda: list(streams), family_of=lambda: FAMILIES, clock=clock
    )


def _clock_after(stream: LiveStream) -> FakeClock:
    clock = FakeClock(T0_MS / 1000)
    clock.advance((stream.end_ms - T0_MS) / 1000 + 601)
    return clock


def test_an_ended_stream_is_measured_once(store: SqliteStore, harness: Harness) -> None:
    """On air 12:30–13:30 by the flag: tea sold 10 against 1 expected (uplift 9), 3 in the
    6 h before against 6 (−0.5); cup has no rate to compare with; a second check keeps
    nothing new; the forecast reads tea's and its family's uplift."""
    _history(store, harness)
    meter = _meter(store, _clock_after(STREAM), STREAM)
    [kept] = meter.check()
    assert (kept.on_air_start_ms, kept.on_air_end_ms) == (
        NOON + HOUR_MS // 2,
        NOON + 3 * HOUR_MS // 2,
    )
    assert kept.on_air_source == "live_stream flag"
    tea, cup = kept.skus
    assert (tea.units, tea.baseline_units, tea.uplift) == pytest.approx((10.0, 1.0, 9.0))
    assert (tea.pre_units, tea.pre_uplift) == pytest.approx((3.0, -0.5))
    assert (cup.units, cup.uplift) == (4.0, None)
    assert meter.check() == []
    assert meter.get("ls-1") == kept
    past = meter.past()
    assert past.sku == {"tea": pytest.approx(9.0)}
    assert past.family == {"drinks": pytest.approx(9.0)}
    assert past.pre_uplift == pytest.approx(-0.5)


def test_a_stream_not_settled_is_not_measured(store: SqliteStore, harness: Harness) -> None:
    """Ten minutes must pass after the end (late stock deltas): before that, nothing."""
    _history(store, harness)
    clock = _clock_after(STREAM)
    early = FakeClock(T0_MS / 1000)
    early.advance((STREAM.end_ms - T0_MS) / 1000 + 60)
    assert _meter(store, early, STREAM).check() == []
    assert store.stream_uplift_store().get("ls-1") is None
    assert len(_meter(store, clock, STREAM).check()) == 1


class _CrashOnce(SqliteStreamUpliftStore):
    """The real store, failing the first write of one stream, as a crash mid-check would."""

    def __init__(self, real: SqliteStreamUpliftStore, stream_id: str) -> None:
        super().__init__(real._conn, real._lock)
        self.crash_on: str | None = stream_id

    def put(self, measured: RealisedUplift) -> bool:
        if measured.stream_id == self.crash_on:
            self.crash_on = None
            raise StoreError("disk gone", operation="put")
        return super().put(measured)


def test_a_crash_between_streams_loses_and_duplicates_nothing(
    tmp_path: Path, harness: Harness
) -> None:
    """The check dies writing the second stream; after a restart of the store the next
    check measures only that one, and each stream has exactly one measurement."""
    path = tmp_path / "c.db"
    store = SqliteStore(path)
    _history(store, harness)
    clock = _clock_after(LATER)
    crashing = _CrashOnce(store.stream_uplift_store(), "ls-2")
    with pytest.raises(StoreError):
        _meter(crashing, clock, STREAM, LATER).check()
    assert store.stream_uplift_store().get("ls-1") is not None
    assert store.stream_uplift_store().get("ls-2") is None
    store.close()
    reopened = SqliteStore(path)
    try:
        [again] = _meter(reopened, clock, STREAM, LATER).check()
        assert again.stream_id == "ls-2"
        ids = sorted(m.stream_id for m in reopened.stream_uplift_store().recent())
        assert ids == ["ls-1", "ls-2"]
    finally:
        reopened.close()
