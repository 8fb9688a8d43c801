"""A stopped coordinator MQTT client holds no socket: paho closes its wake-up socket pair
only in `Client.__del__`, and a client collected as part of a reference cycle (as the
coordinator's parts make) may have its sockets finalised first, warning "unclosed
socket" (an error in this suite); `MqttClient.stop` closes them itself."""

from __future__ import annotations

import os

import pytest

from coordinator.mqtt_client import MqttClient
from fleet_runtime.clock import SystemClock
from flexfleet.broker import Broker

pytestmark = pytest.mark.integration


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_a_stopped_client_holds_no_socket(broker: Broker, unique_site: str) -> None:
    """Start and stop a client: the process holds as many descriptors as before (the
    client object still referenced, so nothing was closed by collection)."""
    client = MqttClient(
        host=broker.host,
        port=broker.port,
        coordinator_id=f"sockets-{unique_site}",
        on_message=lambda _raw: None,
        clock=SystemClock(),
        share_group=f"g{unique_site}",
    )
    before = _open_descriptors()
    assert client.start(connect_timeout_s=10.0)
    assert _open_descriptors() > before  # the broker connection and paho's socket pair
    client.stop()
    assert _open_descriptors() == before
    assert client.connections == 1
