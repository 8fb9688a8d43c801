"""Killing the coordinator (SIGKILL) while it re-plans loses no accepted order, stores none
twice, and the restarted coordinator serves the saved plans and goes on with higher
versions.

An order POST answers only after the batch is committed; each plan is saved before its
updates are published; on start the coordinator restores the orders, the fleet and the
latest plans, and re-plans the held orders.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from flexfleet.broker import Broker
from protocol import Birth, encode, topic_for
from protocol.messages import NodeKind
from tests.integration.coordinator_support import coordinator_process

pytestmark = pytest.mark.integration

PLAN_ENV = {
    "FLEXFLEET_PLAN_TIME_LIMIT_S": "0.5",
    "FLEXFLEET_PLAN_QUIET_S": "0.2",
    "FLEXFLEET_PLAN_URGENT_QUIET_S": "0.05",
    "FLEXFLEET_PLAN_MAX_DELAY_S": "1.0",
}


def _job(job_id: str, *, rush: bool = False) -> dict[str, Any]:
    options = [{"machine": "m1", "duration_s": 300}, {"machine": "m2", "duration_s": 420}]
    return {"id": job_id, "rush": rush, "operations": [{"options": options}] * 2}


def _delivery(order_id: str, x: float) -> dict[str, Any]:
    return {"id": order_id, "x": x, "y": 2.0, "demand": 1, "service_s": 60}


BATCH_A = {"jobs": [_job(f"a{k}") for k in range(5)],
           "deliveries": [_delivery(f"d{k}", k + 1.0) for k in range(3)]}  # fmt: skip
BATCH_B = {"jobs": [_job("b0", rush=True), _job("b1"), _job("b2")],
           "deliveries": [_delivery("d3", 7.0)]}  # fmt: skip
FLEET = {"depots": [{"id": "w1", "x": 0, "y": 0}],
         "vehicles": [{"id": "v1", "depot_id": "w1", "capacity": 10}]}  # fmt: skip
ALL_JOBS = sorted(j["id"] for j in BATCH_A["jobs"] + BATCH_B["jobs"])
ALL_DELIVERIES = sorted(d["id"] for d in BATCH_A["deliveries"] + BATCH_B["deliveries"])


def _coordinator(
    broker: Broker, db: Path, site: str
) -> AbstractContextManager[tuple[subprocess.Popen[str], str]]:
    return coordinator_process(broker, db, coordinator_id=f"plan-{site}", env=PLAN_ENV)


def _poll(predicate: Callable[[], Any], timeout_s: float) -> Any:
    """The first true value of `predicate` within `timeout_s`, else None."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return None


def _wait(predicate: Callable[[], Any], timeout_s: float = 20.0) -> Any:
    value = _poll(predicate, timeout_s)
    assert value, "condition not met in time"
    return value


def _planned_jobs(schedule: dict[str, Any]) -> list[str]:
    """Job id of every planned operation (an operation planned twice shows twice)."""
    return sorted(op["job_id"] for ops in schedule["machines"].values() for op in ops)


def _routed(routes: dict[str, Any]) -> list[str]:
    served = [stop for route in routes["routes"] for stop in route["stops"]]
    return sorted(served + [u["order_id"] for u in routes["unserved"]])


def test_sigkill_while_replanning_loses_no_order_and_versions_go_on(
    broker: Broker, tmp_path: Path, unique_site: str
) -> None:
    """Orders accepted before a SIGKILL that lands while the coordinator re-plans are all
    back after a restart, each once (in the store, the order list and the plans); the
    saved plans are served at once and the next plans have higher versions."""
    db = tmp_path / "plan.db"
    agent = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"agent-{unique_site}", protocol=mqtt.MQTTv5
    )
    agent.connect(broker.host, broker.port)
    agent.loop_start()
    try:
        with _coordinator(broker, db, unique_site) as (process, url):
            http = httpx.Client(base_url=url, timeout=10)

            def fleet_taken() -> bool:
                """Announce the nodes (again: the first births may precede the subscription)
                and see whether the fleet is taken within a second."""
                now = int(time.time() * 1000)
                nodes: tuple[tuple[str, NodeKind], ...] = (
                    ("m1", "machine"), ("m2", "machine"), ("w1", "warehouse"))  # fmt: skip
                for node, kind in nodes:
                    birth = Birth(
                        site=unique_site, node=node, bd_seq=0, seq=0, ts=now, node_kind=kind
                    )
                    agent.publish(topic_for(birth), encode(birth), qos=1).wait_for_publish(5)
                put = lambda: http.put("/api/v1/plans/fleet", json=FLEET).status_code == 200  # noqa: E731
                return _poll(put, 1.0) is True

            with http:
                _wait(fleet_taken)
                _wait(lambda: http.post("/api/v1/orders", json=BATCH_A).status_code == 202)
                first_jobs = sorted(j["id"] for j in BATCH_A["jobs"]) * 2
                schedule = _wait(
                    lambda: (
                        (s := http.get("/api/v1/plans/schedule").json())
                        and _planned_jobs(s) == sorted(first_jobs)
                        and s
                    )
                )
                routes = _wait(
                    lambda: (r := http.get("/api/v1/plans/routes").json())["version"] and r
                )
                response = http.post("/api/v1/orders", json=BATCH_B)  # a rush order: re-plans now
                assert response.status_code == 202
                process.send_signal(signal.SIGKILL)  # mid-work: the rush re-plan is due
                process.wait(10)
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            rows = conn.execute("SELECT kind, id FROM plan_orders ORDER BY kind, id").fetchall()
            saved = dict(conn.execute("SELECT kind, version FROM plan_latest").fetchall())
        assert rows == [("delivery", d) for d in ALL_DELIVERIES] + [("job", j) for j in ALL_JOBS]
        assert saved["schedule"] >= schedule["version"] >= 1
        assert saved["routes"] >= routes["version"] >= 1

        with (
            _coordinator(broker, db, unique_site) as (_, url),
            httpx.Client(base_url=url, timeout=10) as http,
        ):
            held = http.get("/api/v1/orders").json()
            assert sorted(j["id"] for j in held["jobs"]) == ALL_JOBS
            assert sorted(d["id"] for d in held["deliveries"]) == ALL_DELIVERIES
            assert http.get("/api/v1/plans/schedule").json()["version"] >= saved["schedule"]
            assert http.get("/api/v1/plans/routes").json()["version"] >= saved["routes"]
            again = http.post("/api/v1/orders", json=BATCH_A).json()
            assert sorted(again["unchanged"]) == sorted(j["id"] for j in BATCH_A["jobs"])
            assert len(again["unchanged_deliveries"]) == len(BATCH_A["deliveries"])
            after = _wait(
                lambda: (
                    (s := http.get("/api/v1/plans/schedule").json())["version"] > saved["schedule"]
                    and _planned_jobs(s) == sorted(ALL_JOBS * 2)
                    and s
                )
            )
            routes_after = _wait(
                lambda: (
                    (r := http.get("/api/v1/plans/routes").json())["version"] > saved["routes"]
                    and _routed(r) == ALL_DELIVERIES
                    and r
                )
            )
            assert after["epoch_s"] == schedule["epoch_s"]
            assert routes_after["version"] > saved["routes"]
            held = http.get("/api/v1/orders").json()
            assert len(held["jobs"]) == len(ALL_JOBS)
    finally:
        agent.disconnect()
        agent.loop_stop()
