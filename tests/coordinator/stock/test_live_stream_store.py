"""Live streams in SQLite: kept across a reopen, replaced in place, and nothing lost or
doubled when the writing process is killed mid-way."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from coordinator.stock.live_streams import LiveStream
from coordinator.stock.stream_book import LiveStreamBook
from coordinator.store.sqlite_store import SqliteStore
from fleet_runtime.clock import FakeClock

NOW_S = 1_800_000_000.0


def _stream(i: int, **extra: object) -> LiveStream:
    fields: dict[str, object] = {
        "id": f"ls-{i}",
        "start_ms": int(NOW_S * 1000) + 3_600_000 + i,
        "duration_s": 1800,
        "channel": "kuaishou",
        "featured_skus": ("CUP",),
        "expected_orders": 300,
    }
    fields.update(extra)
    return LiveStream(**fields)  # type: ignore[arg-type]


def test_streams_survive_a_reopen_and_an_edit_keeps_its_creation_time(tmp_path: Path) -> None:
    """Posted, edited, closed, reopened: the edited content with the first creation time."""
    db = tmp_path / "c.db"
    clock = FakeClock(NOW_S)
    store = SqliteStore(db)
    book = LiveStreamBook(store.live_stream_store(), clock, known_skus=lambda: {"CUP", "MUG"})
    book.post(_stream(1))
    clock.advance(60)
    kept, outcome = book.post(_stream(1, featured_skus=("CUP", "MUG")))
    assert outcome == "updated"
    store.close()
    again = SqliteStore(db)
    found = again.live_stream_store().get("ls-1")
    assert found is not None
    stream, created, updated = found
    assert stream.featured_skus == ("CUP", "MUG")
    assert (created, updated) == (int(NOW_S * 1000), int(NOW_S * 1000) + 60_000)
    assert kept.updated_ms == updated
    again.close()


CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from coordinator.stock.live_streams import LiveStream
    from coordinator.store.sqlite_store import SqliteStore

    store = SqliteStore(Path(sys.argv[1])).live_stream_store()
    for i in range(100_000):
        store.put(
            LiveStream(f"ls-{i}", 1_900_000_000_000 + i, 600, "tiktok", ("CUP",), 10),
            at_ms=i,
        )
        print(i, flush=True)
    """
)


def test_a_writer_killed_mid_way_loses_nothing_it_confirmed(tmp_path: Path) -> None:
    """A process writing streams is killed: every stream it confirmed is there once, with
    its whole content, and nothing beyond one unconfirmed write."""
    db = tmp_path / "c.db"
    SqliteStore(db).close()  # migrations applied before the child starts
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    ) as child:
        assert child.stdout is not None
        confirmed = [int(child.stdout.readline()) for _ in range(200)]
        child.kill()
        child.wait(10)
        confirmed += [int(line) for line in child.stdout.read().split()]  # still in the pipe
    store = SqliteStore(db)
    rows = store.live_stream_store().list(limit=1_000_000)
    ids = [stream.id for stream, _, _ in rows]
    assert len(ids) == len(set(ids))
    assert {f"ls-{i}" for i in confirmed} <= set(ids)
    assert len(ids) <= len(confirmed) + 1  # at most the write it was killed in
    assert all(s.featured_skus == ("CUP",) and s.duration_s == 600 for s, _, _ in rows)
    store.close()
