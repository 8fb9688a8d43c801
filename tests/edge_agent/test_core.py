"""The agent's policy in memory: sessions, birth, live data, replay, coordinator state."""

from __future__ import annotations

from edge_agent.transport import Published
from protocol import Birth, Death, Event, Telemetry, decode
from tests.edge_agent.conftest import (
    MakeCore,
    commit_all,
    live_births,
    messages,
    run_for,
    state_payload,
)


def test_connect_sends_birth_first_then_telemetry_and_registers_death_as_will(
    make_core: MakeCore,
) -> None:
    """A session starts with a birth (seq 0), then telemetry; the will is a death with the bd_seq."""
    core, transport, clock = make_core()
    core.tick()
    transport.accept()
    run_for(core, clock, 3.0)
    sent = messages(transport)
    assert isinstance(sent[0], Birth)
    assert sent[0].seq == 0
    assert sent[0].pending_from_seq is None
    assert any(isinstance(m, Telemetry) for m in sent)
    will = decode(transport.connects[0].topic, transport.connects[0].payload)
    assert isinstance(will, Death)
    assert will.bd_seq == sent[0].bd_seq == 1
    seqs = [m.seq for m in sent if isinstance(m, Birth | Telemetry | Event)]
    assert seqs == list(range(len(seqs)))
    assert {"watermark", "executes"} <= set(sent[0].capabilities)  # its machine runs plans
    assert core.outbox.stats().rows == len(seqs)  # acknowledged by the broker, not yet stored
    commit_all(core, transport)
    assert core.outbox.stats().rows == 0  # the coordinator's watermark released them


def test_messages_stay_in_outbox_until_puback(make_core: MakeCore) -> None:
    """With a coordinator that sends no watermarks (none within `watermark_wait_s`): without
    PUBACK nothing is deleted; each PUBACK deletes exactly its message."""
    core, transport, clock = make_core(outbox={"watermark_wait_s": 1.0})
    transport.auto_ack = False
    core.tick()
    transport.accept()
    run_for(core, clock, 2.5)
    held = core.outbox.stats().rows
    assert held == len(transport.unacked) > 1
    transport.ack(transport.unacked[0])
    core.tick()
    assert core.outbox.stats().rows == held - 1


def test_offline_data_is_replayed_in_order_flagged_historical(make_core: MakeCore) -> None:
    """Data made while disconnected arrives after the new birth, in seq order, historical."""
    core, transport, clock = make_core()
    core.tick()
    transport.refuse()
    run_for(core, clock, 5.0)  # keeps failing: reconnects are attempted, nothing accepted
    stored = core.outbox.stats().rows
    assert stored >= 4
    assert not transport.published
    transport.accept()
    run_for(core, clock, 3.0)
    sent = messages(transport)
    birth = sent[0]
    assert isinstance(birth, Birth)
    assert birth.pending_from_seq == 0
    replayed = [m for m in sent if isinstance(m, Telemetry) and m.seq < birth.seq]
    assert [m.seq for m in replayed] == list(range(stored))
    assert all(m.historical for m in replayed)
    live = [m for m in sent if isinstance(m, Telemetry) and m.seq > birth.seq]
    assert live
    assert not any(m.historical for m in live)


def test_replay_is_rate_limited_and_does_not_delay_live_data(make_core: MakeCore) -> None:
    """With a 2 msg/s replay rate a long backlog trickles while live batches go out at once."""
    core, transport, clock = make_core(replay={"max_messages_per_s": 2.0})
    core.tick()
    transport.refuse()
    run_for(core, clock, 20.0)
    backlog = core.outbox.stats().rows
    assert backlog >= 15
    transport.accept()
    run_for(core, clock, 3.0)
    sent = messages(transport)
    birth_seq = sent[0].seq  # type: ignore[union-attr]
    replayed = [m for m in sent if isinstance(m, Telemetry) and m.seq < birth_seq]
    live = [m for m in sent if isinstance(m, Telemetry) and m.seq > birth_seq]
    assert 4 <= len(replayed) <= 9  # ~2/s over 3 s plus the first token
    assert len(live) >= 2


def test_a_dropped_session_resends_unacknowledged_messages_without_loss(
    make_core: MakeCore,
) -> None:
    """Messages in flight when the link drops are sent again in the next session."""
    core, transport, clock = make_core()
    transport.auto_ack = False
    core.tick()
    transport.accept()
    run_for(core, clock, 2.5)
    first = {m.seq for m in messages(transport) if isinstance(m, Telemetry)}
    transport.drop()
    run_for(core, clock, 40.0)  # at most one backoff cap later it has reconnected
    transport.auto_ack = True
    transport.accept()
    run_for(core, clock, 3.0)
    later = [m for m in messages(transport)[len(first) + 1 :] if isinstance(m, Telemetry)]
    assert first <= {m.seq for m in later}
    assert all(m.historical for m in later if m.seq in first)
    assert len(transport.connects) >= 2
    bd_seqs = [decode(w.topic, w.payload).bd_seq for w in transport.connects]  # type: ignore[union-attr]
    assert bd_seqs == sorted(set(bd_seqs))  # a new bd_seq per attempt


def test_waits_for_coordinator_and_flushes_when_it_comes_online(make_core: MakeCore) -> None:
    """With the coordinator offline nothing is published; online brings a birth and the backlog."""
    core, transport, clock = make_core(mqtt={"wait_for_coordinator": True})
    core.tick()
    transport.accept()
    transport.feed(*state_payload(online=False))
    run_for(core, clock, 3.0)
    assert transport.published == []
    transport.feed(*state_payload(online=True))
    run_for(core, clock, 3.0)
    sent = messages(transport)
    assert isinstance(sent[0], Birth)
    assert sent[0].pending_from_seq == 0
    transport.feed(*state_payload(online=False))
    core.tick()
    count = len(transport.published)
    run_for(core, clock, 3.0)
    assert len(transport.published) == count  # buffering again
    assert core.outbox.stats().rows > 0


def test_follows_the_coordinator_owning_its_site_only(make_core: MakeCore) -> None:
    """With several coordinators on one broker the agent (site s1) waits for the one that
    names s1; another site's coordinator going offline does not stop it."""
    core, transport, clock = make_core(mqtt={"wait_for_coordinator": True})
    core.tick()
    transport.accept()
    transport.feed(*state_payload(online=True, coordinator="west", sites=("s2",)))
    run_for(core, clock, 2.0)
    assert "ff/v1/coordinator/+/state" in transport.subscriptions
    assert transport.published == []  # s2's coordinator is not ours
    transport.feed(*state_payload(online=True, coordinator="east", sites=("s0", "s1")))
    run_for(core, clock, 2.0)
    assert isinstance(messages(transport)[0], Birth)
    transport.feed(*state_payload(online=False, coordinator="west", sites=("s2",)))
    count = len(transport.published)
    run_for(core, clock, 2.0)
    assert len(transport.published) > count  # still sending
    transport.feed(*state_payload(online=False, coordinator="east", sites=("s0", "s1")))
    core.tick()
    count = len(transport.published)
    run_for(core, clock, 2.0)
    assert len(transport.published) == count  # our coordinator is away: buffering
    transport.feed(*state_payload(online=True, coordinator="east", sites=("s0",)))
    run_for(core, clock, 2.0)
    assert len(transport.published) == count  # s1 moved away from it: nobody owns s1 yet
    transport.feed(*state_payload(online=True, coordinator="c1"))  # owns every site
    run_for(core, clock, 2.0)
    assert len(transport.published) > count


def test_stock_snapshot_follows_birth_and_deltas_follow_picks(make_core: MakeCore) -> None:
    """A warehouse node sends a stock snapshot after its birth and deltas as stock moves."""
    core, transport, clock = make_core(node={"kind": "warehouse"}, driver={"skus": 5})
    core.tick()
    transport.accept()
    run_for(core, clock, 600.0, step_s=0.5)
    sent = messages(transport)
    kinds = [m.kind for m in sent]
    assert kinds[:2] == ["birth", "stock"]
    birth = sent[0]
    assert isinstance(birth, Birth)
    assert "executes" not in birth.capabilities  # a shelf carries out no plan
    snapshot = sent[1]
    assert snapshot.mode == "snapshot"  # type: ignore[union-attr]
    deltas = [m for m in sent if m.kind == "stock" and m.mode == "delta"]  # type: ignore[union-attr]
    assert deltas, "ten simulated minutes of demand move some stock"
    levels = dict(snapshot.items)  # type: ignore[union-attr]
    for delta in deltas:
        for sku, change in delta.items.items():  # type: ignore[union-attr]
            levels[sku] += change
    assert levels == core.driver.stock_levels()


def test_publish_failure_code_sends_the_message_again(make_core: MakeCore) -> None:
    """A PUBACK with a failure reason code keeps the message and resends it."""
    core, transport, _clock = make_core()
    transport.auto_ack = False
    core.tick()
    transport.accept()
    core.tick()
    birth_mid = transport.unacked.pop(0)
    core.handle(Published(birth_mid, ok=False))
    core.tick()
    births = [m for m in messages(transport) if isinstance(m, Birth)]
    assert len(births) == 2
    assert births[0].seq == births[1].seq
    assert core.outbox.stats().rows >= 1


def test_a_new_session_waits_for_the_coordinator_state_again(make_core: MakeCore) -> None:
    """After a reconnect the retained 'online' state opens a new link period with a new birth."""
    core, transport, clock = make_core(mqtt={"wait_for_coordinator": True})
    core.tick()
    transport.accept()
    transport.feed(*state_payload(online=True))
    run_for(core, clock, 2.0)
    transport.drop()
    run_for(core, clock, 5.0)
    transport.accept()
    core.tick()
    births_before = len(live_births(transport))
    transport.feed(*state_payload(online=True))  # the broker resends the retained state
    run_for(core, clock, 2.0)
    assert len(live_births(transport)) == births_before + 1


def test_a_batch_over_the_payload_limit_is_split_not_lost(make_core: MakeCore) -> None:
    """20,000 samples (~1 MB of JSON) leave as several messages under the 512 KiB limit."""
    core, transport, clock = make_core(
        driver={"machines": 400}, batching={"max_samples": 20_000, "max_age_ms": 60_000}
    )
    core.tick()
    transport.accept()
    run_for(core, clock, 3.0, step_s=0.1)
    core.flush()
    core.tick()
    telemetry = [m for m in messages(transport) if isinstance(m, Telemetry)]
    assert len(telemetry) >= 2
    assert sum(len(m.samples) for m in telemetry) == core.counters["samples_reported"] >= 20_000
    assert core.outbox.stats().produced_samples == core.counters["samples_reported"]


def test_live_queue_is_bounded_when_the_broker_stops_acknowledging(make_core: MakeCore) -> None:
    """With PUBACKs stalled, live messages stay on disk, not in memory; all go out later."""
    core, transport, clock = make_core(
        batching={"max_samples": 1, "max_age_ms": 0}, replay={"max_messages_per_s": 1000.0}
    )
    core.link.max_live_queue = 20
    transport.auto_ack = False
    core.tick()
    transport.accept()
    run_for(core, clock, 3.0, step_s=0.1)
    assert len(core.link._live) <= 20
    produced = core.outbox.stats().next_seq
    assert produced > 45  # more than the in-flight window (20) plus the live queue (20)
    transport.ack()
    transport.auto_ack = True
    run_for(core, clock, 3.0, step_s=0.1)
    sent = {m.seq for m in messages(transport) if isinstance(m, Birth | Telemetry | Event)}
    assert set(range(produced)) <= sent
