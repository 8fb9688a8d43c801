"""docker-compose.yml stays consistent with the CLI and the demo it mirrors."""

from __future__ import annotations

import argparse
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
        assert args.command in {"coordinator", "agent", "device"}


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
    mounted = [m["source"] for m in _mounts(broker).values()]
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
    assert built["broker-auth"]["build"]["target"] == "coordinator"  # Python only, no broker
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


def _mosquitto_conf() -> dict[str, list[str]]:
    """docker/mosquitto.conf: option -> its values, comments left out."""
    options: dict[str, list[str]] = {}
    for line in (ROOT / "docker" / "mosquitto.conf").read_text().splitlines():
        words = line.split(None, 1)
        if words and not words[0].startswith("#"):
            options.setdefault(words[0], []).append(words[1].strip() if len(words) > 1 else "")
    return options


def _mounts(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """target -> the long form of each volume of a service."""
    mounts: dict[str, dict[str, Any]] = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target, *mode = volume.split(":")
            mounts[target] = {"source": source, "target": target, "read_only": mode == ["ro"]}
        else:
            mounts[volume["target"]] = volume
    return mounts


def _mounted_from(service: dict[str, Any], path: str) -> tuple[dict[str, Any], str]:
    """The mount `path` lies in, and `path` relative to it."""
    for target, mount in _mounts(service).items():
        if path.startswith(target.rstrip("/") + "/"):
            return mount, path[len(target.rstrip("/")) + 1 :]
    raise AssertionError(f"{path} is on no volume")


def test_the_broker_admits_no_anonymous_client() -> None:
    """docker/mosquitto.conf refuses anonymous clients and reads the password file and the
    ACL from the broker-auth volume, mounted read-only."""
    options = _mosquitto_conf()
    assert options["allow_anonymous"] == ["false"]
    broker = _services()["mosquitto"]
    for option, name in (("password_file", "passwords"), ("acl_file", "acl")):
        (path,) = options[option]
        mount, inside = _mounted_from(broker, path)
        assert (mount["source"], inside, mount["read_only"]) == ("broker-auth", name, True)
    assert broker["depends_on"]["broker-auth"] == {"condition": "service_completed_successfully"}


def _provisioned() -> tuple[argparse.Namespace, str]:
    """The broker-auth service's parsed command and where its volume is mounted."""
    service = _services()["broker-auth"]
    args = build_parser().parse_args(shlex.split(service["command"]))
    assert (args.command, args.device_command) == ("device", "provision")
    mount = next(m for m in _mounts(service).values() if m["source"] == "broker-auth")
    return args, mount["target"]


def test_every_agent_and_the_coordinator_mount_only_their_own_password() -> None:
    """Each agent logs in as `{site}/{node}` with a password file on a read-only mount of
    exactly its own secrets directory, as provisioned by broker-auth; the coordinator as
    its account; every one waits for broker-auth to finish."""
    provision, auth_target = _provisioned()
    secrets = Path(provision.secrets_dir).relative_to(auth_target)
    parser = build_parser()
    logins = {}
    for name, service in _services().items():
        if "build" not in service or name == "broker-auth":
            continue
        args = parser.parse_args(shlex.split(service["command"]))
        if args.command == "agent":
            username, password_file = args.username, args.password_file
            assert username == f"{provision.site}/{args.node}"
        else:
            username, password_file = args.broker_username, args.broker_password_file
            assert username == f"coordinator/{provision.coordinator}"
            assert args.coordinator_id == provision.coordinator
            assert args.sites == [provision.site]
        mount, inside = _mounted_from(service, str(password_file))
        assert mount["source"] == "broker-auth"
        assert mount["read_only"] is True
        assert mount["volume"]["subpath"] == f"{secrets}/{username}"
        assert inside == "password"
        assert service["depends_on"]["broker-auth"] == {
            "condition": "service_completed_successfully"
        }
        logins[username] = args.command
    assert set(logins) == {f"coordinator/{provision.coordinator}"} | {
        f"{provision.site}/{node}" for node in provision.nodes
    }


def test_published_ports_listen_on_this_host_only() -> None:
    """The broker and the demo's open (--dev) API are published on 127.0.0.1 only, as
    `make demo` listens on loopback."""
    published = [(name, port) for name, s in _services().items() for port in s.get("ports", [])]
    assert {name for name, _ in published} == {"mosquitto", "coordinator"}
    for name, port in published:
        assert str(port).startswith("127.0.0.1:"), (name, port)
