"""An in-process coordinator on the test broker, for the integration tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from coordinator.api.app import create_app
from coordinator.settings import CoordinatorSettings, load_settings
from edge_agent.config import AgentConfig, config_from_dict
from edge_agent.runner import AgentThread
from fleet_runtime.clock import Clock, ScaledClock
from flexfleet.broker import Broker
from tests.coordinator.conftest import serve
from tests.waiting import wait_until

QUICK_PLANS: dict[str, Any] = {
    "plan_time_unit_s": 60.0,
    "plan_quiet_s": 0.2,
    "plan_urgent_quiet_s": 0.05,
    "plan_time_limit_s": 1.0,
}
"""Planner settings for a test on a fast clock: minute units, short quiet periods, one
second of solving."""


def coordinator_settings(
    broker: Broker, tmp_path: Path, site: str, **overrides: Any
) -> CoordinatorSettings:
    """Dev-mode settings for a coordinator of its own (database, id and share group) on
    the test broker, with `overrides`."""
    return load_settings(
        dev_mode=True,
        db_path=tmp_path / "c.db",
        broker_url=broker.url,
        coordinator_id=f"coord-{site}",
        share_group=f"g{site}",
        **overrides,
    )


@contextmanager
def coordinator_api(
    settings: CoordinatorSettings, *, timeout_s: float = 10.0, clock: Clock | None = None
) -> Iterator[httpx.Client]:
    """The coordinator's app served on a free port (on `clock`, default wall time), once
    `/healthz` answers 200."""
    with (
        serve(create_app(settings, clock=clock)) as url,
        httpx.Client(base_url=url, timeout=timeout_s) as c,
    ):
        wait_until(lambda: c.get("/healthz").status_code == 200)
        yield c


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=5).status_code == 200
    except httpx.TransportError:  # the URL is printed just before the server listens
        return False


@contextmanager
def coordinator_process(
    broker: Broker,
    db: Path | str,
    *,
    coordinator_id: str,
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
    timeout_s: float = 60.0,
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`flexfleet coordinator --dev` as a child process on the test broker and database
    `db` (a SQLite file or a PostgreSQL URL; with `args` added, e.g. its simulated clock);
    yields it (for a kill -9) and its HTTP base URL once `/healthz` answers. Ends it with SIGTERM (SIGKILL after 15 s) if it
    still runs."""
    process = subprocess.Popen(
        [sys.executable, "-m", "flexfleet", "coordinator", "--broker", broker.url,
         "--db", str(db), "--http-port", "0", "--dev", "--coordinator-id", coordinator_id,
         *args],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()  # the API's URL, `http://host:port/api/v1`
        assert line.startswith("http://"), line
        base = line.removesuffix("/api/v1")
        wait_until(lambda: _healthy(base), timeout_s)
        yield process, base
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if process.stdout is not None:
            process.stdout.close()


def sim_agent_config(
    site: str, node: str, kind: str, broker: Broker, state: Path, **driver: Any
) -> AgentConfig:
    """An agent of a simulated `kind` on the test broker: quick reconnects, 100 ms
    sampling, small batches, no detectors, `driver` options for its simulation."""
    return config_from_dict(
        {
            "node": {"site": site, "node": node, "kind": kind},
            "mqtt": {"broker": broker.url, "reconnect_base_s": 0.1, "reconnect_cap_s": 1.0},
            "outbox": {"state_dir": str(state)},
            "sampling": {"interval_ms": 100},
            "batching": {"max_samples": 200, "max_age_ms": 200},
            "driver": {"type": "sim", **driver},
            "detectors": {"enabled": False},
        }
    )


def shelf_and_van(
    site: str,
    broker: Broker,
    state: Path,
    clock: Clock,
    *,
    depot: tuple[float, float],
    van_kmh: float,
) -> list[AgentThread]:
    """A simulated warehouse `w1` (two SKUs, its shelf's clock at the test's speed) and a
    van `v1` at `depot` driving at `van_kmh` (no traffic, no failed stops), not started."""
    speed = clock.speed if isinstance(clock, ScaledClock) else 1.0
    warehouse = sim_agent_config(
        site, "w1", "warehouse", broker, state / "w1", skus=2, seed=4, speed=1.0 / speed
    )
    van = sim_agent_config(
        site, "v1", "vehicle", broker, state / "v1",
        lat=depot[0], lon=depot[1], speed_kmh=van_kmh, service_s=120.0,
        traffic_sigma=0.0, failure_rate=0.0, detour_factor=1.3,
    )  # fmt: skip
    return [AgentThread(warehouse, clock=clock), AgentThread(van, clock=clock)]
