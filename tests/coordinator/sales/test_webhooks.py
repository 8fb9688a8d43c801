"""Order webhooks against a real local HTTP receiver: in order per order, once each, signed,
retried after failures; and the URL check that keeps them off private networks."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson
import pytest

from coordinator.sales.errors import OrderInvalid
from coordinator.sales.lifecycle import Standing, Transition
from coordinator.sales.records import NewOrder, SalesOrder
from coordinator.sales.webhooks import WebhookPusher, check_webhook_url
from coordinator.store.sqlite_store import SqliteStore
from fleet_runtime.clock import FakeClock


class Receiver:
    """A local HTTP server recording what it is sent; fails the first `fail_first` posts."""

    def __init__(self, fail_first: int = 0) -> None:
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self.fail_left = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.fail_left > 0:
                    receiver.fail_left -= 1
                    self.send_response(500)
                else:
                    receiver.bodies.append(body)
                    receiver.headers.append(dict(self.headers))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver that refuses its first delivery with a 500."""
    running = Receiver(fail_first=1)
    try:
        yield running
    finally:
        running.close()


def test_events_arrive_in_order_once_each_signed_and_retried(
    tmp_path: Path, receiver: Receiver
) -> None:
    """Three transitions: the first delivery fails and is retried after its backoff, the
    second waits for it (order per order), each arrives once with its id and a valid HMAC;
    a pusher on the reopened store (a restart) sends nothing again."""
    clock = FakeClock(start_s=1_800_000_000.0)
    db = SqliteStore(tmp_path / "c.db")
    store = db.sales_store()
    body = orjson.dumps({"webhook_url": receiver.url}).decode()  # as the book stores it
    order = SalesOrder("o-1", "shop", body, Standing("received"), {"eta_ms": 1, "promised_ms": 2},
                       1, 1, webhook_url=receiver.url)  # fmt: skip
    at = int(clock.now() * 1000)
    store.create_all([NewOrder(order, "h", holds=(), transitions=(
        Transition("received", at, "order", "shop"), Transition("promised", at, "promise", "system")))])  # fmt: skip
    store.advance("o-1", Standing("reserved"), [Transition("reserved", at, "stock", "system")],
                  at_ms=at)  # fmt: skip
    pusher = WebhookPusher(store, clock, secret="s3cret", base_delay_s=1.0, cap_s=2.0)
    try:
        assert pusher.run_once() == 0  # the 500
        assert receiver.bodies == []
        assert pusher.run_once() == 0  # not due yet, and nothing overtakes it
        clock.advance(3)
        while pusher.run_once():
            pass
    finally:
        pusher.close()
    assert [orjson.loads(b)["status"] for b in receiver.bodies] == [
        "received",
        "promised",
        "reserved",
    ]
    assert [h["X-Flexfleet-Event"] for h in receiver.headers] == ["o-1:1", "o-1:2", "o-1:3"]
    for sent, headers in zip(receiver.bodies, receiver.headers, strict=True):
        expected = hmac.new(b"s3cret", sent, hashlib.sha256).hexdigest()
        assert headers["X-Flexfleet-Signature"] == f"sha256={expected}"
    db.close()
    db = SqliteStore(tmp_path / "c.db")
    again = WebhookPusher(db.sales_store(), clock)
    try:
        clock.advance(600)
        assert again.run_once() == 0
    finally:
        again.close()
        db.close()
    assert len(receiver.bodies) == 3


@pytest.mark.parametrize(
    ("url", "addresses", "allowed"),
    [
        ("https://shop.example/hook", ["93.184.216.34"], True),
        ("http://localhost/hook", ["127.0.0.1"], False),
        ("http://printer.lan/hook", ["192.168.1.20"], False),
        ("http://[::1]/hook", [], False),
        ("http://169.254.169.254/latest", [], False),
        ("http://10.0.0.5/hook", [], False),
        ("http://nowhere.invalid/hook", [], False),
        ("gopher://shop.example/", ["93.184.216.34"], False),
    ],
)
def test_webhook_urls_must_reach_a_public_host(
    url: str, addresses: list[str], allowed: bool
) -> None:
    """Loopback, private, link-local and unresolvable hosts are refused outside dev mode."""
    if allowed:
        check_webhook_url(url, allow_private=False, resolve=lambda _h: addresses)
    else:
        with pytest.raises(OrderInvalid) as caught:
            check_webhook_url(url, allow_private=False, resolve=lambda _h: addresses)
        assert caught.value.field == "webhook_url"
    check_webhook_url("http://127.0.0.1:8080/h", allow_private=True)  # dev mode


def test_a_host_with_no_idna_form_is_refused_not_a_crash() -> None:
    """A label over 63 characters cannot even be looked up: refused as unresolvable."""
    with pytest.raises(OrderInvalid, match="does not resolve"):
        check_webhook_url("https://" + "0" * 300 + "/h", allow_private=False)


@pytest.mark.parametrize("url", ["http://[", "http://[::1/h", "https://[zz]/h"])
@pytest.mark.parametrize("allow_private", [True, False])
def test_a_url_that_does_not_parse_is_refused_not_a_crash(url: str, allow_private: bool) -> None:
    """A bracketed host that is no address (the URL parser raises) is refused with the
    field named, in dev mode too."""
    with pytest.raises(OrderInvalid) as caught:
        check_webhook_url(url, allow_private=allow_private)
    assert caught.value.field == "webhook_url"
