"""`flexfleet audit`: check and read the coordinator's audit log.

`verify --db FILE` walks the hash chain from its anchor and exits 1 at the first record
that was edited, or that does not follow the one before it (a record removed or
inserted); `show` prints the records as JSON lines.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson

from coordinator.access.audit_log import AuditLog


def register(parser: argparse.ArgumentParser) -> None:
    """Arguments of `flexfleet audit`."""
    sub = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = sub.add_parser("verify", help="check that no record was edited or removed")
    verify.add_argument("--db", type=Path, required=True, help="the audit log file")
    verify.set_defaults(run=run_verify)
    show = sub.add_parser("show", help="print the records as JSON lines")
    show.add_argument("--db", type=Path, required=True, help="the audit log file")
    show.add_argument("--after", type=int, default=0, help="records after this sequence number")
    show.set_defaults(run=run_show)


def _open(path: Path) -> AuditLog | None:
    if not path.is_file():
        print(f"no audit log at {path}", file=sys.stderr)
        return None
    return AuditLog(path)


def run_verify(args: argparse.Namespace) -> int:
    """Exit 0 when the chain is whole, 1 (with what is wrong) when it is not."""
    log = _open(args.db)
    if log is None:
        return 2
    try:
        problem = log.verify()
        kept = log.records()
        anchor = log.anchor()
    finally:
        log.close()
    if problem is not None:
        print(f"audit log {args.db} is NOT intact: {problem}", file=sys.stderr)
        return 1
    head = kept[-1].hash if kept else anchor[1]
    print(f"audit log {args.db} intact: {len(kept)} records after #{anchor[0]}, head {head}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Print the records after `--after`, one JSON object a line."""
    log = _open(args.db)
    if log is None:
        return 2
    try:
        for record in log.records(after=args.after):
            sys.stdout.write(orjson.dumps(record.to_json()).decode() + "\n")
    finally:
        log.close()
    return 0
