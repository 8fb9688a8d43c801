"""Start and stop a throwaway PostgreSQL server from Debian's `postgresql` binaries.

Used by the tests (a session fixture) and by `benchmarks/bench_ingest.py --start-postgres`:
`initdb` in a directory of its own, then `postgres` on a free loopback port with its unix
socket in that directory, a `flexfleet` role (trust on loopback only) and a `flexfleet`
database. No Docker. PostgreSQL refuses to run as root, so when this process is root the
server runs as the `postgres` system user (Debian's package creates it) and the directory is
handed to that user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from flexfleet.broker import free_port

ROLE: Final = "flexfleet"
DATABASE: Final = "flexfleet"
_BIN_GLOB: Final = "/usr/lib/postgresql/*/bin"


class PostgresError(RuntimeError):
    """PostgreSQL is missing, failed to start, or did not answer in time."""


def find_postgres_bin() -> Path:
    """The directory holding `initdb` and `postgres`: `FLEXFLEET_PG_BIN`, else the newest
    `/usr/lib/postgresql/<version>/bin`, else the PATH."""
    configured = os.environ.get("FLEXFLEET_PG_BIN")
    candidates = [Path(configured)] if configured else []
    candidates += sorted(
        Path("/").glob(_BIN_GLOB.lstrip("/")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "postgres").is_file():
            return directory
    raise PostgresError(
        "PostgreSQL server binaries not found (initdb, postgres): install them with "
        "`apt-get install postgresql` or set FLEXFLEET_PG_BIN"
    )


def _run_as() -> str | None:
    """The user the server must run as: `postgres` when this process is root, else us."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresError("running as root and there is no `postgres` user") from None
    return "postgres"


@dataclass
class PostgresServer:
    """A PostgreSQL cluster in `base_dir` served on 127.0.0.1:`port`."""

    base_dir: Path
    port: int
    bin_dir: Path = field(default_factory=find_postgres_bin)
    fsync: bool = True
    shared_buffers: str = "128MB"
    options: Mapping[str, str] = field(default_factory=dict)
    """More server settings (`-c name=value`), e.g. `max_wal_size`."""
    process: subprocess.Popen[bytes] | None = None

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base_dir

    @property
    def log_path(self) -> Path:
        return self.base_dir / "postgres.log"

    @property
    def url(self) -> str:
        """A URL the store opens: the `flexfleet` role and database over loopback TCP."""
        return f"postgresql://{ROLE}@127.0.0.1:{self.port}/{DATABASE}"

    def init(self) -> None:
        """`initdb` the cluster (trust authentication: loopback and its own socket only)."""
        self.base_dir.mkdir(parents=True, exist_ok=True)
        user = _run_as()
        if user is not None:
            record = pwd.getpwnam(user)
            os.chown(self.base_dir, record.pw_uid, record.pw_gid)
        done = subprocess.run(
            [
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                ROLE,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
            ],
            capture_output=True,
            user=user,
            check=False,
        )
        if done.returncode != 0:
            raise PostgresError(f"initdb failed: {done.stderr.decode(errors='replace')[-2000:]}")

    def start(self, *, ready_timeout_s: float = 30.0) -> None:
        """Start `postgres` and return once it accepts connections."""
        if self.process is not None and self.process.poll() is None:
            raise PostgresError("postgres is already running")
        user = _run_as()
        with self.log_path.open("ab") as log:
            if user is not None:
                record = pwd.getpwnam(user)
                os.chown(self.log_path, record.pw_uid, record.pw_gid)
            self.process = subprocess.Popen(
                [
                    str(self.bin_dir / "postgres"),
                    "-D",
                    str(self.data_dir),
                    "-p",
                    str(self.port),
                    "-h",
                    "127.0.0.1",
                    "-k",
                    str(self.socket_dir),
                    "-c",
                    f"fsync={'on' if self.fsync else 'off'}",
                    "-c",
                    f"shared_buffers={self.shared_buffers}",
                    "-c",
                    "max_connections=100",
                    *(f"-c{name}={value}" for name, value in self.options.items()),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                user=user,
                start_new_session=True,
            )
        self._wait_ready(ready_timeout_s)

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        isready = str(self.bin_dir / "pg_isready")
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-2000:]
                raise PostgresError(f"postgres exited with {self.process.returncode}: {tail}")
            done = subprocess.run(
                [isready, "-h", "127.0.0.1", "-p", str(self.port), "-U", ROLE, "-d", "postgres"],
                capture_output=True,
                check=False,
            )
            if done.returncode == 0:
                return
            time.sleep(0.1)
        raise PostgresError(f"postgres did not accept connections within {timeout_s} s")

    def create_database(self, name: str = DATABASE) -> None:
        """`createdb` a database owned by the `flexfleet` role."""
        done = subprocess.run(
            [
                str(self.bin_dir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                ROLE,
                name,
            ],
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            raise PostgresError(f"createdb failed: {done.stderr.decode(errors='replace')}")

    def database_url(self, name: str) -> str:
        """The URL of another database on this server."""
        return f"postgresql://{ROLE}@127.0.0.1:{self.port}/{name}"

    def stop(self, *, timeout_s: float = 30.0) -> None:
        """Fast shutdown (SIGINT: open sessions are cut, a checkpoint is written)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None

    def kill(self) -> None:
        """SIGKILL the postmaster and its backends (a crash: recovery replays the WAL)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None


def start_postgres(
    base_dir: Path,
    *,
    port: int | None = None,
    fsync: bool = True,
    shared_buffers: str = "128MB",
    options: Mapping[str, str] | None = None,
) -> PostgresServer:
    """A new cluster in `base_dir` (which must not hold one yet), started on `port` (a free
    one by default) with the `flexfleet` database created."""
    server = PostgresServer(
        base_dir=base_dir,
        port=port or free_port(),
        fsync=fsync,
        shared_buffers=shared_buffers,
        options=dict(options or {}),
    )
    server.init()
    server.start()
    server.create_database()
    return server


__all__ = [
    "DATABASE",
    "ROLE",
    "PostgresError",
    "PostgresServer",
    "find_postgres_bin",
    "start_postgres",
]
