"""`flexfleet demo` end to end: real broker, coordinator and agents, stopped cleanly."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import pytest

from flexfleet.broker_watch import read_security_log

pytestmark = pytest.mark.integration


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def _read_urls(process: subprocess.Popen[str], timeout_s: float) -> dict[str, str]:
    urls: dict[str, str] = {}
    deadline = time.monotonic() + timeout_s
    assert process.stdout is not None
    while time.monotonic() < deadline and not {"API", "Broker"} <= set(urls):
        line = process.stdout.readline()
        if not line:
            break
        key, _, value = line.strip().partition(": ")
        if key in {"API", "Broker", "Dashboard"}:
            urls[key] = value
    return urls


def _wait_deliveries(process: subprocess.Popen[str], timeout_s: float) -> int:
    """Read the demo's status lines until one counts a delivered order; that count."""
    deadline = time.monotonic() + timeout_s
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        match = re.search(r"delivered (\d+)", line)
        if match and int(match.group(1)) > 0:
            return int(match.group(1))
    return 0


def _anonymous_refused(broker_url: str) -> bool:
    """Whether the broker refuses a client that logs in with no account."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    host, _, port = broker_url.removeprefix("mqtt://").partition(":")
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    answers: list[Any] = []
    client.on_connect = lambda _c, _u, _f, rc, _p: answers.append(rc)
    client.connect(host, int(port))
    deadline = time.monotonic() + 10
    while not answers and time.monotonic() < deadline:
        client.loop(timeout=0.1)
    client.disconnect()
    return bool(answers) and bool(answers[0].is_failure)


def test_demo_runs_fleet_and_stops_every_process(tmp_path: Path) -> None:
    """The demo prints its URLs, every agent comes online, the storefront's orders are
    delivered by the vans (the status lines count them), SIGINT stops all children, and
    the broker's security log recorded the one refused login and no denial."""
    with subprocess.Popen(
        [sys.executable, "-m", "flexfleet", "demo", "--factories", "1", "--machines", "2",
         "--warehouses", "1", "--vehicles", "1", "--speed", "300", "--orders-per-minute", "30",
         "--status-every", "5", "--work-dir", str(tmp_path), "--duration", "240"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as process:  # fmt: skip
        _check_demo(process, tmp_path)


def _check_demo(process: subprocess.Popen[str], work_dir: Path) -> None:
    try:
        urls = _read_urls(process, timeout_s=90)
        assert urls["Broker"].startswith("mqtt://127.0.0.1:")
        assert urls["API"].startswith("http://127.0.0.1:")
        children = psutil.Process(process.pid).children(recursive=True)
        assert len(children) >= 6  # broker, coordinator, four agents
        deadline = time.monotonic() + 60
        nodes: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            body = _get(urls["API"])
            nodes = body if isinstance(body, list) else body["nodes"]
            if len([n for n in nodes if n["online"]]) == 4:
                break
            time.sleep(0.5)
        assert sorted(n["node"] for n in nodes if n["online"]) == [
            "machine-01",
            "machine-02",
            "van-01",
            "warehouse-01",
        ]
        assert _anonymous_refused(urls["Broker"])
        delivered = _wait_deliveries(process, timeout_s=150)
        assert delivered >= 1
        base = urls["API"].removesuffix("/api/v1/nodes")
        orders = _get(f"{base}/api/v1/sales-orders?status=delivered")["orders"]
        timeline = _get(f"{base}/api/v1/sales-orders/{orders[0]['id']}")["timeline"]
        assert [t["status"] for t in timeline][-2:] == ["out_for_delivery", "delivered"]
        assert timeline[-1]["actor"] == "van-01"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        time.sleep(0.5)
        assert not [c for c in children if c.is_running() and c.status() != "zombie"]
        # The broker's security log holds the anonymous attempt above, once, and no denied
        # publish: the demo's own devices never touch a topic the ACL refuses them.
        records = read_security_log(work_dir / "broker-security.jsonl")
        assert [r["kind"] for r in records] == ["login_refused"]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
