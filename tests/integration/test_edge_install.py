"""The edge install: `flexfleet sim` and `flexfleet agent` run without the coordinator's libraries.

Each child process starts with a `sitecustomize` on PYTHONPATH whose meta-path finder refuses
every library of the `coordinator` extra (`pyproject.toml`), as if `pip install ".[edge]"` had
left them out; the agent then reads a simulated PLC over Modbus TCP and publishes to a real
Mosquitto.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from flexfleet.broker import Broker, free_port
from protocol import Birth, Telemetry
from tests.edge_agent.support import Subscriber, stop_agent

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]

# The libraries only the coordinator, its commands and training need.
COORDINATOR_LIBRARIES = (
    "fastapi",
    "uvicorn",
    "starlette",
    "sse_starlette",
    "onnxruntime",
    "onnx",
    "ortools",
    "pyvrp",
    "numpy",
    "pydantic",
    "pydantic_settings",
    "sqlite_utils",
    "prometheus_client",
    "httpx",
)

BLOCKER = f'''
"""Makes the coordinator's libraries unimportable in this process and its children."""
import sys

BLOCKED = frozenset({COORDINATOR_LIBRARIES!r})


class _Blocker:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (edge install)", name=name)
        return None


sys.meta_path.insert(0, _Blocker())
'''


@pytest.fixture
def edge_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a child process in which the coordinator's libraries are missing."""
    site_dir = tmp_path / "edge-site"
    site_dir.mkdir()
    (site_dir / "sitecustomize.py").write_text(BLOCKER, encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site_dir), str(REPO)])
    return env


def _flexfleet(
    env: dict[str, str], *args: str, log: Path, stdout: int = subprocess.DEVNULL
) -> subprocess.Popen[bytes]:
    """`python -m flexfleet ARGS` as a child process, its stderr appended to `log`."""
    with log.open("ab") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "flexfleet", *args],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=err,
        )


@pytest.fixture
def modbus_device(edge_env: dict[str, str], tmp_path: Path) -> Iterator[int]:
    """`flexfleet sim modbus` on a free port, run under the blocker; yields the port."""
    port = free_port()
    proc = _flexfleet(
        edge_env,
        "sim",
        "modbus",
        "--port",
        str(port),
        "--seed",
        "3",
        log=tmp_path / "sim.log",
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline().decode()
        assert line.strip() == f"modbus://127.0.0.1:{port}", (tmp_path / "sim.log").read_text()
        yield port
    finally:
        proc.stdout.close()
        stop_agent(proc)


def test_the_blocker_refuses_every_coordinator_library(edge_env: dict[str, str]) -> None:
    """Under the blocker each library of the coordinator extra fails to import (it is installed)."""
    for library in ("fastapi", "uvicorn", "onnxruntime", "ortools", "pyvrp", "numpy"):
        found = subprocess.run(
            [sys.executable, "-c", f"import {library}"],
            env=edge_env,
            capture_output=True,
            check=False,
        )
        assert found.returncode == 1
        assert b"(edge install)" in found.stderr
        assert (
            subprocess.run([sys.executable, "-c", f"import {library}"], check=False).returncode == 0
        )


def test_coordinator_command_names_the_missing_extra(edge_env: dict[str, str]) -> None:
    """`flexfleet coordinator` on the edge install exits 2 naming the extra it needs."""
    result = subprocess.run(
        [sys.executable, "-m", "flexfleet", "coordinator"],
        cwd=REPO,
        env=edge_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert 'pip install "flexfleet[coordinator]"' in result.stderr


def test_agent_reads_a_modbus_device_and_publishes_without_coordinator_libraries(
    broker: Broker, unique_site: str, tmp_path: Path, edge_env: dict[str, str], modbus_device: int
) -> None:
    """The example agent config, pointed at the test broker and a `flexfleet sim modbus`
    device, births and sends the PLC's readings with none of the coordinator's libraries."""
    example = (REPO / "config" / "agent.example.toml").read_text(encoding="utf-8")
    config = tmp_path / "agent.toml"
    config.write_text(
        re.sub(r'(?m)^site = "[^"]*"', f'site = "{unique_site}"', example)
        .replace('broker = "mqtt://127.0.0.1:1883"', f'broker = "{broker.url}"')
        .replace("wait_for_coordinator = true", "wait_for_coordinator = false")
        .replace('state_dir = "state/press-01"', f'state_dir = "{tmp_path / "state"}"')
        .replace("port = 5020", f"port = {modbus_device}"),
        encoding="utf-8",
    )
    sub = Subscriber(broker.port, unique_site, client_id=f"{unique_site}-sub")
    agent = _flexfleet(edge_env, "agent", "--config", str(config), log=tmp_path / "agent.log")
    try:
        got = sub.wait_for(lambda ms: any(isinstance(m, Telemetry) for m in ms), timeout_s=30)
    finally:
        stop_agent(agent)
        sub.close()
    birth = got[0]
    assert isinstance(birth, Birth), (tmp_path / "agent.log").read_text()
    assert birth.node == "press-01"
    assert {s.name for s in birth.signals} >= {"spindle_temp_c", "part_count"}
    telemetry = next(m for m in got if isinstance(m, Telemetry))
    assert {name for name, _, _ in telemetry.samples} & {"spindle_temp_c", "part_count"}
    assert "(edge install)" not in (tmp_path / "agent.log").read_text()
