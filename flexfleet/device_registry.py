"""Broker accounts for devices and coordinators: who may log in, and what each may touch.

An auth directory holds everything Mosquitto needs to enforce identity and the ACL:

    accounts.json   the accounts (no secrets): username, role, sites, when made / rotated
    passwords       Mosquitto's password file (salted PBKDF2-SHA512 hashes, by mosquitto_passwd)
    acl             Mosquitto's ACL file, written from accounts.json on every change
    broker.pid      (optional) the pid of the Mosquitto using them, written by the launcher

A device logs in as `{site}/{node}` (ids never contain `/`, so the name is unambiguous across
sites) and may publish only its own data and answers (`ff/v1/{site}/{node}/+`, one level, so
never a command) and read only its own commands and coordinators' presence. A coordinator logs
in as `coordinator/{id}` (`coordinator` is a reserved site id, so no device can take the name)
and reads its sites and writes their commands, alerts and its own presence. After a change
the broker is told to reload (SIGHUP): Mosquitto re-reads both files and disconnects clients
whose login is gone, so a removed device is cut off at once and cannot come back.

Errors: `RegistryError` (a `ValueError`) names the field and the reason.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final, Literal

from protocol.errors import TopicError
from protocol.topics import ROOT, check_id

Role = Literal["device", "coordinator"]
ROLES: Final = ("device", "coordinator")
COORDINATOR_PREFIX: Final = "coordinator"
PASSWORD_BYTES: Final = 24  # token_urlsafe(24): 32 characters, 192 bits


class RegistryError(ValueError):
    """An account request that cannot be carried out; `field` names what is wrong."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Account:
    """One broker login. A device has exactly one site; a coordinator one or more."""

    name: str
    role: Role
    sites: tuple[str, ...]
    created_at: str
    rotated_at: str | None = None

    @property
    def username(self) -> str:
        """The MQTT username: `{site}/{node}` or `coordinator/{id}`."""
        if self.role == "device":
            return f"{self.sites[0]}/{self.name}"
        return f"{COORDINATOR_PREFIX}/{self.name}"


def check_account(name: str, role: str, sites: Sequence[str]) -> None:
    """Raise `RegistryError` unless `name`, `role` and `sites` make a valid account."""
    if role not in ROLES:
        raise RegistryError("role", f"must be one of {', '.join(ROLES)}")
    try:
        check_id(name, what="node" if role == "device" else "coordinator")
    except TopicError as exc:
        raise RegistryError("name", str(exc)) from None
    if not sites:
        raise RegistryError("site", "at least one site is needed")
    if role == "device" and len(sites) != 1:
        raise RegistryError("site", "a device belongs to exactly one site")
    for site in sites:
        try:
            check_id(site, what="site")
        except TopicError as exc:
            raise RegistryError("site", str(exc)) from None
        if site == COORDINATOR_PREFIX:
            raise RegistryError("site", f"{site!r} is reserved")


def acl_text(accounts: Iterable[Account]) -> str:
    """Mosquitto ACL file granting each account exactly its topics (and nothing to others)."""
    lines = [
        "# Written by `flexfleet device`; edits here are overwritten.",
        "# Anyone not listed below may neither publish nor subscribe.",
    ]
    for account in sorted(accounts, key=lambda a: a.username):
        lines += ["", f"user {account.username}"]
        if account.role == "device":
            prefix = f"{ROOT}/{account.sites[0]}/{account.name}"
            lines += [
                f"topic write {prefix}/+",
                f"topic read {prefix}/cmd/#",
                f"topic read {ROOT}/{COORDINATOR_PREFIX}/#",
            ]
        else:
            for site in account.sites:
                lines += [
                    f"topic read {ROOT}/{site}/#",
                    f"topic write {ROOT}/{site}/+/cmd/#",
                    f"topic write {ROOT}/{site}/alerts/#",
                ]
            lines.append(f"topic readwrite {ROOT}/{COORDINATOR_PREFIX}/#")
    return "\n".join(lines) + "\n"


def _passwd_tool() -> str:
    tool = shutil.which("mosquitto_passwd") or shutil.which(
        "mosquitto_passwd", path="/usr/bin:/usr/sbin:/usr/local/bin"
    )
    if tool is None:
        raise RegistryError("broker", "mosquitto_passwd not found: install the mosquitto package")
    return tool


class DeviceRegistry:
    """The accounts kept in one auth directory, and the broker files made from them."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def accounts_path(self) -> Path:
        return self.directory / "accounts.json"

    @property
    def password_path(self) -> Path:
        return self.directory / "passwords"

    @property
    def acl_path(self) -> Path:
        return self.directory / "acl"

    @property
    def pid_path(self) -> Path:
        return self.directory / "broker.pid"

    def init(self) -> None:
        """Create the directory and empty files (idempotent): no account, so nobody gets in."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        if not self.accounts_path.exists():
            self._save([])
        if not self.password_path.exists():
            self.password_path.touch(mode=0o600)
        self.acl_path.write_text(acl_text(self.accounts()))

    def accounts(self) -> list[Account]:
        """Every account, sorted by username."""
        if not self.accounts_path.exists():
            return []
        try:
            raw = json.loads(self.accounts_path.read_text())
            found = [
                Account(
                    name=item["name"],
                    role=item["role"],
                    sites=tuple(item["sites"]),
                    created_at=item["created_at"],
                    rotated_at=item.get("rotated_at"),
                )
                for item in raw["accounts"]
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise RegistryError("accounts", f"{self.accounts_path} is damaged: {exc}") from None
        return sorted(found, key=lambda a: a.username)

    def find(self, name: str, *, role: Role = "device", site: str | None = None) -> Account | None:
        """The account called `name` in `role` (at `site`, for a device named at several sites).

        Raises `RegistryError` when `site` is needed to tell devices of that name apart.
        """
        found = [
            a
            for a in self.accounts()
            if a.name == name and a.role == role and (site is None or site in a.sites)
        ]
        if len(found) > 1:
            raise RegistryError("site", f"{name!r} exists at several sites: name the site")
        return found[0] if found else None

    def add(self, name: str, *, role: Role, sites: Sequence[str]) -> tuple[Account, str]:
        """Make an account with a fresh random password; return it and the password (shown once)."""
        check_account(name, role, sites)
        if role == "coordinator":
            taken = self.find(name, role=role) is not None
        else:
            taken = self.find(name, role=role, site=sites[0]) is not None
        if taken:
            raise RegistryError("name", f"{role} {name!r} already exists (rotate or remove it)")
        self.init()
        account = Account(name=name, role=role, sites=tuple(sites), created_at=_now())
        password = secrets.token_urlsafe(PASSWORD_BYTES)
        self._set_password(account.username, password)
        self._save([*self.accounts(), account])
        self._write_acl()
        return account, password

    def rotate(
        self, name: str, *, role: Role = "device", site: str | None = None
    ) -> tuple[Account, str]:
        """Replace the account's password; the old one stops working at the broker's reload."""
        account = self._existing(name, role, site)
        password = secrets.token_urlsafe(PASSWORD_BYTES)
        self._set_password(account.username, password)
        rotated = Account(
            name=account.name,
            role=account.role,
            sites=account.sites,
            created_at=account.created_at,
            rotated_at=_now(),
        )
        self._save([a for a in self.accounts() if a != account] + [rotated])
        return rotated, password

    def remove(self, name: str, *, role: Role = "device", site: str | None = None) -> Account:
        """Delete the account: its login and its ACL entries."""
        account = self._existing(name, role, site)
        done = subprocess.run(
            [_passwd_tool(), "-D", str(self.password_path), account.username],
            check=False,
            capture_output=True,
            timeout=30,
        )
        if done.returncode != 0:
            raise RegistryError("broker", done.stderr.decode(errors="replace").strip())
        self._save([a for a in self.accounts() if a != account])
        self._write_acl()
        return account

    def reload_broker(self) -> int | None:
        """Tell the broker whose pid is in `broker.pid` to re-read the files; its pid, or None."""
        try:
            pid = int(self.pid_path.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, signal.SIGHUP)
        except ProcessLookupError:
            return None
        return pid

    def _existing(self, name: str, role: Role, site: str | None) -> Account:
        account = self.find(name, role=role, site=site)
        if account is None:
            raise RegistryError("name", f"no {role} called {name!r}")
        return account

    def _set_password(self, username: str, password: str) -> None:
        done = subprocess.run(
            [_passwd_tool(), "-b", str(self.password_path), username, password],
            check=False,
            capture_output=True,
            timeout=30,
        )
        if done.returncode != 0:
            raise RegistryError("broker", done.stderr.decode(errors="replace").strip())
        self.password_path.chmod(0o600)

    def _save(self, accounts: list[Account]) -> None:
        data = {"accounts": [asdict(a) | {"sites": list(a.sites)} for a in accounts]}
        tmp = self.accounts_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(self.accounts_path)  # atomic: a crash leaves the old file or the new one

    def _write_acl(self) -> None:
        tmp = self.acl_path.with_suffix(".tmp")
        tmp.write_text(acl_text(self.accounts()))
        tmp.replace(self.acl_path)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
