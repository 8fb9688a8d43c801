"""The broker helper starts a real Mosquitto that accepts MQTT clients."""

from __future__ import annotations

import socket

import pytest

from flexfleet.broker import Broker


@pytest.mark.integration
def test_broker_listens_and_restarts(broker: Broker) -> None:
    """The fixture's broker accepts TCP connections, and again after a restart."""
    assert broker.url == f"mqtt://127.0.0.1:{broker.port}"
    socket.create_connection(("127.0.0.1", broker.port), timeout=1).close()
    broker.restart()
    socket.create_connection(("127.0.0.1", broker.port), timeout=1).close()
