"""Pushing order transitions to the storefront's webhook: checked URLs, signed bodies,
retries with backoff, in order per order, durable across restarts.

Events are written with their transition (`coordinator.store.sales`); `WebhookPusher` sends
the oldest undelivered event of each order (so a receiver sees an order's events in order),
signed `X-Flexfleet-Signature: sha256=<hex HMAC of the body>` when a secret is set, each with
its id in `X-Flexfleet-Event` (`{order}:{seq}`) so receivers drop duplicates; a failure is
retried after `next_delay` (capped, jittered) until it succeeds.

Outside dev mode a webhook URL whose host is, or resolves to, a loopback, private,
link-local or otherwise non-public address is refused: the coordinator must not be a way
into the plant network.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import random
import socket
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from coordinator.sales.errors import OrderInvalid
from coordinator.sales.records import SalesStore, WebhookEvent
from fleet_runtime.backoff import next_delay
from fleet_runtime.clock import Clock, now_ms

log = logging.getLogger(__name__)

Resolver = Callable[[str], list[str]]


def _resolve(host: str) -> list[str]:
    try:
        return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None)})
    except (OSError, UnicodeError):  # UnicodeError: no IDNA form (a label over 63 chars)
        return []


def check_webhook_url(url: str, *, allow_private: bool, resolve: Resolver = _resolve) -> None:
    """Raise `OrderInvalid` (field `webhook_url`) unless `url` is http(s) to a public host."""
    try:
        parts = urlsplit(url)
        hostname = parts.hostname  # parsing a bracketed host may raise as well
    except ValueError:
        raise OrderInvalid("not a URL", field="webhook_url") from None
    if parts.scheme not in {"http", "https"} or not hostname:
        raise OrderInvalid("must be an http(s) URL with a host", field="webhook_url")
    if allow_private:
        return
    host = hostname
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        addresses = resolve(host)
        if not addresses:
            raise OrderInvalid(f"host {host!r} does not resolve", field="webhook_url") from None
    for address in addresses:
        ip = ipaddress.ip_address(address)
        if not ip.is_global:
            raise OrderInvalid(
                f"host {host!r} is a non-public address ({address})", field="webhook_url"
            )


def signature(secret: str, body: bytes) -> str:
    """The signature header value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookPusher:
    """A thread delivering due events; `run_once` is one pass (used by tests directly)."""

    def __init__(
        self,
        store: SalesStore,
        clock: Clock,
        *,
        secret: str | None = None,
        timeout_s: float = 5.0,
        base_delay_s: float = 1.0,
        cap_s: float = 300.0,
        batch: int = 100,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.secret = secret
        self.base_delay_s = base_delay_s
        self.cap_s = cap_s
        self.batch = batch
        self._client = httpx.Client(timeout=timeout_s, transport=transport)
        self._rng = random.Random()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.delivered = 0
        self.failed = 0

    def run_once(self) -> int:
        """Send every due event once; returns how many were delivered."""
        done = 0
        for event in self.store.due_webhooks(now_ms=now_ms(self.clock), limit=self.batch):
            if self._send(event):
                done += 1
        return done

    def _send(self, event: WebhookEvent) -> bool:
        headers = {
            "Content-Type": "application/json",
            "X-Flexfleet-Event": f"{event.order_id}:{event.seq}",
        }
        if self.secret:
            headers["X-Flexfleet-Signature"] = signature(self.secret, event.body)
        try:
            response = self._client.post(event.url, content=event.body, headers=headers)
            ok, error = response.is_success, f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            ok, error = False, f"{type(exc).__name__}: {exc}"
        if ok:
            self.store.webhook_done(event.order_id, event.seq, at_ms=now_ms(self.clock))
            self.delivered += 1
            return True
        attempts = event.attempts + 1
        delay = next_delay(attempts - 1, self._rng, base_s=self.base_delay_s, cap_s=self.cap_s)
        self.store.webhook_retry(
            event.order_id,
            event.seq,
            attempts=attempts,
            next_ms=now_ms(self.clock) + round(delay * 1000),
            error=error,
        )
        self.failed += 1
        if attempts == 1:
            log.warning("webhook %s for order %s failed: %s", event.url, event.order_id, error)
        return False

    def start(self, *, interval_s: float = 0.5) -> None:
        """Deliver in the background every `interval_s` until `close`."""

        def loop() -> None:
            while not self._stop.wait(interval_s):
                try:
                    self.run_once()
                except Exception:  # a store hiccup must not end deliveries for good
                    log.exception("webhook pass failed")

        self._thread = threading.Thread(target=loop, name="sales-webhooks", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the thread and the HTTP client."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        self._client.close()
