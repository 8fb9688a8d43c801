"""`flexfleet token`: API tokens kept hashed in a token file (add, list, remove).

`add` prints the new token once; only its SHA-256 is stored. The coordinator reads the file
named by its `token_file` setting and picks up changes at the next request, so a removed
token stops working without a restart. With `--audit-db` (the coordinator's audit log,
`coordinator.access.audit_log`) each change is also appended there, by the local user.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import sys
import time
from pathlib import Path

from coordinator.access.audit_log import AuditEntry, AuditLog
from coordinator.access.tokens import ROLES, TokenEntry, TokenFile, TokenFileError

DEFAULT_TOKEN_FILE = Path("api-tokens.json")


def register(parser: argparse.ArgumentParser) -> None:
    """Arguments of `flexfleet token`."""
    parser.add_argument(
        "--file",
        type=Path,
        default=DEFAULT_TOKEN_FILE,
        help=f"the token file (the coordinator's token_file; default ./{DEFAULT_TOKEN_FILE})",
    )
    parser.add_argument("--audit-db", type=Path, help="also record the change in this audit log")
    sub = parser.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="make a token and print it once")
    add.add_argument("name", help="who the token is for (recorded in alarm history and audit)")
    add.add_argument(
        "--role",
        choices=ROLES,
        required=True,
        help="metrics reads /metrics only (a Prometheus server's token); viewer reads the API; "
        "operator acts; admin configures",
    )
    add.add_argument(
        "--site", action="append", default=[], help="a site it may see (repeatable; none: all)"
    )
    add.set_defaults(run=run_add)
    sub.add_parser("list", help="list the tokens (never their values)").set_defaults(run=run_list)
    remove = sub.add_parser("remove", help="delete a token; it stops working at once")
    remove.add_argument("name")
    remove.set_defaults(run=run_remove)


def _audit(args: argparse.Namespace, action: str, entry: TokenEntry) -> None:
    if args.audit_db is None:
        return
    log = AuditLog(args.audit_db)
    try:
        log.append(
            AuditEntry(
                ts_ms=int(time.time() * 1000),
                principal=f"local:{getpass.getuser()}",
                role="admin",
                method="CLI",
                path=f"token {action} {entry.name}",
                status=0,
                request_sha256=hashlib.sha256(repr(entry.to_json()).encode()).hexdigest(),
                before_sha256="" if action == "add" else entry.sha256,
                after_sha256=entry.sha256 if action == "add" else "",
            )
        )
    finally:
        log.close()


def run_add(args: argparse.Namespace) -> int:
    """Add a token and print it once."""
    try:
        entry, token = TokenFile(args.file).add(args.name, args.role, tuple(args.site))
    except TokenFileError as exc:
        print(f"cannot add: {exc}", file=sys.stderr)
        return 2
    _audit(args, "add", entry)
    sites = ", ".join(entry.sites) or "every site"
    print(f"added {entry.role} token {entry.name!r} for {sites} to {args.file}")
    print("the token (shown only now; send it as `Authorization: Bearer <token>`):")
    print(token)
    return 0


def run_list(args: argparse.Namespace) -> int:
    """Print one line per token: name, role, sites, created."""
    try:
        entries = TokenFile(args.file).entries()
    except TokenFileError as exc:
        print(f"cannot list: {exc}", file=sys.stderr)
        return 2
    for e in entries:
        print(f"{e.name}\t{e.role}\t{','.join(e.sites) or '*'}\t{e.created_ms}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    """Remove a token."""
    try:
        entry = TokenFile(args.file).remove(args.name)
    except TokenFileError as exc:
        print(f"cannot remove: {exc}", file=sys.stderr)
        return 2
    _audit(args, "remove", entry)
    print(f"removed token {entry.name!r}")
    return 0
