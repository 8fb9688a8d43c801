"""The SQLite alarm store: restart survival, the one-active-alarm guarantee, filters, migrations."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
import sqlite_utils

from coordinator.alarms.lifecycle import make_trigger, open_alarm
from coordinator.alarms.model import AlarmQuery
from coordinator.alarms.service import AlarmService
from coordinator.alarms.store import ALARM_MIGRATIONS, AlarmStore, apply_alarm_migrations
from coordinator.alarms.wiring import build_alarm_service
from coordinator.errors import StoreError
from coordinator.notify.delivery import DeliveryRecord
from fleet_runtime.clock import FakeClock, now_ms


def test_restart_keeps_alarms_history_and_comments(db_path: Path, clock: FakeClock) -> None:
    """Closing and reopening the database keeps alarms, transitions, comments and dedupe."""
    first = AlarmService(store=AlarmStore.open(db_path), clock=clock)
    a = first.raise_alarm(
        site="s1", source="n1", alarm_type="t", severity="MAJOR", message="m", ts_ms=1
    )
    first.acknowledge(a.alarm_id, actor="ana")
    first.add_comment(a.alarm_id, actor="ana", text="on it")
    first.close()

    second = AlarmService(store=AlarmStore.open(db_path), clock=clock)
    try:
        detail = second.get(a.alarm_id)
        assert detail.alarm.status == "ACTIVE_ACK"
        assert [t.action for t in detail.transitions] == ["CREATED", "ACKNOWLEDGED", "COMMENTED"]
        assert [c.text for c in detail.comments] == ["on it"]
        again = second.raise_alarm(
            site="s1", source="n1", alarm_type="t", severity="MAJOR", message="m", ts_ms=2
        )
        assert (again.alarm_id, again.count) == (a.alarm_id, 2)  # dedupe survives restart
    finally:
        second.close()


def test_database_refuses_two_active_alarms_on_one_key(db_path: Path) -> None:
    """The partial unique index keeps one active alarm per key even if callers race."""
    store = AlarmStore.open(db_path)
    try:
        trigger = make_trigger(
            site="s1",
            source="n1",
            alarm_type="t",
            severity="MINOR",
            message="",
            details={},
            ts_ms=1,
        )
        store.save(*open_alarm(trigger, alarm_id="a1"))
        with pytest.raises(StoreError) as info:
            store.save(*open_alarm(trigger, alarm_id="a2"))
        assert isinstance(info.value.__cause__, sqlite3.IntegrityError)
        assert store.get("a2") is None  # the failed write left nothing behind
        assert store.transitions("a2") == []
    finally:
        store.close()


def test_migrations_are_idempotent_and_share_a_file(db_path: Path) -> None:
    """Applying twice is harmless, and another migration set in the same file is untouched."""
    other = sqlite_utils.Migrations("someone_else")

    @other()
    def m001(db: sqlite_utils.Database) -> None:
        db.execute("CREATE TABLE samples (x INTEGER)")

    db = sqlite_utils.Database(db_path)
    other.apply(db)
    apply_alarm_migrations(db)
    apply_alarm_migrations(db)
    assert {"alarms", "alarm_transitions", "alarm_comments", "alarm_webhook_deliveries"} <= set(
        db.table_names()
    )
    assert "samples" in db.table_names()
    assert [m.name for m in ALARM_MIGRATIONS.applied(db)] == ["m001_alarm_tables"]
    db.close()
    AlarmStore.open(db_path).close()  # opening over an up-to-date file works too


def test_store_uses_wal(db_path: Path) -> None:
    """The alarm store's connection puts the file in WAL mode."""
    AlarmStore.open(db_path).close()
    db = sqlite_utils.Database(db_path)
    assert db.journal_mode == "wal"
    db.close()


@pytest.fixture
def populated(db_path: Path, clock: FakeClock) -> AlarmService:
    svc = AlarmService(store=AlarmStore.open(db_path), clock=clock)
    t = now_ms(clock)
    svc.raise_alarm(site="s1", source="n1", alarm_type="hot", severity="MAJOR", message="", ts_ms=t)
    b = svc.raise_alarm(
        site="s1", source="n2", alarm_type="hot", severity="MINOR", message="", ts_ms=t + 10
    )
    c = svc.raise_alarm(
        site="s2", source="n1", alarm_type="cold", severity="CRITICAL", message="", ts_ms=t + 20
    )
    svc.acknowledge(b.alarm_id, actor="ana")
    clock.advance(1)
    svc.clear_alarm(c.alarm_id, actor="ana")
    svc.assign(b.alarm_id, actor="ana", assignee="bo")
    return svc


def _ids(svc: AlarmService, **kw: object) -> list[tuple[str, str]]:
    return [(a.site, a.source) for a in svc.list_alarms(AlarmQuery(**kw))]  # type: ignore[arg-type]


def test_query_filters(populated: AlarmService, clock: FakeClock) -> None:
    """Status, severity, site, source, type, assignee and paging filters select the right alarms."""
    svc = populated
    t0 = now_ms(clock) - 1000
    assert _ids(svc) == [("s2", "n1"), ("s1", "n2"), ("s1", "n1")]  # newest first
    assert _ids(svc, statuses=frozenset({"ACTIVE_ACK"})) == [("s1", "n2")]
    assert _ids(svc, statuses=frozenset({"ACTIVE_UNACK", "CLEARED_UNACK"})) == [
        ("s2", "n1"),
        ("s1", "n1"),
    ]
    assert _ids(svc, severities=frozenset({"MAJOR", "MINOR"})) == [("s1", "n2"), ("s1", "n1")]
    assert _ids(svc, site="s1", source="n1") == [("s1", "n1")]
    assert _ids(svc, alarm_type="cold") == [("s2", "n1")]
    assert _ids(svc, assignee="bo") == [("s1", "n2")]
    assert _ids(svc, limit=1, offset=1) == [("s1", "n2")]
    assert _ids(svc, until_ms=t0 + 10) == [("s1", "n1")]
    assert _ids(svc, since_ms=now_ms(clock) + 1) == [("s1", "n2"), ("s1", "n1")]  # c cleared
    svc.close()


def test_query_limit_is_capped(populated: AlarmService) -> None:
    """A huge or negative limit/offset is clamped instead of failing."""
    assert len(populated.list_alarms(AlarmQuery(limit=10**9, offset=-5))) == 3
    assert populated.list_alarms(AlarmQuery(limit=-1)) == []
    populated.close()


def test_counts_by_status_and_severity(populated: AlarmService) -> None:
    """Counts group alarms by (status, severity) for the metrics endpoint."""
    assert populated.counts() == {
        ("ACTIVE_UNACK", "MAJOR"): 1,
        ("ACTIVE_ACK", "MINOR"): 1,
        ("CLEARED_UNACK", "CRITICAL"): 1,
    }
    populated.close()


def test_delivery_log_round_trip(db_path: Path) -> None:
    """Webhook delivery records are stored and read back in order, per alarm."""
    store = AlarmStore.open(db_path)
    try:
        for attempt, outcome in ((1, "retrying"), (2, "delivered")):
            store.record_delivery(
                DeliveryRecord(
                    delivery_id="d1",
                    alarm_id="a1",
                    event="created",
                    url="http://x/",
                    attempt=attempt,
                    outcome=outcome,  # type: ignore[arg-type]
                    status_code=500 if attempt == 1 else 200,
                    error="",
                    ts_ms=attempt,
                )
            )
        assert [r.outcome for r in store.deliveries(alarm_id="a1")] == ["retrying", "delivered"]
        assert store.deliveries(alarm_id="other") == []
    finally:
        store.close()


def test_purge_removes_old_cleared_alarms_and_their_history(
    db_path: Path, clock: FakeClock
) -> None:
    """Purging deletes alarms cleared before the cutoff with everything they own, nothing else."""
    svc = AlarmService(store=AlarmStore.open(db_path), clock=clock)
    try:
        t = now_ms(clock)
        old = svc.raise_alarm(
            site="s1", source="a", alarm_type="t", severity="MINOR", message="", ts_ms=t
        )
        svc.add_comment(old.alarm_id, actor="ana", text="note")
        svc.clear_alarm(old.alarm_id, actor="ana")
        active = svc.raise_alarm(
            site="s1", source="b", alarm_type="t", severity="MINOR", message="", ts_ms=t
        )
        clock.advance(3600)
        recent = svc.raise_alarm(
            site="s1", source="c", alarm_type="t", severity="MINOR", message="", ts_ms=t
        )
        svc.clear_alarm(recent.alarm_id, actor="ana")
        assert svc.purge_cleared(older_than_s=1800) == 1
        assert {a.alarm_id for a in svc.list_alarms()} == {active.alarm_id, recent.alarm_id}
        assert svc.store.transitions(old.alarm_id) == []
        assert svc.store.comments(old.alarm_id) == []
        assert svc.purge_cleared(older_than_s=1800) == 0
    finally:
        svc.close()


def test_maintenance_purges_cleared_alarms_on_its_schedule(db_path: Path, clock: FakeClock) -> None:
    """`maintain` purges alarms cleared longer ago than the retention, at most once per purge
    interval (by the clock); active alarms stay."""
    svc = AlarmService(
        store=AlarmStore.open(db_path), clock=clock, cleared_retention_s=60, purge_interval_s=600
    )
    try:

        def raised(source: str) -> str:
            return svc.raise_alarm(
                site="s1",
                source=source,
                alarm_type="t",
                severity="MINOR",
                message="",
                ts_ms=now_ms(clock),
            ).alarm_id

        active = raised("active")
        svc.clear_alarm(raised("a"), actor="ana")
        svc.maintain()  # the first run purges, but nothing is old enough yet
        assert svc.purged == 0
        clock.advance(61)
        svc.maintain()  # a purge is still not due (600 s interval)
        assert svc.purged == 0
        clock.advance(540)
        svc.maintain()
        assert svc.purged == 1
        assert [a.alarm_id for a in svc.list_alarms()] == [active]
        b = raised("b")
        svc.clear_alarm(b, actor="ana")
        clock.advance(61)
        svc.maintain()  # old enough, but the last purge was 61 s ago
        assert {a.alarm_id for a in svc.list_alarms()} == {active, b}
        clock.advance(540)
        svc.maintain()
        assert [a.alarm_id for a in svc.list_alarms()] == [active]
        assert svc.purged == 2
    finally:
        svc.close()


def test_without_a_retention_nothing_is_purged(db_path: Path, clock: FakeClock) -> None:
    """The default keeps cleared alarms for ever."""
    svc = AlarmService(store=AlarmStore.open(db_path), clock=clock)
    try:
        alarm = svc.raise_alarm(
            site="s1", source="a", alarm_type="t", severity="MINOR", message="", ts_ms=0
        )
        svc.clear_alarm(alarm.alarm_id, actor="ana")
        clock.advance(10 * 365 * 86400)
        svc.maintain()
        assert len(svc.list_alarms()) == 1
    finally:
        svc.close()


def test_started_service_purges_in_the_background(db_path: Path, clock: FakeClock) -> None:
    """The wired service with a retention purges from its maintenance thread once started."""
    svc = build_alarm_service(db_path=db_path, clock=clock, cleared_retention_s=60)
    try:
        alarm = svc.raise_alarm(
            site="s1",
            source="a",
            alarm_type="t",
            severity="MINOR",
            message="",
            ts_ms=now_ms(clock),
        )
        svc.clear_alarm(alarm.alarm_id, actor="ana")
        clock.advance(61)
        svc.start(escalation_check_interval_s=0.01)
        for _ in range(500):
            if not svc.list_alarms():
                break
            time.sleep(0.01)
        assert svc.list_alarms() == []
        assert svc.purged == 1
    finally:
        svc.close()


def test_sqlite_failures_become_store_errors(tmp_path: Path) -> None:
    """A file that is not a database, or a locked one, raises the coordinator's StoreError."""
    bad = tmp_path / "not-a-db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError):
        AlarmStore.open(bad)
    path = tmp_path / "c.db"
    store = AlarmStore.open(path, busy_timeout_s=0.05)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        trigger = make_trigger(
            site="s1",
            source="n1",
            alarm_type="t",
            severity="MINOR",
            message="",
            details={},
            ts_ms=1,
        )
        with pytest.raises(StoreError) as info:
            store.save(*open_alarm(trigger, alarm_id="a1"))
        assert info.value.operation == "write"
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        store.close()
