"""Broker accounts: validation, the ACL written from them, hashed passwords, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from flexfleet.cli import main
from flexfleet.device_registry import Account, DeviceRegistry, RegistryError, acl_text


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
    assert line.startswith("yiwu-1/press-01:$7$")  # mosquitto_passwd's PBKDF2-SHA512
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
