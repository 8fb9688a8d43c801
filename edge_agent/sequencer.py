"""Feeding a PLC its schedule one operation at a time (pure logic, no I/O).

The PLC holds one operation (the command block of `protocol.plc`) and keeps its counts;
the agent holds the rest of the schedule. `step(status)` takes the PLC's status block and
returns the reports to send and the command to write, if any:

- the operation of the current token reports `operation_started` when the PLC first
  shows it, `operation_state` on each state change, `operation_counts` when the counts
  moved, `operation_finished` when it is done; then the next operation is chosen;
- a chosen operation gets the next token, is *retained first* (the agent stores the
  sequencer's state with the reports of this step) and written on the next step, and
  written again as long as the PLC does not show its token: a crash between the choice
  and the write can neither skip nor double an operation.

Counts are the PLC's own, cumulative: after a restart the agent reads them and goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edge_agent.errors import PlanRefused
from edge_agent.execution import check_quantities
from protocol import OperationReport, ScheduleUpdate
from protocol.plc import PlcCommand, PlcStatus

_MAX_FINISHED = 5_000


@dataclass(frozen=True, slots=True)
class _Op:
    index: int
    operation_id: str
    job_id: str
    quantity: int
    family: str
    setup_s: int


class OperationSequencer:
    """The schedule of one PLC-driven machine."""

    def __init__(self) -> None:
        self.version = 0
        self._queue: list[_Op] = []
        self._current: _Op | None = None
        self._token = 0
        self._reported: tuple[str | None, int, int] | None = None  # (state, good, scrap)
        self._finished: dict[str, None] = {}

    def take(self, schedule: ScheduleUpdate) -> None:
        """The new schedule: finished operations skipped, the current one kept if listed."""
        check_quantities(schedule)
        ops = []
        for i, op in enumerate(schedule.operations):
            setup = round(op.setup * schedule.time_unit_s)
            if setup > 0xFFFF:
                raise PlanRefused(f"operation {op.operation_id!r}: changeover over 65535 s")
            ops.append(_Op(i, op.operation_id, op.job_id, op.quantity or 0, op.family or "", setup))
        ids = [op.operation_id for op in ops]
        if len(set(ids)) != len(ids):
            raise PlanRefused("an operation id appears twice")
        current = self._current
        self.version = schedule.version
        self._queue = [op for op in ops if op.operation_id not in self._finished]
        if current is not None:
            kept = next((op for op in self._queue if op.operation_id == current.operation_id), None)
            if kept is not None:
                self._queue.remove(kept)
                self._current = kept
            else:
                self._current = None  # withdrawn: the next operation replaces it in the PLC

    def step(
        self, status: PlcStatus
    ) -> tuple[list[tuple[str, OperationReport]], PlcCommand | None]:
        """Reports since the last step, and the command the PLC must be given now."""
        reports: list[tuple[str, OperationReport]] = []
        op = self._current
        if op is not None and status.token == self._token and status.state is not None:
            seen = (status.state, status.good, status.scrap)
            report = self._report(op, status)
            if self._reported is None:
                reports.append(("operation_started", report))
            elif status.state == "done":
                reports.append(("operation_finished", report))
            elif status.state != self._reported[0]:
                reports.append(("operation_state", report))
            elif seen != self._reported:
                reports.append(("operation_counts", report))
            self._reported = seen
            if status.state == "done":
                if reports[-1][0] != "operation_finished":
                    reports.append(("operation_finished", report))
                self._finished[op.operation_id] = None
                while len(self._finished) > _MAX_FINISHED:
                    del self._finished[next(iter(self._finished))]
                self._current = op = None
            elif op is not None:
                return reports, None
        if op is None and self._queue:
            self._current = self._queue.pop(0)
            self._token = self._token % 0xFFFF + 1
            self._reported = None
            return reports, None  # retained first; written on the next step
        if self._current is not None and status.token != self._token:
            c = self._current
            return reports, PlcCommand(
                token=self._token,
                job_id=c.job_id,
                quantity=c.quantity,
                family=c.family,
                setup_s=c.setup_s,
            )
        return reports, None

    def _report(self, op: _Op, status: PlcStatus) -> OperationReport:
        assert status.state is not None
        return OperationReport(
            schedule_version=max(1, self.version),
            operation_id=op.operation_id,
            job_id=op.job_id,
            index=op.index,
            family=op.family,
            quantity=op.quantity,
            state=status.state,  # type: ignore[arg-type]
            good=min(status.good, op.quantity),
            scrap=status.scrap,
        )

    def retained(self) -> dict[str, Any]:
        """Everything needed to go on after a restart (JSON-ready)."""

        def row(op: _Op) -> list[Any]:
            return [op.index, op.operation_id, op.job_id, op.quantity, op.family, op.setup_s]

        return {
            "version": self.version,
            "queue": [row(op) for op in self._queue],
            "current": None if self._current is None else row(self._current),
            "token": self._token,
            "reported": None if self._reported is None else list(self._reported),
            "finished": list(self._finished),
        }

    def restore(self, kept: dict[str, Any]) -> None:
        """Go on from `retained()` output; anything else leaves the sequencer empty."""
        try:
            version = int(kept["version"])
            queue = [_Op(*row) for row in kept["queue"]]
            current = None if kept["current"] is None else _Op(*kept["current"])
            token = int(kept["token"])
            reported = kept["reported"]
            seen = None if reported is None else (reported[0], int(reported[1]), int(reported[2]))
            finished = {str(k): None for k in kept["finished"]}
        except (KeyError, TypeError, ValueError, IndexError):
            return
        self.version, self._queue, self._current = version, queue, current
        self._token, self._reported, self._finished = token, seen, finished

    @property
    def executing(self) -> bool:
        """Whether an operation is in the PLC or waiting for it."""
        return self._current is not None or bool(self._queue)


__all__ = ["OperationSequencer"]
