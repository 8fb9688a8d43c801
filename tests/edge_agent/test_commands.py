"""Commands: rebirth, config (validated, applied live, persisted), plan updates, unknown → nack."""

from __future__ import annotations

from typing import Any

from edge_agent.core import AgentCore
from edge_agent.transport import MemoryTransport
from protocol import Command, CommandAck, command_topic, encode
from tests.edge_agent.conftest import MakeCore, live_births, messages, run_for


def send(transport: MemoryTransport, name: str, cmd_id: str, **args: Any) -> None:
    command = Command(
        site="s1", node="n1", name=name, cmd_id=cmd_id, ts=1_700_000_000_000, args=args
    )
    transport.feed(command_topic("s1", "n1", name), encode(command))


def acks(transport: MemoryTransport) -> dict[str, CommandAck]:
    return {m.cmd_id: m for m in messages(transport) if isinstance(m, CommandAck)}


def connected(make_core: MakeCore, **sections: Any) -> tuple[AgentCore, MemoryTransport, Any]:
    core, transport, clock = make_core(**sections)
    core.tick()
    transport.accept()
    run_for(core, clock, 1.5)
    return core, transport, clock


def test_rebirth_publishes_a_new_birth_with_the_next_seq_and_acks(make_core: MakeCore) -> None:
    """`rebirth` → a fresh birth (same bd_seq, new seq) and an ok ack."""
    core, transport, _clock = connected(make_core)
    send(transport, "rebirth", "r1")
    core.tick()
    births = live_births(transport)
    assert len(births) == 2
    assert births[1].bd_seq == births[0].bd_seq
    assert births[1].seq > births[0].seq
    assert acks(transport)["r1"].ok


def test_unknown_command_is_nacked_with_a_reason(make_core: MakeCore) -> None:
    """An unknown command name gets ok=false and a reason naming it."""
    core, transport, _ = connected(make_core)
    send(transport, "selfdestruct", "x1")
    core.tick()
    ack = acks(transport)["x1"]
    assert not ack.ok
    assert "selfdestruct" in ack.reason


def test_config_changes_interval_and_deadbands_live_and_persists(make_core: MakeCore) -> None:
    """A valid config command applies at once and survives a restart of the agent."""
    core, transport, clock = connected(make_core)
    send(transport, "config", "c1", sampling_interval_ms=500, deadbands={"spindle_temp_c": 5.0})
    core.tick()
    assert acks(transport)["c1"].ok
    assert core.settings.interval_ms == 500
    assert core.deadband.deadbands == {"spindle_temp_c": 5.0}
    before = core.counters["samples_read"]
    run_for(core, clock, 10.0)
    assert core.counters["samples_read"] - before <= 5 * 21  # 2 reads/s × 5 signals
    core.close()
    again, _, _ = make_core()
    assert again.settings.interval_ms == 500
    assert again.settings.deadbands == {"spindle_temp_c": 5.0}


def test_invalid_config_is_nacked_and_changes_nothing(make_core: MakeCore) -> None:
    """Each invalid argument is refused with a reason; no part of the command is applied."""
    core, transport, _ = connected(make_core)
    bad: dict[str, dict[str, Any]] = {
        "b1": {"sampling_interval_ms": 1},
        "b2": {"sampling_interval_ms": "100"},
        "b3": {"deadbands": {"no_such_signal": 1.0}},
        "b4": {"deadbands": {"spindle_temp_c": -1.0}},
        "b5": {"sampling_interval_ms": 200, "frobnicate": True},
        "b6": {},
        "b7": {"deadbands": [1, 2]},
        "b8": {"sampling_interval_ms": 200, "default_deadband": True},
    }
    for cmd_id, args in bad.items():
        send(transport, "config", cmd_id, **args)
    core.tick()
    answers = acks(transport)
    for cmd_id in bad:
        assert not answers[cmd_id].ok, cmd_id
        assert answers[cmd_id].reason, cmd_id
    assert core.settings.interval_ms == 100
    assert core.settings.deadbands == {}


def test_detector_thresholds_are_validated_and_applied(make_core: MakeCore) -> None:
    """Detector settings merge over the current ones; invalid thresholds are nacked."""
    core, transport, _ = connected(make_core, detectors={"enabled": True})
    send(
        transport, "config", "d1", detectors={"baseline": {"raise_score": 9.0, "clear_score": 4.0}}
    )
    send(transport, "config", "d2", detectors={"baseline": {"raise_score": -1.0}})
    send(
        transport,
        "config",
        "d3",
        detectors={"per_signal": {"spindle_temp_c": {"warmup_samples": 10}}},
    )
    core.tick()
    answers = acks(transport)
    assert answers["d1"].ok
    assert not answers["d2"].ok
    assert "raise_score" in answers["d2"].reason
    assert answers["d3"].ok
    assert core.detectors is not None
    monitor = core.detectors.monitors["spindle_temp_c"]
    assert monitor.config.baseline.raise_score == 9.0
    assert monitor.config.warmup_samples == 10
    assert core.detectors.monitors["state"].config.warmup_samples != 10


def test_redelivered_command_is_answered_again_but_applied_once(make_core: MakeCore) -> None:
    """The same cmd_id twice (QoS 1 redelivery) → two identical acks, one rebirth."""
    core, transport, _ = connected(make_core)
    send(transport, "rebirth", "same")
    send(transport, "rebirth", "same")
    core.tick()
    sent = messages(transport)
    assert len(live_births(transport)) == 2  # first birth + one rebirth
    assert len([m for m in sent if isinstance(m, CommandAck)]) == 2


def test_command_for_another_node_and_garbage_are_ignored(make_core: MakeCore) -> None:
    """Garbage on the command topic is counted and ignored; the agent carries on."""
    core, transport, clock = connected(make_core)
    transport.feed("ff/v1/s1/n1/cmd/rebirth", b"\xff\x00not json")
    transport.feed("ff/v1/s1/n1/cmd/rebirth", b'{"v":1,"kind":"cmd"}')
    core.tick()
    assert core.counters["bad_inbound"] == 2
    run_for(core, clock, 1.0)
    assert not acks(transport)


def test_a_deadband_from_config_takes_effect_on_the_next_samples(make_core: MakeCore) -> None:
    """After `default_deadband` is raised, steady reporting stops at once (only heartbeats)."""
    core, transport, clock = connected(make_core)
    run_for(core, clock, 2.0)
    core.flush()  # samples are counted as reported when their batch is stored
    before = core.counters["samples_reported"]
    assert before > 0
    send(transport, "config", "c1", default_deadband=1e9)
    run_for(core, clock, 10.0)
    assert acks(transport)["c1"].ok
    core.flush()
    assert core.counters["samples_reported"] == before


def test_detector_settings_from_config_survive_a_restart(make_core: MakeCore) -> None:
    """Detector thresholds set by command are persisted and reapplied at the next start."""
    core, transport, _ = connected(make_core, detectors={"enabled": True})
    send(
        transport,
        "config",
        "d1",
        detectors={
            "baseline": {"raise_score": 9.0, "clear_score": 4.0},
            "per_signal": {"spindle_temp_c": {"warmup_samples": 10}},
        },
    )
    core.tick()
    assert acks(transport)["d1"].ok
    core.close()
    again, _, _ = make_core(detectors={"enabled": True})
    try:
        assert again.detectors is not None
        assert again.detectors.monitors["state"].config.baseline.raise_score == 9.0
        assert again.detectors.monitors["spindle_temp_c"].config.warmup_samples == 10
    finally:
        again.close()


def _schedule_args(version: int, **changes: Any) -> dict[str, Any]:
    return {
        "version": version,
        "machine_id": "n1",
        "epoch_ms": 1_700_000_000_000,
        "time_unit_s": 60.0,
        "operations": [
            {"operation_id": "j1:0", "job_id": "j1", "start": 0, "end": 5, "quantity": 3}
        ],
        **changes,
    }


def test_schedule_update_is_acked_and_kept_newest_first(make_core: MakeCore) -> None:
    """A valid `schedule` command is acked and held; an older version never replaces it."""
    core, transport, _ = connected(make_core)
    send(transport, "schedule", "p2", **_schedule_args(2))
    send(transport, "schedule", "p1", **_schedule_args(1, operations=[]))
    core.tick()
    assert acks(transport)["p2"].ok
    assert acks(transport)["p1"].ok
    held = core.plans["schedule:n1"]
    assert held.version == 2
    assert [op.operation_id for op in held.operations] == ["j1:0"]  # type: ignore[union-attr]


def test_malformed_plan_update_is_nacked_with_the_reason(make_core: MakeCore) -> None:
    """A `schedule` or `route` command whose update fails validation is refused, not kept."""
    core, transport, _ = connected(make_core)
    send(transport, "schedule", "p1", **_schedule_args(1, operations=[{"start": 0}]))
    send(transport, "route", "r1", version=1, vehicle_id="v1")
    core.tick()
    assert not acks(transport)["p1"].ok
    assert "missing field" in acks(transport)["p1"].reason
    assert "depot_id" in acks(transport)["r1"].reason
    assert core.plans == {}
