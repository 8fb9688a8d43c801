"""Execution reports: operation and stop events, vehicle births and warehouse receipts,
snapshots in parts, and how versions 1 to 3 of the protocol live side by side."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from protocol import (
    MAX_STOCK_ITEMS,
    Birth,
    Event,
    InvalidMessage,
    OperationReport,
    Stock,
    StopReport,
    UnsupportedVersion,
    decode,
    encode,
    stock_parts,
    topic_for,
)
from protocol.messages import MAX_SNAPSHOT_PARTS

TS = 1_700_000_000_000
DATA: dict[str, Any] = {"site": "s1", "node": "n1", "bd_seq": 1, "seq": 7, "ts": TS}
OPERATION = OperationReport(
    schedule_version=4,
    operation_id="j1:0",
    job_id="j1",
    index=0,
    family="bolts",
    quantity=50,
    state="run",
    good=12,
    scrap=1,
)
STOP = StopReport(
    route_version=2, stop_id="o1", index=1, lat=48.85, lon=2.35, quantity=3, transfer_id="t1"
)


def _event(name: str, data: dict[str, Any], reason: str = "") -> Event:
    return Event(**DATA, name=name, data=data, reason=reason)


def _wire(message: Any, **changes: Any) -> bytes:
    return orjson.dumps({**message.to_dict(), **changes})


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("operation_started", {**OPERATION.to_data(), "state": "setup", "good": 0}, ""),
        ("operation_state", {**OPERATION.to_data(), "state": "paused"}, ""),
        ("operation_counts", OPERATION.to_data(), ""),
        ("operation_finished", {**OPERATION.to_data(), "state": "done", "good": 50}, ""),
        ("stop_arrived", STOP.to_data(), ""),
        ("stop_delivered", STOP.to_data(), ""),
        ("stop_failed", {**STOP.to_data(), "quantity": 0}, "nobody home"),
    ],
)
def test_report_events_round_trip_as_version_1_events(
    name: str, data: dict[str, Any], reason: str
) -> None:
    """Operation and stop events are plain events: v1 on the wire, data read back typed."""
    event = _event(name, data, reason)
    payload = encode(event)
    assert orjson.loads(payload)["v"] == 1
    decoded = decode(topic_for(event), payload)
    assert decoded == event
    assert isinstance(decoded, Event)
    report_type = OperationReport if name.startswith("operation") else StopReport
    assert report_type.from_data(decoded.data).to_data() == data


@pytest.mark.parametrize(
    ("name", "data", "reason", "problem"),
    [
        ("operation_counts", {**OPERATION.to_data(), "x": 1}, "", "unknown field 'x'"),
        ("operation_counts", {"job_id": "j1"}, "", "missing field"),
        ("operation_counts", {**OPERATION.to_data(), "good": -1}, "", r"data\.good"),
        ("operation_counts", {**OPERATION.to_data(), "good": 1.0}, "", "expected an integer"),
        ("operation_counts", {**OPERATION.to_data(), "good": 51}, "", "exceed the quantity"),
        ("operation_counts", {**OPERATION.to_data(), "quantity": 0}, "", "outside"),
        ("operation_counts", {**OPERATION.to_data(), "state": "running"}, "", "one of"),
        ("operation_counts", {**OPERATION.to_data(), "job_id": "j 1"}, "", "does not match"),
        ("operation_counts", {**OPERATION.to_data(), "index": 10**6}, "", "outside"),
        ("operation_counts", {**OPERATION.to_data(), "state": "done"}, "", "cannot be in state"),
        ("operation_finished", OPERATION.to_data(), "", "cannot be in state"),
        ("stop_arrived", {**STOP.to_data(), "lat": 91.0}, "", r"data\.lat"),
        ("stop_arrived", {**STOP.to_data(), "lon": "2.3"}, "", "expected a number"),
        ("stop_delivered", {**STOP.to_data(), "quantity": True}, "", "expected an integer"),
        ("stop_failed", STOP.to_data(), "", "needs a reason"),
    ],
)
def test_report_events_with_bad_data_are_refused(
    name: str, data: dict[str, Any], reason: str, problem: str
) -> None:
    """A well-known event name with data off its schema is refused on decode."""
    good = _event("note", {}, reason)
    payload = orjson.dumps({**good.to_dict(), "name": name, "data": data})
    with pytest.raises(InvalidMessage, match=problem):
        decode(topic_for(good), payload)


def test_other_event_names_keep_free_data() -> None:
    """Events of other names keep their free-form data (anomalies, faults)."""
    event = _event("state_change", {"good": "not a count"})
    assert decode(topic_for(event), encode(event)) == event


def test_a_vehicle_birth_is_version_2_and_refused_as_version_1() -> None:
    """A vehicle's birth needs v2: written as v2, and a v1 payload claiming it is refused."""
    birth = Birth(**DATA, node_kind="vehicle", signals=())
    payload = encode(birth)
    assert orjson.loads(payload)["v"] == 2
    assert decode(topic_for(birth), payload) == birth
    with pytest.raises(InvalidMessage, match="needs protocol version 2"):
        decode(topic_for(birth), _wire(birth, v=1))


def test_version_1_payloads_of_older_agents_are_still_read() -> None:
    """A machine birth and a plain stock delta are written as v1 and read as v1 or v2."""
    birth = Birth(**DATA, node_kind="machine")
    stock = Stock(**DATA, mode="delta", items={"a": 2})
    for message in (birth, stock):
        body = orjson.loads(encode(message))
        assert body["v"] == 1
        assert "transfer_id" not in body
        assert decode(topic_for(message), _wire(message, v=2)) == message


def test_versions_outside_the_supported_range_are_refused() -> None:
    """Version 0 and version 4 are refused as unsupported."""
    birth = Birth(**DATA, node_kind="machine")
    for version in (0, 4):
        with pytest.raises(UnsupportedVersion, match=r"v=1\.\.3"):
            decode(topic_for(birth), _wire(birth, v=version))


def test_a_receipt_names_its_transfer_and_is_version_2() -> None:
    """A stock delta with a transfer id round-trips as v2; as v1 it is refused."""
    receipt = Stock(
        **DATA, mode="delta", items={"a": 5, "b": 1}, reason="receipt", transfer_id="t-9"
    )
    payload = encode(receipt)
    assert orjson.loads(payload)["v"] == 2
    assert decode(topic_for(receipt), payload) == receipt
    with pytest.raises(InvalidMessage, match="needs protocol version 2"):
        decode(topic_for(receipt), _wire(receipt, v=1))


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"mode": "snapshot"}, "a receipt is a delta"),
        ({"items": {"a": -1}}, "positive quantities"),
        ({"items": {"a": 0}}, "positive quantities"),
        ({"items": {}}, "positive quantities"),
        ({"transfer_id": "t 1"}, "does not match"),
        ({"transfer_id": 7}, "expected a string"),
        ({"transfer_id": "t" * 65}, "exceeds 64"),
    ],
)
def test_malformed_receipts_are_refused(changes: dict[str, Any], problem: str) -> None:
    """A receipt that is a snapshot, not positive, or with a bad transfer id is refused."""
    receipt = Stock(**DATA, mode="delta", items={"a": 5}, transfer_id="t-9")
    with pytest.raises(InvalidMessage, match=problem):
        decode(topic_for(receipt), _wire(receipt, **changes))


def test_reports_validate_on_construction() -> None:
    """Building a report in code checks it as decoding does."""
    with pytest.raises(InvalidMessage, match="family"):
        OperationReport(**{**OPERATION.to_data(), "family": "a/b"})  # type: ignore[arg-type]
    with pytest.raises(InvalidMessage, match="index"):
        StopReport(**{**STOP.to_data(), "index": -1})  # type: ignore[arg-type]


def test_a_snapshot_that_fits_is_one_whole_version_1_message() -> None:
    [(part, parts, items)] = stock_parts("snapshot", {"a": 1, "b": 0})
    assert (part, parts, items) == (None, None, {"a": 1, "b": 0})
    whole = Stock(**DATA, mode="snapshot", items=items)
    body = orjson.loads(encode(whole))
    assert body["v"] == 1
    assert not {"part", "parts"} & set(body)
    assert whole.first_seq == 7


def test_a_larger_snapshot_goes_in_version_3_parts_of_consecutive_seqs() -> None:
    """5,000 SKUs in parts of at most `MAX_STOCK_ITEMS`, in SKU order, every SKU once;
    each part says where its snapshot began."""
    levels = {f"sku-{i:05d}": i for i in range(2 * MAX_STOCK_ITEMS + 1)}
    split = stock_parts("snapshot", levels)
    assert [(p, n, len(items)) for p, n, items in split] == [
        (0, 3, MAX_STOCK_ITEMS),
        (1, 3, MAX_STOCK_ITEMS),
        (2, 3, 1),
    ]
    assert {sku: q for _, _, items in split for sku, q in items.items()} == levels
    messages = [
        Stock(**{**DATA, "seq": 40 + i}, mode="snapshot", items=items, part=p, parts=n)
        for i, (p, n, items) in enumerate(split)
    ]
    assert [m.first_seq for m in messages] == [40, 40, 40]
    for message in messages:
        wire = encode(message)
        assert orjson.loads(wire)["v"] == 3
        assert decode(topic_for(message), wire) == message
    with pytest.raises(InvalidMessage, match="needs protocol version 3, not 2"):
        decode(topic_for(messages[0]), _wire(messages[0], v=2))


def test_a_larger_delta_goes_as_several_whole_deltas() -> None:
    """Changes add up, so more than one message holds are simply several deltas, with no
    limit on how many."""
    changes = {f"sku-{i:05d}": -1 for i in range(2 * MAX_STOCK_ITEMS + 1)}
    split = stock_parts("delta", changes)
    assert [(p, n, len(items)) for p, n, items in split] == [
        (None, None, MAX_STOCK_ITEMS),
        (None, None, MAX_STOCK_ITEMS),
        (None, None, 1),
    ]
    assert {sku: q for _, _, items in split for sku, q in items.items()} == changes
    many = stock_parts(
        "delta", {f"s{i}": 1 for i in range(MAX_SNAPSHOT_PARTS * 2 + 1)}, max_items=2
    )
    assert len(many) == MAX_SNAPSHOT_PARTS + 1


def test_a_snapshot_past_the_last_part_is_refused() -> None:
    too_many = {f"s{i}": 1 for i in range(MAX_SNAPSHOT_PARTS * 2 + 1)}
    with pytest.raises(InvalidMessage, match="at most"):
        stock_parts("snapshot", too_many, max_items=2)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"parts": None}, "part and parts come together"),
        ({"part": None}, "part and parts come together"),
        ({"part": 2, "parts": 2}, "part 2 of 2 parts"),
        ({"part": 0, "parts": 1}, "parts"),
        ({"part": -1, "parts": 2}, "part"),
        ({"part": 0, "parts": MAX_SNAPSHOT_PARTS + 1}, "parts"),
        ({"part": 0, "parts": 2, "mode": "delta"}, "only a snapshot goes in parts"),
        ({"part": True, "parts": 2}, "part"),
        ({"items": {f"s{i}": 1 for i in range(MAX_STOCK_ITEMS + 1)}}, "items"),
    ],
)
def test_malformed_snapshot_parts_are_refused(changes: dict[str, Any], problem: str) -> None:
    good = Stock(**DATA, mode="snapshot", items={"a": 1}, part=0, parts=2)
    with pytest.raises(InvalidMessage, match=problem):
        decode(topic_for(good), _wire(good, **changes))
