"""`flexfleet demo`: broker + coordinator + simulated fleet on this machine."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(parser: argparse.ArgumentParser) -> None:
    """Add the demo's arguments."""
    parser.add_argument("--agents", type=int, default=6, help="machine agents (default 6)")
    parser.add_argument(
        "--warehouses", type=int, default=2, help="micro-warehouse agents (default 2)"
    )
    parser.add_argument("--site", default="yiwu-1", help="site id (default yiwu-1)")
    parser.add_argument("--duration", type=float, default=None, help="stop after S seconds")
    parser.add_argument("--http-port", type=int, default=0, help="API port (default: a free one)")
    parser.add_argument("--seed", type=int, default=7, help="simulation seed")
    parser.add_argument("--work-dir", type=Path, default=None, help="keep databases here")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Start the demo and block until it is stopped."""
    from flexfleet.demo import DemoPlan, run_demo

    try:
        plan = DemoPlan(
            site=args.site,
            machines=args.agents,
            warehouses=args.warehouses,
            http_port=args.http_port,
            seed=args.seed,
        )
    except ValueError as exc:
        raise SystemExit(f"flexfleet demo: {exc}") from None
    if args.duration is not None and args.duration <= 0:
        raise SystemExit("flexfleet demo: --duration must be positive")
    return run_demo(plan, duration_s=args.duration, work_dir=args.work_dir)
