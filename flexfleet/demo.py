"""`flexfleet demo`: a broker, the coordinator and a simulated fleet on this machine.

Everything runs as child processes of the demo: a Mosquitto with the project's config on
a free loopback port, one coordinator, and one edge agent per simulated device. The broker
refuses anonymous clients: every agent and the coordinator log in with an account of their
own, and the ACL gives each only its topics (`flexfleet.device_registry`; the accounts live
in the work directory's `auth/`, where `flexfleet device --auth-dir` manages them); what the
broker denies or refuses is kept in `broker-security.jsonl` (`flexfleet.broker_watch`). The API
and broker URLs are printed on lines of their own (`API: ...`, `Broker: ...`) so scripts
can find them. Ctrl-C (or `--duration`) stops every process the demo started.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flexfleet.broker import Broker, ListenerSecurity, free_port, start_broker
from flexfleet.demo_status import fetch_orders, status_line, tally
from flexfleet.demo_world import (
    SERVICE_S,
    SITE_CENTRE,
    VAN_SPEED_KMH,
    Place,
    World,
    agent_toml,
    fleet_document,
    network_document,
    products_document,
)
from flexfleet.device_registry import DeviceRegistry
from flexfleet.storefront import Shoppers, Storefront

# Simulated seconds per wall second: a van's 10 km drive (20 min) takes 10 s, a 4-unit
# batch with its setup (84 s) 0.7 s, a plan unit (60 s) 0.5 s
DEFAULT_SPEED = 120.0


class DemoError(RuntimeError):
    """A demo process failed to start or died."""


@dataclass(frozen=True)
class DemoPlan:
    """What the demo starts: the world (factories, warehouses, vehicles), how fast its
    simulated clock runs (`speed` simulated seconds per wall second: the coordinator and
    every agent share it), and the storefront."""

    site: str = "yiwu-1"
    world: World = field(default_factory=World)
    http_port: int = 0
    seed: int = 7
    speed: float = DEFAULT_SPEED
    shoppers: Shoppers = field(default_factory=Shoppers)
    status_every_s: float = 60.0

    def __post_init__(self) -> None:
        if not 0.1 <= self.speed <= 10_000:
            raise ValueError("--speed must be in 0.1..10000")
        if not 1 <= self.status_every_s <= 3600:
            raise ValueError("--status-every must be in 1..3600 s")

    def places(self) -> list[Place]:
        """Every simulated node and where it is."""
        return self.world.places()

    def agent_ids(self) -> list[tuple[str, str]]:
        """(node id, kind) of every simulated agent."""
        return [(p.node, p.kind) for p in self.places()]


def _spawn(
    command: list[str], log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a child in a session of its own (Ctrl-C reaches the demo only; it stops its
    children in order), its stderr appended to `log`."""
    with open(log, "ab") as stderr:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
            env=env,
        )


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
    # forecasts and stock cover every minute of wall time (their timers are real), not
    # hourly, so a short demo shows them
    "FLEXFLEET_FORECAST_REFRESH_INTERVAL_S": "60",
    # a van's tour waits at most half an hour of the demo's clock for more stops (15 s of
    # wall time), not the six hours of a working day's default
    "FLEXFLEET_DISPATCH_MAX_WAIT_S": "1800",
}
COMMAND_TIMEOUT_WALL_S = 60.0  # a command's answer is awaited this long in wall time


def _demo_environment(
    broker_username: str, broker_password: str, *, speed: float
) -> dict[str, str]:
    """The coordinator's environment: the demo's settings unless the caller set them, and
    its broker login (the password from the environment, never on a command line). It
    runs on the demo's simulated clock (`clock_arguments`), so it plans the vans at their
    real speed and time at the door; a command's deadline is a date on that clock, so
    the time it waits for an answer is scaled to stay a minute of wall time."""
    timeout_s = min(86_400.0, COMMAND_TIMEOUT_WALL_S * speed)
    return {
        **DEMO_SETTINGS,
        "FLEXFLEET_TRAVEL_SPEED_KMH": f"{VAN_SPEED_KMH:g}",
        "FLEXFLEET_DELIVERY_SERVICE_S": f"{SERVICE_S:g}",
        "FLEXFLEET_COMMAND_TIMEOUT_S": f"{timeout_s:g}",
        **os.environ,
        "FLEXFLEET_BROKER_USERNAME": broker_username,
        "FLEXFLEET_BROKER_PASSWORD": broker_password,
    }


def clock_arguments(speed: float, origin_s: float) -> list[str]:
    """The options that put a coordinator or agent on the demo's simulated clock: dates
    `speed` times faster than wall time from `origin_s`, the same in every process."""
    return ["--clock-speed", f"{speed!r}", "--clock-origin", f"{origin_s!r}"]


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
def running_demo(
    plan: DemoPlan,
    work_dir: Path,
    *,
    origin_s: float | None = None,
    broker_security_log: bool = True,
) -> Iterator[tuple[Broker, str]]:
    """Start broker, coordinator and agents; yield (broker, API URL); stop all on exit.
    Their simulated clock reads wall time at `origin_s` (default: now), then runs ahead.
    `broker_security_log=False` (for measuring its cost) keeps no broker security log."""
    children: list[subprocess.Popen[bytes]] = []
    logins = _make_logins(plan, work_dir)
    origin_s = time.time() if origin_s is None else origin_s
    broker = start_broker(
        work_dir / "mosquitto",
        security=ListenerSecurity(auth_dir=work_dir / "auth"),
        security_log=work_dir / "broker-security.jsonl" if broker_security_log else None,
    )
    try:
        http_port = plan.http_port or free_port()
        api_url = f"http://127.0.0.1:{http_port}"
        coordinator = _spawn(
            _flexfleet(
                "coordinator",
                "--broker", broker.url,
                "--db", str(work_dir / "coordinator.db"),
                "--http-port", str(http_port),
                "--site", plan.site,
                "--coordinator-id", "demo",
                "--dev",
                *clock_arguments(plan.speed, origin_s),
            ),
            work_dir / "coordinator.log",
            _demo_environment(
                logins.coordinator_username, logins.coordinator_password, speed=plan.speed
            ),
        )  # fmt: skip
        children.append(coordinator)
        _wait_http(f"{api_url}/healthz", coordinator, timeout_s=60)
        dock = work_dir / "dock"
        for i, place in enumerate(plan.places()):
            config = work_dir / "agents" / f"{place.node}.toml"
            config.write_text(
                agent_toml(
                    place,
                    site=plan.site,
                    broker_url=broker.url,
                    username=f"{plan.site}/{place.node}",
                    password_file=logins.agent_password_files[place.node],
                    state_dir=work_dir / "agents" / place.node,
                    dock=dock,
                    seed=plan.seed + i,
                    speed=plan.speed,
                    skus=plan.world.stocked_skus,
                )
            )
            agent = _spawn(
                _flexfleet(
                    "agent",
                    "--config",
                    str(config),
                    "--log-level",
                    "WARNING",
                    *clock_arguments(plan.speed, origin_s),
                ),
                work_dir / "agents" / f"{place.node}.log",
            )
            children.append(agent)
        yield broker, api_url
    finally:
        _stop(list(reversed(children)))
        broker.stop()


def _call(api_url: str, method: str, path: str, body: Any) -> Any:
    request = urllib.request.Request(  # noqa: S310 (the demo's own loopback API)
        f"{api_url}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.load(response)


def _wait_nodes_online(api_url: str, nodes: set[str], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with suppress(OSError, ValueError):
            with urllib.request.urlopen(f"{api_url}/api/v1/nodes", timeout=5) as response:  # noqa: S310
                body = json.load(response)
            listed = body if isinstance(body, list) else body.get("nodes", [])
            if nodes <= {n["node"] for n in listed if n.get("online")}:
                return
        time.sleep(0.5)
    raise DemoError(f"the agents did not all come online within {timeout_s} s")


def declare_world(plan: DemoPlan, api_url: str) -> None:
    """Declare the network, the recipes and the fleet through the API, once every agent is
    online (the planner accepts only machines and vehicles it has seen)."""
    _wait_nodes_online(api_url, {node for node, _ in plan.agent_ids()}, timeout_s=120)
    products = products_document(plan.world)
    _call(api_url, "PUT", "/api/v1/plans/products", products)
    _call(api_url, "PUT", "/api/v1/network", network_document(plan.world))
    if plan.world.vehicles:
        _call(api_url, "PUT", "/api/v1/plans/fleet", fleet_document(plan.world))


def _print_status(api_url: str, elapsed_s: float) -> None:
    try:
        counts = tally(fetch_orders(api_url))
    except (OSError, ValueError, KeyError) as exc:
        print(f"[{elapsed_s / 60:5.1f} min] status unavailable: {exc}", flush=True)
        return
    print(status_line(elapsed_s, counts), flush=True)


GOAL_WINDOW_S = 300.0  # the goal: orders delivered within the first 5 minutes of wall time


def _print_goal(api_url: str) -> None:
    try:
        delivered = tally(fetch_orders(api_url)).delivered
    except (OSError, ValueError, KeyError) as exc:
        print(f"Delivered in the first 5 minutes: unknown ({exc})", flush=True)
        return
    print(f"Delivered in the first 5 minutes: {delivered} (goal >= 20)", flush=True)


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
                    f"Broker security log: {base / 'broker-security.jsonl'} "
                    "(denied publishes, refused logins)",
                    flush=True,
                )
                w = plan.world
                print(
                    f"Running {w.factories} factories ({w.factories * w.machines_per_factory} "
                    f"machines), {w.warehouses} warehouses and {w.vehicles} vehicles at site "
                    f"{plan.site}, their clock {plan.speed:g}x faster than wall time; Ctrl-C stops"
                    " everything.",
                    flush=True,
                )
                declare_world(plan, api_url)
                storefront = Storefront(
                    api_url, plan.world.skus_sold(), SITE_CENTRE, plan.seed, plan.shoppers
                )
                storefront.start()
                started = time.monotonic()
                deadline = None if duration_s is None else started + duration_s
                next_status = started + plan.status_every_s
                five_minutes: float | None = started + GOAL_WINDOW_S
                try:
                    while not stop_requested and (deadline is None or time.monotonic() < deadline):
                        time.sleep(0.2)
                        if time.monotonic() >= next_status:
                            next_status += plan.status_every_s
                            _print_status(api_url, time.monotonic() - started)
                        if five_minutes is not None and time.monotonic() >= five_minutes:
                            five_minutes = None
                            _print_goal(api_url)
                finally:
                    storefront.stop()
                    _print_status(api_url, time.monotonic() - started)
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
        print("Stopped every demo process.", flush=True)
    return 0
