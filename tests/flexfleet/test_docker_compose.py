"""docker-compose.yml stays consistent with the CLI and the demo it mirrors."""

from __future__ import annotations

import shlex
import tomllib
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


def _dockerfile_stages() -> dict[str, list[str]]:
    """The Dockerfile's stages: name -> its instruction lines (continuations joined)."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    stages: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "FROM":
            assert words[-2].upper() == "AS", f"every stage is named: {line}"
            current = stages.setdefault(words[-1], [])
        current.append(" ".join(words))
    return stages


def test_agents_run_the_edge_image_and_the_coordinator_its_own() -> None:
    """Agents build the Dockerfile's `edge` target into one shared image, the coordinator
    the `coordinator` target, and both targets exist."""
    services = _services()
    stages = _dockerfile_stages()
    built = {name: s for name, s in services.items() if "build" in s}
    agents = {name: s for name, s in built.items() if s["command"].startswith("agent ")}
    assert len(agents) == len(DemoPlan().agent_ids())
    assert {s["build"]["target"] for s in agents.values()} == {"edge"}
    assert len({s["image"] for s in agents.values()}) == 1
    assert built["coordinator"]["build"]["target"] == "coordinator"
    assert built["coordinator"]["image"] != next(iter(agents.values()))["image"]
    assert {"edge", "coordinator"} <= set(stages)


def test_each_image_installs_its_own_extra() -> None:
    """The edge stage installs the project with the `edge` extra only, the coordinator stage
    with `coordinator`; neither installs the other's."""
    stages = _dockerfile_stages()
    edge_installs = [line for line in stages["edge"] if "pip install" in line]
    coordinator_installs = [line for line in stages["coordinator"] if "pip install" in line]
    assert len(edge_installs) == len(coordinator_installs) == 1
    assert "[edge]" in edge_installs[0]
    assert "coordinator" not in edge_installs[0]
    assert "[coordinator]" in coordinator_installs[0]


def test_the_image_holds_every_shipped_package() -> None:
    """The Dockerfile copies each top-level package that pyproject.toml ships."""
    shipped = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"
    ]["find"]["include"]
    copied = {
        line.split()[1]
        for lines in _dockerfile_stages().values()
        for line in lines
        if line.startswith("COPY ")
    }
    assert {package.rstrip("*") for package in shipped} <= copied


def test_scale_profile_runs_two_coordinators_on_one_postgresql() -> None:
    """The `scale` profile adds PostgreSQL and two coordinators keeping their core tables in
    it (`--db postgresql://...@postgres`), each owning other sites under its own id, started
    once the database answers; no password written into a URL."""
    services = _services()
    scale = {name for name, s in services.items() if "scale" in s.get("profiles", [])}
    assert scale == {"postgres", "coordinator-a", "coordinator-b"}
    assert services["postgres"]["image"].startswith("postgres:")
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    parser = build_parser()
    parsed = [
        parser.parse_args(shlex.split(services[n]["command"])) for n in sorted(scale - {"postgres"})
    ]
    assert all(a.command == "coordinator" for a in parsed)
    assert all(a.db.startswith("postgresql://flexfleet@postgres:5432/") for a in parsed)
    first, second = (set(a.sites) for a in parsed)
    assert first
    assert second
    assert not first & second
    assert len({a.coordinator_id for a in parsed}) == 2
    for name in scale - {"postgres"}:
        assert services[name]["depends_on"]["postgres"] == {"condition": "service_healthy"}
        assert "PGPASSWORD" in services[name]["environment"]
    default = [s for s in services.values() if "profiles" not in s]
    assert "postgres" not in {s.get("image", "").split(":")[0] for s in default}
