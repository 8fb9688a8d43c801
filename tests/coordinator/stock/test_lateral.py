"""Lateral transfer rules (`coordinator.stock.lateral`): numbering, one open transfer per
SKU and warehouse, receipts."""

from __future__ import annotations

from coordinator.stock.lateral import LateralTransfer, apply_receipts, lateral_id, to_submit
from coordinator.stock.placement import Transfer

NODES = {"wa": ("w1", "w1b"), "wb": ("w2",), "wc": ("w3",)}


def _t(sku: str, source: str, destination: str, qty: int = 5) -> Transfer:
    return Transfer(sku, source, destination, qty, 10.0, "why")


def test_proposals_are_numbered_and_sent_to_the_first_shelf() -> None:
    """Each proposal gets the next id `t.lateral-{seq}` and the destination's first node."""
    made = to_submit(
        [_t("cup", "wb", "wa"), _t("tea", "wa", "wb", 3)], [], NODES, next_seq=7, now_ms=1
    )
    assert [(m.id, m.sku, m.node, m.qty) for m in made] == [
        ("t.lateral-7", "cup", "w1", 5),
        ("t.lateral-8", "tea", "w2", 3),
    ]
    assert lateral_id(7) == "t.lateral-7"


def test_an_open_transfer_blocks_its_sku_at_both_ends() -> None:
    """While cup moves wb → wa, no other cup transfer from or to wa or wb is made; tea and
    cup between other warehouses still are."""
    moving = LateralTransfer("t.lateral-1", 1, "cup", "wb", "wa", "w1", 5, 0)
    made = to_submit(
        [
            _t("cup", "wc", "wa"),
            _t("cup", "wb", "wc"),
            _t("tea", "wb", "wa"),
        ],
        [moving],
        NODES,
        next_seq=2,
        now_ms=0,
    )
    assert [(m.sku, m.source, m.destination) for m in made] == [("tea", "wb", "wa")]
    # and within one batch: two proposals from the same sender, the first only
    twice = to_submit(
        [_t("cup", "wb", "wa"), _t("cup", "wb", "wc")], [], NODES, next_seq=1, now_ms=0
    )
    assert [(m.source, m.destination) for m in twice] == [("wb", "wa")]


def test_a_destination_without_a_shelf_or_zero_units_is_left_out() -> None:
    """No node to receive at, or nothing to move: no transfer."""
    made = to_submit(
        [_t("cup", "wb", "nowhere"), _t("tea", "wb", "wa", 0)], [], NODES, next_seq=1, now_ms=0
    )
    assert made == []


def test_receipts_close_the_transfers_they_name_with_what_arrived() -> None:
    """A receipt of 4 closes its transfer of 5 with 4; a transfer without one stays open."""
    a = LateralTransfer("t.lateral-1", 1, "cup", "wb", "wa", "w1", 5, 0)
    b = LateralTransfer("t.lateral-2", 2, "tea", "wb", "wa", "w1", 3, 0)
    done = apply_receipts([a, b], {"t.lateral-1": 4, "t.other-9": 3})
    assert [(d.id, d.received) for d in done] == [("t.lateral-1", 4)]
