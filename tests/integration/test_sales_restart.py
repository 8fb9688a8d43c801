"""Killing the coordinator (SIGKILL) between a sales order's promise and its production keeps
the order, its reservation and its tracking link."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from flexfleet.broker import Broker
from protocol import Birth, Stock, encode, topic_for
from tests.integration.coordinator_support import coordinator_process
from tests.waiting import wait_until

pytestmark = pytest.mark.integration

NETWORK = {
    "factories": [{"id": "f1", "location": {"lat": 29.3, "lon": 120.1}, "machines": ["m1"]}],
    "warehouses": [{"id": "w1", "location": {"lat": 29.32, "lon": 120.08}, "nodes": ["shelf-1"]}],
    "products": [{"sku": "CUP", "factories": ["f1"]}],
}
PRODUCTS = {"products": [{"sku": "CUP", "family": "cups", "replenish": "off", "operations": [
    {"options": [{"machine": "m1", "duration_s_per_unit": 30, "setup_s": 120}]}]}]}  # fmt: skip


def _coordinator(
    broker: Broker, db: Path, site: str
) -> AbstractContextManager[tuple[subprocess.Popen[str], str]]:
    # the burst test posts faster than the per-caller write limit allows
    return coordinator_process(
        broker, db, coordinator_id=f"sales-{site}", env={"FLEXFLEET_WRITE_RATE_PER_MINUTE": "0"}
    )


def _answers(api: httpx.Client, path: str) -> bool:
    """Whether GET `path` answers 200 (the server may still be starting)."""
    try:
        return api.get(path).status_code == 200
    except httpx.TransportError:
        return False


def _order(order_id: str, qty: int) -> dict[str, object]:
    return {"id": order_id, "customer": "shop", "lines": [{"sku": "CUP", "qty": qty}],
            "destination": {"lat": 29.35, "lon": 120.1}, "service": "standard"}  # fmt: skip


def _publisher(broker: Broker, site: str) -> mqtt.Client:
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"dev-{site}",
                      protocol=mqtt.MQTTv5)  # fmt: skip
    pub.connect(broker.host, broker.port)
    pub.loop_start()
    return pub


def _set_up(api: httpx.Client, pub: mqtt.Client, site: str, *, units: int) -> None:
    """A machine and a shelf holding `units` CUPs report in; the products and the network
    are declared."""
    now = int(time.time() * 1000)
    wait_until(lambda: _answers(api, "/healthz"))
    messages: list[Birth | Stock] = [
        Birth(site=site, node="m1", bd_seq=0, seq=0, ts=now, node_kind="machine"),
        Birth(site=site, node="shelf-1", bd_seq=0, seq=0, ts=now, node_kind="warehouse"),
        Stock(site=site, node="shelf-1", bd_seq=0, seq=1, ts=now, mode="snapshot",
              items={"CUP": units}),
    ]  # fmt: skip
    for message in messages:
        pub.publish(topic_for(message), encode(message), qos=1).wait_for_publish(5)
    wait_until(lambda: api.get("/api/v1/stock").json())
    wait_until(lambda: api.put("/api/v1/plans/products", json=PRODUCTS).status_code == 200)
    assert api.put("/api/v1/network", json=NETWORK).status_code == 200


def test_sigkill_between_promise_and_production_keeps_order_reservation_and_link(
    broker: Broker, tmp_path: Path, unique_site: str
) -> None:
    """An order half from stock, half made: after kill -9 and restart the order, its
    promise, its tracking link and its hold on the stock are all there (a second order
    finds no free stock), and its production job is still held by the planner."""
    db = tmp_path / "c.db"
    pub = _publisher(broker, unique_site)
    try:
        with _coordinator(broker, db, unique_site) as (process, url):
            with httpx.Client(base_url=url, timeout=10) as api:
                _set_up(api, pub, unique_site, units=5)
                placed = api.post("/api/v1/sales-orders", json=_order("so-1", 8))
                assert placed.status_code == 201, placed.text
                before = placed.json()
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        with (
            _coordinator(broker, db, unique_site) as (_process, url),
            httpx.Client(base_url=url, timeout=10) as api,
        ):
            wait_until(lambda: _answers(api, "/api/v1/sales-orders/so-1"))
            after = api.get("/api/v1/sales-orders/so-1").json()
            assert after["promise"] == before["promise"]
            assert after["status"] == before["status"]
            tracked = api.get(f"/track/{before['tracking_token']}",
                              headers={"Accept": "application/json"})  # fmt: skip
            assert tracked.status_code == 200
            assert tracked.json()["order_id"] == "so-1"
            second = api.post("/api/v1/sales-orders", json=_order("so-2", 2))
            assert second.status_code == 201, second.text
            assert second.json()["promise"]["lines"][0]["from_stock"] == []  # all 5 still held
            jobs = api.get("/api/v1/orders").json()
            assert "sales.so-1.0.0" in [j["id"] for j in jobs["jobs"]]
    finally:
        pub.disconnect()
        pub.loop_stop()


def test_sigkill_during_a_burst_keeps_every_answered_order_of_the_batches(
    broker: Broker, tmp_path: Path, unique_site: str
) -> None:
    """Eight clients post orders at once (stored by group commit, several per transaction)
    and the coordinator is killed -9 among them: after the restart every order that was
    answered is there with the promise it was given and its production job, an order not
    answered is there whole or not at all, and the stock held never exceeds the shelf."""
    db = tmp_path / "c.db"
    pub = _publisher(broker, unique_site)
    answered: dict[str, dict[str, object]] = {}
    try:
        with _coordinator(broker, db, unique_site) as (process, url):
            with httpx.Client(base_url=url, timeout=10) as api:
                _set_up(api, pub, unique_site, units=40)

            def client(n: int) -> None:
                with httpx.Client(base_url=url, timeout=10) as http:
                    for i in range(1000):
                        try:
                            placed = http.post(
                                "/api/v1/sales-orders", json=_order(f"c{n}-{i}", 1 + i % 3)
                            )
                        except httpx.TransportError:
                            return  # killed
                        assert placed.status_code == 201, placed.text
                        answered[placed.json()["id"]] = placed.json()

            clients = [threading.Thread(target=client, args=(n,)) for n in range(8)]
            for thread in clients:
                thread.start()
            wait_until(lambda: len(answered) >= 60, timeout_s=60, interval_s=0.01)
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            for thread in clients:
                thread.join(30)
        answers = dict(answered)
        with (
            _coordinator(broker, db, unique_site) as (_process, url),
            httpx.Client(base_url=url, timeout=10) as api,
        ):
            wait_until(lambda: _answers(api, "/api/v1/sales-orders"))
            stored: dict[str, dict[str, object]] = {}
            after: str | None = None
            while True:
                page = api.get("/api/v1/sales-orders",
                               params={"limit": 500, **({"after": after} if after else {})})  # fmt: skip
                orders = page.json()["orders"]
                if not orders:
                    break
                stored.update((o["id"], o) for o in orders)
                after = orders[-1]["id"]
            held_jobs = {j["id"] for j in api.get("/api/v1/orders").json()["jobs"]}
    finally:
        pub.disconnect()
        pub.loop_stop()
    assert set(answers) <= set(stored)
    for order_id, answer in answers.items():
        assert stored[order_id]["promise"] == answer["promise"]
        made = [m for line in answer["promise"]["lines"] for m in line["made"]]  # type: ignore[index]
        assert all(f"sales.{order_id}.0.{k}" in held_jobs for k in range(len(made)))
    for order in stored.values():
        assert order["status"] in {"promised", "reserved"}
        assert order["promise"]["lines"]  # type: ignore[index]
    from_stock = sum(
        p["qty"] for o in stored.values()
        for line in o["promise"]["lines"] for p in line["from_stock"]  # type: ignore[index]
    )  # fmt: skip
    assert from_stock <= 40
