"""`flexfleet demo`: a broker, the coordinator and a simulated fleet on this machine.

Everything runs as child processes of the demo: a Mosquitto with the project's config on
a free loopback port, one coordinator, and one edge agent per simulated device. The broker
refuses anonymous clients: every agent and the coordinator log in with an account of their
own, and the ACL gives each only its topics (`flexfleet.device_registry`; the accounts live
in the work directory's `auth/`, where `flexfleet device --auth-dir` manages them). The API
and broker URLs are printed on lines of their own (`API: ...`, `Broker: ...`) so scripts
can find them. Ctrl-C (or `--duration`) stops every process the demo started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from flexfleet.broker import Broker, ListenerSecurity, free_port, start_broker
from flexfleet.device_registry import DeviceRegistry


class DemoError(RuntimeError):
    """A demo process failed to start or died."""


@dataclass(frozen=True)
class DemoPlan:
    """What the demo starts."""

    site: str = "yiwu-1"
    machines: int = 6
    warehouses: int = 2
    http_port: int = 0
    seed: int = 7

    def __post_init__(self) -> None:
        if self.machines < 0 or self.warehouses < 0 or self.machines + self.warehouses == 0:
            raise ValueError("the demo needs at least one agent")
        if self.machines + self.warehouses > 200:
            raise ValueError("the demo runs at most 200 agents on one machine")

    def agent_ids(self) -> list[tuple[str, str]]:
        """(node id, kind) of every simulated agent."""
        nodes = [(f"machine-{i + 1:02d}", "machine") for i in range(self.machines)]
        nodes += [(f"warehouse-{i + 1:02d}", "warehouse") for i in range(self.warehouses)]
        return nodes


def _flexfleet(*args: str) -> list[str]:
    return [sys.executable, "-m", "flexfleet", *args]


def _wait_http(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DemoError(f"coordinator exited with code {process.returncode}")
        with suppress(OSError), urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310
            if response.status == 200:  # our own loopback URL
                return
        time.sleep(0.2)
    raise DemoError(f"coordinator did not answer {url} within {timeout_s} s")


def _stop(processes: list[subprocess.Popen[bytes]], *, timeout_s: float = 10.0) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


DEMO_SETTINGS = {
    # forecasts and stock cover every minute, not hourly, so a short demo shows them
    "FLEXFLEET_FORECAST_REFRESH_INTERVAL_S": "60",
}


def _demo_environment(broker_username: str, broker_password: str) -> dict[str, str]:
    """The coordinator's environment: the demo's settings unless the caller set them, and
    its broker login (the password from the environment, never on a command line)."""
    return {
        **DEMO_SETTINGS,
        **os.environ,
        "FLEXFLEET_BROKER_USERNAME": broker_username,
        "FLEXFLEET_BROKER_PASSWORD": broker_password,
    }


@dataclass(frozen=True)
class DemoLogins:
    """The demo's broker accounts: the coordinator's login and each agent's password file."""

    coordinator_username: str
    coordinator_password: str
    agent_password_files: dict[str, Path]


def _make_logins(plan: DemoPlan, work_dir: Path) -> DemoLogins:
    """One account per agent and one for the coordinator, as `flexfleet device add` makes
    them; each agent's password in a private file of its own."""
    registry = DeviceRegistry(work_dir / "auth")
    for account in registry.accounts():  # a kept --work-dir: start from fresh passwords
        registry.remove(account.name, role=account.role, site=account.sites[0])
    coordinator, coordinator_password = registry.add("demo", role="coordinator", sites=[plan.site])
    files: dict[str, Path] = {}
    secrets_dir = work_dir / "agents"
    secrets_dir.mkdir(parents=True, exist_ok=True)
    for node, _kind in plan.agent_ids():
        _account, password = registry.add(node, role="device", sites=[plan.site])
        path = secrets_dir / f"{node}.password"
        path.write_text(password + "\n")
        path.chmod(0o600)
        files[node] = path
    return DemoLogins(coordinator.username, coordinator_password, files)


@contextmanager
def running_demo(plan: DemoPlan, work_dir: Path) -> Iterator[tuple[Broker, str]]:
    """Start broker, coordinator and agents; yield (broker, API URL); stop all on exit."""
    children: list[subprocess.Popen[bytes]] = []
    logins = _make_logins(plan, work_dir)
    broker = start_broker(
        work_dir / "mosquitto", security=ListenerSecurity(auth_dir=work_dir / "auth")
    )
    try:
        http_port = plan.http_port or free_port()
        api_url = f"http://127.0.0.1:{http_port}"
        coordinator = subprocess.Popen(
            _flexfleet(
                "coordinator",
                "--broker", broker.url,
                "--db", str(work_dir / "coordinator.db"),
                "--http-port", str(http_port),
                "--site", plan.site,
                "--coordinator-id", "demo",
                "--dev",
            ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches the demo only; it stops children in order
            env=_demo_environment(logins.coordinator_username, logins.coordinator_password),
        )  # fmt: skip
        children.append(coordinator)
        _wait_http(f"{api_url}/healthz", coordinator, timeout_s=60)
        for i, (node, kind) in enumerate(plan.agent_ids()):
            agent = subprocess.Popen(
                _flexfleet(
                    "agent",
                    "--site", plan.site,
                    "--node", node,
                    "--kind", kind,
                    "--broker", broker.url,
                    "--username", f"{plan.site}/{node}",
                    "--password-file", str(logins.agent_password_files[node]),
                    "--state-dir", str(work_dir / "agents" / node),
                    "--seed", str(plan.seed + i),
                ),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
            children.append(agent)
        yield broker, api_url
    finally:
        _stop(list(reversed(children)))
        broker.stop()


def run_demo(plan: DemoPlan, *, duration_s: float | None, work_dir: Path | None) -> int:
    """Run the demo until Ctrl-C, SIGTERM or `duration_s`; return the exit code."""
    with tempfile.TemporaryDirectory(prefix="flexfleet-demo-") as scratch:
        base = work_dir or Path(scratch)
        base.mkdir(parents=True, exist_ok=True)
        stop_requested = False

        def request_stop(_signum: int, _frame: object) -> None:
            nonlocal stop_requested
            stop_requested = True

        previous = signal.signal(signal.SIGTERM, request_stop)
        try:
            with running_demo(plan, base) as (broker, api_url):
                print(f"API: {api_url}/api/v1/nodes", flush=True)
                print(f"Dashboard: {api_url}/", flush=True)
                print(f"Broker: {broker.url}", flush=True)
                print(
                    f"Broker accounts: {base / 'auth'} (flexfleet device --auth-dir ...)",
                    flush=True,
                )
                print(
                    f"Running {plan.machines} machine and {plan.warehouses} warehouse agents "
                    f"at site {plan.site}; Ctrl-C stops everything.",
                    flush=True,
                )
                deadline = None if duration_s is None else time.monotonic() + duration_s
                while not stop_requested and (deadline is None or time.monotonic() < deadline):
                    time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
        print("Stopped every demo process.", flush=True)
    return 0
