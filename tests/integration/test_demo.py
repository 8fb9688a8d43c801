"""`flexfleet demo` end to end: real broker, coordinator and agents, stopped cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import pytest

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
    """The demo prints its URLs, every agent comes online, and SIGINT stops all children."""
    with subprocess.Popen(
        [sys.executable, "-m", "flexfleet", "demo", "--agents", "2", "--warehouses", "1",
         "--work-dir", str(tmp_path), "--duration", "120"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as process:  # fmt: skip
        _check_demo(process)


def _check_demo(process: subprocess.Popen[str]) -> None:
    try:
        urls = _read_urls(process, timeout_s=90)
        assert urls["Broker"].startswith("mqtt://127.0.0.1:")
        assert urls["API"].startswith("http://127.0.0.1:")
        children = psutil.Process(process.pid).children(recursive=True)
        assert len(children) >= 5  # broker, coordinator, three agents
        deadline = time.monotonic() + 60
        nodes: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            body = _get(urls["API"])
            nodes = body if isinstance(body, list) else body["nodes"]
            if len([n for n in nodes if n["online"]]) == 3:
                break
            time.sleep(0.5)
        assert sorted(n["node"] for n in nodes if n["online"]) == [
            "machine-01",
            "machine-02",
            "warehouse-01",
        ]
        assert _anonymous_refused(urls["Broker"])
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        time.sleep(0.5)
        assert not [c for c in children if c.is_running() and c.status() != "zombie"]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
