"""Security events in Mosquitto's log: a publish the ACL denied, a refused login, and a
subscription reaching beyond the account's ACL.

Mosquitto 2.0 logs a denied PUBLISH only at debug level, naming the client id but not the
account, and a refused login at notice level without the username (it is never logged):

    1796538073: New client connected from 127.0.0.1:56458 as c-42 (p5, c1, k60, u's/a').
    1796538073: Denied PUBLISH from c-42 (d0, q1, r0, m1, 'ff/v1/s/b/telemetry', ... (1 bytes))
    1796538073: Sending CONNACK to 127.0.0.1 (0, 5)
    1796538073: Client <unknown> disconnected, not authorised.

`BrokerLogReader` is fed the broker's log line by line (pure: no I/O, no clock) and keeps
which account each client id logged in with, so a denial names the account, its address
and the topic; a refused login names the address and the CONNACK reason code. Mosquitto
2.0 grants every subscription and filters at delivery, logging no denial; given `may_read`
(`flexfleet.acl_match` over the ACL file), a subscription line (`c-42 1 ff/v1/s/b/cmd/#`)
outside the account's read rules is an event too. Each attempt gives exactly one event. `EventLimiter` caps the events kept per account (or
address) and minute, counting what it drops, so a flooding client cannot fill the disk.
The I/O side (the broker's log on a pipe, the security log file) is
`flexfleet.broker_watch`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Literal

EventKind = Literal["publish_denied", "login_refused", "subscribe_outside_acl"]

_STAMP: Final = re.compile(r"^\d+: ")
_CONNECTED: Final = re.compile(
    r"^New client connected from (?P<address>\S+) as (?P<client>\S+) \((?P<flags>[^)]*)\)\.$"
)
_USERNAME: Final = re.compile(r"\bu'(?P<username>[^']*)'")
_DENIED: Final = re.compile(
    r"^Denied PUBLISH from (?P<client>\S+) \(d\d, q(?P<qos>\d), r(?P<retain>\d), m\d+, "
    r"'(?P<topic>.*)', \.\.\. \((?P<bytes>\d+) bytes\)\)$"
)
_CONNACK: Final = re.compile(r"^Sending CONNACK to (?P<address>\S+) \(\d, (?P<code>\d+)\)$")
_NOT_AUTHORISED: Final = "Client <unknown> disconnected, not authorised."
_SUBSCRIBED: Final = re.compile(r"^(?P<client>\S+) (?P<qos>[0-2]) (?P<filter>\S+)$")
_DISCONNECTED: Final = re.compile(
    r"^Client (?P<client>\S+) (?:disconnected|closed its connection|has exceeded timeout)"
)
MAX_CLIENTS: Final = 100_000  # client ids remembered; beyond it the oldest are forgotten


@dataclass(frozen=True, slots=True)
class SecurityEvent:
    """One denied publish or refused login, as the broker logged it.

    `who` is the account (username) for a denial, "" for a refused login (Mosquitto does
    not log the name tried); `address` the client's IP (and port, when known); `topic`,
    `qos`, `retain` and `size_bytes` describe a denied publish; `code` is the CONNACK
    reason of a refused login; `broker_ts` the broker's own timestamp (Unix seconds)."""

    kind: EventKind
    who: str
    address: str
    client_id: str = ""
    topic: str = ""
    qos: int = 0
    retain: bool = False
    size_bytes: int = 0
    code: int = 0
    broker_ts: int = 0

    def describe(self) -> str:
        """One line for a person."""
        if self.kind == "publish_denied":
            return (
                f"broker denied a publish by {self.who or '?'} ({self.address}, client "
                f"{self.client_id}) on {self.topic!r}"
            )
        if self.kind == "subscribe_outside_acl":
            return (
                f"{self.who} ({self.address}, client {self.client_id}) subscribed to "
                f"{self.topic!r}, outside its ACL (the broker delivers it nothing there)"
            )
        return f"broker refused a login from {self.address} (CONNACK reason {self.code})"


@dataclass
class BrokerLogReader:
    """Turns Mosquitto log lines into `SecurityEvent`s (see the module docstring)."""

    may_read: Callable[[str, str], bool] | None = None  # (username, filter) -> allowed
    clients: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (user, address)
    _last_connack: tuple[str, int] | None = None

    def feed(self, line: str) -> SecurityEvent | None:
        """The event this line completes, if any."""
        line = line.rstrip("\r\n")
        stamp = _STAMP.match(line)
        broker_ts = int(stamp.group(0)[:-2]) if stamp else 0
        text = line[stamp.end() :] if stamp else line
        connack, self._last_connack = self._last_connack, None
        if text.startswith("Denied PUBLISH from "):
            return self._denied(text, broker_ts)
        if text.startswith("New client connected from "):
            self._connected(text)
        elif text == _NOT_AUTHORISED:
            address, code = connack if connack is not None else ("?", 0)
            return SecurityEvent("login_refused", "", address, code=code, broker_ts=broker_ts)
        elif text.startswith("Sending CONNACK to "):
            found = _CONNACK.match(text)
            if found is not None and found.group("code") != "0":
                self._last_connack = (found.group("address"), int(found.group("code")))
        elif text.startswith("Client "):
            gone = _DISCONNECTED.match(text)
            if gone is not None:
                self.clients.pop(gone.group("client"), None)
        elif self.may_read is not None:
            return self._subscribed(text, broker_ts)
        return None

    def _subscribed(self, text: str, broker_ts: int) -> SecurityEvent | None:
        found = _SUBSCRIBED.match(text)
        if found is None or found.group("client") not in self.clients:
            return None
        assert self.may_read is not None
        who, address = self.clients[found.group("client")]
        if self.may_read(who, found.group("filter")):
            return None
        return SecurityEvent(
            "subscribe_outside_acl",
            who,
            address,
            found.group("client"),
            topic=found.group("filter"),
            qos=int(found.group("qos")),
            broker_ts=broker_ts,
        )

    def _connected(self, text: str) -> None:
        found = _CONNECTED.match(text)
        if found is None:
            return
        user = _USERNAME.search(found.group("flags"))
        if len(self.clients) >= MAX_CLIENTS:
            self.clients.pop(next(iter(self.clients)))
        self.clients[found.group("client")] = (
            user.group("username") if user else "",
            found.group("address"),
        )

    def _denied(self, text: str, broker_ts: int) -> SecurityEvent:
        found = _DENIED.match(text)
        if found is None:  # a topic Mosquitto printed in a shape we do not know: keep it whole
            client = text[len("Denied PUBLISH from ") :].split(" ", 1)[0]
            who, address = self.clients.get(client, ("", "?"))
            return SecurityEvent("publish_denied", who, address, client, topic=text[:300])
        client = found.group("client")
        who, address = self.clients.get(client, ("", "?"))
        return SecurityEvent(
            "publish_denied",
            who,
            address,
            client,
            topic=found.group("topic"),
            qos=int(found.group("qos")),
            retain=found.group("retain") == "1",
            size_bytes=int(found.group("bytes")),
            broker_ts=broker_ts,
        )


@dataclass
class EventLimiter:
    """At most `per_minute` events kept per (kind, account or address) and minute; the
    next kept one says how many were dropped before it."""

    per_minute: int = 60
    _windows: dict[tuple[str, str], tuple[float, int, int]] = field(default_factory=dict)

    def admit(self, event: SecurityEvent, now_s: float) -> int | None:
        """None to drop `event`; else how many of its key were dropped since the last kept."""
        key = (event.kind, event.who or event.address.rsplit(":", 1)[0])
        start, kept, dropped = self._windows.get(key, (now_s, 0, 0))
        if now_s - start >= 60.0:
            start, kept = now_s, 0
        if kept >= self.per_minute:
            self._windows[key] = (start, kept, dropped + 1)
            return None
        if len(self._windows) >= MAX_CLIENTS and key not in self._windows:
            self._windows.pop(next(iter(self._windows)))
        self._windows[key] = (start, kept + 1, 0)
        return dropped


__all__ = ["BrokerLogReader", "EventKind", "EventLimiter", "SecurityEvent"]
