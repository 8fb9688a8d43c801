"""Broker accounts for devices and coordinators: who may log in, and what each may touch.

An auth directory holds everything Mosquitto needs to enforce identity and the ACL:

    accounts.json   the accounts (no secrets): username, role, sites, when made / rotated
    passwords       Mosquitto's password file (salted PBKDF2-SHA512, `flexfleet.mosquitto_passwords`)
    acl             Mosquitto's ACL file, written from accounts.json on every change
    broker.pid      (optional) the pid of the Mosquitto using them, written by the launcher

A device logs in as `{site}/{node}` (ids never contain `/`, so the name is unambiguous across
sites) and may publish only its own data and answers (`ff/v1/{site}/{node}/+`, one level, so
never a command) and read only its own commands and coordinators' presence. A coordinator logs
in as `coordinator/{id}` (`coordinator` is a reserved site id, so no device can take the name)
and reads its sites and writes their commands, alerts and its own presence. After a change
the broker is told to reload (SIGHUP): Mosquitto re-reads both files and disconnects clients
whose login is gone, so a removed device is cut off at once and cannot come back.

`provision` makes a deployment's accounts idempotently (docker compose's one-shot
`broker-auth` service runs it at every start), each password in a file of its own under a
secrets directory, so each container mounts only its own.

Errors: `RegistryError` (a `ValueError`) names the field and the reason.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final, Literal

from flexfleet import mosquitto_passwords
from protocol.errors import TopicError
from protocol.topics import ROOT, check_id

Role = Literal["device", "coordinator"]
ROLES: Final = ("device", "coordinator")
COORDINATOR_PREFIX: Final = "coordinator"
PASSWORD_BYTES: Final = 24  # token_urlsafe(24): 32 characters, 192 bits
ProvisionStep = Literal["added", "rotated", "kept"]


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
        self._write_acl()

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
        try:
            mosquitto_passwords.remove(self.password_path, account.username)
        except (OSError, mosquitto_passwords.PasswordFileError) as exc:
            raise RegistryError("broker", str(exc)) from None
        self._save([a for a in self.accounts() if a != account])
        self._write_acl()
        return account

    def provision(
        self,
        *,
        site: str,
        nodes: Sequence[str],
        coordinator: str | None,
        secrets_dir: Path,
    ) -> list[tuple[Account, ProvisionStep]]:
        """Make sure the coordinator (when named) and every node of `site` have an account
        whose password is in `secrets_dir / username / "password"` (mode 0600): a missing
        account is added, an account whose password file is missing gets a new password
        (rotated), one with its file is kept. Idempotent, so a deployment's start-up can run
        it every time; a crash part-way leaves at worst a missing file, which the next run
        repairs (the file is written last, atomically). Accounts not named are left alone.
        """
        wanted: list[tuple[str, Role]] = [(node, "device") for node in nodes]
        if coordinator is not None:
            wanted.insert(0, (coordinator, "coordinator"))
        for name, role in wanted:
            check_account(name, role, [site])
        self.init()
        secrets_dir.mkdir(parents=True, exist_ok=True)
        secrets_dir.chmod(0o700)
        done: list[tuple[Account, ProvisionStep]] = []
        for name, role in wanted:
            found = self.find(name, role=role, site=site if role == "device" else None)
            if found is None:
                account, password = self.add(name, role=role, sites=[site])
                step: ProvisionStep = "added"
            elif not secret_path(secrets_dir, found).exists():
                account, password = self.rotate(name, role=role, site=found.sites[0])
                step = "rotated"
            else:
                done.append((found, "kept"))
                continue
            _write_secret(secret_path(secrets_dir, account), password)
            done.append((account, step))
        self._write_acl()  # a run killed between an account and its ACL entry is repaired
        return done

    def hand_to_broker(self, uid: int, gid: int) -> None:
        """Give the broker's user (Mosquitto drops root for it) the directory, the password
        file and the ACL, keeping them private; the secrets stay root's."""
        for path in (self.directory, self.password_path, self.acl_path):
            os.chown(path, uid, gid)

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
        try:
            mosquitto_passwords.set_password(self.password_path, username, password)
        except (OSError, mosquitto_passwords.PasswordFileError) as exc:
            raise RegistryError("broker", str(exc)) from None

    def _save(self, accounts: list[Account]) -> None:
        data = {"accounts": [asdict(a) | {"sites": list(a.sites)} for a in accounts]}
        tmp = self.accounts_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(self.accounts_path)  # atomic: a crash leaves the old file or the new one

    def _write_acl(self) -> None:
        tmp = self.acl_path.with_suffix(".tmp")
        tmp.write_text(acl_text(self.accounts()))
        tmp.chmod(0o600)  # Mosquitto warns about (and will refuse) a world-readable ACL
        mosquitto_passwords.keep_owner(tmp, self.acl_path)
        tmp.replace(self.acl_path)


def secret_path(secrets_dir: Path, account: Account) -> Path:
    """Where `provision` keeps an account's password: `{secrets_dir}/{username}/password`,
    one directory per account so a container can mount exactly its own."""
    return secrets_dir / account.username / "password"


def _write_secret(path: Path, password: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(password + "\n")
    tmp.replace(path)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
