"""Which subscriptions a Mosquitto ACL lets an account read, checked in Python.

Mosquitto 2.0 grants any subscription and filters at delivery, so a device subscribing to
another node's commands gets a SUBACK, nothing delivered, and no denial in the log. To see
the attempt, `flexfleet.broker_watch` checks each subscription it reads in the broker's
log against the ACL file `flexfleet.device_registry` writes: `user NAME` blocks of `topic
read|readwrite PATTERN` lines (no `pattern` lines, no `%u`). A filter is within the ACL when
every topic it can match is matched by one of the account's read patterns (`+` and `#`
per MQTT 3.1.1 section 4.7); a shared subscription (`$share/GROUP/FILTER`) is checked by
its filter. Pure: text in, answers out.
"""

from __future__ import annotations

from collections.abc import Mapping

SHARE_PREFIX = "$share/"


def read_rules(acl: str) -> dict[str, tuple[str, ...]]:
    """username -> the patterns it may read (`topic read` and `topic readwrite`)."""
    rules: dict[str, list[str]] = {}
    user: str | None = None
    for raw in acl.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word == "user":
            user = rest.strip()
            rules.setdefault(user, [])
        elif word == "topic" and user is not None:
            access, _, pattern = rest.strip().partition(" ")
            if pattern and access in ("read", "readwrite"):
                rules[user].append(pattern.strip())
    return {name: tuple(patterns) for name, patterns in rules.items()}


def filter_within(topic_filter: str, pattern: str) -> bool:
    """Whether every topic `topic_filter` matches is also matched by `pattern`."""
    wanted, allowed = topic_filter.split("/"), pattern.split("/")
    for index, level in enumerate(wanted):
        if index >= len(allowed):
            return False
        rule = allowed[index]
        if rule == "#":
            return True
        if level == "#":
            return False  # the filter reaches deeper than the pattern allows
        if rule == "+":
            continue
        if level == "+" or level != rule:
            return False
    # The filter is exhausted; a pattern ending in "/#" also matches its parent level.
    rest = allowed[len(wanted) :]
    return not rest or rest == ["#"]


def may_read(rules: Mapping[str, tuple[str, ...]], username: str, topic_filter: str) -> bool:
    """Whether `username` may read everything `topic_filter` matches."""
    if topic_filter.startswith(SHARE_PREFIX):
        topic_filter = topic_filter[len(SHARE_PREFIX) :].partition("/")[2]
    return any(filter_within(topic_filter, p) for p in rules.get(username, ()))


__all__ = ["filter_within", "may_read", "read_rules"]
