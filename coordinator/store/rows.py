"""Rows of the core tables shared by both backends: node records and events as stored."""

from __future__ import annotations

from typing import Any

import orjson

from coordinator.fleet.node import NodeRecord
from protocol import Event


def node_row(r: NodeRecord) -> tuple[Any, ...]:
    """The `nodes` row of a node record (JSON for its lists and maps)."""
    return (
        r.site,
        r.node,
        r.kind,
        r.firmware,
        orjson.dumps(r.units).decode(),
        orjson.dumps(list(r.capabilities)).decode(),
        int(r.birth_seen),
        int(r.online),
        r.offline_reason,
        r.bd_seq,
        r.last_seen_ms,
        r.last_seq,
        orjson.dumps([list(g) for g in r.gaps]).decode(),
        r.received,
        r.duplicates,
        r.gaps_seen,
        r.lost,
        int(r.out_of_sync),
        r.samples,
        r.stock_snapshot_seq,
    )


def node_record(row: tuple[Any, ...]) -> NodeRecord:
    """The node record of a `nodes` row."""
    return NodeRecord(
        site=row[0],
        node=row[1],
        kind=row[2] or "unknown",
        firmware=row[3] or "",
        units=dict(orjson.loads(row[4] or "{}")),
        capabilities=tuple(orjson.loads(row[5] or "[]")),
        birth_seen=bool(row[6]),
        online=bool(row[7]),
        offline_reason=row[8] or "",
        bd_seq=row[9],
        last_seen_ms=row[10],
        last_seq=int(row[11] if row[11] is not None else -1),
        gaps=tuple((int(a), int(b)) for a, b in orjson.loads(row[12] or "[]")),
        received=int(row[13] or 0),
        duplicates=int(row[14] or 0),
        gaps_seen=int(row[15] or 0),
        lost=int(row[16] or 0),
        out_of_sync=bool(row[17]),
        samples=int(row[18] or 0),
        stock_snapshot_seq=int(row[19] if row[19] is not None else -1),
    )


def event_row(node_id: int, m: Event) -> tuple[Any, ...]:
    """The `events` row of an event message."""
    return (
        node_id,
        m.seq,
        m.ts,
        m.name,
        m.severity,
        m.state,
        m.signal,
        m.detector,
        m.score,
        m.reason,
        orjson.dumps(m.data).decode(),
        int(m.historical),
    )


__all__ = ["event_row", "node_record", "node_row"]
