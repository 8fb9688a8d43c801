"""Lateral transfers carried out (pure: values in, values out).

A proposed `Transfer` (`coordinator.stock.placement`) becomes a `LateralTransfer` with its
own transfer id, `t.lateral-{seq}` (`seq` counts every lateral transfer ever made, so the
id is unique), bound for the destination warehouse's first shelf node. The planner
delivers it as a delivery of that id; the receiving shelf reports the receipt against
the id, and `apply_receipts` closes the transfer with the units that arrived. As the store
keeps one receipt per transfer and SKU and a closed transfer is no longer open, a replayed
receipt changes nothing: each transfer is counted once.

`to_submit` leaves out a proposal for a SKU that already has an open lateral transfer from
or to either warehouse: until the sender's shelf reports the units leaving, its spare
still looks available, and sending twice would empty it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # the store imports this module, and the placement rules import the store
    from coordinator.stock.placement import Transfer

PREFIX: Final = "t.lateral-"


@dataclass(frozen=True, slots=True)
class LateralTransfer:
    """One lateral transfer, open until its receipt."""

    id: str
    seq: int
    sku: str
    source: str
    destination: str
    node: str
    qty: int
    created_ms: int
    why: str = ""
    received: int | None = None

    @property
    def ends(self) -> tuple[tuple[str, str], tuple[str, str]]:
        """(sku, warehouse) at both ends."""
        return (self.sku, self.source), (self.sku, self.destination)


def lateral_id(seq: int) -> str:
    """The transfer id of the `seq`-th lateral transfer."""
    return f"{PREFIX}{seq}"


def to_submit(
    proposed: Sequence[Transfer],
    open_transfers: Iterable[LateralTransfer],
    nodes: Mapping[str, Sequence[str]],
    *,
    next_seq: int,
    now_ms: int,
) -> list[LateralTransfer]:
    """The proposals to carry out now, numbered from `next_seq` (see the module); a
    destination without a shelf node is left out."""
    busy = {end for t in open_transfers for end in t.ends}
    out: list[LateralTransfer] = []
    seq = next_seq
    for t in proposed:
        ends = ((t.sku, t.source), (t.sku, t.destination))
        shelves = nodes.get(t.destination, ())
        if t.qty <= 0 or not shelves or any(end in busy for end in ends):
            continue
        busy.update(ends)
        out.append(
            LateralTransfer(
                id=lateral_id(seq),
                seq=seq,
                sku=t.sku,
                source=t.source,
                destination=t.destination,
                node=shelves[0],
                qty=t.qty,
                created_ms=now_ms,
                why=t.why,
            )
        )
        seq += 1
    return out


def apply_receipts(
    open_transfers: Iterable[LateralTransfer], received: Mapping[str, int]
) -> list[LateralTransfer]:
    """The open transfers with a receipt, done, with the units that arrived."""
    return [replace(t, received=received[t.id]) for t in open_transfers if t.id in received]


__all__ = ["PREFIX", "LateralTransfer", "apply_receipts", "lateral_id", "to_submit"]
