"""Lateral transfers carried out in a real coordinator (store, planner, ingest): proposed by
the stock plan after a cover check, handed to the planner as a delivery of its transfer id,
closed by the receiving shelf's receipt once; nothing lost or doubled across restarts in
the middle of the work."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from coordinator.plan.orders.specs import DeliveryOrder, DepotSpec, VehicleSpec
from coordinator.service import Coordinator
from protocol import Message
from tests.coordinator.conftest import Node, feed, running_coordinator
from tests.waiting import wait_until

VIEWER = "viewer-token-for-lateral-12"
OPERATOR = "operator-token-for-lateral-1"
ADMIN = "admin-token-for-lateral-12345"
NETWORK: dict[str, Any] = {
    "warehouses": [
        {"id": "wa", "location": {"lat": 29.30, "lon": 120.00}, "nodes": ["w1"]},
        {"id": "wb", "location": {"lat": 29.30, "lon": 120.10}, "nodes": ["w2"]},
    ],
}
W1, W2 = Node(node="w1"), Node(node="w2")


@contextmanager
def running(db: Path) -> Iterator[tuple[Coordinator, httpx.Client]]:
    """A coordinator on `db` (no broker) with its HTTP server."""
    with running_coordinator(
        db,
        viewer_tokens=VIEWER,
        operator_tokens=OPERATOR,
        admin_tokens=ADMIN,
        forecast_horizon_days=7,
        cover_lead_time_days=2,
    ) as served:
        yield served


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """wa (shelf w1) sold its 6 cups today; wb (w2) holds 299 after selling 1; both are
    depots of the fleet; the network is set (no forecasts yet)."""
    now = int(time.time() * 1000)
    messages: list[Message] = [
        replace(W1.birth(), node_kind="warehouse"),
        replace(W2.birth(), node_kind="warehouse"),
        W1.stock("snapshot", {"cup": 6}),
        replace(W1.stock("delta", {"cup": -6}), ts=now),
        W2.stock("snapshot", {"cup": 300}),
        replace(W2.stock("delta", {"cup": -1}), ts=now),
    ]
    with running(tmp_path / "c.db") as (coordinator, client):
        feed(coordinator, *messages)
        put = client.put(
            "/api/v1/network", json=NETWORK, headers={"Authorization": f"Bearer {ADMIN}"}
        )
        assert put.status_code == 200, put.text
        assert coordinator.plans is not None
        coordinator.plans.set_fleet(
            [DepotSpec("w1", 0.0, 0.0), DepotSpec("w2", 10.0, 0.0)], [VehicleSpec("v1", "w2", 500)]
        )
    return tmp_path / "c.db"


def _deliveries(coordinator: Coordinator) -> list[DeliveryOrder]:
    assert coordinator.plans is not None
    return coordinator.plans.orders()[1]


def _refresh(coordinator: Coordinator) -> None:
    """A forecast refresh, then the cover check it triggers (and its listeners)."""
    assert coordinator.forecasts is not None
    coordinator.forecasts.refresh()


def _plan(client: httpx.Client, query: str = "") -> dict[str, Any]:
    response = client.get(
        f"/api/v1/stock/plan{query}", headers={"Authorization": f"Bearer {VIEWER}"}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_transfer_is_delivered_by_the_planner_and_counted_at_its_receipt(db: Path) -> None:
    """wb's spare cups go to wa as delivery t.lateral-1 at w1's depot; the plan shows it in
    transit (no second proposal, no second transfer on the next check); w1's receipt closes
    it with the units received and removes the delivery; a replayed receipt counts nothing."""
    with running(db) as (coordinator, client):
        _refresh(coordinator)
        lateral = coordinator.lateral
        assert lateral is not None
        [moving] = lateral.open()
        assert (moving.id, moving.sku, moving.source, moving.destination, moving.node) == (
            "t.lateral-1",
            "cup",
            "wb",
            "wa",
            "w1",
        )
        assert _deliveries(coordinator) == [DeliveryOrder("t.lateral-1", 0.0, 0.0, moving.qty)]
        body = _plan(client)
        assert body["transfers"]["proposed"] == []
        [transit] = body["transfers"]["in_transit"]
        assert (transit["transfer_id"], transit["kind"], transit["units"]) == (
            "t.lateral-1",
            "lateral",
            moving.qty,
        )
        assert len(_plan(client, "?warehouse=wa")["transfers"]["in_transit"]) == 1
        assert _plan(client, "?warehouse=wb")["transfers"]["in_transit"] == []
        cup_a = next(t for t in body["targets"] if (t["sku"], t["warehouse"]) == ("cup", "wa"))
        assert cup_a["inbound"] == moving.qty
        assert coordinator.cover is not None
        coordinator.cover.check()  # a second check while it is on its way
        assert [t.id for t in lateral.open()] == ["t.lateral-1"]

        feed(coordinator, W2.stock("delta", {"cup": -moving.qty}))  # loaded at wb
        feed(coordinator, W1.stock("delta", {"cup": moving.qty}, transfer_id="t.lateral-1"))
        wait_until(lambda: lateral.open() == [])  # commit listeners run after the count
        assert _deliveries(coordinator) == []
        assert coordinator.local.lateral_store().get("t.lateral-1") == replace(
            moving, received=moving.qty
        )
        assert _plan(client)["transfers"]["in_transit"] == []
        feed(coordinator, W1.stock("delta", {"cup": moving.qty}, transfer_id="t.lateral-1"))
        assert lateral.on_receipts(["t.lateral-1"]) == []  # nothing open to count it against
        assert coordinator.local.lateral_store().get("t.lateral-1") == replace(
            moving, received=moving.qty
        )


def test_killed_between_storing_and_handing_the_transfer_is_handed_once(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A coordinator that stored the transfer and died before the planner took it: the next
    one hands it at start-up; a further restart hands no second delivery."""
    with running(db) as (coordinator, _):
        assert coordinator.plans is not None

        def killed(*_args: object, **_kwargs: object) -> None:
            raise RuntimeError("killed before the planner took it")

        monkeypatch.setattr(coordinator.plans, "submit_orders", killed)
        _refresh(coordinator)
        assert coordinator.lateral is not None
        [stored] = coordinator.lateral.open()
    with running(db) as (coordinator, _):
        assert _deliveries(coordinator) == [DeliveryOrder(stored.id, 0.0, 0.0, stored.qty)]
    with running(db) as (coordinator, _):
        assert _deliveries(coordinator) == [DeliveryOrder(stored.id, 0.0, 0.0, stored.qty)]
        assert coordinator.lateral is not None
        assert coordinator.lateral.open() == [stored]


def test_a_receipt_committed_before_a_kill_is_counted_once_at_start(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The receipt was stored but the coordinator died before counting it: the next one
    closes the transfer at start-up with the units received, and only once."""
    with running(db) as (coordinator, _):
        _refresh(coordinator)
        assert coordinator.lateral is not None
        [moving] = coordinator.lateral.open()
        assert coordinator.fleet_follower is not None  # killed before it acted:
        coordinator.writer.listeners.remove(coordinator.fleet_follower.on_commit)
        feed(coordinator, W1.stock("delta", {"cup": moving.qty - 1}, transfer_id=moving.id))
        assert coordinator.lateral.open() == [moving]
    with running(db) as (coordinator, _):
        assert coordinator.lateral is not None
        assert coordinator.lateral.open() == []
        assert _deliveries(coordinator) == []
        done = coordinator.local.lateral_store().get(moving.id)
        assert done == replace(moving, received=moving.qty - 1)
    with running(db) as (coordinator, _):
        assert coordinator.local.lateral_store().get(moving.id) == done
