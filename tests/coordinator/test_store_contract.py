"""The store contract, run against both backends (`core_store`: SQLite, and PostgreSQL on a
real server): idempotent commits, rollups, retention, node records, dead letters, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from coordinator.errors import NotFound, StoreError
from coordinator.fleet.twin import FleetTwin
from coordinator.store.port import Store
from coordinator.store.sqlite_store import SqliteStore
from tests.coordinator.conftest import T0_MS, Harness, Node, raw

MIN = 60_000
DAY = 86_400_000


@pytest.fixture
def store(core_store: Store) -> Store:
    """Each test here runs once per backend."""
    return core_store


def _commit(store: Store, h: Harness, *messages: object) -> object:
    outcome = h.feed(*messages)  # type: ignore[arg-type]
    return store.commit(outcome.batch)


def test_commit_twice_stores_once(store: Store, harness: Harness, node: Node) -> None:
    """Committing the same messages again (e.g. after a restart) writes nothing new."""
    birth = node.birth()
    t = node.telemetry(("temp", T0_MS, 1.0), ("temp", T0_MS + 1, 2.0))
    outcome = harness.feed(birth, t)
    first = store.commit(outcome.batch)
    again = store.commit(outcome.batch)
    assert (first.messages_new, first.samples_written) == (2, 2)
    assert (again.messages_new, again.messages_already_stored, again.samples_written) == (0, 2, 0)
    assert store.count("samples") == 2
    assert store.count("messages") == 2


def test_rollups_hold_min_max_mean_count_per_minute(
    store: Store, harness: Harness, node: Node
) -> None:
    """1-minute rollups aggregate every stored sample of the minute, across batches."""
    base = (T0_MS // MIN) * MIN
    _commit(
        store,
        harness,
        node.birth(),
        node.telemetry(("temp", base + 1, 1.0), ("temp", base + 2, 5.0)),
    )
    _commit(store, harness, node.telemetry(("temp", base + 3, 3.0), ("temp", base + MIN, 7.0)))
    series = store.telemetry(
        site="s1",
        node="m1",
        signal="temp",
        start_ms=base,
        end_ms=base + 2 * MIN,
        resolution="1m",
        limit=10,
    )
    first, second = series.points
    assert (first.ts_ms, first.min, first.max, first.value, first.count) == (base, 1.0, 5.0, 3.0, 3)
    assert (second.ts_ms, second.count, second.value) == (base + MIN, 1, 7.0)


def test_same_signal_and_time_in_two_messages_keeps_one_value(
    store: Store, harness: Harness, node: Node
) -> None:
    """Two messages carrying the same (signal, ms) store one sample; the rollup stays exact."""
    base = (T0_MS // MIN) * MIN
    _commit(
        store, harness, node.birth(), node.telemetry(("temp", base, 1.0), ("temp", base + 5, 2.0))
    )
    _commit(store, harness, node.telemetry(("temp", base, 9.0), ("temp", base + 6, 4.0)))
    raw_points = store.telemetry(
        site="s1",
        node="m1",
        signal="temp",
        start_ms=base,
        end_ms=base + MIN,
        resolution="raw",
        limit=10,
    ).points
    assert [(p.ts_ms, p.value) for p in raw_points] == [
        (base, 1.0),
        (base + 5, 2.0),
        (base + 6, 4.0),
    ]
    (rollup,) = store.telemetry(
        site="s1", node="m1", signal="temp", start_ms=base, end_ms=base, resolution="1m", limit=10
    ).points
    assert (rollup.count, rollup.min, rollup.max) == (3, 1.0, 4.0)


def test_query_limit_truncates(store: Store, harness: Harness, node: Node) -> None:
    """A query past its point limit says it was truncated."""
    _commit(
        store,
        harness,
        node.birth(),
        node.telemetry(*(("temp", T0_MS + i, float(i)) for i in range(5))),
    )
    series = store.telemetry(
        site="s1",
        node="m1",
        signal="temp",
        start_ms=T0_MS,
        end_ms=T0_MS + 10,
        resolution="raw",
        limit=3,
    )
    assert len(series.points) == 3
    assert series.truncated


def test_unknown_signal_is_not_found(store: Store) -> None:
    """Asking for a series nobody reported raises NotFound."""
    with pytest.raises(NotFound):
        store.telemetry(
            site="s", node="n", signal="x", start_ms=0, end_ms=1, resolution="raw", limit=1
        )


def test_retention_drops_old_raw_samples_but_keeps_rollups(
    store: Store, harness: Harness, node: Node
) -> None:
    """Raw samples of days past retention are deleted while their rollups remain."""
    today = (T0_MS // DAY) * DAY
    _commit(
        store,
        harness,
        node.birth(),
        node.telemetry(("temp", today - 2 * DAY + 5, 1.0), ("temp", today + 10 * MIN, 2.0)),
    )
    result = store.apply_retention(
        raw_before_ms=today - DAY, rollup_before_ms=today - 3 * DAY, dead_letters_before_ms=0
    )
    assert (result.samples_deleted, result.rollups_deleted) == (1, 0)
    assert store.count("samples") == 1
    assert store.count("rollup_1m") == 2
    old = store.telemetry(
        site="s1",
        node="m1",
        signal="temp",
        start_ms=today - 3 * DAY,
        end_ms=today + DAY,
        resolution="raw",
        limit=10,
    )
    assert [p.value for p in old.points] == [2.0]


def test_node_records_restore_the_twin(store: Store, harness: Harness, node: Node) -> None:
    """Node state, latest values and stock survive a restart through the store."""
    w = Node(node="w1")
    _commit(
        store,
        harness,
        node.birth(),
        node.telemetry(("temp", T0_MS + 1, 4.5), seq=1),
        node.telemetry(seq=5),
        w.birth(),
        w.stock("snapshot", {"a": 3}),
    )
    twin = FleetTwin()
    twin.restore(store.load_nodes(), store.load_latest(), store.load_stock())
    view = twin.node("m1")
    before = harness.twin.node("m1")
    assert (view.last_seq, view.counters, view.bd_seq, view.online) == (
        before.last_seq,
        before.counters,
        before.bd_seq,
        before.online,
    )
    assert {s.name: s.value for s in view.signals} == {"temp": 4.5}
    assert [(i.node, i.sku, i.qty) for i in twin.stock()] == [("w1", "a", 3)]
    restored = twin.entries[("s1", "m1")].tracker
    assert restored.gap_ranges == [(2, 4)]


def test_dead_letters_listed_newest_first(store: Store, harness: Harness) -> None:
    """Dead letters are stored with topic, reason and prefix, newest first."""
    from coordinator.ingest.records import RawMessage

    outcome = harness.feed(
        RawMessage("ff/v1/s/n/telemetry", b"one", 1), RawMessage("ff/v1/s/n/telemetry", b"two", 2)
    )
    store.commit(outcome.batch)
    rows = store.dead_letters(limit=10)
    assert [r.payload_prefix for r in rows] == [b"two", b"one"]
    assert store.dead_letter_count() == 2


def test_store_errors_are_translated(store: Store) -> None:
    """A closed store raises StoreError, never the driver's own exceptions."""
    store.close()
    with pytest.raises(StoreError):
        store.commit(Harness().feed(raw(Node().telemetry())).batch)
    with pytest.raises(StoreError):
        store.load_nodes()


def test_unknown_synchronous_mode_is_refused(tmp_path: Path) -> None:
    """SQLite's synchronous mode must be one SQLite knows."""
    with pytest.raises(StoreError):
        SqliteStore(tmp_path / "x.db", synchronous="sometimes")


def test_unreadable_database_file_raises_store_error(tmp_path: Path) -> None:
    """A file that is not a database is refused with StoreError."""
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"not a database" * 100)
    with pytest.raises(StoreError):
        SqliteStore(bad)


def test_repeated_sample_within_one_message_is_stored_once(
    store: Store, harness: Harness, node: Node
) -> None:
    """A (signal, ms) repeated inside one batch keeps its first value and counts once."""
    base = (T0_MS // MIN) * MIN
    result = _commit(
        store, harness, node.birth(), node.telemetry(("temp", base, 1.0), ("temp", base, 8.0))
    )
    assert result.samples_written == 1  # type: ignore[attr-defined]
    (rollup,) = store.telemetry(
        site="s1", node="m1", signal="temp", start_ms=base, end_ms=base, resolution="1m", limit=10
    ).points
    assert (rollup.count, rollup.min, rollup.max) == (1, 1.0, 1.0)


def test_a_failed_sqlite_migration_changes_nothing(tmp_path: Path) -> None:
    """A migration that fails half-way stops the SQLite store from opening, leaves no table
    of its own behind and stays pending (the PostgreSQL counterpart is in
    test_postgres_store.py)."""
    import sqlite3

    from sqlite_utils import Database, Migrations

    path = tmp_path / "core.db"
    SqliteStore(path).close()
    broken = Migrations("flexfleet.coordinator")

    @broken()
    def m999_broken(db: Database) -> None:
        db.execute("CREATE TABLE half_done (x INTEGER)")
        db.execute("INSERT INTO no_such_table VALUES (1)")

    with pytest.raises(StoreError, match="no_such_table"):
        SqliteStore(path, migrations=broken)
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        applied = {r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations")}
    assert "half_done" not in tables
    assert "m999_broken" not in applied
    assert "m001_core" in applied


def test_hourly_sales_profile_sums_picks_per_shelf_and_hour(store: Store, harness: Harness) -> None:
    """Picks (negative deltas) add up per shelf and UTC hour of day; receipts do not count."""
    from dataclasses import replace

    from protocol import Message

    hour = 3_600_000
    w = Node(node="w1")
    day_start = (T0_MS // DAY) * DAY
    messages: list[Message] = [
        w.birth(),
        replace(w.stock("delta", {"tea": -2, "cup": 5}), ts=day_start + 9 * hour + 10),
        replace(w.stock("delta", {"tea": -3}), ts=day_start + DAY + 9 * hour),
        replace(w.stock("delta", {"cup": -1}), ts=day_start + 17 * hour),
    ]
    store.commit(harness.feed(*messages).batch)
    assert sorted(store.hourly_sales_profile(since_ms=day_start)) == [
        ("s1", "w1", 9, 5),
        ("s1", "w1", 17, 1),
    ]
    assert store.hourly_sales_profile(since_ms=day_start + DAY) == [("s1", "w1", 9, 3)]
