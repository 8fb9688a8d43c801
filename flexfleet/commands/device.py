"""`flexfleet device`: broker accounts for devices and coordinators (add, list, rotate, remove,
and `provision` for deployments that make a site's accounts at every start).

Every change rewrites the auth directory's password file and ACL and, when a broker using them
wrote its pid there, makes it reload at once (a removed or rotated login is disconnected).
A new or rotated password is printed once, with the agent's settings; it is stored only hashed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flexfleet.device_registry import Account, DeviceRegistry, RegistryError, Role

DEFAULT_AUTH_DIR = Path("broker-auth")


def register(parser: argparse.ArgumentParser) -> None:
    """Arguments of `flexfleet device`."""
    parser.add_argument(
        "--auth-dir",
        type=Path,
        default=DEFAULT_AUTH_DIR,
        help=f"where the accounts, password file and ACL live (default ./{DEFAULT_AUTH_DIR})",
    )
    sub = parser.add_subparsers(dest="device_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="make an account and print its password once")
    add.add_argument("name", help="node id (or coordinator id with --coordinator)")
    add.add_argument(
        "--site", action="append", required=True, help="site (repeatable for a coordinator)"
    )
    add.add_argument("--coordinator", action="store_true", help="a coordinator's account")
    add.set_defaults(run=run_add)
    provision = sub.add_parser(
        "provision",
        help="make sure a site's accounts exist, each password in its own file (idempotent)",
        description="Add the missing accounts of SITE (the coordinator's and each NODE's), "
        "writing each password to SECRETS_DIR/USERNAME/password; an account whose file is "
        "missing gets a new password; the rest are kept. For deployments that provision at "
        "every start (docker compose's broker-auth service).",
    )
    provision.add_argument("nodes", nargs="+", metavar="NODE", help="node ids of the site")
    provision.add_argument("--site", required=True, help="the nodes' site")
    provision.add_argument("--coordinator", metavar="ID", help="the site's coordinator id")
    provision.add_argument(
        "--secrets-dir", type=Path, required=True, help="where each password file goes"
    )
    provision.add_argument(
        "--broker-uid",
        metavar="UID[:GID]",
        help="hand the password file and ACL to the broker's user (e.g. 1883 in the "
        "eclipse-mosquitto image)",
    )
    provision.set_defaults(run=run_provision)
    listing = sub.add_parser("list", help="list the accounts")
    listing.set_defaults(run=run_list)
    for action, text, run in (
        ("rotate", "give the account a new password (the old one stops working)", run_rotate),
        ("remove", "delete the account; a connected client is cut off", run_remove),
    ):
        one = sub.add_parser(action, help=text)
        one.add_argument("name")
        one.add_argument("--site", help="the device's site (when the name exists at several)")
        one.add_argument("--coordinator", action="store_true", help="a coordinator's account")
        one.set_defaults(run=run)


def _role(args: argparse.Namespace) -> Role:
    return "coordinator" if args.coordinator else "device"


def _snippet(account: Account, password: str) -> str:
    if account.role == "coordinator":
        return (
            f"# coordinator settings\nbroker_username = {account.username!r}\n"
            f"# and in its environment: FLEXFLEET_BROKER_PASSWORD={password}\n"
        )
    return (
        f"# agent.toml\n[node]\nsite = {account.sites[0]!r}\nnode = {account.name!r}\n"
        f"[mqtt]\nusername = {account.username!r}\n"
        f'password_file = "/etc/flexfleet/mqtt-password"  # holding: {password}\n'
        f"# or in the agent's environment: FLEXFLEET_MQTT_PASSWORD={password}\n"
    )


def _reloaded(registry: DeviceRegistry) -> None:
    pid = registry.reload_broker()
    if pid is None:
        print("no running broker found in the auth directory: reload it yourself (SIGHUP)")
    else:
        print(f"broker {pid} reloaded")


def run_add(args: argparse.Namespace) -> int:
    """Add an account and print its settings."""
    registry = DeviceRegistry(args.auth_dir)
    try:
        account, password = registry.add(args.name, role=_role(args), sites=args.site)
    except RegistryError as exc:
        print(f"cannot add: {exc}", file=sys.stderr)
        return 2
    print(f"added {account.role} {account.username}")
    print(_snippet(account, password), end="")
    _reloaded(registry)
    return 0


def run_list(args: argparse.Namespace) -> int:
    """Print one line per account."""
    try:
        accounts = DeviceRegistry(args.auth_dir).accounts()
    except RegistryError as exc:
        print(f"cannot list: {exc}", file=sys.stderr)
        return 2
    for a in accounts:
        print(f"{a.username}\t{a.role}\t{','.join(a.sites)}\t{a.created_at}\t{a.rotated_at or '-'}")
    return 0


def run_rotate(args: argparse.Namespace) -> int:
    """Rotate an account's password and print the new settings."""
    registry = DeviceRegistry(args.auth_dir)
    try:
        account, password = registry.rotate(args.name, role=_role(args), site=args.site)
    except RegistryError as exc:
        print(f"cannot rotate: {exc}", file=sys.stderr)
        return 2
    print(f"rotated {account.username}")
    print(_snippet(account, password), end="")
    _reloaded(registry)
    return 0


def run_remove(args: argparse.Namespace) -> int:
    """Remove an account."""
    registry = DeviceRegistry(args.auth_dir)
    try:
        account = registry.remove(args.name, role=_role(args), site=args.site)
    except RegistryError as exc:
        print(f"cannot remove: {exc}", file=sys.stderr)
        return 2
    print(f"removed {account.username}")
    _reloaded(registry)
    return 0


def _owner(text: str) -> tuple[int, int]:
    uid, _, gid = text.partition(":")
    if not uid.isdigit() or (gid and not gid.isdigit()):
        raise RegistryError("broker-uid", f"{text!r} is not UID or UID:GID (numbers)")
    return int(uid), int(gid or uid)


def run_provision(args: argparse.Namespace) -> int:
    """Provision a site's accounts into password files, then hand the broker its files."""
    registry = DeviceRegistry(args.auth_dir)
    try:
        owner = _owner(args.broker_uid) if args.broker_uid else None
        done = registry.provision(
            site=args.site,
            nodes=args.nodes,
            coordinator=args.coordinator,
            secrets_dir=args.secrets_dir,
        )
        if owner is not None:
            registry.hand_to_broker(*owner)
    except RegistryError as exc:
        print(f"cannot provision: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"cannot provision: {exc}", file=sys.stderr)
        return 1
    for account, step in done:
        print(f"{step} {account.username}")
    if any(step != "kept" for _, step in done):
        _reloaded(registry)
    return 0
