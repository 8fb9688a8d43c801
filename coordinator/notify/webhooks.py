"""Webhook notifications: HTTP POST of the event JSON, retried with capped jittered backoff,
every attempt written to the delivery log.

`notify` only enqueues; `workers` threads (2 by default) do the HTTP, so a slow or dead
receiver never holds up an alarm trigger, and one hanging request does not stall the rest. The queue is bounded (`max_queue`); when it is full new
deliveries are logged as `dropped`. Retries wait in a time-ordered heap, so one receiver's
backoff does not delay deliveries to the others.

Receivers can check authenticity: with a secret, each request carries
`X-Flexfleet-Signature: sha256=<hex HMAC of the body>`.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from coordinator.notify.delivery import DeliveryLog, DeliveryRecord, Outcome
from coordinator.notify.events import URGENT_KINDS, AlarmEvent
from fleet_runtime.backoff import next_delay

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    """A receiver URL (http or https) and an optional signing secret."""

    url: str
    secret: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError(f"webhook URL must be http(s)://host/...: {self.url[:200]!r}")


@dataclass(order=True)
class _Pending:
    due_s: float
    order: int
    delivery_id: str = field(compare=False)
    target: WebhookTarget = field(compare=False)
    event: AlarmEvent = field(compare=False)
    body: bytes = field(compare=False)
    attempt: int = field(compare=False, default=1)


def _wall_ms() -> int:
    return int(time.time() * 1000)


class WebhookNotifier:
    """Delivers selected alarm events to each target from background threads."""

    def __init__(
        self,
        *,
        targets: Iterable[WebhookTarget],
        log: DeliveryLog,
        kinds: Iterable[str] = URGENT_KINDS,
        max_attempts: int = 5,
        base_delay_s: float = 1.0,
        max_delay_s: float = 60.0,
        timeout_s: float = 5.0,
        max_queue: int = 1000,
        workers: int = 2,
        transport: httpx.BaseTransport | None = None,
        rng: random.Random | None = None,
        wall_ms: Callable[[], int] = _wall_ms,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self._workers = workers
        self._targets = tuple(targets)
        self._log = log
        self._kinds = frozenset(kinds)
        self._max_attempts = max_attempts
        self._base_delay_s = base_delay_s
        self._max_delay_s = max_delay_s
        self._max_queue = max_queue
        self._rng = rng or random.Random()
        self._wall_ms = wall_ms
        self._client = httpx.Client(timeout=timeout_s, transport=transport)
        self._heap: list[_Pending] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._in_flight = 0
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self.delivered = 0
        self.failed = 0
        self.dropped = 0
        self.retried = 0

    @property
    def targets(self) -> tuple[WebhookTarget, ...]:
        """The configured receivers."""
        return self._targets

    def start(self) -> None:
        """Start the delivery threads (idempotent)."""
        with self._cond:
            if self._threads:
                return
            for i in range(self._workers):
                thread = threading.Thread(target=self._run, name=f"webhooks-{i}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def close(self, *, timeout_s: float = 5.0) -> None:
        """Stop the threads; deliveries still waiting are logged as dropped."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            threads = list(self._threads)
        deadline = time.monotonic() + timeout_s
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._cond:
            left, self._heap = self._heap, []
        for pending in left:
            self._record(pending, "dropped", None, "shut down before delivery")
            self._count("dropped")
        self._client.close()

    def notify(self, event: AlarmEvent) -> None:
        """Queue the event for every target if its kind is selected; never blocks."""
        if event.kind not in self._kinds or not self._targets:
            return
        body = event.to_json()
        for target in self._targets:
            pending = _Pending(
                due_s=time.monotonic(),
                order=next(self._order),
                delivery_id=uuid.uuid4().hex,
                target=target,
                event=event,
                body=body,
            )
            with self._cond:
                full = self._stopping or len(self._heap) >= self._max_queue
                if not full:
                    heapq.heappush(self._heap, pending)
                    self._cond.notify()
            if full:
                self._count("dropped")
                self._record(pending, "dropped", None, "delivery queue full")

    def _count(self, outcome: str) -> None:
        with self._cond:  # several workers and callers update the counters
            setattr(self, outcome, getattr(self, outcome) + 1)

    def wait_idle(self, *, timeout_s: float) -> bool:
        """Block until nothing is queued or in flight; False on timeout (for tests, shutdown)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._heap or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.05))
        return True

    def _next(self) -> _Pending | None:
        with self._cond:
            while not self._stopping:
                if self._heap:
                    wait_s = self._heap[0].due_s - time.monotonic()
                    if wait_s <= 0:
                        self._in_flight += 1
                        return heapq.heappop(self._heap)
                    self._cond.wait(wait_s)
                else:
                    self._cond.wait()
            return None

    def _run(self) -> None:
        while (pending := self._next()) is not None:
            try:
                self._attempt(pending)
            except Exception:  # the worker must outlive any single bad delivery
                _log.exception("webhook delivery %s crashed", pending.delivery_id)
            finally:
                with self._cond:
                    self._in_flight -= 1
                    self._cond.notify_all()

    def _headers(self, pending: _Pending) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "flexfleet-alarms",
            "X-Flexfleet-Event": pending.event.kind,
            "X-Flexfleet-Delivery": pending.delivery_id,
        }
        if pending.target.secret:
            digest = hmac.new(pending.target.secret.encode(), pending.body, hashlib.sha256)
            headers["X-Flexfleet-Signature"] = f"sha256={digest.hexdigest()}"
        return headers

    def _attempt(self, pending: _Pending) -> None:
        status: int | None = None
        error = ""
        try:
            response = self._client.post(
                pending.target.url, content=pending.body, headers=self._headers(pending)
            )
            status = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        if status is not None and 200 <= status < 300:
            self._count("delivered")
            self._record(pending, "delivered", status, "")
            return
        # 408 and 429 mean "later"; other 4xx mean the receiver will never take it.
        retryable = status is None or status >= 500 or status in {408, 429}
        if status is not None:
            error = f"HTTP {status}"
        if not retryable or pending.attempt >= self._max_attempts:
            self._count("failed")
            self._record(pending, "failed", status, error)
            return
        self._record(pending, "retrying", status, error)
        # Attempt 1 failed: that is retry 0 of the shared policy.
        delay_s = next_delay(
            pending.attempt - 1, self._rng, base_s=self._base_delay_s, cap_s=self._max_delay_s
        )
        self._count("retried")
        pending.attempt += 1
        pending.due_s = time.monotonic() + delay_s
        with self._cond:
            heapq.heappush(self._heap, pending)
            self._cond.notify()

    def _record(
        self, pending: _Pending, outcome: Outcome, status_code: int | None, error: str
    ) -> None:
        record = DeliveryRecord(
            delivery_id=pending.delivery_id,
            alarm_id=pending.event.alarm_id,
            event=pending.event.kind,
            url=pending.target.url,
            attempt=pending.attempt,
            outcome=outcome,
            status_code=status_code,
            error=error,
            ts_ms=self._wall_ms(),
        )
        try:
            self._log.record_delivery(record)
        except Exception:  # a full disk must not stop deliveries
            _log.exception("could not log webhook delivery %s", pending.delivery_id)
