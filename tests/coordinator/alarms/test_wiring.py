"""build_alarm_service: the channels it wires from plain configuration values."""

from __future__ import annotations

from pathlib import Path

import pytest

from coordinator.alarms.wiring import build_alarm_service
from coordinator.notify.publisher import InMemoryPublisher
from fleet_runtime.clock import FakeClock


def test_wires_mqtt_and_webhooks(tmp_path: Path) -> None:
    """With a publisher and webhook URLs, a new alarm reaches the alert topic and the webhook queue."""
    publisher = InMemoryPublisher()
    service = build_alarm_service(
        db_path=tmp_path / "c.db",
        clock=FakeClock(),
        publisher=publisher,
        webhook_urls=["http://127.0.0.1:9/hook"],
        webhook_max_attempts=1,
        webhook_timeout_s=0.5,
    )
    service.start()
    try:
        alarm = service.raise_alarm(
            site="s1", source="n1", alarm_type="t", severity="MINOR", message="m", ts_ms=1
        )
        assert publisher.topics() == [f"ff/v1/s1/alerts/MINOR/{alarm.alarm_id}"]
    finally:
        service.close()
    # port 9 (discard) refuses on loopback: the single attempt is logged as failed or dropped
    reopened = build_alarm_service(db_path=tmp_path / "c.db", clock=FakeClock())
    try:
        outcomes = [r.outcome for r in reopened.deliveries(alarm.alarm_id)]
        assert outcomes in (["failed"], ["dropped"])
    finally:
        reopened.close()


def test_bad_webhook_url_is_refused_before_anything_opens(tmp_path: Path) -> None:
    """A non-http webhook URL raises ValueError and creates no database."""
    with pytest.raises(ValueError, match="webhook URL"):
        build_alarm_service(
            db_path=tmp_path / "c.db", clock=FakeClock(), webhook_urls=["gopher://x"]
        )
    assert not (tmp_path / "c.db").exists()
