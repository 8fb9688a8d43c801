"""The broker helper starts a real Mosquitto that accepts MQTT clients."""

from __future__ import annotations

import shutil
import socket
import subprocess

import pytest

from flexfleet.broker import Broker


@pytest.mark.integration
def test_broker_listens_and_restarts(broker: Broker) -> None:
    """The fixture's broker accepts TCP connections, and again after a restart."""
    assert broker.url == f"mqtt://127.0.0.1:{broker.port}"
    socket.create_connection(("127.0.0.1", broker.port), timeout=1).close()
    broker.restart()
    socket.create_connection(("127.0.0.1", broker.port), timeout=1).close()


@pytest.mark.integration
def test_broker_keeps_retained_messages_across_restart(broker: Broker) -> None:
    """Persistence works whoever starts the broker: a retained message survives a restart."""
    publish = shutil.which("mosquitto_pub")
    subscribe = shutil.which("mosquitto_sub")
    assert publish
    assert subscribe
    port = str(broker.port)
    subprocess.run(
        [publish, "-p", port, "-t", "ff/test/retained", "-m", "kept", "-q", "1", "-r"],
        check=True,
        timeout=10,
    )
    broker.restart()
    received = subprocess.run(
        [subscribe, "-p", port, "-t", "ff/test/retained", "-C", "1", "-W", "5"],
        check=True,
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert received.stdout.strip() == "kept"
    assert "Error" not in broker.log_path.read_text()
