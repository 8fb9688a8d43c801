"""Topic namespace: building, parsing and refusing topics."""

from __future__ import annotations

import pytest

from protocol import (
    COORDINATOR_STATE_FILTER,
    COORDINATOR_STATE_TOPIC,
    DEATH_FILTER,
    EVENT_FILTER,
    FLEET_FILTER,
    TopicError,
    TopicInfo,
    ack_topic,
    alert_topic,
    check_id,
    command_filter,
    command_topic,
    coordinator_state_topic,
    data_topic,
    parse_topic,
    shared_filter,
    site_filters,
)


def test_builders_produce_documented_layout() -> None:
    """Each builder yields the ff/v1 layout documented in protocol.topics."""
    assert data_topic("yiwu-1", "press.07", "telemetry") == "ff/v1/yiwu-1/press.07/telemetry"
    assert ack_topic("s", "n") == "ff/v1/s/n/ack"
    assert command_topic("s", "n", "rebirth") == "ff/v1/s/n/cmd/rebirth"
    assert command_filter("s", "n") == "ff/v1/s/n/cmd/+"
    assert alert_topic("s", "MAJOR", "a-17") == "ff/v1/s/alerts/MAJOR/a-17"
    assert shared_filter("ingest", FLEET_FILTER) == "$share/ingest/ff/v1/+/+/+"


@pytest.mark.parametrize(
    ("topic", "info"),
    [
        ("ff/v1/s/n/birth", TopicInfo("s", "n", "birth")),
        ("ff/v1/s/n/death", TopicInfo("s", "n", "death")),
        ("ff/v1/s/n/ack", TopicInfo("s", "n", "ack")),
        ("ff/v1/s/n/cmd/config", TopicInfo("s", "n", "cmd", "config")),
        (COORDINATOR_STATE_TOPIC, TopicInfo("", "", "state")),
        ("ff/v1/coordinator/coord-east/state", TopicInfo("", "coord-east", "state")),
    ],
)
def test_parse_topic_round_trips(topic: str, info: TopicInfo) -> None:
    """parse_topic recovers site, node, kind and command name."""
    assert parse_topic(topic) == info


@pytest.mark.parametrize(
    "topic",
    [
        "",
        "ff/v1",
        "ff/v2/s/n/birth",
        "xx/v1/s/n/birth",
        "ff/v1/s/n/bogus",
        "ff/v1/s/n/cmd",
        "ff/v1/s/n/cmd/a/b",
        "ff/v1/s/n/birth/extra",
        "ff/v1/s/+/birth",
        "ff/v1/s/#/birth",
        "ff/v1//n/birth",
        "ff/v1/coordinator/n/birth",
        "ff/v1/coordinator/bad id/state",
        "ff/v1/coordinator/+/state",
        "ff/v1/s/alerts/MAJOR",
        "ff/v1/s/n/cmd/bad name",
        "ff/v1/" + "x" * 65 + "/n/birth",
    ],
)
def test_parse_topic_refuses_foreign_topics(topic: str) -> None:
    """Anything outside the namespace raises TopicError."""
    with pytest.raises(TopicError):
        parse_topic(topic)


@pytest.mark.parametrize("bad", ["", "a/b", "+", "#", "-lead", "a b", "x" * 65, "ü"])
def test_check_id_refuses_bad_ids(bad: str) -> None:
    """Ids with separators, wildcards, spaces or over 64 characters are refused."""
    with pytest.raises(TopicError, match="invalid"):
        check_id(bad, what="node")


def test_builders_refuse_reserved_and_unknown() -> None:
    """Reserved names and unknown kinds cannot be built into topics."""
    with pytest.raises(TopicError, match="reserved"):
        data_topic("coordinator", "n", "birth")
    with pytest.raises(TopicError, match="reserved"):
        data_topic("s", "alerts", "birth")
    with pytest.raises(TopicError, match="unknown data kind"):
        data_topic("s", "n", "cmd")
    with pytest.raises(TopicError):
        command_topic("s", "n", "a/b")


def test_site_filters_cover_the_owned_sites_only() -> None:
    """No sites: the fleet-wide filters; else one filter per owned site and kind."""
    assert site_filters(()) == (FLEET_FILTER,)
    assert site_filters((), "event") == (EVENT_FILTER,)
    assert site_filters((), "death") == (DEATH_FILTER,)
    assert site_filters(("east", "west")) == ("ff/v1/east/+/+", "ff/v1/west/+/+")
    assert site_filters(("east",), "event") == ("ff/v1/east/+/event",)
    with pytest.raises(TopicError, match="reserved"):
        site_filters(("coordinator",))
    with pytest.raises(TopicError, match="invalid"):
        site_filters(("+",))
    with pytest.raises(TopicError, match="unknown data kind"):
        site_filters(("east",), "cmd")


def test_coordinator_state_topics() -> None:
    """The shared presence topic, or a coordinator's own, which the agents' filter matches."""
    assert coordinator_state_topic() == COORDINATOR_STATE_TOPIC
    own = coordinator_state_topic("coord-east")
    assert own == "ff/v1/coordinator/coord-east/state"
    assert COORDINATOR_STATE_FILTER == "ff/v1/coordinator/+/state"
    with pytest.raises(TopicError, match="invalid coordinator"):
        coordinator_state_topic("a/b")
