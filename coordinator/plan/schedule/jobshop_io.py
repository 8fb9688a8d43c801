"""Classic job-shop instances: parsers and conversion to a `SchedulingProblem`.

Formats:
- OR-Library / JSPLIB text: comment lines, then `jobs machines`, then one line per job
  of `machine duration` pairs (machines numbered from 0).
- Taillard text: a header line, its numbers, `Times` then one row per job, `Machines`
  then one row per job (machines numbered from 1).
- JSON as in job-shop-lib: `{name: {duration_matrix, machines_matrix, metadata}}`, or a
  single such entry.
Every malformed input raises `InstanceFormatError`; oversized input `InstanceTooLargeError`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from coordinator.plan.errors import InstanceFormatError, InstanceTooLargeError
from coordinator.plan.schedule.problem import (
    Job,
    Machine,
    Operation,
    OperationOption,
    SchedulingProblem,
)

__all__ = [
    "ClassicJobShop",
    "parse_jobshop",
    "parse_jobshop_json",
    "parse_jobshop_text",
    "to_problem",
]

MAX_OPERATIONS = 100_000
MAX_DURATION = 10_000_000


@dataclass(frozen=True, slots=True)
class ClassicJobShop:
    """A classic instance: per job, the machine and duration of each operation."""

    name: str
    machines: tuple[tuple[int, ...], ...]
    durations: tuple[tuple[int, ...], ...]
    optimum: int | None = None

    @property
    def machine_count(self) -> int:
        """Number of machines (highest machine number + 1)."""
        return 1 + max(m for row in self.machines for m in row)


def _ints(line: str, *, source: str, line_no: int) -> list[int]:
    try:
        return [int(tok) for tok in line.split()]
    except ValueError:
        raise InstanceFormatError("expected whole numbers", source=source, line=line_no) from None


def _check(
    name: str, machines: list[list[int]], durations: list[list[int]], *, source: str, limit: int
) -> ClassicJobShop:
    if not machines or any(not row for row in machines):
        raise InstanceFormatError("no operations", source=source)
    if sum(len(row) for row in machines) > limit:
        raise InstanceTooLargeError(f"more than {limit} operations", source=source)
    for row_m, row_d in zip(machines, durations, strict=True):
        if len(row_m) != len(row_d):
            raise InstanceFormatError("machine and duration rows differ in length", source=source)
        if any(m < 0 for m in row_m) or any(not 0 <= d <= MAX_DURATION for d in row_d):
            raise InstanceFormatError("machine or duration out of range", source=source)
    if 1 + max(m for row in machines for m in row) > limit:
        raise InstanceTooLargeError("machine number too large", source=source)
    return ClassicJobShop(
        name, tuple(tuple(r) for r in machines), tuple(tuple(r) for r in durations)
    )


def parse_jobshop_text(
    text: str, *, name: str = "", source: str = "<input>", max_operations: int = MAX_OPERATIONS
) -> ClassicJobShop:
    """Parse the OR-Library or the Taillard text format (detected by a `Times` line)."""
    lines = [(no, line.strip()) for no, line in enumerate(text.splitlines(), start=1)]
    lines = [(no, line) for no, line in lines if line and not line.startswith("#")]
    if any(line.lower().startswith("times") for _, line in lines):
        return _parse_taillard(lines, name=name, source=source, limit=max_operations)
    numeric = [(no, line) for no, line in lines if line.split()[0].lstrip("-").isdigit()]
    if not numeric:
        raise InstanceFormatError("no header line `jobs machines`", source=source)
    head_no, head = numeric[0]
    header = _ints(head, source=source, line_no=head_no)
    if len(header) < 2:
        raise InstanceFormatError("header needs `jobs machines`", source=source, line=head_no)
    jobs, ops_per_job = header[0], header[1]
    if jobs <= 0 or ops_per_job <= 0:
        raise InstanceFormatError("job and machine counts must be positive", source=source)
    if jobs * ops_per_job > max_operations:
        raise InstanceTooLargeError(f"more than {max_operations} operations", source=source)
    rows = numeric[1 : 1 + jobs]
    if len(rows) < jobs:
        raise InstanceFormatError(f"expected {jobs} job lines, found {len(rows)}", source=source)
    machines: list[list[int]] = []
    durations: list[list[int]] = []
    for no, line in rows:
        values = _ints(line, source=source, line_no=no)
        if len(values) != 2 * ops_per_job:
            raise InstanceFormatError(
                f"expected {2 * ops_per_job} numbers, found {len(values)}", source=source, line=no
            )
        machines.append(values[0::2])
        durations.append(values[1::2])
    return _check(name, machines, durations, source=source, limit=max_operations)


def _parse_taillard(
    lines: list[tuple[int, str]], *, name: str, source: str, limit: int
) -> ClassicJobShop:
    labels = [
        i for i, (_, line) in enumerate(lines) if line.lower().startswith(("times", "machines"))
    ]
    if len(labels) != 2:
        raise InstanceFormatError(
            "Taillard format needs `Times` and `Machines` sections", source=source
        )
    header = [(no, line) for no, line in lines[: labels[0]] if line.split()[0].isdigit()]
    if not header:
        raise InstanceFormatError("missing the numbers line of the header", source=source)
    counts = _ints(header[0][1], source=source, line_no=header[0][0])
    if len(counts) < 2 or counts[0] <= 0 or counts[1] <= 0:
        raise InstanceFormatError("header needs positive job and machine counts", source=source)
    jobs, width = counts[0], counts[1]
    if jobs * width > limit:
        raise InstanceTooLargeError(f"more than {limit} operations", source=source)

    def block(at: int) -> list[list[int]]:
        rows = lines[at + 1 : at + 1 + jobs]
        if len(rows) < jobs:
            raise InstanceFormatError(f"expected {jobs} rows after {lines[at][1]}", source=source)
        out = [_ints(line, source=source, line_no=no) for no, line in rows]
        if any(len(r) != width for r in out):
            raise InstanceFormatError(f"rows must have {width} numbers", source=source)
        return out

    times = block(labels[0])
    machines = [[m - 1 for m in row] for row in block(labels[1])]
    return _check(name, machines, times, source=source, limit=limit)


def _int_matrix(value: Any, what: str, source: str) -> list[list[int]]:
    if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
        raise InstanceFormatError(f"{what} must be a list of lists", source=source)
    for row in value:
        if not all(type(v) is int for v in row):
            raise InstanceFormatError(f"{what} must hold whole numbers", source=source)
    return value


def parse_jobshop_json(
    text: str,
    *,
    instance: str | None = None,
    source: str = "<input>",
    max_operations: int = MAX_OPERATIONS,
) -> ClassicJobShop:
    """Parse one instance of the job-shop-lib JSON (chosen by `instance` when several)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InstanceFormatError(f"not valid JSON: {exc}", source=source) from None
    if not isinstance(data, dict):
        raise InstanceFormatError("expected a JSON object", source=source)
    if "duration_matrix" in data:
        entry, name = data, str(data.get("name", instance or ""))
    elif instance is not None:
        if instance not in data:
            raise InstanceFormatError(f"no instance named {instance!r}", source=source)
        entry, name = data[instance], instance
    elif len(data) == 1:
        name, entry = next(iter(data.items()))
    else:
        some = ", ".join(sorted(data)[:5])
        raise InstanceFormatError(f"several instances ({some}, ...): choose one", source=source)
    if not isinstance(entry, dict):
        raise InstanceFormatError("an instance must be a JSON object", source=source)
    durations = _int_matrix(entry.get("duration_matrix"), "duration_matrix", source)
    machines = _int_matrix(entry.get("machines_matrix"), "machines_matrix", source)
    if len(durations) != len(machines):
        raise InstanceFormatError("matrices differ in number of jobs", source=source)
    parsed = _check(name, machines, durations, source=source, limit=max_operations)
    meta = entry.get("metadata")
    optimum = meta.get("optimum") if isinstance(meta, dict) else None
    if type(optimum) is int:
        return ClassicJobShop(parsed.name, parsed.machines, parsed.durations, optimum)
    return parsed


def parse_jobshop(
    text: str,
    *,
    instance: str | None = None,
    source: str = "<input>",
    max_operations: int = MAX_OPERATIONS,
) -> ClassicJobShop:
    """Parse JSON when the text starts with `{`, else one of the text formats."""
    if text.lstrip().startswith("{"):
        return parse_jobshop_json(
            text, instance=instance, source=source, max_operations=max_operations
        )
    return parse_jobshop_text(
        text, name=instance or "", source=source, max_operations=max_operations
    )


def to_problem(instance: ClassicJobShop) -> SchedulingProblem:
    """The classic instance as a `SchedulingProblem` (operation id `j<job>.<index>`)."""
    width = max(1, math.ceil(math.log10(instance.machine_count + 1)))
    machine_ids = [f"m{k:0{width}d}" for k in range(instance.machine_count)]
    jobs = tuple(
        Job(
            id=f"j{j}",
            operations=tuple(
                Operation(f"j{j}.{k}", (OperationOption(machine_ids[m], d),))
                for k, (m, d) in enumerate(zip(machines, durations, strict=True))
            ),
        )
        for j, (machines, durations) in enumerate(
            zip(instance.machines, instance.durations, strict=True)
        )
    )
    return SchedulingProblem(
        machines=tuple(Machine(mid) for mid in machine_ids), jobs=jobs, name=instance.name
    )
