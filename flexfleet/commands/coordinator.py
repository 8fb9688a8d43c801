"""`flexfleet coordinator`: run the coordinator service (ingest, twin, alarms, HTTP API)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from fleet_runtime.mqtt_security import read_password_file
from flexfleet.clock_option import add_clock_arguments, clock_from


def register(parser: argparse.ArgumentParser) -> None:
    """Add the coordinator's arguments."""
    parser.add_argument(
        "--broker", help="broker URL: mqtt://host:port, or mqtts://host:port for TLS"
    )
    parser.add_argument(
        "--db",
        help="SQLite database file, or postgresql://user@host:port/db for the core tables on "
        "PostgreSQL (the other stores stay in the SQLite file of db_path)",
    )
    parser.add_argument("--http-host", help="address the HTTP API listens on")
    parser.add_argument("--http-port", type=int, help="HTTP API port (0 picks a free one)")
    parser.add_argument("--config", type=Path, help="TOML settings file")
    parser.add_argument("--coordinator-id", help="MQTT client id (stable across restarts)")
    parser.add_argument(
        "--site",
        action="append",
        dest="sites",
        metavar="SITE",
        help="a site this coordinator owns (repeat for several; default: every site)",
    )
    parser.add_argument(
        "--leader-lock",
        action="store_true",
        default=None,
        help="compete for the leader lock on the PostgreSQL of --db with every coordinator of "
        "the same --coordinator-id: the holder leads, the others stand by serving reads",
    )
    parser.add_argument("--broker-username", help="broker login (or FLEXFLEET_BROKER_USERNAME)")
    parser.add_argument(
        "--broker-password-file",
        type=Path,
        help="file holding the broker password; FLEXFLEET_BROKER_PASSWORD, when set, wins",
    )
    parser.add_argument(
        "--dev", action="store_true", help="dev mode: API open when no tokens are set"
    )
    parser.add_argument("--log-level", default="warning", help="uvicorn log level")
    add_clock_arguments(parser)
    parser.set_defaults(run=run)


def _broker_password(path: Path | None) -> str | None:
    """The password in `path`, unless FLEXFLEET_BROKER_PASSWORD is set (it wins, as the
    agent's FLEXFLEET_MQTT_PASSWORD does); raises `ValueError` for an unusable file."""
    if path is None or "FLEXFLEET_BROKER_PASSWORD" in os.environ:
        return None
    return read_password_file(path)


def run(args: argparse.Namespace) -> int:
    """Load settings, start the service under uvicorn and print the API URL on its own line."""
    import socket

    import uvicorn

    from coordinator.api.app import create_app
    from coordinator.errors import CoordinatorError
    from coordinator.process_tuning import tune_process
    from coordinator.service import check_database
    from coordinator.settings import load_settings

    try:
        clock = clock_from(args)
    except ValueError as exc:
        print(f"flexfleet coordinator: {exc}", file=sys.stderr)
        return 2
    try:
        password = _broker_password(args.broker_password_file)
    except ValueError as exc:
        print(f"flexfleet coordinator: --broker-password-file: {exc}", file=sys.stderr)
        return 2
    try:
        settings = load_settings(
            args.config,
            broker_username=args.broker_username,
            broker_password=password,
            broker_url=args.broker,
            db_path=None if args.db is None or _is_url(args.db) else Path(args.db),
            db_url=args.db if args.db is not None and _is_url(args.db) else None,
            http_host=args.http_host,
            http_port=args.http_port,
            coordinator_id=args.coordinator_id,
            sites=tuple(args.sites) if args.sites else None,
            leader_lock=args.leader_lock,
            dev_mode=True if args.dev else None,
        )
    except CoordinatorError as exc:
        print(f"flexfleet coordinator: {exc.reason}", file=sys.stderr)
        return 2
    try:
        check_database(settings)  # an unreachable server or a failed migration: said here
    except CoordinatorError as exc:
        print(f"flexfleet coordinator: {exc.reason}", file=sys.stderr)
        return 2
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.http_host, settings.http_port))
    except OSError as exc:
        print(
            f"flexfleet coordinator: cannot listen on {settings.http_host}:{settings.http_port}: {exc}",
            file=sys.stderr,
        )
        return 2
    port = sock.getsockname()[1]
    app = create_app(settings, clock=clock)
    tune_process(
        young_threshold=settings.gc_young_threshold,
        switch_interval_s=settings.gil_switch_interval_s,
    )
    config = uvicorn.Config(app, log_level=args.log_level, lifespan="on")
    server = uvicorn.Server(config)
    print(f"http://{settings.http_host}:{port}/api/v1", flush=True)
    try:
        server.run(sockets=[sock])
    except CoordinatorError as exc:
        print(f"flexfleet coordinator: {exc.reason}", file=sys.stderr)
        return 1
    return 0 if server.started else 1


def _is_url(db: str) -> bool:
    """`--db` names a PostgreSQL server rather than a SQLite file."""
    return db.startswith(("postgresql://", "postgres://"))
