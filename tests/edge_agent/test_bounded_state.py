"""The agent's memory stays bounded in a long run: every per-signal, per-session and
per-command structure has a fixed size, and the Python heap does not grow once warm."""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

from edge_agent.core import AgentCore
from edge_agent.transport import MemoryTransport
from fleet_runtime.clock import FakeClock
from protocol import OPERATION_SIGNALS, Command, command_topic, encode
from tests.edge_agent.conftest import MakeCore, commit_all, run_for


def command(cmd_id: str, name: str = "rebirth", **args: Any) -> tuple[str, bytes]:
    sent = Command(site="s1", node="n1", name=name, cmd_id=cmd_id, ts=1_700_000_000_000, args=args)
    return command_topic("s1", "n1", name), encode(sent)


def churn(core: AgentCore, transport: MemoryTransport, clock: FakeClock, round_: int) -> None:
    """Half a simulated minute: commands, a dropped session and its reconnect, data throughout."""
    for i in range(40):
        transport.feed(*command(f"r{round_}-{i}"))
    transport.feed(*command(f"u{round_}", name="nonsense"))
    run_for(core, clock, 10.0, step_s=0.1)
    transport.drop()
    run_for(core, clock, 5.0, step_s=0.1)
    transport.accept()
    run_for(core, clock, 15.0, step_s=0.1)
    commit_all(core, transport)  # the coordinator's watermark releases what it stored
    transport.published.clear()  # the test double's records, not the agent's memory
    transport.connects.clear()


def test_structures_stay_bounded_and_the_heap_flat_over_many_sessions(
    make_core: MakeCore,
) -> None:
    """Five simulated minutes with detectors on, two reconnects and 82 commands a minute:
    the command-ack cache is capped, nothing is left in flight or queued once acknowledged,
    state exists once per signal, and the traced heap after warm-up grows by < 64 KiB."""
    core, transport, clock = make_core(
        detectors={"enabled": True}, batching={"max_samples": 500, "max_age_ms": 5000}
    )
    core.tick()
    transport.accept()
    for round_ in range(4):  # warm-up: detectors learn, caches fill
        churn(core, transport, clock, round_)
    tracemalloc.start()
    try:
        churn(core, transport, clock, 4)  # allocations replaced every round are now traced
        gc.collect()
        warm, _ = tracemalloc.get_traced_memory()
        for round_ in range(5, 10):
            churn(core, transport, clock, round_)
        gc.collect()
        hot, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the operation signals are read only while the machine has an operation (none here)
    declared = {s.name for s in core.signal_specs}
    signals = declared - set(OPERATION_SIGNALS)
    assert core.counters["commands"] == 10 * 41
    assert len(core._recent) == 64
    assert set(core.deadband._last) == signals
    assert core.detectors is not None
    assert set(core.detectors.monitors) == declared
    assert core.link.inflight == 0
    assert not core.link._live
    assert not core.link._acked
    assert core.outbox.stats().rows <= 1  # at most the batch stored by the last tick
    assert core.counters["sessions"] == 11
    assert hot - warm < 64 * 1024, f"the heap grew by {hot - warm} bytes in 2.5 minutes"
    core.close()
