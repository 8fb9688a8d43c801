"""How `Coordinator.open` wires the alarm side: its database file and its fast lane."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from coordinator.service import Coordinator
from coordinator.settings import load_settings


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    conn.close()
    return {name for (name,) in rows}


@pytest.mark.parametrize(
    ("alarm_db_path", "alarm_file"), [(None, "core-alarms.db"), ("elsewhere.db", "elsewhere.db")]
)
def test_alarm_tables_live_in_a_file_of_their_own(
    tmp_path: Path, alarm_db_path: str | None, alarm_file: str
) -> None:
    """The alarm tables are created beside the core file (or in `alarm_db_path`), not in
    the core file, so alarm writes never wait for an ingest transaction."""
    settings = load_settings(
        dev_mode=True,
        db_path=tmp_path / "core.db",
        alarm_db_path=tmp_path / alarm_db_path if alarm_db_path else None,
        broker_url="mqtt://127.0.0.1:1",
    )
    coordinator = Coordinator.open(settings)
    assert coordinator.alarms is not None
    try:
        alarm = coordinator.alarms.raise_alarm(
            site="s1", source="m1", alarm_type="t", severity="MINOR", message="", ts_ms=0
        )
    finally:
        coordinator.stop()
    assert "alarms" in _tables(tmp_path / alarm_file)
    assert "alarms" not in _tables(tmp_path / "core.db")
    assert "samples" in _tables(tmp_path / "core.db")
    with sqlite3.connect(tmp_path / alarm_file) as conn:
        assert conn.execute("SELECT alarm_id FROM alarms").fetchall() == [(alarm.alarm_id,)]
    conn.close()


def test_without_the_fast_lane_there_is_no_second_connection(tmp_path: Path) -> None:
    """`alarm_fast_lane = false` leaves events to the ordered ingest path alone."""
    settings = load_settings(
        dev_mode=True,
        db_path=tmp_path / "core.db",
        broker_url="mqtt://127.0.0.1:1",
        alarm_fast_lane=False,
    )
    coordinator = Coordinator.open(settings)
    try:
        assert coordinator.fast_lane is None
        assert coordinator.events_mqtt is None
        assert coordinator.alarms is not None
    finally:
        coordinator.stop()
