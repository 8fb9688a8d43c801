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


def _services(profile: str | None = None) -> dict[str, Any]:
    """The services `docker compose up` starts (profile None), or those of one profile."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services: dict[str, Any] = compose["services"]
    wanted = [] if profile is None else [profile]
    return {name: s for name, s in services.items() if s.get("profiles", []) == wanted}


def test_every_flexfleet_command_parses() -> None:
    """Each service built from the image runs a command the real CLI accepts (every
    profile's)."""
    parser = build_parser()
    services = [*_services().values(), *_services("scale").values()]
    commands = [s["command"] for s in services if "build" in s]
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
    """The broker and the open (--dev) APIs of the demo and of the scale profile are
    published on 127.0.0.1 only, as `make demo` listens on loopback; PostgreSQL not at all."""
    services = {**_services(), **_services("scale")}
    published = [(name, port) for name, s in services.items() for port in s.get("ports", [])]
    assert {name for name, _ in published} == {
        "mosquitto",
        "coordinator",
        "coordinator-scale-a",
        "coordinator-scale-b",
    }
    for name, port in published:
        assert str(port).startswith("127.0.0.1:"), (name, port)


def _scale_coordinators() -> dict[str, argparse.Namespace]:
    """The scale profile's coordinator services, parsed."""
    parser = build_parser()
    return {
        name: parser.parse_args(shlex.split(service["command"]))
        for name, service in _services("scale").items()
        if "build" in service and service["command"].startswith("coordinator ")
    }


def test_scale_profile_runs_a_leader_and_a_standby_on_postgresql() -> None:
    """`--profile scale`: a PostgreSQL server and two coordinators of one id, one site, one
    database URL, both with the leader lock, on one data volume (the SQLite files they
    share), each on its own published port, started after the database is healthy."""
    services = _services("scale")
    assert services["postgres"]["image"].startswith("postgres:")
    assert "healthcheck" in services["postgres"]
    coordinators = _scale_coordinators()
    assert set(coordinators) == {"coordinator-scale-a", "coordinator-scale-b"}
    a, b = coordinators.values()
    assert a.leader_lock is True
    assert b.leader_lock is True
    assert (a.coordinator_id, a.sites, a.db) == (b.coordinator_id, b.sites, b.db)
    assert a.db.startswith("postgresql://")
    assert "@postgres:" in a.db
    assert ":" not in a.db.split("@")[0].removeprefix("postgresql://")  # no password in it
    data = [
        _mounts(services[name])["/data"]["source"] for name in coordinators
    ]  # where FLEXFLEET_DB_PATH lies
    assert data == ["scale-data", "scale-data"]
    for name in coordinators:
        service = services[name]
        assert service["environment"]["FLEXFLEET_DB_PATH"].startswith("/data/")
        assert "PGPASSWORD" in service["environment"]
        assert service["depends_on"]["postgres"] == {"condition": "service_healthy"}
        assert service["restart"] == "unless-stopped"  # a leader that lost its lock exits
    assert services["coordinator-scale-a"]["ports"] != services["coordinator-scale-b"]["ports"]


def test_scale_profile_site_is_provisioned_apart_from_the_demo() -> None:
    """The scale site has its own coordinator id and site (the demo's coordinator keeps
    running beside it: one MQTT session per coordinator id), its accounts made by a
    one-shot of the profile after broker-auth, before the broker starts; both scale
    coordinators log in with the one coordinator account, each agent with its own."""
    demo_provision, _ = _provisioned()
    services = _services("scale")
    parser = build_parser()
    provision = parser.parse_args(shlex.split(services["broker-auth-scale"]["command"]))
    assert (provision.command, provision.device_command) == ("device", "provision")
    assert provision.site != demo_provision.site
    assert provision.coordinator != demo_provision.coordinator
    depends = services["broker-auth-scale"]["depends_on"]
    assert depends["broker-auth"] == {"condition": "service_completed_successfully"}
    broker_waits = _services()["mosquitto"]["depends_on"]["broker-auth-scale"]
    assert broker_waits == {"condition": "service_completed_successfully", "required": False}
    for args in _scale_coordinators().values():
        assert (args.coordinator_id, args.sites) == (provision.coordinator, [provision.site])
        assert args.broker_username == f"coordinator/{provision.coordinator}"
    agents = {
        name: parser.parse_args(shlex.split(s["command"]))
        for name, s in services.items()
        if "build" in s and s["command"].startswith("agent ")
    }
    assert {a.node for a in agents.values()} == set(provision.nodes)
    for name, args in agents.items():
        assert args.site == provision.site
        mount, _ = _mounted_from(services[name], str(args.password_file))
        assert mount["volume"]["subpath"].endswith(f"{provision.site}/{args.node}")
        assert "coordinator" not in services[name]["depends_on"]  # the demo's, not theirs
