"""The execution facts in agent messages, read into the job tracker's values (pure).

A machine running its schedule reports each operation as an event (`operation_started`,
`operation_state`, `operation_counts`, `operation_finished`, data an
`protocol.reports.OperationReport`); a warehouse reports a receipt as a stock delta with
a `transfer_id`; a vehicle reports its stops as events (`stop_arrived`, `stop_delivered`,
`stop_failed`), which with the receipts are the fleet facts (`FleetFact`) the sales book
and the planner follow. Anything else carries no fact. The event's own timestamp dates the fact
(the agent's clock, as it happened), not its arrival.
"""

from __future__ import annotations

from coordinator.jobs.facts import RECEIVED, FleetFact, OperationReport, Receipt
from protocol import Event, Message, Stock
from protocol.reports import OPERATION_EVENTS, STOP_EVENTS, StopReport
from protocol.reports import OperationReport as WireOperationReport


def operation_report(message: Message) -> OperationReport | None:
    """The operation report an event carries (None for any other message)."""
    if not isinstance(message, Event) or message.name not in OPERATION_EVENTS:
        return None
    wire: WireOperationReport = WireOperationReport.from_data(message.data)  # checked on decode
    return OperationReport(
        site=message.site,
        node=message.node,
        job_id=wire.job_id,
        operation_id=wire.operation_id,
        state=wire.state,
        good=wire.good,
        scrap=wire.scrap,
        ts_ms=message.ts,
    )


def receipts(message: Message) -> list[Receipt]:
    """The receipts a stock delta with a `transfer_id` carries, one per SKU."""
    if not isinstance(message, Stock) or message.transfer_id is None:
        return []
    return [
        Receipt(
            site=message.site,
            node=message.node,
            transfer_id=message.transfer_id,
            sku=sku,
            quantity=qty,
            ts_ms=message.ts,
        )
        for sku, qty in sorted(message.items.items())
    ]


def fleet_facts(message: Message) -> list[FleetFact]:
    """The facts the coordinator acts on once committed: a vehicle's stop event, or the
    transfer a warehouse's receipt is against (one for all its SKUs)."""
    if isinstance(message, Event) and message.name in STOP_EVENTS:
        stop: StopReport = StopReport.from_data(message.data)  # checked on decode
        return [FleetFact(message.site, message.node, message.name, stop.stop_id)]
    if isinstance(message, Stock) and message.transfer_id is not None:
        return [FleetFact(message.site, message.node, RECEIVED, message.transfer_id)]
    return []


__all__ = ["fleet_facts", "operation_report", "receipts"]
