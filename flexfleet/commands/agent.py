"""`flexfleet agent`: run one edge agent, from a TOML file or from a few flags (demo)."""

from __future__ import annotations

import argparse
import faulthandler
import logging
import signal
import sys
import threading
from pathlib import Path

from flexfleet.clock_option import add_clock_arguments, clock_from


def register(parser: argparse.ArgumentParser) -> None:
    """Arguments of `flexfleet agent`."""
    parser.add_argument(
        "--config", type=Path, help="agent TOML file (see config/agent.example.toml)"
    )
    parser.add_argument("--site", help="site id (without --config)")
    parser.add_argument("--node", help="node id (without --config)")
    parser.add_argument(
        "--kind", choices=("machine", "warehouse", "gateway", "vehicle"), default="machine"
    )
    parser.add_argument(
        "--broker", default="mqtt://127.0.0.1:1883", help="mqtt://host:port or mqtts://host:port"
    )
    parser.add_argument("--username", default="", help="broker login (without --config)")
    parser.add_argument(
        "--password-file",
        type=Path,
        help="file holding the broker password; FLEXFLEET_MQTT_PASSWORD, when set, wins",
    )
    parser.add_argument("--ca-file", type=Path, help="PEM CA for mqtts:// (default: system CAs)")
    parser.add_argument("--cert-file", type=Path, help="PEM client certificate (with --key-file)")
    parser.add_argument("--key-file", type=Path, help="PEM client key (with --cert-file)")
    parser.add_argument("--state-dir", type=Path, help="where the outbox database lives")
    parser.add_argument("--seed", type=int, default=1, help="simulator seed")
    parser.add_argument("--machines", type=int, default=1, help="simulated machines on this node")
    parser.add_argument("--interval-ms", type=int, default=100, help="sampling interval")
    parser.add_argument(
        "--no-wait-coordinator",
        action="store_true",
        help="publish even when no coordinator has announced itself online",
    )
    add_clock_arguments(parser)
    parser.add_argument(
        "--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"), type=str.upper
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the agent until SIGINT/SIGTERM (SIGUSR1 writes every thread's stack to stderr);
    exit code 2 on a configuration error."""
    from edge_agent.config import load_config
    from edge_agent.errors import AgentError
    from edge_agent.runner import demo_config, run_agent

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    try:
        clock = clock_from(args)
    except ValueError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        if args.config is not None:
            config = load_config(args.config)
        else:
            if not (args.site and args.node and args.state_dir):
                print("either --config or --site, --node and --state-dir", file=sys.stderr)
                return 2
            config = demo_config(
                site=args.site,
                node=args.node,
                kind=args.kind,
                broker=args.broker,
                username=args.username,
                password_file=args.password_file,
                ca_file=args.ca_file,
                cert_file=args.cert_file,
                key_file=args.key_file,
                state_dir=args.state_dir,
                seed=args.seed,
                machines=args.machines,
                wait_for_coordinator=not args.no_wait_coordinator,
                interval_ms=args.interval_ms,
            )
    except AgentError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # a stuck agent shows where
    try:
        status = run_agent(config, stop=stop, clock=clock)
    except AgentError as exc:
        print(f"agent error: {exc}", file=sys.stderr)
        return 1
    logging.getLogger("edge_agent").info("stopped: %s", status)
    return 0
