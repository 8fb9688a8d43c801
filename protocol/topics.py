"""The topic namespace: `ff/v1/{site}/{node}/{kind}` and friends.

    ff/v1/{site}/{node}/birth|death|telemetry|stock|event   data, agent → coordinator
    ff/v1/{site}/{node}/ack                                 command answers, agent → coordinator
    ff/v1/{site}/{node}/cmd/{name}                          commands, coordinator → agent
    ff/v1/{site}/alerts/{severity}/{alarm_id}               alarm notifications
    ff/v1/coordinator/state                                 retained presence of a coordinator
                                                            owning every site
    ff/v1/coordinator/{coordinator}/state                   retained presence of a coordinator
                                                            owning some sites (named in it)

Site and node ids are 1–64 characters of letters, digits, `_`, `.` and `-`, starting with a
letter or digit, so they can never contain MQTT separators or wildcards. The names
`coordinator` (as a site) and `alerts` (as a node) are reserved.

Several coordinators can share one broker, each owning a set of sites: each subscribes
only its sites' topics (`site_filters`) and keeps its presence on its own state topic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from protocol.errors import TopicError

ROOT: Final = "ff/v1"
# One id (site, node, command, order): 1-64 of [A-Za-z0-9_.-], not starting with
# punctuation. ID is the unanchored body, for patterns that join ids (`site/node`).
ID: Final = r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}"
ID_PATTERN: Final = rf"^{ID}$"
# One name (signal, stock item / SKU): 1-64 of [A-Za-z0-9_.:-].
NAME_PATTERN: Final = r"^[A-Za-z0-9_.:\-]{1,64}$"
RESERVED_SITES: Final = frozenset({"coordinator"})
RESERVED_NODES: Final = frozenset({"alerts"})
DATA_KINDS: Final = frozenset({"birth", "death", "telemetry", "stock", "event"})
COORDINATOR_STATE_TOPIC: Final = f"{ROOT}/coordinator/state"
# Every coordinator's own state topic (agents subscribe to it and to the shared one).
COORDINATOR_STATE_FILTER: Final = f"{ROOT}/coordinator/+/state"
# Everything agents send: five levels, so neither commands (six) nor the shared state topic
# (four) match; a coordinator's own state topic does, and ingest ignores it.
FLEET_FILTER: Final = f"{ROOT}/+/+/+"
# Agent events and deaths only (the coordinator's alarm fast lane subscribes to these).
EVENT_FILTER: Final = f"{ROOT}/+/+/event"
DEATH_FILTER: Final = f"{ROOT}/+/+/death"

_ID_RE: Final = re.compile(ID_PATTERN)


def check_id(value: str, *, what: str) -> str:
    """Return `value` if it is a valid site/node/command id, else raise `TopicError`."""
    if not _ID_RE.match(value):
        raise TopicError(f"invalid {what} id {value[:80]!r}: 1-64 of [A-Za-z0-9_.-]")
    return value


def _site(site: str) -> str:
    check_id(site, what="site")
    if site in RESERVED_SITES:
        raise TopicError(f"site id {site!r} is reserved")
    return site


def _node(node: str) -> str:
    check_id(node, what="node")
    if node in RESERVED_NODES:
        raise TopicError(f"node id {node!r} is reserved")
    return node


def data_topic(site: str, node: str, kind: str) -> str:
    """Topic for a message of `kind` (birth, death, telemetry, stock, event) from a node."""
    if kind not in DATA_KINDS:
        raise TopicError(f"unknown data kind {kind!r}")
    return f"{ROOT}/{_site(site)}/{_node(node)}/{kind}"


def ack_topic(site: str, node: str) -> str:
    """Topic on which a node answers commands."""
    return f"{ROOT}/{_site(site)}/{_node(node)}/ack"


def command_topic(site: str, node: str, name: str) -> str:
    """Topic of command `name` addressed to one node."""
    return f"{ROOT}/{_site(site)}/{_node(node)}/cmd/{check_id(name, what='command')}"


def command_filter(site: str, node: str) -> str:
    """Subscription filter matching every command addressed to one node."""
    return f"{ROOT}/{_site(site)}/{_node(node)}/cmd/+"


def alert_topic(site: str, severity: str, alarm_id: str) -> str:
    """Topic on which the coordinator announces an alarm change."""
    return (
        f"{ROOT}/{_site(site)}/alerts/{check_id(severity, what='severity')}/"
        f"{check_id(alarm_id, what='alarm')}"
    )


def site_filters(sites: tuple[str, ...], kind: str = "+") -> tuple[str, ...]:
    """Subscription filters for the data of `kind` (`+`: every kind) from every node of
    `sites`, or of every site when `sites` is empty."""
    if kind != "+" and kind not in DATA_KINDS:
        raise TopicError(f"unknown data kind {kind!r}")
    if not sites:
        return (f"{ROOT}/+/+/{kind}",)
    return tuple(f"{ROOT}/{_site(site)}/+/{kind}" for site in sites)


def coordinator_state_topic(coordinator: str | None = None) -> str:
    """The retained presence topic: the shared one for a coordinator owning every site
    (`coordinator` None), else the coordinator's own."""
    if coordinator is None:
        return COORDINATOR_STATE_TOPIC
    return f"{ROOT}/coordinator/{check_id(coordinator, what='coordinator')}/state"


def shared_filter(group: str, topic_filter: str) -> str:
    """An MQTT 5 shared subscription, so several coordinators split one stream."""
    return f"$share/{check_id(group, what='share group')}/{topic_filter}"


@dataclass(frozen=True, slots=True)
class TopicInfo:
    """What a topic says about the message on it.

    `kind` is a data kind, `"ack"`, `"cmd"` (with `command` set) or `"state"`
    (a coordinator state topic: `site` is empty, and `node` is the coordinator's id on
    its own topic, empty on the shared one).
    """

    site: str
    node: str
    kind: str
    command: str | None = None


def parse_topic(topic: str) -> TopicInfo:
    """Split a flexfleet topic into its parts, or raise `TopicError`."""
    if topic == COORDINATOR_STATE_TOPIC:
        return TopicInfo(site="", node="", kind="state")
    parts = topic.split("/")
    if len(parts) < 5 or f"{parts[0]}/{parts[1]}" != ROOT:
        raise TopicError(f"not a flexfleet topic: {topic[:200]!r}")
    if len(parts) == 5 and parts[2] == "coordinator" and parts[4] == "state":
        return TopicInfo(site="", node=check_id(parts[3], what="coordinator"), kind="state")
    site, node, kind = _site(parts[2]), _node(parts[3]), parts[4]
    if len(parts) == 5 and (kind in DATA_KINDS or kind == "ack"):
        return TopicInfo(site=site, node=node, kind=kind)
    if len(parts) == 6 and kind == "cmd":
        return TopicInfo(
            site=site, node=node, kind="cmd", command=check_id(parts[5], what="command")
        )
    raise TopicError(f"unknown topic layout: {topic[:200]!r}")
