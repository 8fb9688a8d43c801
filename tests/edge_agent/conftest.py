"""Builders for an agent wired to in-memory doubles (FakeClock, MemoryTransport)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edge_agent.config import config_from_dict
from edge_agent.core import AgentCore
from edge_agent.drivers import make_driver
from edge_agent.outbox import Outbox
from edge_agent.transport import MemoryTransport
from fleet_runtime.clock import FakeClock
from protocol import (
    Birth,
    CoordinatorState,
    Message,
    decode,
    encode,
    topic_for,
    watermark_command,
)

MakeCore = Callable[..., tuple[AgentCore, MemoryTransport, FakeClock]]


def agent_config(state_dir: Path, **sections: dict[str, Any]) -> Any:
    """A small valid configuration with `sections` merged in."""
    data: dict[str, Any] = {
        "node": {"site": "s1", "node": "n1", "kind": "machine"},
        "mqtt": {"broker": "mqtt://127.0.0.1:1883", "wait_for_coordinator": False},
        "outbox": {"state_dir": str(state_dir)},
        "sampling": {"interval_ms": 100},
        "batching": {"max_samples": 50, "max_age_ms": 1000},
        "driver": {"type": "sim", "seed": 3},
        "detectors": {"enabled": False},
    }
    for name, values in sections.items():
        data[name] = {**data.get(name, {}), **values}
    return config_from_dict(data)


@pytest.fixture
def make_core(tmp_path: Path) -> MakeCore:
    """A function building (core, transport, clock), reusing one state dir per test."""

    def build(
        *, transport: MemoryTransport | None = None, clock: FakeClock | None = None, **sections: Any
    ) -> tuple[AgentCore, MemoryTransport, FakeClock]:
        config = agent_config(tmp_path / "state", **sections)
        clock = clock or FakeClock()
        transport = transport or MemoryTransport()
        outbox = Outbox(
            config.outbox.state_dir / "outbox.sqlite3",
            max_outbox_bytes=config.outbox.max_outbox_bytes,
            max_age_s=config.outbox.max_age_s,
        )
        core = AgentCore(
            config,
            clock=clock,
            transport=transport,
            driver=make_driver(config, clock),
            outbox=outbox,
        )
        return core, transport, clock

    return build


def run_for(core: AgentCore, clock: FakeClock, seconds: float, step_s: float = 0.05) -> None:
    """Tick the core while moving the fake clock forward."""
    end = clock.monotonic() + seconds
    while clock.monotonic() < end:
        core.tick()
        clock.advance(step_s)
    core.tick()


def messages(transport: MemoryTransport) -> list[Message]:
    """Every published payload, decoded."""
    return [decode(topic, payload) for topic, payload in transport.published]


def live_births(transport: MemoryTransport) -> list[Birth]:
    """The births published as live (a replayed one is historical)."""
    return [m for m in messages(transport) if isinstance(m, Birth) and not m.historical]


def state_payload(
    online: bool, *, coordinator: str = "c1", sites: tuple[str, ...] = ()
) -> tuple[str, bytes]:
    """A coordinator's retained state message on its topic (shared without `sites`)."""
    state = CoordinatorState(
        online=online, ts=1_700_000_000_000, coordinator=coordinator, sites=sites
    )
    return topic_for(state), encode(state)


def watermark_payload(seq: int, *, site: str = "s1", node: str = "n1") -> tuple[str, bytes]:
    """The coordinator's commit watermark for one node (every seq <= `seq` stored)."""
    notice = watermark_command(site=site, node=node, seq=seq, ts=1_700_000_000_000)
    return topic_for(notice), encode(notice)


def commit_all(core: AgentCore, transport: MemoryTransport) -> None:
    """Play a coordinator that has stored everything the agent produced so far."""
    transport.feed(*watermark_payload(core.outbox.next_seq - 1))
    core.tick()
