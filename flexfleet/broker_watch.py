"""Read a running Mosquitto's log from a pipe and keep its security events.

The broker started by `flexfleet.broker` with a `security_log` logs everything (`log_type
all`: a denied PUBLISH is a debug line in Mosquitto 2.0) to a pipe that a `BrokerLogWatch`
thread drains. Each line goes to `flexfleet.broker_log.BrokerLogReader`; a denied publish,
a refused login or (given the broker's ACL file) a subscription outside the account's ACL
is appended to the security log, one JSON object per line, and logged
as a warning (`flexfleet.broker`); routine traffic lines (connections, packets sent and
received) are dropped; anything else (errors, warnings, start-up) goes to the broker's log
file as before. The thread never stops draining while the broker runs, so the broker never
blocks on a full pipe; a line it cannot handle is counted and skipped. Cost at demo load:
BENCHMARKS.md (*Broker security log*).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import IO, Final

import orjson

from flexfleet.acl_match import may_read, read_rules
from flexfleet.broker_log import BrokerLogReader, EventLimiter, SecurityEvent

log = logging.getLogger("flexfleet.broker")

_ROUTINE_PREFIXES: Final = (
    "Received ",
    "Sending ",
    "New connection from ",
    "New client connected from ",
    "Client ",
    "No will message specified",
    "Will message specified",
    "Saving in-memory database",
    "Denied PUBLISH from ",
    "\t",
)
_SUBSCRIPTION: Final = re.compile(r"^\S+ \d+ \S+$")  # "client-id qos filter", per SUBSCRIBE
_STAMP: Final = re.compile(r"^\d+: ")


def is_routine(line: str) -> bool:
    """Whether a log line is per-connection or per-packet chatter (not for the log file)."""
    text = _STAMP.sub("", line, count=1)
    return text.startswith(_ROUTINE_PREFIXES) or _SUBSCRIPTION.match(text) is not None


class BrokerLogWatch:
    """A thread draining the broker's log `stream` (see the module docstring)."""

    def __init__(
        self,
        stream: IO[bytes],
        *,
        log_path: Path,
        security_log: Path,
        acl_path: Path | None = None,
        per_minute: int = 60,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._stream = stream
        self._log_path = log_path
        self._security_log = security_log
        self._acl = AclFile(acl_path) if acl_path is not None else None
        self._reader = BrokerLogReader(may_read=self._acl.may_read if self._acl else None)
        self._limiter = EventLimiter(per_minute=per_minute)
        self._clock = clock
        self.lines = 0  # log lines read
        self.events = 0  # security events written
        self.dropped = 0  # security events over the per-minute limit
        self.failed_lines = 0
        self._thread = threading.Thread(target=self._run, name="broker-log", daemon=True)

    def start(self) -> BrokerLogWatch:
        self._thread.start()
        return self

    @property
    def native_id(self) -> int | None:
        """The draining thread's id in the operating system (for measuring its CPU)."""
        return self._thread.native_id

    def join(self, timeout_s: float) -> None:
        """Wait for the end of the stream (the broker exited), at most `timeout_s`."""
        self._thread.join(timeout_s)

    def _run(self) -> None:
        try:
            with (
                self._log_path.open("ab", buffering=0) as plain,
                self._security_log.open("ab", buffering=0) as secure,
            ):
                self._drain(plain, secure)
        except OSError:
            log.exception("cannot write the broker's logs; draining its pipe without them")
            self._drain(None, None)
        finally:
            self._stream.close()

    def _drain(self, plain: IO[bytes] | None, secure: IO[bytes] | None) -> None:
        """Read every line until the broker closes the pipe (it would block on a full one)."""
        for raw in iter(self._stream.readline, b""):
            self.lines += 1
            if plain is None or secure is None:
                continue
            try:
                self._line(raw.decode("utf-8", "replace"), plain, secure)
            except Exception:  # keep draining whatever happens, or the broker blocks
                self.failed_lines += 1
                if self.failed_lines == 1:
                    log.exception("broker log line not handled; skipping such lines")

    def _line(self, line: str, plain: IO[bytes], secure: IO[bytes]) -> None:
        event = self._reader.feed(line)
        if event is not None:
            self._keep(event, secure)
        elif not is_routine(line):
            plain.write(line.encode() if line.endswith("\n") else (line + "\n").encode())

    def _keep(self, event: SecurityEvent, secure: IO[bytes]) -> None:
        now = self._clock()
        dropped = self._limiter.admit(event, now)
        if dropped is None:
            self.dropped += 1
            return
        record = {"ts": round(now, 3), **asdict(event), "dropped_before": dropped}
        secure.write(orjson.dumps(record) + b"\n")  # one write per record: whole lines only
        self.events += 1
        log.warning("%s", event.describe())


class AclFile:
    """The read rules of an ACL file, re-read when the file changes (`flexfleet device`
    rewrites it on every account change)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._rules: dict[str, tuple[str, ...]] = {}

    def may_read(self, username: str, topic_filter: str) -> bool:
        """Whether the ACL lets `username` read all `topic_filter` matches (an unreadable
        file allows nothing)."""
        try:
            stat = self.path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            if stamp != self._stamp:
                self._rules = read_rules(self.path.read_text(encoding="utf-8", errors="replace"))
                self._stamp = stamp
        except OSError:
            self._rules, self._stamp = {}, None
        return may_read(self._rules, username, topic_filter)


def read_security_log(path: Path) -> list[dict[str, object]]:
    """The records of a security log (an absent file holds none)."""
    try:
        lines = path.read_bytes().splitlines()
    except FileNotFoundError:
        return []
    return [orjson.loads(line) for line in lines if line.strip()]


__all__ = ["AclFile", "BrokerLogWatch", "is_routine", "read_security_log"]
