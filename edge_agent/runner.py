"""Run an agent: the loop around `AgentCore`, in the foreground or in a thread.

`run_agent(config, stop=...)` blocks until `stop` is set and returns the final status;
`AgentThread` runs one in the background (used by `flexfleet demo` and the tests).
`demo_config(...)` builds the configuration `flexfleet agent --site … --node …` uses
when no TOML file is given.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from edge_agent.config import AgentConfig, config_from_dict
from edge_agent.core import AgentCore
from edge_agent.drivers import make_driver
from edge_agent.metrics import render, write_textfile
from edge_agent.mqtt import MqttTransport
from edge_agent.outbox import Outbox
from fleet_runtime.clock import Clock, SystemClock

log = logging.getLogger("edge_agent")

OUTBOX_FILE = "outbox.sqlite3"


def open_outbox(config: AgentConfig) -> Outbox:
    """The outbox database in the configured state directory."""
    return Outbox(
        config.outbox.state_dir / OUTBOX_FILE,
        max_outbox_bytes=config.outbox.max_outbox_bytes,
        max_age_s=config.outbox.max_age_s,
    )


def build_core(config: AgentConfig, *, clock: Clock | None = None) -> AgentCore:
    """An agent wired to its real driver, outbox and MQTT transport."""
    clock = clock or SystemClock()
    return AgentCore(
        config,
        clock=clock,
        transport=MqttTransport(config.mqtt.security),
        driver=make_driver(config, clock),
        outbox=open_outbox(config),
    )


def run_core(core: AgentCore, stop: threading.Event) -> dict[str, int]:
    """Drive `core` until `stop` is set; close it and return its final status."""
    metrics = core.config.metrics
    next_metrics = core.clock.monotonic()
    try:
        while not stop.is_set():
            wait = core.tick()
            event = core.transport.next_event(min(wait, 0.25))
            if event is not None:
                core.handle(event)
            if metrics.textfile is not None and core.clock.monotonic() >= next_metrics:
                next_metrics = core.clock.monotonic() + metrics.interval_s
                text = render(core.status(), site=core.site, node=core.node)
                write_textfile(metrics.textfile, text)
    finally:
        status = core.status()
        core.close()
    return status


def run_agent(
    config: AgentConfig, *, stop: threading.Event, clock: Clock | None = None
) -> dict[str, int]:
    """Run one agent in this thread until `stop` is set (on `clock`, default wall time)."""
    return run_core(build_core(config, clock=clock), stop)


class AgentThread:
    """An agent running in a background thread."""

    def __init__(self, config: AgentConfig, *, clock: Clock | None = None) -> None:
        self.core = build_core(config, clock=clock)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"agent-{config.node.node}")
        self.final_status: dict[str, int] | None = None
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            self.final_status = run_core(self.core, self._stop)
        except BaseException as exc:  # kept for the owner to inspect
            self.error = exc
            log.exception("agent stopped by an error")

    def start(self) -> AgentThread:
        """Start the agent thread."""
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> dict[str, int] | None:
        """Stop the agent cleanly and return its final status."""
        self._stop.set()
        self._thread.join(timeout_s)
        return self.final_status


def demo_config(
    *,
    site: str,
    node: str,
    kind: str = "machine",
    broker: str = "mqtt://127.0.0.1:1883",
    username: str = "",
    password_file: Path | None = None,
    ca_file: Path | None = None,
    cert_file: Path | None = None,
    key_file: Path | None = None,
    state_dir: Path,
    seed: int = 1,
    machines: int = 1,
    wait_for_coordinator: bool = True,
    interval_ms: int = 100,
) -> AgentConfig:
    """A complete configuration for a simulated device, without a TOML file."""
    mqtt: dict[str, Any] = {"broker": broker, "wait_for_coordinator": wait_for_coordinator}
    if username:
        mqtt["username"] = username
    files = {"password_file": password_file, "ca_file": ca_file}
    files |= {"cert_file": cert_file, "key_file": key_file}
    mqtt |= {name: str(path) for name, path in files.items() if path is not None}
    data: dict[str, Any] = {
        "node": {"site": site, "node": node, "kind": kind, "firmware": "flexfleet-sim/0.1"},
        "mqtt": mqtt,
        "outbox": {"state_dir": str(state_dir)},
        "sampling": {"interval_ms": interval_ms},
        "driver": {"type": "sim", "seed": seed, "machines": machines},
    }
    return config_from_dict(data)
