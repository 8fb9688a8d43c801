"""Subscriptions checked against the ACL `flexfleet device` writes: a filter is within an
account's ACL only when every topic it can match is readable."""

from __future__ import annotations

import pytest

from flexfleet.acl_match import filter_within, may_read, read_rules
from flexfleet.device_registry import Account, acl_text


@pytest.mark.parametrize(
    ("topic_filter", "pattern", "within"),
    [
        ("ff/v1/s/a/cmd/#", "ff/v1/s/a/cmd/#", True),
        ("ff/v1/s/a/cmd/rebirth", "ff/v1/s/a/cmd/#", True),
        ("ff/v1/s/a/cmd", "ff/v1/s/a/cmd/#", True),  # `#` also matches its parent level
        ("ff/v1/s/a/cmd/+", "ff/v1/s/a/cmd/#", True),
        ("ff/v1/s/b/cmd/#", "ff/v1/s/a/cmd/#", False),
        ("ff/v1/s/+/cmd/#", "ff/v1/s/a/cmd/#", False),
        ("ff/v1/#", "ff/v1/s/a/cmd/#", False),
        ("#", "ff/v1/coordinator/#", False),
        ("ff/v1/s/+/+", "ff/v1/s/#", True),
        ("ff/v1/s/x/telemetry", "ff/v1/s/+/telemetry", True),
        ("ff/v1/s/x/telemetry/extra", "ff/v1/s/+/telemetry", False),
        ("ff/v1/s", "ff/v1/s/+", False),
        ("ff/v1/s/#", "ff/v1/s/+", False),
    ],
)
def test_a_filter_is_within_a_pattern_only_when_all_it_matches_is(
    topic_filter: str, pattern: str, within: bool
) -> None:
    """Literal levels must agree, `+` in the filter needs `+` or `#` in the pattern, `#` in
    the filter needs `#` in the pattern."""
    assert filter_within(topic_filter, pattern) is within


def test_the_registry_acl_gives_each_account_its_reads() -> None:
    """Read back from `acl_text`: a device reads its commands and coordinators' presence, a
    coordinator its sites (shared subscriptions too); nobody else reads anything."""
    rules = read_rules(
        acl_text(
            [
                Account("press-01", "device", ("s",), "t"),
                Account("c1", "coordinator", ("s",), "t"),
            ]
        )
    )
    assert may_read(rules, "s/press-01", "ff/v1/s/press-01/cmd/#")
    assert may_read(rules, "s/press-01", "ff/v1/coordinator/c1/state")
    assert not may_read(rules, "s/press-01", "ff/v1/s/press-02/cmd/#")
    assert not may_read(rules, "s/press-01", "ff/v1/s/press-01/telemetry")  # write only
    assert may_read(rules, "coordinator/c1", "$share/flexfleet/ff/v1/s/+/+")
    assert not may_read(rules, "coordinator/c1", "$share/flexfleet/ff/v1/other/+/+")
    assert not may_read(rules, "s/stranger", "ff/v1/s/stranger/cmd/#")
