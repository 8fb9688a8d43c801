"""Daily sales per SKU × micro-warehouse, aggregated from stock deltas in the store."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlite_utils import Database

from coordinator.forecast.serving.job import sales_panel
from coordinator.ingest.sales import DAY_MS, sales_of
from coordinator.store.port import Store
from coordinator.store.sqlite_store import SqliteStore
from protocol import Message
from tests.coordinator.conftest import T0_MS, Harness, Node

DAY0 = T0_MS // DAY_MS


def test_picks_are_sales_and_receipts_and_snapshots_are_not(node: Node) -> None:
    """Negative delta quantities are units sold on the message's UTC day; the rest is not."""
    delta = node.stock("delta", {"tea": -3, "cup": 50, "pen": -1})
    assert sales_of(delta) == [("tea", DAY0, 3), ("pen", DAY0, 1)]
    next_day = replace(delta, ts=(DAY0 + 1) * DAY_MS)
    assert sales_of(next_day) == [("tea", DAY0 + 1, 3), ("pen", DAY0 + 1, 1)]
    assert sales_of(node.stock("snapshot", {"tea": 0})) == []


def test_store_sums_sales_per_day_and_counts_a_message_once(
    core_store: Store, harness: Harness
) -> None:
    """Sales of several messages and nodes add up per day; a redelivered message adds
    nothing (on both backends)."""
    store = core_store
    w1, w2 = Node(node="w1"), Node(node="w2")
    messages: list[Message] = [
        w1.birth(),
        w2.birth(),
        w1.stock("delta", {"tea": -2, "cup": -1}),
        w1.stock("delta", {"tea": -4, "cup": 30}),
        w2.stock("delta", {"tea": -5}),
    ]
    messages.append(replace(w1.stock("delta", {"tea": -1}), ts=(DAY0 + 1) * DAY_MS + 5))
    outcome = harness.feed(*messages)
    store.commit(outcome.batch)
    store.commit(outcome.batch)  # the same messages again, as after a restart
    assert sorted(store.daily_sales(since_day=0)) == [
        ("s1", "w1", "cup", DAY0, 1),
        ("s1", "w1", "tea", DAY0, 6),
        ("s1", "w1", "tea", DAY0 + 1, 1),
        ("s1", "w2", "tea", DAY0, 5),
    ]
    assert store.daily_sales(since_day=DAY0 + 1) == [("s1", "w1", "tea", DAY0 + 1, 1)]


def test_migration_backfills_sales_from_stored_stock_changes(
    tmp_path: Path, harness: Harness
) -> None:
    """A database from before the sales table gets its history from `stock_changes`."""
    path = tmp_path / "old.db"
    w1 = Node(node="w1")
    first = SqliteStore(path)
    first.commit(harness.feed(w1.birth(), w1.stock("delta", {"tea": -2, "cup": 9})).batch)
    first.commit(harness.feed(w1.stock("delta", {"tea": -3})).batch)
    first.close()
    db = Database(path)  # undo m002, as if the data had been written by the previous version
    db.execute("DROP TABLE sales_daily")
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm002_sales_daily'")
    db.conn.commit()
    db.close()
    reopened = SqliteStore(path)
    try:
        assert reopened.daily_sales(since_day=0) == [("s1", "w1", "tea", DAY0, 5)]
    finally:
        reopened.close()


def test_sales_panel_runs_every_series_up_to_today() -> None:
    """Each SKU × location is one series ending today, days without sales filled with zeros."""
    rows = [("s1", "w1", "tea", 100, 2), ("s1", "w1", "tea", 102, 1), ("s1", "w2", "cup", 103, 4)]
    panel = sales_panel(rows, today=105)
    assert panel is not None
    assert panel.ids == ("cup@s1/w2", "tea@s1/w1")
    assert panel.end_days.tolist() == [105, 105]
    assert panel.lengths.tolist() == [3, 6]
    assert panel.y[1].tolist() == [2.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    assert sales_panel([], today=105) is None


def test_hourly_profile_sums_picks_per_shelf_and_hour_of_day(
    store: SqliteStore, harness: Harness
) -> None:
    """Picks add up per shelf node and UTC hour of the day, across days; receipts and
    picks before `since_ms` do not count."""
    w1 = Node(node="w1")
    at = DAY0 * DAY_MS
    messages: list[Message] = [
        w1.birth(),
        replace(w1.stock("delta", {"tea": -2, "cup": 5}), ts=at + 19 * 3_600_000),
        replace(w1.stock("delta", {"tea": -1}), ts=at + DAY_MS + 19 * 3_600_000 + 5),
        replace(w1.stock("delta", {"cup": -4}), ts=at + DAY_MS + 7 * 3_600_000),
        replace(w1.stock("delta", {"cup": -9}), ts=at - 1),
    ]
    store.commit(harness.feed(*messages).batch)
    assert sorted(store.hourly_sales_profile(since_ms=at)) == [
        ("s1", "w1", 7, 4),
        ("s1", "w1", 19, 3),
    ]
