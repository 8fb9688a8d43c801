"""/metrics exposes the alarm side: counts per status and severity, the notification
channels' counters (webhook outcomes against a real HTTP receiver, MQTT alerts, SSE clients)
and the alarm fast lane's."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from coordinator.api.app import create_app
from coordinator.ingest.records import RawMessage
from coordinator.settings import load_settings
from tests.coordinator.conftest import T0_MS, Node, raw, serve


@pytest.fixture
def hook_url() -> Iterator[str]:
    """A real HTTP receiver that answers its first POST with 500 and the rest with 200."""
    statuses = [500]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(statuses.pop(0) if statuses else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_metrics_show_alarm_counts_channels_and_fast_lane(tmp_path: Path, hook_url: str) -> None:
    """Two alarms raised (one through the fast lane), one webhook attempt answered 500 and
    retried, one client on the SSE stream: /metrics says so, with zero for the other pairs."""
    settings = load_settings(
        dev_mode=True,
        db_path=tmp_path / "c.db",
        broker_url="mqtt://127.0.0.1:1",  # never connected: alerts stay queued in paho
        webhook_urls=(hook_url,),
    )
    app = create_app(settings, start_service=False)
    with (
        serve(app) as url,
        httpx.Client(base_url=url, timeout=10) as client,
        client.stream("GET", "/api/v1/alarms/stream?snapshot=false") as stream,
    ):
        lines = stream.iter_lines()
        assert next(line for line in lines if line.startswith("event:")) == "event: ready"
        coordinator = app.state.coordinator
        alarms, lane = coordinator.alarms, coordinator.fast_lane
        alarms.start()  # the webhook workers
        alarms.raise_alarm(
            site="s1", source="m9", alarm_type="t", severity="MAJOR", message="m", ts_ms=T0_MS
        )
        assert lane.offer(raw(Node().event("raised")))
        assert not lane.offer(RawMessage("ff/v1/s1/m1/event", b"not json", T0_MS))
        assert not lane.offer(raw(Node(node="m7").death()))  # never born: left to the writer
        deadline = time.monotonic() + 30
        while alarms.channel_stats()["webhooks_delivered"] < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        text = client.get("/metrics").text
    expected = [
        'flexfleet_alarms{severity="MAJOR",status="ACTIVE_UNACK"} 2.0',
        'flexfleet_alarms{severity="CRITICAL",status="CLEARED_ACK"} 0.0',
        'flexfleet_alarm_webhook_deliveries_total{outcome="delivered"} 2.0',
        'flexfleet_alarm_webhook_deliveries_total{outcome="retried"} 1.0',
        'flexfleet_alarm_webhook_deliveries_total{outcome="failed"} 0.0',
        'flexfleet_alarm_mqtt_alerts_total{outcome="published"} 2.0',
        "flexfleet_alarm_sse_clients 1.0",
        "flexfleet_alarms_purged_total 0.0",
        'flexfleet_alarm_fast_lane_events_total{outcome="dispatched"} 1.0',
        'flexfleet_alarm_fast_lane_events_total{outcome="ignored"} 1.0',
        'flexfleet_alarm_fast_lane_deaths_total{outcome="dispatched"} 0.0',
        'flexfleet_alarm_fast_lane_deaths_total{outcome="left_to_writer"} 1.0',
    ]
    assert [line for line in expected if line not in text] == []


def test_feedback_counts_per_detector_and_signal_in_metrics(tmp_path: Path) -> None:
    """Operators' verdicts through POST /alarms/{id}/feedback show in /metrics per detector
    and signal, an incident counting each signal it names; the latest verdict counts."""
    settings = load_settings(dev_mode=True, db_path=tmp_path / "c.db")
    app = create_app(settings, start_service=False)
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        alarms = app.state.coordinator.alarms
        anomaly = alarms.raise_alarm(
            site="s1",
            source="m1/spindle_temp_c",
            alarm_type="anomaly.baseline",
            severity="MINOR",
            message="hot",
            ts_ms=T0_MS,
        )
        data = {
            "machine": "m05",
            "signals": "m05.vibration_rms_mm_s,m05.motor_current_a",
            "vibration_rms_mm_s.detector": "state_range",
            "motor_current_a.detector": "baseline",
        }
        incident = alarms.raise_alarm(
            site="s1",
            source="g1/m05",
            alarm_type="incident",
            severity="MINOR",
            message="vibration",
            details={"data": data},
            ts_ms=T0_MS,
        )
        path = "/api/v1/alarms/{}/feedback"
        first = client.post(path.format(anomaly.alarm_id), json={"verdict": "confirmed"})
        assert first.status_code == 201
        assert first.json()["action"] == "FEEDBACK"
        assert client.post(path.format(anomaly.alarm_id), json={"verdict": "false"}).is_success
        assert client.post(path.format(incident.alarm_id), json={"verdict": "false"}).is_success
        bad = client.post(path.format(anomaly.alarm_id), json={"verdict": "maybe"})
        assert bad.status_code == 422
        extra = client.post(path.format(anomaly.alarm_id), json={"verdict": "false", "x": 1})
        assert extra.status_code == 422
        huge = client.post(path.format(anomaly.alarm_id), content=b"{" * 100_000)
        assert huge.status_code in (413, 422)
        missing = client.post(path.format("a" * 26), json={"verdict": "false"})
        assert missing.status_code in (404, 422)
        text = client.get("/metrics").text
    assert (
        'flexfleet_alarm_feedback{detector="baseline",signal="m1/spindle_temp_c",'
        'verdict="false"} 1.0' in text
    )
    assert 'verdict="confirmed"' not in text  # overruled by the later verdict
    assert (
        'flexfleet_alarm_feedback{detector="state_range",signal="g1/m05.vibration_rms_mm_s",'
        'verdict="false"} 1.0' in text
    )
    assert (
        'flexfleet_alarm_feedback{detector="baseline",signal="g1/m05.motor_current_a",'
        'verdict="false"} 1.0' in text
    )


def test_feedback_survives_a_restart(tmp_path: Path) -> None:
    """A verdict is stored with the alarm's history: a reopened store still counts it."""
    from coordinator.alarms.service import AlarmService
    from coordinator.alarms.store import AlarmStore
    from fleet_runtime.clock import FakeClock

    db = tmp_path / "c.db"
    first = AlarmService(store=AlarmStore.open(db), clock=FakeClock())
    alarm = first.raise_alarm(
        site="s1",
        source="n/t",
        alarm_type="anomaly.flatline",
        severity="WARNING",
        message="stuck",
        ts_ms=T0_MS,
    )
    first.give_feedback(alarm.alarm_id, actor="op", verdict="false")
    first.close()
    again = AlarmService(store=AlarmStore.open(db), clock=FakeClock())
    assert again.feedback_counts() == {("flatline", "n/t", "false"): 1}
    again.close()
