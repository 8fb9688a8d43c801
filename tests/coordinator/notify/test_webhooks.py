"""Webhooks against a real local HTTP receiver: delivery, retries after 500s, the log, signing."""

from __future__ import annotations

import hashlib
import hmac
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import orjson
import pytest

from coordinator.alarms.service import AlarmService
from coordinator.alarms.store import AlarmStore
from coordinator.notify.delivery import InMemoryDeliveryLog
from coordinator.notify.events import AlarmEvent
from coordinator.notify.webhooks import WebhookNotifier, WebhookTarget
from fleet_runtime.clock import FakeClock
from flexfleet.broker import free_port


@dataclass
class Receiver:
    """A scripted HTTP receiver: answers POSTs with `statuses` in turn (then 200)."""

    url: str
    statuses: list[int]
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    gate: threading.Event = field(default_factory=threading.Event)
    in_handler: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real http.server on a free loopback port, answering as scripted."""
    state = Receiver(url="", statuses=[])
    state.gate.set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with state.lock:
                state.in_handler += 1
            state.gate.wait(10)
            with state.lock:
                state.requests.append((dict(self.headers.items()), body))
                code = state.statuses.pop(0) if state.statuses else 200
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    state.gate.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


def make_event(kind: str = "created", alarm_id: str = "a1") -> AlarmEvent:
    return AlarmEvent(
        event_id=1,
        kind=kind,
        alarm_id=alarm_id,
        site="s1",
        severity="MAJOR",
        escalation_level=0,
        actor="system",
        ts_ms=1,
        alarm={"alarm_id": alarm_id, "status": "ACTIVE_UNACK"},
    )


def notifier(url: str, log: InMemoryDeliveryLog, **kw: object) -> WebhookNotifier:
    options: dict[str, object] = {
        "max_attempts": 4,
        "base_delay_s": 0.02,
        "max_delay_s": 0.05,
        "timeout_s": 2.0,
        "rng": random.Random(1),
    }
    options.update(kw)
    return WebhookNotifier(targets=[WebhookTarget(url, "s3cret")], log=log, **options)  # type: ignore[arg-type]


def test_delivery_retries_after_500s_then_succeeds(receiver: Receiver) -> None:
    """Two 500s then a 200: three POSTs of the same body, each attempt logged."""
    receiver.statuses = [500, 503]
    log = InMemoryDeliveryLog()
    hooks = notifier(receiver.url, log)
    hooks.start()
    try:
        hooks.notify(make_event())
        assert hooks.wait_idle(timeout_s=10)
    finally:
        hooks.close()
    assert [(r.attempt, r.outcome, r.status_code) for r in log.snapshot()] == [
        (1, "retrying", 500),
        (2, "retrying", 503),
        (3, "delivered", 200),
    ]
    assert len({r.delivery_id for r in log.snapshot()}) == 1
    bodies = [body for _, body in receiver.requests]
    assert len(bodies) == 3
    assert len(set(bodies)) == 1
    assert orjson.loads(bodies[0])["alarm_id"] == "a1"
    assert hooks.delivered == 1
    assert hooks.retried == 2


def test_requests_are_signed_and_labelled(receiver: Receiver) -> None:
    """Each POST carries the event kind, a delivery id and an HMAC-SHA256 of the body."""
    log = InMemoryDeliveryLog()
    hooks = notifier(receiver.url, log)
    hooks.start()
    try:
        hooks.notify(make_event("escalated"))
        assert hooks.wait_idle(timeout_s=10)
    finally:
        hooks.close()
    [(headers, body)] = receiver.requests
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Flexfleet-Signature"] == f"sha256={expected}"
    assert headers["X-Flexfleet-Event"] == "escalated"
    assert headers["Content-Type"] == "application/json"


def test_gives_up_after_max_attempts(receiver: Receiver) -> None:
    """A receiver that keeps failing gets max_attempts tries, the last logged as failed."""
    receiver.statuses = [500] * 10
    log = InMemoryDeliveryLog()
    hooks = notifier(receiver.url, log, max_attempts=3)
    hooks.start()
    try:
        hooks.notify(make_event())
        assert hooks.wait_idle(timeout_s=10)
    finally:
        hooks.close()
    assert [r.outcome for r in log.snapshot()] == ["retrying", "retrying", "failed"]
    assert len(receiver.requests) == 3
    assert hooks.failed == 1
    assert hooks.retried == 2


def test_client_error_is_not_retried(receiver: Receiver) -> None:
    """A 400 means the receiver will never accept it: one attempt, logged as failed."""
    receiver.statuses = [400]
    log = InMemoryDeliveryLog()
    hooks = notifier(receiver.url, log)
    hooks.start()
    try:
        hooks.notify(make_event())
        assert hooks.wait_idle(timeout_s=10)
    finally:
        hooks.close()
    assert [(r.outcome, r.status_code, r.error) for r in log.snapshot()] == [
        ("failed", 400, "HTTP 400")
    ]


def test_unreachable_receiver_is_retried_with_the_error_logged() -> None:
    """Connection refused is retried like a 5xx and the transport error is logged."""
    log = InMemoryDeliveryLog()
    hooks = notifier(f"http://127.0.0.1:{free_port()}/hook", log, max_attempts=2)
    hooks.start()
    try:
        hooks.notify(make_event())
        assert hooks.wait_idle(timeout_s=10)
    finally:
        hooks.close()
    records = log.snapshot()
    assert [r.outcome for r in records] == ["retrying", "failed"]
    assert all(r.status_code is None and "ConnectError" in r.error for r in records)


def test_notify_never_waits_for_the_receiver(receiver: Receiver) -> None:
    """While the receiver holds a request open, notify() still returns and queues more."""
    receiver.gate.clear()
    log = InMemoryDeliveryLog()
    hooks = notifier(receiver.url, log)
    hooks.start()
    try:
        hooks.notify(make_event(alarm_id="a1"))
        hooks.notify(make_event(alarm_id="a2"))  # returns although a1 is stuck in flight
        assert log.snapshot() == []
        receiver.gate.set()
        assert hooks.wait_idle(timeout_s=10)
    finally:
        hooks.close()
    assert sorted(r.alarm_id for r in log.snapshot()) == ["a1", "a2"]


def test_full_queue_drops_and_logs() -> None:
    """Past max_queue, deliveries are dropped and logged rather than growing memory."""
    log = InMemoryDeliveryLog()
    hooks = notifier("http://127.0.0.1:9/hook", log, max_queue=2)  # never started
    for i in range(4):
        hooks.notify(make_event(alarm_id=f"a{i}"))
    hooks.close()
    outcomes = [(r.alarm_id, r.outcome) for r in log.snapshot()]
    assert outcomes[:2] == [("a2", "dropped"), ("a3", "dropped")]
    assert sorted(outcomes[2:]) == [("a0", "dropped"), ("a1", "dropped")]  # shut down unsent
    assert hooks.dropped == 4


def test_unselected_kinds_are_not_sent() -> None:
    """Comments and repeat updates are not webhook-worthy by default."""
    log = InMemoryDeliveryLog()
    hooks = notifier("http://127.0.0.1:9/hook", log, max_queue=10)
    hooks.notify(make_event("commented"))
    hooks.notify(make_event("updated"))
    assert hooks.wait_idle(timeout_s=1)
    hooks.close()
    assert log.snapshot() == []


@pytest.mark.parametrize("url", ["ftp://x/", "not a url", "http://", "file:///etc/passwd"])
def test_bad_target_urls_are_refused(url: str) -> None:
    """Only http(s) URLs with a host can be webhook targets."""
    with pytest.raises(ValueError, match="webhook URL"):
        WebhookTarget(url)


def test_mock_transport_exception_is_contained() -> None:
    """An unexpected error inside the transport is logged as a retry, not a dead worker."""

    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    log = InMemoryDeliveryLog()
    hooks = notifier(
        "http://example.test/hook", log, max_attempts=2, transport=httpx.MockTransport(boom)
    )
    hooks.start()
    try:
        hooks.notify(make_event())
        assert hooks.wait_idle(timeout_s=10)
    finally:
        hooks.close()
    assert [r.outcome for r in log.snapshot()] == ["retrying", "failed"]


def test_service_webhooks_log_to_the_alarm_store(receiver: Receiver, tmp_path: Path) -> None:
    """End to end: an alarm trigger reaches the receiver and the delivery log in SQLite."""
    receiver.statuses = [500]
    store = AlarmStore.open(tmp_path / "c.db")
    hooks = WebhookNotifier(
        targets=[WebhookTarget(receiver.url)], log=store, base_delay_s=0.02, max_delay_s=0.05
    )
    svc = AlarmService(store=store, clock=FakeClock(), notifiers=[hooks])
    svc.start()
    try:
        alarm = svc.raise_alarm(
            site="s1", source="n1", alarm_type="t", severity="CRITICAL", message="m", ts_ms=1
        )
        assert hooks.wait_idle(timeout_s=10)
        records = store.deliveries(alarm_id=alarm.alarm_id)
        assert [(r.outcome, r.status_code) for r in records] == [
            ("retrying", 500),
            ("delivered", 200),
        ]
    finally:
        svc.close()
    payload = orjson.loads(receiver.requests[-1][1])
    assert (payload["kind"], payload["alarm"]["severity"]) == ("created", "CRITICAL")


def test_two_workers_deliver_while_one_request_hangs(receiver: Receiver) -> None:
    """With the default two workers, a second delivery goes out while the first is stuck."""
    receiver.gate.clear()
    log = InMemoryDeliveryLog()
    hooks = notifier(receiver.url, log)
    hooks.start()
    try:
        hooks.notify(make_event(alarm_id="a1"))
        hooks.notify(make_event(alarm_id="a2"))
        deadline = time.monotonic() + 10
        while receiver.in_handler < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert receiver.in_handler == 2  # both requests are at the receiver at once
        receiver.gate.set()
        assert hooks.wait_idle(timeout_s=10)
    finally:
        hooks.close()
    assert sorted(r.outcome for r in log.snapshot()) == ["delivered", "delivered"]
