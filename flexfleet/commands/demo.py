"""`flexfleet demo`: broker + coordinator + simulated fleet on this machine."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(parser: argparse.ArgumentParser) -> None:
    """Add the demo's arguments."""
    parser.add_argument("--factories", type=int, default=2, help="factories (default 2)")
    parser.add_argument(
        "--machines", type=int, default=3, help="machine agents per factory (default 3)"
    )
    parser.add_argument(
        "--warehouses", type=int, default=2, help="micro-warehouse agents (default 2)"
    )
    parser.add_argument("--vehicles", type=int, default=3, help="vehicle agents (default 3)")
    parser.add_argument(
        "--speed",
        type=float,
        default=None,
        help="simulated seconds per wall second of the demo's one clock, shared by the"
        " coordinator and every agent (default 120)",
    )
    parser.add_argument(
        "--orders-per-minute",
        type=float,
        default=8.0,
        help="storefront orders per minute outside the live-stream burst (default 8)",
    )
    parser.add_argument(
        "--status-every", type=float, default=60.0, help="seconds between status lines"
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
    from flexfleet.demo_world import World
    from flexfleet.storefront import Shoppers

    try:
        plan = DemoPlan(
            site=args.site,
            world=World(
                factories=args.factories,
                machines_per_factory=args.machines,
                warehouses=args.warehouses,
                vehicles=args.vehicles,
            ),
            http_port=args.http_port,
            seed=args.seed,
            **({} if args.speed is None else {"speed": args.speed}),
            shoppers=Shoppers(per_minute=args.orders_per_minute),
            status_every_s=args.status_every,
        )
    except ValueError as exc:
        raise SystemExit(f"flexfleet demo: {exc}") from None
    if args.duration is not None and args.duration <= 0:
        raise SystemExit("flexfleet demo: --duration must be positive")
    return run_demo(plan, duration_s=args.duration, work_dir=args.work_dir)
