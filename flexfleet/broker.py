"""Start and stop a local Mosquitto broker with the project's own configuration.

Used by `flexfleet demo` and by the integration tests: each gets a broker on a free
loopback port with its own persistence directory, so nothing is shared between runs.
Plain and open by default; a `ListenerSecurity` makes it require a login (a Mosquitto
password file, `allow_anonymous false`) and/or speak TLS only. With a `security_log` the
broker's denied publishes and refused logins are kept there (`flexfleet.broker_watch`).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from flexfleet import mosquitto_passwords
from flexfleet.broker_watch import BrokerLogWatch


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
    port: int,
    timeout_s: float,
    process: subprocess.Popen[bytes],
    log_path: Path,
    watch: BrokerLogWatch | None = None,
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            if watch is not None:
                watch.join(5)  # the log file is complete once the pipe is drained
            err = log_path.read_text(errors="replace").strip()[-2000:]
            raise BrokerError(f"mosquitto exited with {process.returncode}: {err}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise BrokerError(f"mosquitto did not listen on port {port} within {timeout_s} s")


@dataclass(frozen=True)
class ListenerSecurity:
    """Logins and TLS for the broker's one listener.

    `users` (username → password), when not empty, is written to a Mosquitto password file
    and anonymous clients are refused. `auth_dir` instead points at the files of a
    `flexfleet.device_registry.DeviceRegistry` (password file and ACL, kept up to date by
    `flexfleet device`): anonymous clients are refused and every account gets only its
    topics; the broker's pid is written there so the registry can make it reload. `certfile` + `keyfile` (PEM) make the listener
    TLS-only; `cafile` is the CA of client certificates, which `require_certificate`
    makes mandatory. `tls_host` is the name clients connect to (the certificate's name).
    """

    users: Mapping[str, str] = field(default_factory=dict)
    auth_dir: Path | None = None
    certfile: Path | None = None
    keyfile: Path | None = None
    cafile: Path | None = None
    require_certificate: bool = False
    tls_host: str = "localhost"

    def __post_init__(self) -> None:
        if (self.certfile is None) != (self.keyfile is None):
            raise BrokerError("certfile and keyfile go together")
        if self.users and self.auth_dir is not None:
            raise BrokerError("give users or auth_dir, not both")
        if self.require_certificate and self.cafile is None:
            raise BrokerError("require_certificate needs the clients' cafile")

    @property
    def tls(self) -> bool:
        """Whether the listener speaks TLS."""
        return self.certfile is not None


def _password_file(path: Path, users: Mapping[str, str]) -> None:
    """Write `users` (username → password) into a Mosquitto password file, hashed."""
    try:
        mosquitto_passwords.write(
            path, {user: mosquitto_passwords.hash_entry(pw) for user, pw in users.items()}
        )
    except mosquitto_passwords.PasswordFileError as exc:
        raise BrokerError(str(exc)) from None


@dataclass
class Broker:
    """A running (or stopped) Mosquitto on 127.0.0.1:`port`."""

    port: int
    data_dir: Path
    executable: str = field(default_factory=find_mosquitto)
    process: subprocess.Popen[bytes] | None = None
    security: ListenerSecurity | None = None
    security_log: Path | None = None  # denied publishes and refused logins (broker_watch)
    watch: BrokerLogWatch | None = None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def url(self) -> str:
        """The broker URL: `mqtt://127.0.0.1:PORT`, or `mqtts://TLS_HOST:PORT` with TLS."""
        if self.security is not None and self.security.tls:
            return f"mqtts://{self.security.tls_host}:{self.port}"
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
        tls, auth = self._security_lines()
        # Mosquitto 2.0 logs a denied PUBLISH at debug level only: with a security log,
        # everything goes to a pipe that BrokerLogWatch drains, keeping the security
        # events and the non-routine lines.
        watched = self.security_log is not None
        if self.security_log is not None:
            try:
                self.security_log.open("ab").close()  # refuse now, not once the broker runs
            except OSError as exc:
                raise BrokerError(
                    f"cannot write the security log {self.security_log}: {exc}"
                ) from None
        self.config_path.write_text(
            template.format(
                port=self.port,
                data_dir=self.data_dir,
                user=_user_name(),
                tls=tls,
                auth=auth,
                log_types="log_type all" if watched else "log_type error\nlog_type warning",
            )
        )
        with self.log_path.open("ab") as log:  # a file, or a pipe drained by the watch
            self.process = subprocess.Popen(
                [self.executable, "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.PIPE if watched else log,
                start_new_session=True,  # a terminal's Ctrl-C goes to our process, which stops it
            )
        if self.security_log is not None and self.process.stderr is not None:
            auth_dir = self.security.auth_dir if self.security is not None else None
            self.watch = BrokerLogWatch(
                self.process.stderr,
                log_path=self.log_path,
                security_log=self.security_log,
                acl_path=auth_dir / "acl" if auth_dir is not None else None,
            ).start()
        _wait_listening(self.port, ready_timeout_s, self.process, self.log_path, self.watch)
        if self.security is not None and self.security.auth_dir is not None:
            (self.security.auth_dir / "broker.pid").write_text(f"{self.process.pid}\n")

    def _security_lines(self) -> tuple[str, str]:
        """The listener's TLS options and the login options for the configuration file."""
        security = self.security or ListenerSecurity()
        tls: list[str] = []
        if security.certfile is not None and security.keyfile is not None:
            tls += [f"certfile {security.certfile}", f"keyfile {security.keyfile}"]
        if security.cafile is not None:
            tls.append(f"cafile {security.cafile}")
        if security.require_certificate:
            tls.append("require_certificate true")
        if security.auth_dir is not None:
            auth = security.auth_dir
            return "\n".join(tls), (
                f"allow_anonymous false\npassword_file {auth / 'passwords'}\nacl_file {auth / 'acl'}"
            )
        if not security.users:
            return "\n".join(tls), "allow_anonymous true"
        passwords = self.data_dir / "passwords"
        _password_file(passwords, security.users)
        return "\n".join(tls), f"allow_anonymous false\npassword_file {passwords}"

    def update_users(self, users: Mapping[str, str]) -> None:
        """Replace the logins of a running broker: rewrite its password file, then SIGHUP
        (Mosquitto reloads the file; new connections are checked against it)."""
        if self.security is None or not self.security.users:
            raise BrokerError("this broker was started without logins")
        if self.process is None or self.process.poll() is not None:
            raise BrokerError("broker is not running")
        self.security = replace(self.security, users=dict(users))
        _password_file(self.data_dir / "passwords", self.security.users)
        self.process.send_signal(signal.SIGHUP)

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
        if self.watch is not None:
            self.watch.join(5)
            self.watch = None
        self.process = None

    def restart(self) -> None:
        """Stop and start again on the same port with the same persistence."""
        self.stop()
        self.start()


def _user_name() -> str:
    """The name of the user this process runs as (mosquitto keeps it instead of dropping to 'mosquitto')."""
    return pwd.getpwuid(os.geteuid()).pw_name


def start_broker(
    data_dir: Path,
    *,
    port: int | None = None,
    security: ListenerSecurity | None = None,
    security_log: Path | None = None,
) -> Broker:
    """Start a broker on `port` (a free one by default) keeping its files in `data_dir`;
    open and plain unless `security` asks for logins and/or TLS; with `security_log`, its
    denied publishes and refused logins are appended there (`flexfleet.broker_watch`)."""
    broker = Broker(
        port=port or free_port(), data_dir=data_dir, security=security, security_log=security_log
    )
    broker.start()
    return broker
