"""An agent reading a Modbus TCP device: values flow, a device restart is noticed and survived."""

from __future__ import annotations

import time
from pathlib import Path

from edge_agent.config import config_from_dict
from edge_agent.core import AgentCore
from edge_agent.drivers import make_driver
from edge_agent.outbox import Outbox
from edge_agent.transport import MemoryTransport
from firmware_sim import MACHINE_REGISTER_MAP, Machine
from firmware_sim.modbus_server import MachineModbusServer
from fleet_runtime.clock import SystemClock
from flexfleet.broker import free_port
from protocol import Event, Telemetry, decode


def run(core: AgentCore, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(min(core.tick(), 0.02))


def test_agent_reads_modbus_device_and_reports_its_restart(tmp_path: Path) -> None:
    """Telemetry from registers; device down → `device_offline` raised; back → cleared, and
    data again."""
    clock = SystemClock()
    port = free_port()
    server = MachineModbusServer(machine=Machine(seed=2), clock=clock, port=port)
    server.start()
    config = config_from_dict(
        {
            "node": {"site": "s1", "node": "plc1"},
            "mqtt": {"wait_for_coordinator": False},
            "outbox": {"state_dir": str(tmp_path)},
            "sampling": {"interval_ms": 50},
            "batching": {"max_samples": 1000, "max_age_ms": 200},
            "driver": {
                "type": "modbus",
                "port": port,
                "timeout_s": 0.3,
                "registers": [
                    {"signal": s.signal, "address": s.address, "type": s.type, "unit": s.unit}
                    for s in MACHINE_REGISTER_MAP
                ],
            },
            "detectors": {"enabled": False},
        }
    )
    transport = MemoryTransport()
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    core = AgentCore(
        config, clock=clock, transport=transport, driver=make_driver(config, clock), outbox=outbox
    )
    try:
        core.tick()
        transport.accept()
        run(core, 1.0)
        server.stop()
        run(core, 1.0)
        server.start()
        run(core, 3.0)
    finally:
        server.stop()
        core.close()
    sent = [decode(t, p) for t, p in transport.published]
    events = [(m.name, m.state, m.severity) for m in sent if isinstance(m, Event)]
    assert events[:2] == [
        ("device_offline", "raised", "MAJOR"),
        ("device_offline", "cleared", "INDETERMINATE"),
    ]
    telemetry = [m for m in sent if isinstance(m, Telemetry)]
    heartbeats = [v for m in telemetry for (name, _, v) in m.samples if name == "heartbeat"]
    assert len(set(heartbeats)) > 10  # values kept changing before and after the restart
    online_at = next(m.seq for m in sent if isinstance(m, Event) and m.state == "cleared")
    assert any(m.seq > online_at for m in telemetry)
