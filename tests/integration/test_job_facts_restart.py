"""Killing the coordinator (SIGKILL) while machines report counts and a warehouse reports
receipts: no count is lost or counted twice, the job closes on its good units, and every
receipt is applied once, whatever the broker redelivers."""

from __future__ import annotations

import functools
import signal
import sqlite3
import subprocess
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from flexfleet.broker import Broker
from protocol import Birth, Event, Stock, encode, topic_for
from protocol.reports import OperationReport
from tests.integration.coordinator_support import coordinator_process
from tests.waiting import wait_until

pytestmark = pytest.mark.integration

UNITS = 240
RECEIPTS = 80
_wait = functools.partial(wait_until, timeout_s=60.0)
"""Waits up to a minute: the coordinator restarts and replays in these tests."""
ENV = {"FLEXFLEET_PLAN_TIME_LIMIT_S": "0.5", "FLEXFLEET_PLAN_QUIET_S": "0.2"}


def _coordinator(
    broker: Broker, db: Path, site: str
) -> AbstractContextManager[tuple[subprocess.Popen[str], str]]:
    return coordinator_process(broker, db, coordinator_id=f"jobs-{site}", env=ENV)


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []


def _counts(site: str, now: int) -> list[Event]:
    """m1's operation events: started, counts up to UNITS good (1 scrap in 20), finished."""
    events = []
    for n in range(UNITS + 1):
        name = "operation_started" if n == 0 else "operation_counts"
        report = OperationReport(
            schedule_version=1,
            operation_id="k1:0",
            job_id="k1",
            index=0,
            family="",
            quantity=UNITS,
            state="done" if n == UNITS else "run",
            good=n,
            scrap=n // 20,
        )
        events.append(
            Event(
                site=site,
                node="m1",
                bd_seq=0,
                seq=n + 1,
                ts=now + n * 100,
                name="operation_finished" if n == UNITS else name,
                data=report.to_data(),
            )
        )
    return events


def _receipts(site: str, now: int) -> list[Stock]:
    """w1's receipts: RECEIPTS transfers of one cup each."""
    return [
        Stock(
            site=site,
            node="w1",
            bd_seq=0,
            seq=k + 1,
            ts=now + k,
            mode="delta",
            items={"cup": 1},
            transfer_id=f"t.r{k}",
        )
        for k in range(RECEIPTS)
    ]


def test_sigkill_mid_work_loses_no_count_and_applies_each_receipt_once(
    broker: Broker, tmp_path: Path, unique_site: str
) -> None:
    """Counts and receipts stream (each message published twice, as QoS 1 may) while the
    coordinator is killed and restarted: the job ends finished with exactly UNITS good and
    UNITS // 20 scrap, and the warehouse holds one cup per transfer."""
    db = tmp_path / "jobs.db"
    now = int(time.time() * 1000)
    agent = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"agent-{unique_site}", protocol=mqtt.MQTTv5
    )
    agent.connect(broker.host, broker.port)
    agent.loop_start()
    try:
        with (
            _coordinator(broker, db, unique_site) as (process, url),
            httpx.Client(base_url=url, timeout=10) as http,
        ):

            def machine_known() -> bool:
                for node, kind in (("m1", "machine"), ("w1", "warehouse")):
                    birth = Birth(site=unique_site, node=node, bd_seq=0, seq=0, ts=now,
                                  node_kind=kind)  # type: ignore[arg-type]  # fmt: skip
                    agent.publish(topic_for(birth), encode(birth), qos=1).wait_for_publish(5)
                job = {"id": "k1", "quantity": UNITS, "sku": "cup",
                       "operations": [{"options": [{"machine": "m1", "duration_s": 600}]}]}  # fmt: skip
                time.sleep(0.3)
                return http.post("/api/v1/orders", json={"jobs": [job]}).status_code == 202

            _wait(machine_known)
            messages: list[Event | Stock] = []
            for a, b in zip(
                _counts(unique_site, now), _receipts(unique_site, now) * 3, strict=False
            ):
                messages += [a, b]
            messages += _counts(unique_site, now)[len(messages) // 2 :]

            def stream() -> None:
                for message in messages:
                    for _ in range(2):  # a duplicate of each, as QoS 1 redelivery may bring
                        agent.publish(topic_for(message), encode(message), qos=1)
                    time.sleep(0.002)

            sender = threading.Thread(target=stream)
            sender.start()
            _wait(lambda: _rows(db, "SELECT count(*) FROM messages")[0][0] > len(messages) // 4)
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            sender.join(60)
        at_kill = _rows(db, "SELECT good FROM job_operations")
        assert at_kill, "the kill must land after the first counts"
        assert at_kill[0][0] < UNITS, "the kill must land before the last count"

        with (
            _coordinator(broker, db, unique_site) as (_, url),
            httpx.Client(base_url=url, timeout=10) as http,
        ):
            job = _wait(
                lambda: (j := http.get("/api/v1/jobs/k1").json()).get("state") == "finished" and j
            )
            assert (job["good"], job["scrap"], job["quantity"]) == (UNITS, UNITS // 20, UNITS)
            _wait(lambda: _rows(db, "SELECT count(*) FROM transfer_receipts")[0][0] == RECEIPTS)
            time.sleep(1.0)  # anything applied twice would show up now
            assert _rows(db, "SELECT count(*), sum(quantity) FROM transfer_receipts") == [
                (RECEIPTS, RECEIPTS)
            ]
            stock = http.get("/api/v1/stock", params={"node": "w1"}).json()
            assert [(s["sku"], s["qty"]) for s in stock] == [("cup", RECEIPTS)]
            assert http.get("/api/v1/orders").json()["jobs"] == []  # closed by its counts
    finally:
        agent.disconnect()
        agent.loop_stop()
