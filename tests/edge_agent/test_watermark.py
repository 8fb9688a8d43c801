"""Commit watermarks in the agent: rows stay until the coordinator has stored them."""

from __future__ import annotations

import pytest

from edge_agent import link as link_module
from edge_agent.core import AgentCore
from edge_agent.link import Release
from protocol import Birth, Command, CommandAck, Event, Telemetry, command_topic, encode
from tests.edge_agent.conftest import MakeCore, live_births, messages, run_for, watermark_payload


def release(core: AgentCore) -> Release:
    """The current link period's release rule (read afresh each time)."""
    return core.link.release


def test_acknowledged_rows_stay_until_a_watermark_covers_them(make_core: MakeCore) -> None:
    """PUBACKed rows are kept; a watermark deletes exactly the rows up to its seq."""
    core, transport, clock = make_core()
    core.tick()
    transport.accept()
    run_for(core, clock, 5.0)
    produced = core.outbox.next_seq
    assert produced >= 4
    assert core.link.inflight == 0
    assert core.outbox.stats().rows == produced  # the broker has them all; no one stored them
    transport.feed(*watermark_payload(1))
    core.tick()
    assert release(core) is Release.WATERMARK
    assert [r.seq for r in core.outbox.pending(limit=100)][:1] == [2]
    assert core.counters["watermarks"] == 1
    assert not [m for m in messages(transport) if isinstance(m, CommandAck)]  # never answered


def test_a_lost_session_replays_what_no_watermark_covered(make_core: MakeCore) -> None:
    """Acknowledged by the broker but not committed (a broker crash): sent again after the
    reconnect, flagged historical; the new birth names the oldest row still held."""
    core, transport, clock = make_core()
    core.tick()
    transport.accept()
    run_for(core, clock, 3.0)
    transport.feed(*watermark_payload(1))
    core.tick()
    uncommitted = [r.seq for r in core.outbox.pending(limit=100)]
    transport.drop()  # the broker dies with those messages
    run_for(core, clock, 2.0)
    transport.published.clear()
    transport.accept()
    run_for(core, clock, 3.0)
    sent = messages(transport)
    birth = sent[0]
    assert isinstance(birth, Birth)
    assert birth.pending_from_seq == 2
    replayed = [m for m in sent if isinstance(m, Telemetry | Birth) and m.seq < birth.seq]
    assert {m.seq for m in replayed} >= set(uncommitted)
    assert all(m.historical for m in replayed)


def test_an_older_coordinator_sending_no_watermark_releases_rows_on_puback(
    make_core: MakeCore,
) -> None:
    """No watermark within `watermark_wait_s` of the birth: what was held leaves, and every
    later acknowledged row leaves on PUBACK, as before watermarks."""
    core, transport, clock = make_core(outbox={"watermark_wait_s": 5.0})
    core.tick()
    transport.accept()
    run_for(core, clock, 4.0)
    assert release(core) is Release.WAITING
    assert core.outbox.stats().rows >= 3
    run_for(core, clock, 2.0)
    assert release(core) is Release.PUBACK
    assert core.outbox.stats().rows <= 1  # at most a row stored by the last tick


def test_a_late_watermark_turns_holding_back_on(make_core: MakeCore) -> None:
    """A coordinator slower than `watermark_wait_s` (a backlog): its first watermark makes
    the period hold rows again from then on."""
    core, transport, clock = make_core(outbox={"watermark_wait_s": 1.0})
    core.tick()
    transport.accept()
    run_for(core, clock, 2.0)
    assert release(core) is Release.PUBACK
    transport.feed(*watermark_payload(core.outbox.next_seq - 1))
    run_for(core, clock, 2.0)
    assert release(core) is Release.WATERMARK
    assert core.outbox.stats().rows >= 2


@pytest.mark.parametrize(
    ("site", "node", "args"),
    [
        ("s1", "n1", {"seq": "3"}),
        ("s1", "n1", {"seq": -1}),
        ("s1", "n1", {"seq": 1, "more": 1}),
        ("s1", "n1", {}),
        ("s1", "n1", {"seq": 10**9}),  # a seq this node never produced
        ("s1", "other", {"seq": 1}),  # another node's watermark
    ],
)
def test_hostile_watermarks_delete_nothing(
    make_core: MakeCore, site: str, node: str, args: dict[str, object]
) -> None:
    """Malformed, foreign or impossible watermarks are counted as bad input and ignored."""
    core, transport, clock = make_core()
    core.tick()
    transport.accept()
    run_for(core, clock, 2.0)
    rows = core.outbox.stats().rows
    notice = Command(site=site, node=node, name="watermark", cmd_id="wm-x", ts=1_700_000_000_000,
                     args=args)  # fmt: skip
    transport.feed(command_topic(site, node, "watermark"), encode(notice))
    core.tick()
    assert core.counters["bad_inbound"] == 1
    assert core.counters["watermarks"] == 0
    assert core.outbox.stats().rows >= rows
    assert release(core) is Release.WAITING


def test_held_acknowledgements_are_bounded(
    make_core: MakeCore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past MAX_HELD_ACKS rows waiting for a first watermark, the period releases on PUBACK
    rather than grow its memory."""
    monkeypatch.setattr(link_module, "MAX_HELD_ACKS", 3)
    core, transport, clock = make_core()
    core.tick()
    transport.accept()
    run_for(core, clock, 6.0)
    assert release(core) is Release.PUBACK
    assert len(core.link._held) == 0


def test_close_waits_for_the_watermark_covering_everything(make_core: MakeCore) -> None:
    """A clean stop with a watermark-speaking coordinator leaves an empty outbox once the
    last watermark arrives during the drain."""
    core, transport, clock = make_core()
    core.tick()
    transport.accept()
    run_for(core, clock, 2.0)
    transport.feed(*watermark_payload(0))
    core.tick()
    core.flush()
    transport.feed(*watermark_payload(core.outbox.next_seq - 1))
    outbox = core.outbox
    core.close()
    reopened = type(outbox)(outbox.path)
    try:
        assert reopened.stats().rows == 0
    finally:
        reopened.close()


def test_telemetry_dropped_while_linked_earns_a_new_birth(make_core: MakeCore) -> None:
    """The outbox bounds drop telemetry while the coordinator lags: the gap would hold the
    watermark back for good, so the agent sends a new birth naming its oldest row."""
    core, transport, clock = make_core(outbox={"max_outbox_bytes": 4096})
    core.tick()
    transport.accept()
    run_for(core, clock, 2.0)
    transport.feed(*watermark_payload(0))  # a watermark-speaking coordinator, then it lags
    run_for(core, clock, 30.0)
    assert core.outbox.stats().dropped_messages > 0
    births = [m for m in messages(transport) if isinstance(m, Birth) and not m.historical]
    assert 2 <= len(births) <= 4  # at most one per 10 s
    oldest = births[-1].pending_from_seq
    assert oldest is not None
    assert oldest > 1  # the coordinator settles the dropped seqs below it as lost


def test_a_stalled_watermark_earns_a_birth_and_a_replay(make_core: MakeCore) -> None:
    """The broker acknowledged rows the coordinator never got (it restarted without the
    coordinator's session): the watermark stops growing, so after 15 s the agent sends a
    new birth and replays every row still held."""
    core, transport, clock = make_core()
    core.tick()
    transport.accept()
    run_for(core, clock, 2.0)
    transport.feed(*watermark_payload(0))
    core.tick()
    held = [r.seq for r in core.outbox.pending(limit=1000)]
    run_for(core, clock, 10.0)
    assert len(live_births(transport)) == 1  # not yet: 10 s without progress
    transport.published.clear()
    run_for(core, clock, 6.0)
    births = live_births(transport)
    assert len(births) == 1
    assert births[0].pending_from_seq == 1
    replayed = {
        m.seq
        for m in messages(transport)
        if isinstance(m, Birth | Telemetry | Event) and m.historical
    }
    assert set(held) <= replayed
