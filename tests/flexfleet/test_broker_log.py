"""Mosquitto's log read for security events: one event per denied publish (naming the
account that logged in with that client id) and per refused login, routine lines none,
hostile lines never an error, and a cap per account and minute."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest

from flexfleet.broker import BrokerError, start_broker
from flexfleet.broker_log import BrokerLogReader, EventLimiter, SecurityEvent
from flexfleet.broker_watch import BrokerLogWatch, is_routine, read_security_log

# Lines as Mosquitto 2.0.11 wrote them (log_type all), a denied publish and a wrong password.
SESSION = """\
1796538073: New connection from 127.0.0.1:56458 on port 18999.
1796538073: New client connected from 127.0.0.1:56458 as c-42 (p5, c1, k60, u's/a').
1796538073: No will message specified.
1796538073: Sending CONNACK to c-42 (0, 0)
1796538073: Denied PUBLISH from c-42 (d0, q1, r0, m1, 'ff/v1/s/b/telemetry', ... (17 bytes))
1796538073: Sending PUBACK to c-42 (m1, rc135)
1796538073: Received DISCONNECT from c-42
1796538073: Client c-42 disconnected.
1796538073: New connection from 127.0.0.1:56484 on port 18999.
1796538074: Sending CONNACK to 127.0.0.1 (0, 5)
1796538074: Client <unknown> disconnected, not authorised.
1796538074: New client connected from 127.0.0.1:56522 as c-43 (p5, c1, k60, u's/b').
1796538074: Received SUBSCRIBE from c-43
1796538074: \tff/v1/s/b/cmd/# (QoS 1)
1796538074: c-43 1 ff/v1/s/b/cmd/#
1796538074: Sending SUBACK to c-43
"""


def _events(lines: str, reader: BrokerLogReader | None = None) -> list[SecurityEvent]:
    reader = reader or BrokerLogReader()
    return [e for line in lines.splitlines() if (e := reader.feed(line)) is not None]


def test_a_denied_publish_and_a_refused_login_are_one_event_each() -> None:
    """The denial names the account, address, topic, QoS and size; the refused login its
    address and CONNACK reason; nothing else in the session is an event."""
    denied, refused = _events(SESSION)
    assert denied == SecurityEvent(
        "publish_denied",
        "s/a",
        "127.0.0.1:56458",
        "c-42",
        topic="ff/v1/s/b/telemetry",
        qos=1,
        size_bytes=17,
        broker_ts=1796538073,
    )
    assert refused == SecurityEvent("login_refused", "", "127.0.0.1", code=5, broker_ts=1796538074)
    assert "s/a" in denied.describe()
    assert "ff/v1/s/b/telemetry" in denied.describe()


def test_a_disconnected_client_is_forgotten_and_its_id_not_reused_wrongly() -> None:
    """After `Client X disconnected` a denial under the same id names no account rather
    than the old one; a refused login needs the CONNACK line just before it."""
    reader = BrokerLogReader()
    _events(SESSION, reader)
    assert "c-42" not in reader.clients
    (late,) = _events("1: Denied PUBLISH from c-42 (d0, q0, r0, m0, 't', ... (1 bytes))", reader)
    assert (late.who, late.address) == ("", "?")
    lines = "1: Sending CONNACK to 10.0.0.9 (0, 5)\n1: Received PINGREQ from x\n" + (
        "1: Client <unknown> disconnected, not authorised."
    )
    (refused,) = _events(lines, reader)
    assert (refused.address, refused.code) == ("?", 0)


def test_hostile_lines_never_raise_and_odd_topics_are_kept() -> None:
    """Random bytes, huge lines, quotes in topics and truncated denials give at most one
    event per line and no exception."""
    rng = random.Random(7)
    reader = BrokerLogReader()
    for _ in range(2000):
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(200))).decode(
            "utf-8", "replace"
        )
        reader.feed(junk)
        reader.feed("1: Denied PUBLISH from " + junk)
    reader.feed("1: New client connected from x as " + "y" * 100_000 + " (u'z').")
    (odd,) = _events("1: Denied PUBLISH from c (d0, q0, r0, m0, 'a', 'b', ... (3 bytes))", reader)
    assert odd.topic == "a', 'b"
    (cut,) = _events("1: Denied PUBLISH from c (d0, q", reader)
    assert (cut.kind, cut.client_id) == ("publish_denied", "c")


def test_the_limiter_keeps_sixty_a_minute_per_account_and_counts_the_rest() -> None:
    """Past the cap an account's events are dropped for the minute; the next kept one says
    how many; another account is not affected."""
    limiter = EventLimiter(per_minute=3)
    flood = SecurityEvent("publish_denied", "s/a", "1.2.3.4:5", "c")
    other = SecurityEvent("publish_denied", "s/b", "1.2.3.4:6", "d")
    assert [limiter.admit(flood, 0.0) for _ in range(5)] == [0, 0, 0, None, None]
    assert limiter.admit(other, 1.0) == 0
    assert limiter.admit(flood, 61.0) == 2
    refused = SecurityEvent("login_refused", "", "9.9.9.9", code=5)
    assert [limiter.admit(refused, 70.0) for _ in range(4)][-1] is None


def test_the_watch_keeps_events_and_the_non_routine_lines(tmp_path: Path) -> None:
    """Fed a session, the watch writes one JSON record per event and only the start-up
    and error lines to the plain log."""
    stream = io.BytesIO(
        b"1: mosquitto version 2.0.11 running\n"
        + SESSION.encode()
        + b"1: Error: Unable to write to a file\n"
    )
    watch = BrokerLogWatch(
        stream, log_path=tmp_path / "m.log", security_log=tmp_path / "s.jsonl", clock=lambda: 5.0
    ).start()
    watch.join(10)
    records = read_security_log(tmp_path / "s.jsonl")
    assert [(r["kind"], r["who"], r["topic"]) for r in records] == [
        ("publish_denied", "s/a", "ff/v1/s/b/telemetry"),
        ("login_refused", "", ""),
    ]
    assert (records[0]["ts"], records[0]["dropped_before"]) == (5.0, 0)
    assert (tmp_path / "m.log").read_text().splitlines() == [
        "1: mosquitto version 2.0.11 running",
        "1: Error: Unable to write to a file",
    ]
    assert is_routine("1: c-43 1 ff/v1/s/b/cmd/#")
    assert not is_routine("1: Warning: Mosquitto should not be run as root/administrator.")


def test_the_watch_drains_its_pipe_even_when_it_cannot_write(tmp_path: Path) -> None:
    """With its log files unwritable the watch still reads every line to the end (a broker
    writing to an undrained pipe would block), and the stream is closed."""
    lines = SESSION.encode() * 500
    stream = io.BytesIO(lines)
    missing = tmp_path / "no such folder"
    watch = BrokerLogWatch(
        stream, log_path=missing / "m.log", security_log=missing / "s.jsonl"
    ).start()
    watch.join(10)
    assert watch.lines == lines.count(b"\n")
    assert stream.closed
    assert watch.events == 0


def test_an_unwritable_security_log_stops_the_broker_before_it_starts(tmp_path: Path) -> None:
    """`start_broker` refuses a security log it cannot write, and starts no broker."""
    with pytest.raises(BrokerError, match="security log"):
        start_broker(tmp_path / "b", security_log=tmp_path / "no such folder" / "s.jsonl")
    assert not (tmp_path / "b" / "mosquitto.log").exists()


def test_a_subscription_outside_the_acl_is_one_event() -> None:
    """Given the ACL check, the `client qos filter` line of a subscription the account may
    not read is an event naming the account; an allowed one, or an unknown client's, none."""
    allowed = {("s/b", "ff/v1/s/b/cmd/#")}
    reader = BrokerLogReader(may_read=lambda who, topic: (who, topic) in allowed)
    events = _events(SESSION + "1796538075: c-43 0 ff/v1/s/a/cmd/#\n1: c-99 0 #\n", reader)
    assert [(e.kind, e.who, e.topic, e.qos) for e in events] == [
        ("publish_denied", "s/a", "ff/v1/s/b/telemetry", 1),
        ("login_refused", "", "", 0),
        ("subscribe_outside_acl", "s/b", "ff/v1/s/a/cmd/#", 0),
    ]
    assert "outside its ACL" in events[-1].describe()
