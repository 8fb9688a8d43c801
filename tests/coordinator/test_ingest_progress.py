"""Execution facts read from agent messages by ingest: operation events become operation
reports, receipts stock deltas with a transfer id; malformed reports are dead letters."""

from __future__ import annotations

import orjson

from coordinator.ingest.records import RawMessage
from coordinator.jobs.facts import FleetFact, OperationReport, Receipt
from protocol import Event, encode, topic_for
from protocol.reports import OperationReport as WireReport
from protocol.reports import StopReport
from tests.coordinator.conftest import T0_MS, Harness, Node


def _operation_event(node: Node, **changes: object) -> Event:
    data = WireReport(
        schedule_version=3, operation_id="j1:0", job_id="j1", index=0, family="red",
        quantity=10, state="run", good=4, scrap=1,
    ).to_data()  # fmt: skip
    return Event(
        site=node.site, node=node.node, bd_seq=0, seq=node.next_seq(), ts=T0_MS + 5,
        name="operation_counts", data={**data, **changes},  # type: ignore[dict-item]
    )  # fmt: skip


def test_an_operation_event_becomes_a_report_dated_by_the_event(harness: Harness) -> None:
    """Site, machine, job, operation, state and counts come through; the event's ts dates it."""
    m1 = Node(node="m1")
    outcome = harness.feed(m1.birth(), _operation_event(m1))
    assert outcome.batch.progress == (
        OperationReport("s1", "m1", "j1", "j1:0", "run", 4, 1, T0_MS + 5),
    )


def test_a_receipt_becomes_one_fact_per_sku(harness: Harness) -> None:
    """A stock delta with a transfer id is a receipt of each SKU; a plain delta is none."""
    w1 = Node(node="w1")
    outcome = harness.feed(
        w1.birth(),
        w1.stock("delta", {"cup": 3, "mug": 2}, transfer_id="t.x"),
        w1.stock("delta", {"cup": 5}),
    )
    assert outcome.batch.receipts == (
        Receipt("s1", "w1", "t.x", "cup", 3, T0_MS),
        Receipt("s1", "w1", "t.x", "mug", 2, T0_MS),
    )


def test_malformed_or_hostile_reports_are_dead_letters_not_facts(harness: Harness) -> None:
    """More good than the quantity, negative counts, unknown fields, a huge id: refused."""
    m1 = Node(node="m1")
    harness.feed(m1.birth())
    good = orjson.loads(encode(_operation_event(m1)))
    bad_data = [
        {**good["data"], "good": 11},
        {**good["data"], "scrap": -1},
        {**good["data"], "extra": 1},
        {**good["data"], "job_id": "j" * 10_000},
        {**good["data"], "state": "exploded"},
    ]
    raws = []
    for k, data in enumerate(bad_data):
        body = {**good, "seq": 100 + k, "data": data}
        raws.append(RawMessage(topic_for(_operation_event(m1)), orjson.dumps(body), T0_MS))
    outcome = harness.feed(*raws)
    assert outcome.batch.progress == ()
    assert len(outcome.batch.dead_letters) == len(bad_data)


def test_stop_events_and_receipts_become_fleet_facts_once_each(harness: Harness) -> None:
    """A vehicle's stop events are fleet facts named by their stop; a receipt of two SKUs is
    one fact for its transfer; a plain delta, an operation event and a replayed seq none."""
    v1, w1, m1 = Node(node="v1"), Node(node="w1"), Node(node="m1")
    stop = StopReport(route_version=2, stop_id="ship.so-1", index=0, lat=29.4, lon=120.1)
    born = v1.birth()
    delivered = Event(
        site="s1", node="v1", bd_seq=0, seq=v1.next_seq(), ts=T0_MS,
        name="stop_delivered", data=stop.to_data(),
    )  # fmt: skip
    outcome = harness.feed(
        born,
        delivered,
        w1.birth(),
        w1.stock("delta", {"cup": 3, "mug": 2}, transfer_id="t.x"),
        w1.stock("delta", {"cup": -1}),
        m1.birth(),
        _operation_event(m1),
    )
    assert outcome.batch.fleet_facts == (
        FleetFact("s1", "v1", "stop_delivered", "ship.so-1"),
        FleetFact("s1", "w1", "received", "t.x"),
    )
    assert harness.feed(delivered).batch.fleet_facts == ()  # a duplicate: no second fact
