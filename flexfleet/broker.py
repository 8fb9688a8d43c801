"""Start and stop a local Mosquitto broker with the project's own configuration.

Used by `flexfleet demo` and by the integration tests: each gets a broker on a free
loopback port with its own persistence directory, so nothing is shared between runs.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path


class BrokerError(RuntimeError):
    """Mosquitto is missing, failed to start, or did not answer in time."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_mosquitto() -> str:
    """Path of the mosquitto executable (PATH, then /usr/sbin)."""
    found = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise BrokerError("mosquitto not found: install it with `apt-get install mosquitto`")
    return found


def _wait_listening(
    port: int, timeout_s: float, process: subprocess.Popen[bytes], log_path: Path
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = log_path.read_text(errors="replace").strip()[-2000:]
            raise BrokerError(f"mosquitto exited with {process.returncode}: {err}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise BrokerError(f"mosquitto did not listen on port {port} within {timeout_s} s")


@dataclass
class Broker:
    """A running (or stopped) Mosquitto on 127.0.0.1:`port`."""

    port: int
    data_dir: Path
    executable: str = field(default_factory=find_mosquitto)
    process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def url(self) -> str:
        """The broker URL, `mqtt://127.0.0.1:PORT`."""
        return f"mqtt://{self.host}:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.data_dir / "mosquitto.conf"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "mosquitto.log"

    def start(self, *, ready_timeout_s: float = 10.0) -> None:
        """Write the config and start mosquitto; returns once it accepts connections."""
        if self.process is not None and self.process.poll() is None:
            raise BrokerError("broker is already running")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        template = resources.files("flexfleet").joinpath("mosquitto.conf").read_text()
        self.config_path.write_text(
            template.format(port=self.port, data_dir=self.data_dir, user=_user_name())
        )
        with self.log_path.open("ab") as log:  # a file, so a chatty broker never blocks on a pipe
            self.process = subprocess.Popen(
                [self.executable, "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # a terminal's Ctrl-C goes to our process, which stops it
            )
        _wait_listening(self.port, ready_timeout_s, self.process, self.log_path)

    def stop(self, *, timeout_s: float = 10.0) -> None:
        """Stop gracefully (SIGTERM, so it saves its persistence file)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        """Stop and start again on the same port with the same persistence."""
        self.stop()
        self.start()


def _user_name() -> str:
    """The name of the user this process runs as (mosquitto keeps it instead of dropping to 'mosquitto')."""
    return pwd.getpwuid(os.geteuid()).pw_name


def start_broker(data_dir: Path, *, port: int | None = None) -> Broker:
    """Start a broker on `port` (a free one by default) keeping its files in `data_dir`."""
    broker = Broker(port=port or free_port(), data_dir=data_dir)
    broker.start()
    return broker
