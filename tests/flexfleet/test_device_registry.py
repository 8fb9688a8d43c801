"""Broker accounts: validation, the ACL written from them, hashed passwords, the CLI."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flexfleet import mosquitto_passwords as pw
from flexfleet.cli import main
from flexfleet.device_registry import (
    Account,
    DeviceRegistry,
    RegistryError,
    acl_text,
    secret_path,
)


def test_acl_gives_a_device_its_own_topics_and_a_coordinator_its_sites() -> None:
    """A device writes one level under its own prefix and reads its commands; a coordinator
    reads each of its sites and writes their commands and alerts."""
    text = acl_text(
        [
            Account("press-01", "device", ("yiwu-1",), "t"),
            Account("c1", "coordinator", ("yiwu-1", "yiwu-2"), "t"),
        ]
    )
    device = text.split("user yiwu-1/press-01\n")[1].split("\n\n")[0].splitlines()
    assert device == [
        "topic write ff/v1/yiwu-1/press-01/+",
        "topic read ff/v1/yiwu-1/press-01/cmd/#",
        "topic read ff/v1/coordinator/#",
    ]
    coordinator = text.split("user coordinator/c1\n")[1].splitlines()
    assert "topic read ff/v1/yiwu-2/#" in coordinator
    assert "topic write ff/v1/yiwu-1/+/cmd/#" in coordinator
    assert not any(line.startswith("pattern") for line in text.splitlines())


@pytest.mark.parametrize(
    ("name", "role", "sites", "field"),
    [
        ("press/01", "device", ["s"], "name"),  # would make usernames ambiguous
        ("", "device", ["s"], "name"),
        ("x" * 65, "device", ["s"], "name"),
        ("press-01", "device", [], "site"),
        ("press-01", "device", ["a", "b"], "site"),
        ("press-01", "device", ["coordinator"], "site"),
        ("press-01", "device", ["bad site"], "site"),
        ("press-01", "root", ["s"], "role"),
        ("c1", "coordinator", ["s", "../etc"], "site"),
    ],
)
def test_bad_accounts_are_refused_naming_the_field(
    tmp_path: Path, name: str, role: str, sites: list[str], field: str
) -> None:
    """Ids outside the topic namespace, a device at no or two sites, unknown roles."""
    registry = DeviceRegistry(tmp_path / "auth")
    with pytest.raises(RegistryError) as caught:
        registry.add(name, role=role, sites=sites)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert registry.accounts() == []


def test_passwords_are_stored_hashed_and_accounts_keep_no_secret(tmp_path: Path) -> None:
    """The clear password appears in no file of the auth directory; the password file is
    private and holds a PBKDF2 hash; a second add of the same device is refused."""
    registry = DeviceRegistry(tmp_path / "auth")
    account, password = registry.add("press-01", role="device", sites=["yiwu-1"])
    assert len(password) >= 32
    for path in registry.directory.iterdir():
        assert password not in path.read_text()
    line = registry.password_path.read_text().strip()
    assert line.startswith("yiwu-1/press-01:$7$")  # Mosquitto's PBKDF2-SHA512
    assert registry.password_path.stat().st_mode & 0o077 == 0
    assert json.loads(registry.accounts_path.read_text())["accounts"][0]["name"] == "press-01"
    with pytest.raises(RegistryError, match="already exists"):
        registry.add("press-01", role="device", sites=["yiwu-1"])
    assert registry.find("press-01") == account


def test_rotate_and_remove_change_the_password_file_and_acl(tmp_path: Path) -> None:
    """Rotation replaces the hash; removal drops the login and its ACL block; the same node
    id at two sites needs the site named."""
    registry = DeviceRegistry(tmp_path / "auth")
    registry.add("press-01", role="device", sites=["a"])
    registry.add("press-01", role="device", sites=["b"])
    with pytest.raises(RegistryError) as caught:
        registry.rotate("press-01")
    assert caught.value.field == "site"
    before = registry.password_path.read_text()
    rotated, _ = registry.rotate("press-01", site="a")
    assert rotated.rotated_at is not None
    after = registry.password_path.read_text()
    assert before != after
    assert [line.split(":")[0] for line in after.splitlines()] == ["a/press-01", "b/press-01"]
    registry.remove("press-01", site="b")
    assert "b/press-01" not in registry.password_path.read_text()
    assert "user b/press-01" not in registry.acl_path.read_text()
    assert "user a/press-01" in registry.acl_path.read_text()
    with pytest.raises(RegistryError, match="no device"):
        registry.remove("press-01", site="b")


def test_a_damaged_accounts_file_is_a_clear_error(tmp_path: Path) -> None:
    """Hand-edited JSON that lost a key is named, not a traceback."""
    registry = DeviceRegistry(tmp_path / "auth")
    registry.init()
    registry.accounts_path.write_text('{"accounts": [{"name": "x"}]}')
    with pytest.raises(RegistryError, match="damaged"):
        registry.accounts()


def test_reload_signals_the_broker_named_in_the_pid_file(tmp_path: Path) -> None:
    """SIGHUP goes to the pid in broker.pid; a stale pid or none is reported as None."""
    registry = DeviceRegistry(tmp_path / "auth")
    registry.init()
    assert registry.reload_broker() is None
    child = subprocess.Popen(
        [sys.executable, "-c", "import signal,sys,time\n"
         "signal.signal(signal.SIGHUP, lambda *_: sys.exit(7))\n"
         "print('ready', flush=True)\ntime.sleep(30)"],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    assert child.stdout is not None
    assert child.stdout.readline() == b"ready\n"
    registry.pid_path.write_text(f"{child.pid}\n")
    assert registry.reload_broker() == child.pid
    assert child.wait(10) == 7
    child.stdout.close()
    assert registry.reload_broker() is None  # the process is gone


def test_cli_adds_lists_rotates_and_removes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`flexfleet device` prints the agent's settings with the password once, lists accounts
    without secrets, and refuses bad input with exit code 2."""
    auth = str(tmp_path / "auth")
    assert main(["device", "--auth-dir", auth, "add", "press-01", "--site", "yiwu-1"]) == 0
    out = capsys.readouterr().out
    assert "username = 'yiwu-1/press-01'" in out
    password = out.split("FLEXFLEET_MQTT_PASSWORD=")[1].split()[0]
    assert (
        main(["device", "--auth-dir", auth, "add", "c1", "--coordinator", "--site", "yiwu-1"]) == 0
    )
    assert "broker_username = 'coordinator/c1'" in capsys.readouterr().out
    assert main(["device", "--auth-dir", auth, "list"]) == 0
    listing = capsys.readouterr().out
    assert "yiwu-1/press-01\tdevice\tyiwu-1" in listing
    assert "coordinator/c1\tcoordinator\tyiwu-1" in listing
    assert password not in listing
    assert main(["device", "--auth-dir", auth, "rotate", "press-01"]) == 0
    assert password not in capsys.readouterr().out
    assert main(["device", "--auth-dir", auth, "remove", "press-01"]) == 0
    assert "removed yiwu-1/press-01" in capsys.readouterr().out
    assert main(["device", "--auth-dir", auth, "remove", "press-01"]) == 2
    assert "no device called 'press-01'" in capsys.readouterr().err
    assert main(["device", "--auth-dir", auth, "add", "bad id", "--site", "s"]) == 2


def _logins(registry: DeviceRegistry, secrets: Path) -> dict[str, bool]:
    """username → whether its secret file holds the password the broker's file checks."""
    entries = pw.read(registry.password_path)
    return {
        account.username: pw.matches(
            entries[account.username], secret_path(secrets, account).read_text().strip()
        )
        for account in registry.accounts()
    }


def test_provision_adds_keeps_and_repairs_a_missing_password_file(tmp_path: Path) -> None:
    """A first run adds every account with its password in its own private file; a second
    keeps them all (same hashes); a deleted file gets a new password, the others stay."""
    registry = DeviceRegistry(tmp_path / "auth")
    secrets = tmp_path / "auth" / "secrets"
    nodes = ["press-01", "shelf-01"]
    first = registry.provision(site="yiwu-1", nodes=nodes, coordinator="c1", secrets_dir=secrets)
    assert [(a.username, step) for a, step in first] == [
        ("coordinator/c1", "added"),
        ("yiwu-1/press-01", "added"),
        ("yiwu-1/shelf-01", "added"),
    ]
    assert _logins(registry, secrets) == dict.fromkeys(
        ("coordinator/c1", "yiwu-1/press-01", "yiwu-1/shelf-01"), True
    )
    file = secrets / "yiwu-1" / "press-01" / "password"
    assert file.stat().st_mode & 0o777 == 0o600
    assert file.parent.stat().st_mode & 0o777 == 0o700
    assert secrets.stat().st_mode & 0o777 == 0o700
    hashes = registry.password_path.read_text()
    again = registry.provision(site="yiwu-1", nodes=nodes, coordinator="c1", secrets_dir=secrets)
    assert {step for _, step in again} == {"kept"}
    assert registry.password_path.read_text() == hashes
    file.unlink()
    repaired = registry.provision(site="yiwu-1", nodes=nodes, coordinator=None, secrets_dir=secrets)
    assert [(a.username, step) for a, step in repaired] == [
        ("yiwu-1/press-01", "rotated"),
        ("yiwu-1/shelf-01", "kept"),
    ]
    assert all(_logins(registry, secrets).values())
    with pytest.raises(RegistryError) as caught:
        registry.provision(
            site="yiwu-1", nodes=["ok", "../x"], coordinator=None, secrets_dir=secrets
        )
    assert caught.value.field == "name"
    assert "yiwu-1/ok" not in {a.username for a in registry.accounts()}  # checked before any change


def test_provision_killed_mid_run_is_repaired_by_the_next_run(tmp_path: Path) -> None:
    """`flexfleet device provision` killed with SIGKILL part-way leaves files the next run
    completes: every account then has a file whose password the broker's file accepts,
    and each node has exactly one account."""
    auth, secrets = tmp_path / "auth", tmp_path / "auth" / "secrets"
    nodes = [f"n{i:03d}" for i in range(150)]
    command = [
        sys.executable, "-m", "flexfleet", "device", "--auth-dir", str(auth), "provision",
        "--site", "s", "--coordinator", "c", "--secrets-dir", str(secrets), *nodes,
    ]  # fmt: skip
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    registry = DeviceRegistry(auth)
    deadline = time.monotonic() + 60
    while child.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(RegistryError):
            if len(registry.accounts()) >= 20:
                break
        time.sleep(0.01)
    child.kill()
    child.wait(10)
    finished = subprocess.run(command, check=False, capture_output=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    usernames = [a.username for a in registry.accounts()]
    assert sorted(usernames) == sorted(["coordinator/c", *(f"s/{n}" for n in nodes)])
    assert all(_logins(registry, secrets).values())
    assert set(pw.read(registry.password_path)) == set(usernames)
    assert "user s/n149" in registry.acl_path.read_text()


@pytest.mark.skipif(os.geteuid() != 0, reason="handing files to another user needs root")
def test_files_handed_to_the_broker_stay_its_own_after_changes(tmp_path: Path) -> None:
    """After `--broker-uid`, later adds and removals rewrite the password file and the ACL
    keeping the broker's owner; the secrets stay with the provisioning user."""
    auth, secrets = tmp_path / "auth", tmp_path / "auth" / "secrets"
    argv = ["device", "--auth-dir", str(auth), "provision", "--site", "s"]
    assert main([*argv, "--secrets-dir", str(secrets), "--broker-uid", "1883", "p1"]) == 0
    registry = DeviceRegistry(auth)
    registry.add("p2", role="device", sites=["s"])
    registry.remove("p1", site="s")
    for path in (auth, registry.password_path, registry.acl_path):
        assert (path.stat().st_uid, path.stat().st_gid) == (1883, 1883), path
    assert (secrets / "s" / "p1" / "password").stat().st_uid == os.geteuid()
    assert main([*argv, "--secrets-dir", str(secrets), "--broker-uid", "x:1", "p1"]) == 2
