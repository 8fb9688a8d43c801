"""The SQLite outbox: atomic seq allocation, crash safety, bounds and the drop policy."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge_agent.errors import OutboxError, OutboxFull
from edge_agent.outbox import Outbox
from protocol import Birth, Event, SignalSpec, Telemetry, decode

TS = 1_700_000_000_000


def telemetry(seq: int, samples: int = 10) -> Telemetry:
    return Telemetry(
        site="s",
        node="n",
        bd_seq=1,
        seq=seq,
        ts=TS,
        samples=tuple(("x", TS + i, float(i)) for i in range(samples)),
    )


def event(seq: int) -> Event:
    return Event(site="s", node="n", bd_seq=1, seq=seq, ts=TS, name="fault", reason="r" * 200)


def test_seq_is_allocated_in_order_and_persists_across_reopen(tmp_path: Path) -> None:
    """Seqs are 0, 1, 2 … and continue after reopening; bd_seq grows per session."""
    box = Outbox(tmp_path / "o.db")
    assert box.begin_session() == 1
    rows = [box.append(telemetry, created_ms=TS, samples=10) for _ in range(3)]
    assert [r.seq for r in rows if r] == [0, 1, 2]
    box.remove([0, 1, 2])
    box.close()
    again = Outbox(tmp_path / "o.db")
    assert again.next_seq == 3
    assert again.bd_seq == 1
    assert again.begin_session() == 2
    row = again.append(telemetry, created_ms=TS, samples=10)
    assert row is not None
    assert row.seq == 3
    stats = again.stats()
    assert stats.produced_messages == 4
    assert stats.produced_samples == 40


def test_a_failing_build_does_not_consume_a_seq(tmp_path: Path) -> None:
    """An exception while building the message rolls everything back."""
    box = Outbox(tmp_path / "o.db")

    def broken(seq: int) -> Telemetry:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        box.append(broken, created_ms=TS)
    assert box.next_seq == 0
    assert box.stats().rows == 0


def test_remove_deletes_only_named_rows_and_pending_is_in_seq_order(tmp_path: Path) -> None:
    """Acked rows leave; the rest stay readable in order."""
    box = Outbox(tmp_path / "o.db")
    for _ in range(5):
        box.append(telemetry, created_ms=TS, samples=10)
    assert box.remove([1, 3, 99]) == 2
    assert [r.seq for r in box.pending()] == [0, 2, 4]
    assert [r.seq for r in box.pending(after_seq=0, limit=1)] == [2]
    assert box.lowest_pending_seq() == 0
    assert isinstance(decode(box.pending()[0].topic, box.pending()[0].payload), Telemetry)


def test_full_outbox_drops_oldest_telemetry_first_and_counts_it(tmp_path: Path) -> None:
    """Over the byte bound the oldest telemetry goes; events stay; drops are counted."""
    box = Outbox(tmp_path / "o.db", max_outbox_bytes=8 * 1024)
    box.append(event, created_ms=TS)
    for _ in range(40):
        box.append(telemetry, created_ms=TS, samples=10)
    stats = box.stats()
    assert stats.bytes <= 8 * 1024
    assert stats.dropped_messages > 0
    assert stats.dropped_samples == 10 * stats.dropped_messages
    kept = [r.seq for r in box.pending(limit=1000)]
    assert kept[0] == 0  # the event survived
    assert kept[1:] == list(range(41 - len(kept) + 1, 41))  # the newest telemetry
    assert stats.produced_messages == 41


def test_events_beyond_the_hard_limit_are_refused_loudly(tmp_path: Path) -> None:
    """With no telemetry left to drop, events fill up to the hard limit, then raise OutboxFull."""
    box = Outbox(tmp_path / "o.db", max_outbox_bytes=4096, hard_limit_factor=2.0)

    def fill() -> None:
        for _ in range(100):
            box.append(event, created_ms=TS)

    with pytest.raises(OutboxFull) as info:
        fill()
    assert info.value.limit == 8192
    stats = box.stats()
    assert stats.refused_messages == 1
    assert stats.dropped_messages == 0
    assert 4096 < stats.bytes <= 8192
    row = box.append(telemetry, created_ms=TS, samples=10)
    assert row is None  # telemetry that cannot fit is dropped (and counted), never an event
    assert box.stats().dropped_samples == 10


def test_a_birth_is_stored_even_past_the_hard_limit(tmp_path: Path) -> None:
    """A full outbox still takes the birth that opens the link period and drains it."""
    box = Outbox(tmp_path / "o.db", max_outbox_bytes=4096, hard_limit_factor=2.0)
    while box.stats().bytes + 434 <= 8192:  # one event is 434 bytes
        box.append(event, created_ms=TS)
    with pytest.raises(OutboxFull):
        box.append(event, created_ms=TS)
    held = box.stats().bytes

    def birth(seq: int) -> Birth:
        signals = tuple(SignalSpec(name=f"signal_{i}", unit="degC") for i in range(20))
        return Birth(
            site="s", node="n", bd_seq=1, seq=seq, ts=TS, node_kind="machine", signals=signals
        )

    row = box.append(birth, created_ms=TS)
    assert row is not None
    assert row.kind == "birth"
    assert box.stats().bytes == held + len(row.payload) > 8192
    assert box.stats().refused_messages == 1


def test_expire_drops_old_telemetry_only(tmp_path: Path) -> None:
    """Telemetry older than max_age_s is dropped and counted; events are kept."""
    box = Outbox(tmp_path / "o.db", max_age_s=60)
    box.append(telemetry, created_ms=TS, samples=10)
    box.append(event, created_ms=TS)
    box.append(telemetry, created_ms=TS + 59_000, samples=10)
    assert box.expire(TS + 61_000) == 1
    assert [r.kind for r in box.pending()] == ["event", "telemetry"]
    assert box.stats().dropped_samples == 10


def test_settings_round_trip(tmp_path: Path) -> None:
    """Persisted settings come back after reopening."""
    box = Outbox(tmp_path / "o.db")
    box.save_settings({"live": {"sampling_interval_ms": 250}})
    box.close()
    assert Outbox(tmp_path / "o.db").load_settings() == {"live": {"sampling_interval_ms": 250}}


def test_a_file_that_is_not_a_database_raises_outbox_error(tmp_path: Path) -> None:
    """Garbage in the outbox file is reported as OutboxError, not a sqlite3 exception."""
    path = tmp_path / "o.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(OutboxError):
        Outbox(path)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    """An outbox written by a newer agent is not touched."""
    path = tmp_path / "o.db"
    Outbox(path).close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version=99")
    with pytest.raises(OutboxError, match="newer"):
        Outbox(path)


WRITER = """
import sys, time
from pathlib import Path
from edge_agent.outbox import Outbox
from protocol import Telemetry
box = Outbox(Path(sys.argv[1]))
box.begin_session()
print("ready", flush=True)
def build(seq):
    return Telemetry(site="s", node="n", bd_seq=box.bd_seq, seq=seq, ts=1_700_000_000_000,
                     samples=tuple(("x", 1_700_000_000_000 + i, float(seq)) for i in range(50)))
while True:
    box.append(build, created_ms=1_700_000_000_000, samples=50)
"""


@pytest.mark.slow
def test_kill_9_mid_write_never_loses_or_reuses_a_seq(tmp_path: Path) -> None:
    """SIGKILL during appends leaves a consistent outbox: seqs 0..next_seq-1 all present once."""
    path = tmp_path / "o.db"
    for round_ in range(4):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.3 + 0.1 * round_)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        box = Outbox(path)
        stats = box.stats()
        seqs = [r.seq for r in box.pending(limit=10**6)]
        assert seqs == list(range(stats.next_seq))
        assert stats.produced_messages == stats.next_seq
        assert stats.bd_seq == round_ + 1
        assert stats.produced_samples == 50 * stats.next_seq
        for row in box.pending(limit=10**6)[-5:]:
            assert decode(row.topic, row.payload).seq == row.seq  # type: ignore[union-attr]
        box.close()
    assert stats.next_seq > 4


def test_a_database_with_a_foreign_outbox_table_raises_outbox_error(tmp_path: Path) -> None:
    """A database whose tables do not have the outbox's shape is refused with OutboxError."""
    path = tmp_path / "o.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE counters (name TEXT, something_else BLOB)")
    with pytest.raises(OutboxError):
        Outbox(path)


def test_reports_and_device_state_are_stored_together_or_not_at_all(tmp_path: Path) -> None:
    """`append_with_state`: the events and the state land in one transaction; a failure in
    the middle (a bad build, or no room) leaves neither, and no seq is used up."""
    box = Outbox(tmp_path / "o.db", max_outbox_bytes=4096, hard_limit_factor=2.0)
    rows = box.append_with_state([event, event], created_ms=TS, state={"device": {"n": 1}})
    assert [r.seq for r in rows] == [0, 1]
    assert box.load_settings()["device"] == {"n": 1}

    def broken(seq: int) -> Event:
        raise ValueError("device data not encodable")

    with pytest.raises(ValueError, match="not encodable"):
        box.append_with_state([event, broken], created_ms=TS, state={"device": {"n": 2}})
    assert box.load_settings()["device"] == {"n": 1}
    assert box.stats().next_seq == 2
    with pytest.raises(OutboxFull):
        box.append_with_state([event] * 40, created_ms=TS, state={"device": {"n": 3}})
    assert box.load_settings()["device"] == {"n": 1}
    assert box.stats().next_seq == 2
    assert box.stats().refused_messages == 1
    box.close()
    again = Outbox(tmp_path / "o.db")
    assert again.load_settings()["device"] == {"n": 1}
    assert [r.seq for r in again.pending()] == [0, 1]
