"""Tracked commands in the coordinator's SQLite file: migration m007 on an existing
database, state across a restart, filters, and the retention that bounds the table."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import sqlite_utils

from coordinator.commands import CommandLog
from coordinator.notify.publisher import InMemoryPublisher
from coordinator.store.schema import MIGRATIONS
from coordinator.store.sqlite_store import SqliteStore
from fleet_runtime.clock import FakeClock
from protocol import CommandAck


def _log(store: SqliteStore, clock: FakeClock, **kw: object) -> CommandLog:
    return CommandLog(
        store=store.command_store(),
        publisher=InMemoryPublisher(),
        clock=clock,
        **kw,  # type: ignore[arg-type]
    )


def test_migration_adds_the_table_to_an_existing_database(tmp_path: Path) -> None:
    """A database made before m007 (with a node and a held order in it) gains the commands
    table when the store opens it, and keeps what it held."""
    path = tmp_path / "old.db"
    before = sqlite_utils.Migrations(MIGRATIONS.name)
    for migration in MIGRATIONS._migrations:
        if migration.name < "m007":
            before(name=migration.name)(migration.fn)
    with closing(sqlite3.connect(path)) as conn:
        db = sqlite_utils.Database(conn)
        before.apply(db)
        conn.execute(
            "INSERT INTO nodes (site, node, kind, last_seq) VALUES ('s1', 'm1', 'machine', 4)"
        )
        conn.execute(
            "INSERT INTO plan_orders (kind, id, body, accepted_ms, updated_ms)"
            " VALUES ('job', 'j1', '{}', 1, 1)"
        )
        conn.commit()
        assert "commands" not in db.table_names()
    store = SqliteStore(path, synchronous="NORMAL")
    try:
        assert [(n.site, n.node, n.last_seq) for n in store.load_nodes()] == [("s1", "m1", 4)]
        sent = _log(store, FakeClock()).send(site="s1", node="m1", name="rebirth", args={})
        assert store.command_store().get(sent.cmd_id) == sent
    finally:
        store.close()
    with closing(sqlite3.connect(path)) as conn:
        applied = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations")]
        assert "m007_commands" in applied
        assert conn.execute("SELECT count(*) FROM plan_orders").fetchone() == (1,)


def test_a_command_sent_before_a_restart_is_matched_after_it(tmp_path: Path) -> None:
    """The store is closed between sending and the answer: the reopened store still
    matches the ack (and still expires what stays unanswered)."""
    clock = FakeClock()
    first = SqliteStore(tmp_path / "c.db", synchronous="FULL")
    log = _log(first, clock)
    answered = log.send(site="s1", node="m1", name="config", args={"default_deadband": 1.0})
    silent = log.send(site="s1", node="m2", name="config", args={"default_deadband": 1.0})
    first.close()
    clock.advance(5.0)
    second = SqliteStore(tmp_path / "c.db", synchronous="FULL")
    try:
        again = _log(second, clock)
        ack = CommandAck(
            site="s1",
            node="m1",
            name="config",
            cmd_id=answered.cmd_id,
            ts=1_700_000_000_000,
            ok=True,
        )
        again.on_acks([ack])
        assert again.get(answered.cmd_id).state == "ok"
        clock.advance(60.0)
        assert [c.cmd_id for c in again.expire_due()] == [silent.cmd_id]
    finally:
        second.close()


def test_query_filters_newest_first(tmp_path: Path) -> None:
    """Commands are listed newest first, filtered by site, node and state."""
    store = SqliteStore(tmp_path / "c.db", synchronous="NORMAL")
    try:
        clock = FakeClock()
        log = _log(store, clock)
        ids = []
        for site, node in (("s1", "m1"), ("s1", "m2"), ("s2", "m1")):
            ids.append(log.send(site=site, node=node, name="rebirth", args={}).cmd_id)
            clock.advance(1.0)
        log.on_acks(
            [
                CommandAck(
                    site="s1",
                    node="m2",
                    name="rebirth",
                    cmd_id=ids[1],
                    ts=1_700_000_000_000,
                    ok=True,
                )
            ]
        )
        assert [c.cmd_id for c in log.query()] == ids[::-1]
        assert [c.cmd_id for c in log.query(limit=1)] == [ids[2]]
        assert [c.cmd_id for c in log.query(site="s1")] == [ids[1], ids[0]]
        assert [c.cmd_id for c in log.query(node="m1")] == [ids[2], ids[0]]
        assert [c.cmd_id for c in log.query(state="ok")] == [ids[1]]
        assert [c.cmd_id for c in log.query(site="s1", node="m1", state="sent")] == [ids[0]]
    finally:
        store.close()


def test_retention_drops_old_commands_and_caps_the_rows(tmp_path: Path) -> None:
    """`purge` deletes commands sent before the cut-off, then the oldest past the row cap."""
    store = SqliteStore(tmp_path / "c.db", synchronous="NORMAL")
    try:
        clock = FakeClock()
        log = _log(store, clock, max_rows=3)
        ids = []
        for _ in range(6):
            ids.append(log.send(site="s1", node="m1", name="rebirth", args={}).cmd_id)
            clock.advance(10.0)
        cutoff = log.get(ids[1]).sent_ms
        assert log.purge(before_ms=cutoff) == 1 + 2  # one too old, then two past the cap
        assert [c.cmd_id for c in log.query()] == ids[:2:-1]
        assert store.command_store().count() == 3
        assert log.purge(before_ms=cutoff) == 0
    finally:
        store.close()
