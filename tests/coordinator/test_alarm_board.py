"""The alarm board on a real PostgreSQL: a coordinator's resync replaces its own sites' rows
only, and the feed writes the newest state of each alarm, also after its connection died."""

from __future__ import annotations

import psycopg

from coordinator.alarms.model import Alarm, AlarmQuery
from coordinator.notify.events import AlarmEvent
from coordinator.store.alarm_board import AlarmBoardFeed, PostgresAlarmBoard
from coordinator.store.postgres_store import PostgresStore
from tests.waiting import wait_until


def _alarm(alarm_id: str, site: str, *, start_ms: int = 1000, count: int = 1) -> Alarm:
    return Alarm(alarm_id=alarm_id, site=site, source="m1", alarm_type="overheat",
                 severity="MAJOR", message="hot", start_ms=start_ms, last_ms=start_ms,
                 count=count)  # fmt: skip


def _event(alarm: Alarm) -> AlarmEvent:
    return AlarmEvent(event_id=1, kind="updated", alarm_id=alarm.alarm_id, site=alarm.site,
                      severity=alarm.severity, escalation_level=0, actor="system",
                      ts_ms=alarm.last_ms, alarm=alarm.to_dict())  # fmt: skip


def test_resync_replaces_the_own_sites_rows_only(postgres_url: str) -> None:
    """Rows of the resyncing coordinator's sites become its alarms; another site's stay."""
    PostgresStore(postgres_url).close()  # the migrations
    board = PostgresAlarmBoard(postgres_url)
    try:
        board.put([_alarm("a1", "s1").to_dict(), _alarm("b1", "s2").to_dict()])
        AlarmBoardFeed(board, sites=("s1",)).resync([_alarm("a2", "s1", start_ms=2000)])
        assert [a.alarm_id for a in board.query(AlarmQuery())] == ["a2", "b1"]
        assert [a.alarm_id for a in board.query(AlarmQuery(), except_sites=("s2",))] == ["a2"]
    finally:
        board.close()


def test_feed_writes_the_newest_state_after_its_connection_was_killed(postgres_url: str) -> None:
    """The board's connection terminated by the server: the next changes are written once
    it reconnects, the newest count of the alarm winning."""
    PostgresStore(postgres_url).close()
    board = PostgresAlarmBoard(postgres_url, connect_timeout_s=2)
    feed = AlarmBoardFeed(board, sites=("s1",), retry_s=0.05)
    feed.start()
    try:
        feed.notify(_event(_alarm("a1", "s1")))
        wait_until(lambda: [a.count for a in board.query(AlarmQuery())] == [1])
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        for count in (2, 3):
            feed.notify(_event(_alarm("a1", "s1", count=count)))
        wait_until(lambda: [a.count for a in board.query(AlarmQuery())] == [3])
    finally:
        feed.close()
