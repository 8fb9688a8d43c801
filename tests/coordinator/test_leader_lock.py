"""The leader lock on a real PostgreSQL: one holder per coordinator name, released when the
holder's session ends, and a leader told at once when its lock's session is gone."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest

from coordinator.errors import ConfigError, StoreUnavailable
from coordinator.leadership import LeaderWatch
from coordinator.settings import load_settings
from coordinator.store.leader_lock import LeaderLock, lock_key
from flexfleet.broker import free_port


def test_one_holder_per_name_and_release_on_close(postgres_url: str) -> None:
    """Of two locks of one name only the first is held; another name is independent; the
    second gets it once the first is closed."""
    first, second = LeaderLock(postgres_url, "c1"), LeaderLock(postgres_url, "c1")
    other = LeaderLock(postgres_url, "c2")
    try:
        assert first.try_acquire() is True
        assert second.try_acquire() is False
        assert other.try_acquire() is True
        assert first.still_held() is True
        first.close()
        assert second.try_acquire() is True
    finally:
        for lock in (first, second, other):
            lock.close()


def test_session_ended_by_the_server_releases_the_lock_and_tells_the_leader(
    postgres_url: str,
) -> None:
    """The holder's backend terminated (as when its process dies): the watch calls
    `on_lost`, and a standby's watch acquires and calls `on_acquired`."""
    leader, standby = LeaderLock(postgres_url, "c1"), LeaderLock(postgres_url, "c1")
    lost, acquired = threading.Event(), threading.Event()
    leading = LeaderWatch(leader, on_acquired=lambda: None, on_lost=lost.set, poll_s=0.05)
    waiting = LeaderWatch(standby, on_acquired=acquired.set, on_lost=lambda: None, poll_s=0.05)
    try:
        assert leader.try_acquire()
        leading.start()
        waiting.start()
        assert not acquired.wait(0.3)  # stands by while the leader holds it
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            key = lock_key("c1") & 0xFFFF_FFFF_FFFF_FFFF  # the two oids PostgreSQL shows
            ended = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                " AND granted AND classid::bigint = %s AND objid::bigint = %s",
                (key >> 32, key & 0xFFFF_FFFF),
            ).fetchall()
            assert ended == [(True,)]
        assert lost.wait(10), "the leader was not told its lock was lost"
        assert acquired.wait(10), "the standby did not take the lock"
        assert leader.held is False
        assert standby.held is True
    finally:
        leading.stop()
        waiting.stop()
        leader.close()
        standby.close()


def test_unreachable_server_is_store_unavailable_and_the_watch_keeps_standing_by() -> None:
    """No server: `try_acquire` raises StoreUnavailable naming the server; the watch logs
    and keeps asking instead of failing."""
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/none"
    lock = LeaderLock(url, "c1", connect_timeout_s=1)
    with pytest.raises(StoreUnavailable, match="leader lock"):
        lock.try_acquire()
    called: list[str] = []
    watch = LeaderWatch(
        lock, on_acquired=lambda: called.append("acquired"), on_lost=lambda: called.append("lost")
    )
    watch.step()
    assert called == []
    assert lock.held is False


def test_lock_keys_differ_by_name_and_stay_the_same() -> None:
    """Each coordinator name has its own 64-bit key, the same in every process."""
    assert lock_key("c1") == lock_key("c1")
    assert lock_key("c1") != lock_key("c2")
    assert -(2**63) <= lock_key("c1") < 2**63


def test_leader_lock_needs_postgresql(tmp_path: Path) -> None:
    """leader_lock on the embedded SQLite store is a configuration error."""
    with pytest.raises(ConfigError, match="leader_lock"):
        load_settings(dev_mode=True, db_path=tmp_path / "c.db", leader_lock=True)
