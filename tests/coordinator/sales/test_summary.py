"""The sales summary: orders by status, on-time against the promise given when taken,
lead times by nearest rank; the same figures from the SQLite store and its in-memory double."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from coordinator.sales.lifecycle import Standing, Transition
from coordinator.sales.records import InMemorySalesStore, NewOrder, SalesOrder, SalesStore
from coordinator.sales.summary import MS_PER_H, OrderOutcome, quantile, summarise
from coordinator.store import SqliteStore


def test_nothing_delivered_has_no_rate_or_lead_time() -> None:
    """With no delivery the rate and lead times are None, not 0 or 1."""
    s = summarise([OrderOutcome("promised", 0, 10, None), OrderOutcome("cancelled", 0, 10, None)])
    assert (s.orders, s.delivered, s.delivered_on_time) == (2, 0, 0)
    assert s.by_status == {"cancelled": 1, "promised": 1}
    assert (s.on_time_rate, s.lead_time_p50_h, s.lead_time_p95_h) == (None, None, None)


def test_on_time_is_at_or_before_the_promise_and_lead_times_are_nearest_rank() -> None:
    """Delivered exactly at the promise counts on time, a millisecond after does not; lead
    times 1, 2, 3, 10 h give a median of 2 h and a p95 of 10 h."""
    h = MS_PER_H
    s = summarise(
        [
            OrderOutcome("delivered", 0, 1 * h, 1 * h),  # at the promise
            OrderOutcome("delivered", 0, 2 * h - 1, 2 * h),  # 1 ms late
            OrderOutcome("delivered", h, 5 * h, 4 * h),
            OrderOutcome("delivered", 0, None, 10 * h),  # no promised time: not on time
            OrderOutcome("in_production", 0, 9 * h, None),
        ]
    )
    assert (s.orders, s.delivered, s.delivered_on_time) == (5, 4, 2)
    assert s.on_time_rate == 0.5
    assert (s.lead_time_p50_h, s.lead_time_p95_h) == (2.0, 10.0)


def test_quantile_by_nearest_rank() -> None:
    """The nearest-rank quantile returns a value that occurred."""
    values = [1.0, 2.0, 3.0, 4.0]
    assert [quantile(values, q) for q in (0.0, 0.25, 0.5, 0.75, 0.95, 1.0)] == [
        1.0, 1.0, 2.0, 3.0, 4.0, 4.0,
    ]  # fmt: skip


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SalesStore]:
    """Each test runs on the in-memory double and on SQLite."""
    if request.param == "memory":
        yield InMemorySalesStore()
        return
    db = SqliteStore(tmp_path / "c.db")
    try:
        yield db.sales_store()
    finally:
        db.close()


def _take(store: SalesStore, order_id: str, *, created_ms: int, promised_ms: int) -> None:
    order = SalesOrder(
        id=order_id,
        customer="c",
        body="{}",
        standing=Standing("promised"),
        promise={"promised_ms": promised_ms, "eta_ms": promised_ms},
        created_ms=created_ms,
        updated_ms=created_ms,
    )
    taken = [Transition("received", created_ms, "order", "api"),
             Transition("promised", created_ms, "promise", "api")]  # fmt: skip
    store.create_all([NewOrder(order, f"hash-{order_id}", tuple(taken), ())])


def test_the_store_reports_the_first_delivery_and_the_original_promise(store: SalesStore) -> None:
    """An order delivered, then corrected back and delivered again, counts from its first
    delivery; the store's outcomes match on SQLite and in memory."""
    h = MS_PER_H
    _take(store, "a", created_ms=0, promised_ms=3 * h)
    _take(store, "b", created_ms=0, promised_ms=3 * h)
    _take(store, "c", created_ms=0, promised_ms=3 * h)
    store.advance("a", Standing("delivered"), [Transition("delivered", 2 * h, "stop", "van-1")],
                  at_ms=2 * h)  # fmt: skip
    store.advance("b", Standing("delivered"), [Transition("delivered", 4 * h, "stop", "van-1")],
                  at_ms=4 * h)  # fmt: skip
    store.advance("a", Standing("out_for_delivery"),
                  [Transition("out_for_delivery", 5 * h, "correction", "op")], at_ms=5 * h)  # fmt: skip
    store.advance("a", Standing("delivered"),
                  [Transition("delivered", 6 * h, "stop", "van-1")], at_ms=6 * h)  # fmt: skip
    outcomes = sorted(store.outcomes(), key=lambda o: o.delivered_ms or 0)
    assert [(o.status, o.created_ms, o.promised_ms, o.delivered_ms) for o in outcomes] == [
        ("promised", 0, 3 * h, None),
        ("delivered", 0, 3 * h, 2 * h),
        ("delivered", 0, 3 * h, 4 * h),
    ]
    s = summarise(store.outcomes())
    assert (s.delivered, s.delivered_on_time, s.on_time_rate) == (2, 1, 0.5)
    assert s.by_status == {"delivered": 2, "promised": 1}
