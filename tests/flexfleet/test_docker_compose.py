"""docker-compose.yml stays consistent with the CLI and the demo it mirrors."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import yaml

from flexfleet.cli import build_parser
from flexfleet.demo import DemoPlan

ROOT = Path(__file__).resolve().parents[2]


def _services() -> dict[str, Any]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services: dict[str, Any] = compose["services"]
    return services


def test_every_flexfleet_command_parses() -> None:
    """Each service built from the image runs a command the real CLI accepts."""
    parser = build_parser()
    commands = [s["command"] for s in _services().values() if "build" in s]
    assert commands
    for command in commands:
        args = parser.parse_args(shlex.split(command))
        assert args.command in {"coordinator", "agent"}


def test_same_fleet_as_the_demo() -> None:
    """Compose runs the demo's default fleet: the same node ids and kinds, at one site."""
    parser = build_parser()
    agents = {}
    for service in _services().values():
        if "build" not in service:
            continue
        args = parser.parse_args(shlex.split(service["command"]))
        if args.command == "agent":
            agents[args.node] = args.kind
            assert args.site == DemoPlan().site
    assert agents == dict(DemoPlan().agent_ids())


def test_broker_uses_eclipse_mosquitto_with_project_config() -> None:
    """The broker is the eclipse-mosquitto image with the config file kept in docker/."""
    broker = _services()["mosquitto"]
    assert broker["image"].startswith("eclipse-mosquitto")
    mounted = [v.split(":")[0] for v in broker["volumes"]]
    assert "./docker/mosquitto.conf" in mounted
    assert (ROOT / "docker" / "mosquitto.conf").is_file()
