"""Property: whatever appends, acknowledgements and expiries happen, the outbox accounts for
every message and sample, never reuses a seq, and never loses an event."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.errors import OutboxFull
from edge_agent.outbox import Outbox
from protocol import Event, Telemetry

TS = 1_700_000_000_000


def telemetry(n: int, now: int) -> Callable[[int], Telemetry]:
    return lambda seq: Telemetry(
        site="s",
        node="n",
        bd_seq=1,
        seq=seq,
        ts=now,
        samples=tuple(("x", now + i, float(i)) for i in range(n)),
    )


def event(n: int, now: int) -> Callable[[int], Event]:
    return lambda seq: Event(
        site="s", node="n", bd_seq=1, seq=seq, ts=now, name="e", reason="r" * n
    )


ops = st.lists(
    st.one_of(
        st.tuples(st.just("telemetry"), st.integers(1, 60)),
        st.tuples(st.just("event"), st.integers(0, 300)),
        st.tuples(st.just("ack"), st.integers(1, 5)),
        st.tuples(st.just("expire"), st.integers(0, 120)),
    ),
    max_size=60,
)


@settings(max_examples=40, deadline=None)
@given(ops)
def test_outbox_accounts_for_everything(operations: list[tuple[str, int]]) -> None:
    """produced = held + acknowledged + dropped, for messages and samples; events never drop."""
    with tempfile.TemporaryDirectory() as tmp:
        box = Outbox(Path(tmp) / "o.db", max_outbox_bytes=6 * 1024, max_age_s=60, durable=False)
        acked_samples = acked_messages = 0
        events: set[int] = set()
        stats = box.stats()
        for step, (op, n) in enumerate(operations):
            now = TS + step * 1000
            if op == "telemetry":
                box.append(telemetry(n, now), created_ms=now - 30_000 * (step % 3), samples=n)
            elif op == "event":
                try:
                    row = box.append(event(n, now), created_ms=now)
                    assert row is not None
                    events.add(row.seq)
                except OutboxFull:
                    pass
            elif op == "ack":
                rows = box.pending(limit=n)
                acked_messages += box.remove(r.seq for r in rows)
                acked_samples += sum(r.samples for r in rows)
                events -= {r.seq for r in rows}
            else:
                box.expire(now + n * 1000)
            held = box.pending(limit=10_000)
            stats = box.stats()
            assert [r.seq for r in held] == sorted({r.seq for r in held})
            assert all(r.seq < stats.next_seq for r in held)
            assert stats.produced_messages == stats.next_seq
            assert stats.rows == len(held)
            assert events <= {r.seq for r in held}  # no event ever dropped
            assert stats.produced_messages == len(held) + acked_messages + stats.dropped_messages
            assert (
                stats.produced_samples
                == sum(r.samples for r in held) + acked_samples + stats.dropped_samples
            )
        box.close()
        with sqlite3.connect(Path(tmp) / "o.db") as db:
            total = db.execute("SELECT COALESCE(SUM(size), 0) FROM outbox").fetchone()[0]
        assert total == stats.bytes
