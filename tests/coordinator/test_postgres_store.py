"""What only the PostgreSQL store has: day partitions, its migrations, bad URLs and an
unreachable server, the COPY path's dedupe, and a server killed mid-ingest."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from coordinator.errors import StoreError, StoreUnavailable
from coordinator.fleet.twin import FleetTwin
from coordinator.ingest.pipeline import IngestPipeline
from coordinator.ingest.writer import IngestWriter
from coordinator.store.postgres_schema import PG_MIGRATIONS, PgMigration, partition_name
from coordinator.store.postgres_store import PostgresStore, describe_url
from coordinator.store.schema import MIGRATIONS
from fleet_runtime.clock import FakeClock
from flexfleet.broker import free_port
from flexfleet.postgres import PostgresServer, start_postgres
from tests.coordinator.conftest import T0_MS, Harness, Node, raw

DAY = 86_400_000


@pytest.fixture
def pg(postgres_url: str) -> Iterator[PostgresStore]:
    """A PostgreSQL store on a fresh database."""
    store = PostgresStore(postgres_url)
    yield store
    store.close()


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {str(r[0]) for r in rows}


def test_samples_go_to_one_partition_per_day_and_retention_drops_whole_days(
    pg: PostgresStore, harness: Harness, node: Node
) -> None:
    """Each UTC day's samples get their own partition; retention drops the days wholly
    before the cutoff and keeps the day it falls in, rows and all."""
    today = T0_MS // DAY
    samples = [("temp", (today - d) * DAY + 1000 * d, float(d)) for d in (3, 2, 1, 0)]
    pg.commit(harness.feed(node.birth(), node.telemetry(*samples)).batch)
    assert pg.partitions() == [partition_name(today - d) for d in (3, 2, 1, 0)]
    result = pg.apply_retention(
        raw_before_ms=(today - 1) * DAY + 5, rollup_before_ms=0, dead_letters_before_ms=0
    )
    assert (result.partitions_dropped, result.samples_deleted) == (2, 2)
    assert pg.partitions() == [partition_name(today - 1), partition_name(today)]
    assert pg.count("samples") == 2
    pg.commit(harness.feed(node.telemetry(("temp", (today - 3) * DAY + 7, 9.0))).batch)
    assert pg.count("samples") == 3  # a late sample of a dropped day gets its day again


def test_migrations_share_the_sqlite_numbering() -> None:
    """Each PostgreSQL migration carries the name of the SQLite migration it mirrors, in order."""
    sqlite_names = [m.name for m in MIGRATIONS._migrations]
    names = [m.name for m in PG_MIGRATIONS]
    assert names == [n for n in sqlite_names if n in names]
    assert names[0] == "m001_core"


def test_a_failed_migration_changes_nothing(postgres_url: str) -> None:
    """A migration that fails stops the store from opening and leaves the database as it
    was: not even the migrations before it in the same start-up stay."""
    broken = PgMigration("m999_broken", ("CREATE TABLE nodes (id integer)",))  # exists by then
    with pytest.raises(StoreError, match="m999_broken failed, nothing was changed"):
        PostgresStore(postgres_url, migrations=(*PG_MIGRATIONS, broken))
    assert _tables(postgres_url) == set()
    PostgresStore(postgres_url, migrations=PG_MIGRATIONS[:1]).close()
    with pytest.raises(StoreError, match="m999_broken"):
        PostgresStore(postgres_url, migrations=(*PG_MIGRATIONS, broken))
    assert "sales_daily" not in _tables(postgres_url)  # m002 rolled back with it
    with psycopg.connect(postgres_url) as conn:
        applied = [r[0] for r in conn.execute("SELECT name FROM flexfleet_migrations")]
    assert applied == ["m001_core"]


def test_migrations_run_once(postgres_url: str) -> None:
    """Opening the store again applies nothing twice."""
    PostgresStore(postgres_url).close()
    PostgresStore(postgres_url).close()
    with psycopg.connect(postgres_url) as conn:
        applied = [r[0] for r in conn.execute("SELECT name FROM flexfleet_migrations")]
    assert applied == [m.name for m in PG_MIGRATIONS]


def test_unreachable_server_is_a_clear_error_without_the_password() -> None:
    """Nothing listening: StoreUnavailable naming the server, the password left out."""
    port = free_port()
    url = f"postgresql://flexfleet:hunter2-secret@127.0.0.1:{port}/fleet"
    with pytest.raises(StoreUnavailable) as caught:
        PostgresStore(url, connect_timeout_s=2)
    reason = caught.value.reason
    assert reason.startswith(
        f"cannot connect to PostgreSQL at postgresql://flexfleet@127.0.0.1:{port}/fleet"
    )
    assert "hunter2" not in reason


@pytest.mark.parametrize(
    "url",
    ["postgresql://127.0.0.1:notaport/x", "postgresql://[::1/x", "postgresql://h/x?nosuch=1"],
)
def test_malformed_urls_are_store_errors(url: str) -> None:
    """A URL libpq cannot use is refused with StoreError, not a driver exception."""
    with pytest.raises(StoreError):
        PostgresStore(url, connect_timeout_s=1)


def test_describe_url_keeps_no_password() -> None:
    """Messages name user, host, port and database, never the password."""
    assert describe_url("postgresql://u:pw@db.example:6543/fleet") == (
        "postgresql://u@db.example:6543/fleet"
    )


def test_a_batch_that_conflicts_midway_keeps_first_values_and_exact_rollups(
    pg: PostgresStore, harness: Harness, node: Node
) -> None:
    """The COPY fast path gives way to the staging path on a conflict: new samples of the
    batch are kept, stored ones untouched, and the minute's rollup recomputed exactly."""
    base = (T0_MS // 60_000) * 60_000
    pg.commit(harness.feed(node.birth(), node.telemetry(("temp", base + 1, 1.0))).batch)
    result = pg.commit(
        harness.feed(node.telemetry(("temp", base + 1, 5.0), ("temp", base + 2, 3.0))).batch
    )
    assert result.samples_written == 1
    points = pg.telemetry(
        site="s1", node="m1", signal="temp", start_ms=base, end_ms=base + 10, resolution="raw",
        limit=10,
    ).points  # fmt: skip
    assert [(p.ts_ms, p.value) for p in points] == [(base + 1, 1.0), (base + 2, 3.0)]
    (rollup,) = pg.telemetry(
        site="s1", node="m1", signal="temp", start_ms=base, end_ms=base, resolution="1m",
        limit=10,
    ).points  # fmt: skip
    assert (rollup.count, rollup.min, rollup.max, rollup.value) == (2, 1.0, 3.0, 2.0)


def test_job_facts_are_handed_over_before_the_core_commit(postgres_url: str) -> None:
    """The batch's job facts go to the callable first; a failing one stops the commit."""
    seen: list[int] = []
    store = PostgresStore(postgres_url, job_facts=lambda batch: seen.append(len(batch.accepted)))
    try:
        h, n = Harness(), Node()
        store.commit(h.feed(n.birth()).batch)
        assert seen == [1]

        def refuse(_batch: object) -> None:
            raise StoreError("job facts refused")

        store._job_facts = refuse
        with pytest.raises(StoreError, match="job facts refused"):
            store.commit(h.feed(n.telemetry()).batch)
        assert store.count("messages") == 1
    finally:
        store.close()


@pytest.fixture
def own_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test's own, so it can be killed."""
    base = Path(tempfile.mkdtemp(prefix="ff-pg-kill-"))
    server = start_postgres(base, fsync=True, shared_buffers="16MB")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_server_killed_mid_ingest_pauses_then_stores_everything_once(
    own_server: PostgresServer,
) -> None:
    """kill -9 of PostgreSQL while batches commit: ingest pauses without acking, says why,
    and once the server is back every message is stored exactly once and acked."""
    store = PostgresStore(own_server.url, connect_timeout_s=1)
    acked: list[int] = []
    clock = FakeClock()
    writer = IngestWriter(
        pipeline=IngestPipeline(
            FleetTwin(),
            clock,
            rebirth_min_interval_s=30.0,
            inactivity_timeout_for=lambda _n: 60.0,
        ),
        store=store,
        clock=clock,
        ack=lambda tokens: acked.extend(int(t) for t in tokens),  # type: ignore[call-overload]
        batch_max_messages=20,
        batch_max_wait_s=0.01,
        queue_max_messages=5000,
        store_retry_s=0.2,
    )
    node = Node()
    messages = [raw(node.birth(), token=0)]
    messages += [
        raw(
            node.telemetry(*(("temp", T0_MS + i * 100 + k, float(k)) for k in range(50))),
            token=i,
        )
        for i in range(1, 400)
    ]
    writer.start()
    try:
        for m in messages[:200]:
            writer.enqueue(m)
        own_server.kill()

        def feed_rest() -> None:
            for m in messages[200:]:
                writer.enqueue(m)

        feeder = threading.Thread(target=feed_rest)
        feeder.start()
        deadline = time.monotonic() + 20
        while not writer.store_lost:
            assert time.monotonic() < deadline, "the writer never noticed the lost server"
            time.sleep(0.05)
        assert "PostgreSQL" in writer.store_lost
        assert not writer.failed
        acked_while_down = len(acked)
        time.sleep(0.6)
        assert len(acked) == acked_while_down  # nothing acked while the server is down
        own_server.start()
        feeder.join(30)
        deadline = time.monotonic() + 60
        while len(set(acked)) < len(messages) or writer.store_lost:
            assert time.monotonic() < deadline, f"acked {len(set(acked))} of {len(messages)}"
            time.sleep(0.05)
    finally:
        writer.stop()
    assert sorted(set(acked)) == list(range(len(messages)))
    assert store.count("messages") == len(messages)
    assert store.count("samples") == 399 * 50
    with psycopg.connect(own_server.url) as conn:
        row = conn.execute("SELECT sum(count) FROM rollup_1m").fetchone()
    assert row is not None
    assert int(row[0]) == 399 * 50  # rollups neither lost nor counted twice
    store.close()


def test_copy_binary_is_postgresql_binary_copy_format() -> None:
    """The COPY stream: signature, zero flags and extension, rows of three big-endian fields
    with their lengths, then the -1 trailer."""
    import struct

    from coordinator.store.postgres_store import copy_binary

    data = copy_binary([(7, 1_700_000_000_123, -1.5), (2**31 - 1, 0, 1e300)])
    assert data[:11] == b"PGCOPY\n\xff\r\n\x00"
    assert data[11:19] == b"\x00" * 8
    assert data[-2:] == b"\xff\xff"
    rows = [struct.unpack(">hiiiqid", data[19 + 34 * i : 19 + 34 * (i + 1)]) for i in range(2)]
    assert rows == [
        (3, 4, 7, 8, 1_700_000_000_123, 8, -1.5),
        (3, 4, 2**31 - 1, 8, 0, 8, 1e300),
    ]
    assert len(data) == 19 + 2 * 34 + 2


def test_uplift_reads_match_sqlite_on_the_same_messages(pg: PostgresStore, tmp_path: Path) -> None:
    """The stream uplift meter's reads (picks in a span, sales per day, live_stream flags)
    answer the same from PostgreSQL as from the SQLite file, on the same messages."""
    from dataclasses import replace

    from coordinator.store.postgres_store import SplitUpliftStore
    from coordinator.store.sqlite_store import SqliteStore
    from protocol import Message

    lite = SqliteStore(tmp_path / "lite.db", synchronous="NORMAL")
    try:
        w = Node(node="w1", site="s1")
        messages: list[Message] = [
            w.birth(signals=("live_stream",)),
            replace(w.stock("delta", {"tea": -2, "cup": 5}), ts=T0_MS + 10),
            replace(w.stock("delta", {"tea": -3, "pen": -1}), ts=T0_MS + DAY),
            w.telemetry(("live_stream", T0_MS + 5, 1.0), ("live_stream", T0_MS + 9, 0.0)),
        ]
        for store in (lite, pg):
            store.commit(Harness().feed(*messages).batch)
        split = SplitUpliftStore(lite.stream_uplift_store(), pg)
        local = lite.stream_uplift_store()
        for reader in (split, local):
            assert reader.units_between(["tea", "pen", "cup"], T0_MS, T0_MS + 2 * DAY) == {
                "tea": 5.0,
                "pen": 1.0,
            }
            day = T0_MS // DAY
            assert reader.units_on_days(["tea"], day, day) == {"tea": 2.0}
            assert reader.flag_samples(T0_MS, T0_MS + 100) == [(T0_MS + 5, 1.0), (T0_MS + 9, 0.0)]
    finally:
        lite.close()


def test_reading_threads_share_a_few_connections(postgres_url: str) -> None:
    """24 threads reading at once hold at most `readers` connections of the server (with
    the writer's), and every read is answered."""
    store = PostgresStore(postgres_url, readers=3)
    answers: list[int] = []

    def read() -> None:
        for _ in range(20):
            answers.append(store.dead_letter_count())

    try:
        threads = [threading.Thread(target=read) for _ in range(24)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        with psycopg.connect(postgres_url) as conn:
            (held,) = conn.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()  # type: ignore[misc]
        assert answers == [0] * 24 * 20
        assert 1 < held <= 3 + 1
    finally:
        store.close()
