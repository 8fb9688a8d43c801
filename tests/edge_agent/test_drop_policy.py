"""The running agent's side of the outbox bounds (ADR 8): what is dropped, what never is,
and how every drop reaches the next birth and the metrics."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from edge_agent.metrics import render
from edge_agent.outbox import Outbox, OutboxRow
from protocol import Birth, Message, Stock, Telemetry
from tests.edge_agent.conftest import MakeCore, commit_all, messages, run_for


def first_birth(sent: list[Message]) -> Birth:
    birth = sent[0]
    assert isinstance(birth, Birth)
    return birth


def test_outbox_file_is_wal_with_full_sync(tmp_path: Path) -> None:
    """The outbox is a WAL database with synchronous=FULL (a committed seq is on disk)."""
    box = Outbox(tmp_path / "o.db")
    try:
        with sqlite3.connect(tmp_path / "o.db") as db:  # journal_mode is stored in the file
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert box._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    finally:
        box.close()


def test_telemetry_dropped_offline_is_reported_in_the_next_birth_and_the_metrics(
    make_core: MakeCore,
) -> None:
    """Over the byte bound the oldest telemetry goes; the next birth's stats and the metrics
    carry the drop counts, and the birth points at the oldest message still stored."""
    core, transport, clock = make_core(outbox={"max_outbox_bytes": 4096})
    core.tick()
    transport.refuse()
    run_for(core, clock, 15.0)
    stats = core.outbox.stats()
    assert stats.dropped_messages > 0
    assert stats.dropped_samples > 0
    assert stats.bytes <= 4096
    held = [r.seq for r in core.outbox.pending(limit=10_000)]
    assert held == list(range(stats.next_seq - len(held), stats.next_seq))  # the newest kept
    text = render(core.status(), site="s1", node="n1")
    assert (
        f'flexfleet_agent_dropped_samples{{site="s1",node="n1"}} {stats.dropped_samples}\n' in text
    )
    assert (
        f'flexfleet_agent_dropped_messages{{site="s1",node="n1"}} {stats.dropped_messages}\n'
        in text
    )
    transport.accept()
    run_for(core, clock, 1.0)
    birth = first_birth(messages(transport))
    assert birth.stats["dropped_telemetry"] == stats.dropped_messages
    assert birth.stats["dropped_samples"] == stats.dropped_samples
    assert birth.pending_from_seq == held[0]


def test_telemetry_older_than_max_age_is_expired_by_the_running_agent(
    make_core: MakeCore,
) -> None:
    """While offline, the agent itself drops telemetry past `max_age_s` (counted)."""
    core, transport, clock = make_core(outbox={"max_age_s": 5.0}, driver={"free_running": True})
    start_ms = int(clock.now() * 1000)
    core.tick()
    transport.refuse()
    run_for(core, clock, 70.0, step_s=0.1)  # the age bound is applied once a minute
    stats = core.outbox.stats()
    assert stats.dropped_messages > 0
    held = core.outbox.pending(limit=10_000)
    oldest = min(r.created_ms for r in held if r.kind == "telemetry")
    assert oldest >= start_ms + 50_000  # nothing older than 5 s at the last check (t = 60 s)
    # events never expire: the simulated machine's early state changes are still stored
    assert any(r.kind == "event" and r.created_ms < start_ms + 50_000 for r in held)


def test_stock_is_never_dropped_and_a_refusal_is_counted_logged_and_reported(
    make_core: MakeCore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Offline with a tiny outbox, a warehouse keeps every stored stock message (telemetry
    makes room); past the hard limit a stock message is refused — counted, logged as an
    error, and reported in the next birth — never dropped silently. Once the outbox has
    drained, a fresh snapshot makes the levels the coordinator sees right again."""
    core, transport, clock = make_core(
        node={"kind": "warehouse"}, driver={"skus": 40}, outbox={"max_outbox_bytes": 1024}
    )
    stored_stock: list[int] = []
    append = core.outbox.append

    def recording_append(*args: Any, **kwargs: Any) -> OutboxRow | None:
        row = append(*args, **kwargs)
        if row is not None and row.kind == "stock":
            stored_stock.append(row.seq)
        return row

    monkeypatch.setattr(core.outbox, "append", recording_append)
    core.tick()
    transport.refuse()
    with caplog.at_level(logging.ERROR, logger="edge_agent"):
        run_for(core, clock, 1800.0, step_s=1.0)
    refused = core.counters["refused_events"]
    assert refused > 0, "half an hour of picks overflows 2 KiB of stock messages"
    assert core.outbox.stats().refused_messages == refused
    assert any("outbox full" in r.getMessage() for r in caplog.records)
    held = {r.seq: r.kind for r in core.outbox.pending(limit=10_000)}
    assert set(stored_stock) <= set(held)  # every stored stock message is still there
    assert core.outbox.stats().bytes <= 2048  # the hard limit: 2 × max_outbox_bytes
    transport.accept()
    run_for(core, clock, 2.0, step_s=0.1)
    sent = messages(transport)
    birth = first_birth(sent)
    assert birth.stats["refused_messages"] == refused
    delivered = {m.seq for m in sent if isinstance(m, Stock)}
    assert set(stored_stock) <= delivered
    commit_all(core, transport)  # the coordinator stored the backlog: the outbox drains
    run_for(core, clock, 10.0, step_s=0.1)
    core.flush()
    core.tick()
    stock = sorted((m for m in messages(transport) if isinstance(m, Stock)), key=lambda m: m.seq)
    snapshot = [m for m in stock if m.mode == "snapshot"][-1]
    assert snapshot.seq > birth.seq  # sent after the backlog, not only the one after the birth
    levels = dict(snapshot.items)
    for delta in (m for m in stock if m.mode == "delta" and m.seq > snapshot.seq):
        for sku, change in delta.items.items():
            levels[sku] += change
    assert levels == core.driver.stock_levels()


def test_replay_uses_half_the_window_so_live_data_still_goes_out(make_core: MakeCore) -> None:
    """With PUBACKs slow and a large backlog, replay holds at most half of the in-flight
    window; the other half carries the birth and live data."""
    core, transport, clock = make_core(
        mqtt={"max_inflight": 10},
        replay={"max_messages_per_s": 1000.0},
        batching={"max_samples": 5, "max_age_ms": 100},
    )
    core.tick()
    transport.refuse()
    run_for(core, clock, 10.0)
    assert core.outbox.stats().rows >= 30
    transport.auto_ack = False
    transport.accept()
    run_for(core, clock, 2.0)
    sent = messages(transport)
    birth = first_birth(sent)
    replayed = [m for m in sent if isinstance(m, Telemetry) and m.seq < birth.seq]
    live = [m for m in sent if isinstance(m, Telemetry) and m.seq > birth.seq]
    assert len(replayed) == 5
    assert len(live) == 4  # window 10 = birth + 5 replayed + 4 live
    assert all(m.historical for m in replayed)
    transport.auto_ack = True
    transport.ack()
    run_for(core, clock, 3.0)
    seqs = {m.seq for m in messages(transport) if isinstance(m, Birth | Telemetry)}
    assert seqs >= set(range(birth.seq))  # the whole backlog went out in the end
