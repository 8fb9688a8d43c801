"""docker compose's broker logins, without Docker: the `broker-auth` service's command run
here (its volume a temporary directory) makes files that a real Mosquitto, started with
docker/mosquitto.conf, enforces: no anonymous client, every agent and the coordinator in
with the password file its mount gives it."""

from __future__ import annotations

import os
import pwd
import shlex
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from flexfleet.broker import find_mosquitto, free_port
from flexfleet.cli import build_parser, main

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _services() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    return services


def _volume_target(service: dict[str, Any], source: str) -> str:
    for volume in service["volumes"]:
        if isinstance(volume, dict) and volume["source"] == source:
            return str(volume["target"])
        if isinstance(volume, str) and volume.split(":")[0] == source:
            return volume.split(":")[1]
    raise AssertionError(f"no {source} volume")


PROVISIONING = ("broker-auth", "broker-auth-scale")  # the demo's site, the scale profile's


def _provision(auth: Path, name: str = "broker-auth") -> list[str]:
    """The command of provisioning service `name` with its volume at `auth` and the
    broker's user ours."""
    service = _services()[name]
    target = _volume_target(service, "broker-auth")
    argv = [
        str(auth) + word[len(target) :] if word.startswith(target) else word
        for word in shlex.split(service["command"])
    ]
    uid = argv.index("--broker-uid") + 1
    argv[uid] = f"{os.geteuid()}:{os.getegid()}"
    return argv


def _login(port: int, username: str | None, password: str | None) -> ReasonCode:
    """The broker's CONNACK reason for this login."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.reconnect_delay_set(60, 60)
    answered = threading.Event()
    codes: list[ReasonCode] = []

    def on_connect(_c: Any, _u: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
        codes.append(rc)
        answered.set()

    client.on_connect = on_connect
    if username is not None:
        client.username_pw_set(username, password)
    client.connect("127.0.0.1", port, keepalive=30)
    client.loop_start()
    try:
        assert answered.wait(10), "no CONNACK"
    finally:
        client.disconnect()
        client.loop_stop()
    return codes[0]


@pytest.fixture
def compose_broker(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """broker-auth and the scale profile's broker-auth-scale run twice (as at every `docker
    compose --profile scale up`), then Mosquitto with
    docker/mosquitto.conf, its listener and paths moved here; yields (port, auth dir)."""
    auth = tmp_path / "auth"
    for name in PROVISIONING:  # as `docker compose --profile scale up` runs them
        assert main(_provision(auth, name)) == 0
    passwords = (auth / "passwords").read_text()
    for name in PROVISIONING:
        assert main(_provision(auth, name)) == 0
    assert (auth / "passwords").read_text() == passwords  # kept: the broker's file holds
    broker = _services()["mosquitto"]
    mounted = _volume_target(broker, "broker-auth")
    port = free_port()
    conf = (ROOT / "docker" / "mosquitto.conf").read_text()
    assert "listener 1883 0.0.0.0" in conf
    conf = conf.replace("listener 1883 0.0.0.0", f"listener {port} 127.0.0.1")
    conf = conf.replace(mounted, str(auth)).replace("/mosquitto/data/", f"{tmp_path}/data/")
    conf += f"\nuser {pwd.getpwuid(os.geteuid()).pw_name}\n"  # keep our user (it owns the files)
    (tmp_path / "data").mkdir()
    (tmp_path / "mosquitto.conf").write_text(conf)
    process = subprocess.Popen(
        [find_mosquitto(), "-c", str(tmp_path / "mosquitto.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            assert process.poll() is None, "mosquitto exited"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "mosquitto did not listen"
                time.sleep(0.05)
        yield port, auth
    finally:
        process.terminate()
        process.wait(10)


def test_compose_logins_work_and_anonymous_is_refused(
    compose_broker: tuple[int, Path],
) -> None:
    """Anonymous and a wrong password are refused; each agent's and each coordinator's
    mounted password file (the scale profile's too) logs it in as its account."""
    port, auth = compose_broker
    assert _login(port, None, None).is_failure
    parser = build_parser()
    checked = 0
    for name, service in _services().items():
        if "build" not in service or name in PROVISIONING:
            continue
        args = parser.parse_args(shlex.split(service["command"]))
        agent = args.command == "agent"
        username = args.username if agent else args.broker_username
        password_file = Path(args.password_file if agent else args.broker_password_file)
        mount = next(
            v for v in service["volumes"] if isinstance(v, dict) and v["source"] == "broker-auth"
        )
        local = auth / mount["volume"]["subpath"] / password_file.relative_to(mount["target"])
        password = local.read_text().strip()
        assert _login(port, username, password + "x").is_failure
        code = _login(port, username, password)
        assert not code.is_failure, (username, code)
        checked += 1
    assert checked == 15  # 11 + 1 agents, the demo's coordinator, the scale profile's two
