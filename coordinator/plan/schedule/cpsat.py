"""The CP-SAT scheduling model (the only module of the scheduler that imports OR-Tools).

Model: one interval per operation and one optional interval per (operation, machine)
option; `NoOverlap` per machine with downtime and fixed operations as fixed intervals;
a second `NoOverlap` keeps non-rush work out of the reserved slices; changeovers via a
`Circuit` per machine, added only when some setup time is non-zero, so a classic job
shop is the plain interval + no-overlap model. Objective: the weighted sum of
`ScheduleWeights` (tardiness, changeover, makespan, moved operations); terms that are
identically zero are left out.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ortools.sat.python import cp_model

from coordinator.plan.errors import SolverError
from coordinator.plan.schedule.evaluate import Assignment
from coordinator.plan.schedule.problem import SchedulingProblem
from coordinator.plan.schedule.rules import (
    earliest_start,
    fixed_slots,
    horizon_bound,
    reserved_blocks,
    uses_setups,
)

__all__ = ["CpSatOutcome", "solve_cpsat"]

_LARGE_CIRCUITS = 5_000  # arc literals over all machines


@dataclass(frozen=True, slots=True)
class CpSatOutcome:
    """What CP-SAT found: an assignment (None when nothing feasible) and its bound."""

    assignment: Assignment | None
    optimal: bool
    objective: float | None
    lower_bound: float | None
    wall_time_s: float


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except (RuntimeError, ValueError, TypeError) as exc:
        raise SolverError(str(exc), solver="cp-sat") from exc


@dataclass
class _Option:
    machine_id: str
    duration: int
    present: cp_model.IntVar | int  # literal, or 1 when it is the only option
    interval: cp_model.IntervalVar


@dataclass
class _OpVars:
    start: cp_model.IntVar
    end: cp_model.IntVar
    options: list[_Option]
    family: str
    rush: bool


class _Model:
    """Builds the CP-SAT model of a problem and reads solutions back."""

    def __init__(self, problem: SchedulingProblem) -> None:
        self.problem = problem
        self.model = cp_model.CpModel()
        self.horizon = horizon_bound(problem)
        self.fixed = fixed_slots(problem)
        self.ops: dict[str, _OpVars] = {}
        self.job_ends: list[cp_model.IntVar] = []
        self.objective_terms: list[cp_model.LinearExprT] = []
        self.changeover_terms: list[tuple[cp_model.IntVar, int]] = []
        # Per machine with changeovers: node ids (1-based) and the arc literals.
        self.circuits: list[tuple[str, list[str], dict[tuple[int, int], cp_model.LiteralT]]] = []
        self.late_vars: list[tuple[str, int, cp_model.IntVar]] = []
        self.moved_vars: list[tuple[str, int, cp_model.IntVar]] = []
        self._build_operations()
        self._build_machines()
        self._build_objective()

    def _build_operations(self) -> None:
        m = self.model
        for job in self.problem.jobs:
            earliest = earliest_start(self.problem, job)
            previous_end: cp_model.IntVar | None = None
            for op in job.operations:
                slot = self.fixed.get(op.id)
                low = slot.start if slot else earliest
                high = slot.start if slot else self.horizon
                start = m.new_int_var(low, high, f"s_{op.id}")
                end = m.new_int_var(low, self.horizon + max(o.duration for o in op.options), "")
                options: list[_Option] = []
                choices = [o for o in op.options if slot is None or o.machine_id == slot.machine_id]
                for opt in choices:
                    if len(choices) == 1:
                        interval = m.new_interval_var(start, opt.duration, end, "")
                        options.append(_Option(opt.machine_id, opt.duration, 1, interval))
                        continue
                    present = m.new_bool_var("")
                    interval = m.new_optional_interval_var(start, opt.duration, end, present, "")
                    options.append(_Option(opt.machine_id, opt.duration, present, interval))
                if len(choices) > 1:
                    m.add_exactly_one(o.present for o in options)
                if previous_end is not None and not (slot and slot.pinned):
                    # A pinned (started) operation's start is a fact, even one that began
                    # before its predecessor ended: only free operations wait.
                    m.add(start >= previous_end)
                previous_end = end
                self.ops[op.id] = _OpVars(start, end, options, op.family, job.rush)
            assert previous_end is not None
            self.job_ends.append(previous_end)

    def _build_machines(self) -> None:
        m = self.model
        blocks = reserved_blocks(self.problem)
        with_setups = uses_setups(self.problem)
        for machine in self.problem.machines:
            on_machine = [
                (op_id, v, o)
                for op_id, v in self.ops.items()
                for o in v.options
                if o.machine_id == machine.id
            ]
            downtime = [
                m.new_fixed_size_interval_var(w.start, w.end - w.start, "")
                for w in machine.unavailable
            ]
            m.add_no_overlap([o.interval for _, _, o in on_machine] + downtime)
            if blocks:
                normal = [
                    o.interval
                    for op_id, v, o in on_machine
                    if not v.rush and op_id not in self.fixed
                ]
                reserved = [
                    m.new_fixed_size_interval_var(b.start, b.end - b.start, "") for b in blocks
                ]
                if normal:
                    m.add_no_overlap(normal + reserved)
            # Zero-length operations are instantaneous: no changeover before or after them.
            timed = [(op_id, v, o) for op_id, v, o in on_machine if o.duration > 0]
            if with_setups and timed:
                self._add_changeovers(machine.id, machine.initial_family, timed)

    def _add_changeovers(
        self, machine_id: str, initial_family: str, on_machine: list[tuple[str, _OpVars, _Option]]
    ) -> None:
        """Sequence the machine's candidates with a circuit; node 0 is the machine's start."""
        m = self.model
        setup = self.problem.setup_time
        arcs: list[tuple[int, int, cp_model.LiteralT]] = []
        empty = m.new_bool_var("")
        arcs.append((0, 0, empty))
        for i, (_, vi, oi) in enumerate(on_machine, start=1):
            present = oi.present
            if isinstance(present, int):
                m.add(empty == 0)
            else:
                arcs.append((i, i, present.Not()))
                m.add_implication(empty, present.Not())
            first = m.new_bool_var("")
            arcs.append((0, i, first))
            if initial_family:
                cost = setup(initial_family, vi.family)
                if cost:
                    m.add(vi.start >= self.problem.now + cost).only_enforce_if(first)
                    self.changeover_terms.append((first, cost))
            arcs.append((i, 0, m.new_bool_var("")))
            for j, (_, vj, _) in enumerate(on_machine, start=1):
                if i == j or vi is vj:
                    continue
                lit = m.new_bool_var("")
                arcs.append((i, j, lit))
                cost = setup(vi.family, vj.family)
                m.add(vj.start >= vi.end + cost).only_enforce_if(lit)
                if cost:
                    self.changeover_terms.append((lit, cost))
        m.add_circuit(arcs)
        self.circuits.append(
            (machine_id, [op_id for op_id, _, _ in on_machine], {(i, j): lit for i, j, lit in arcs})
        )

    def _build_objective(self) -> None:
        m = self.model
        weights = self.problem.weights
        makespan = m.new_int_var(0, self.horizon * 2, "makespan")
        m.add_max_equality(makespan, self.job_ends)
        self.makespan = makespan
        terms: list[cp_model.LinearExprT] = [weights.makespan * makespan]
        for job, end in zip(self.problem.jobs, self.job_ends, strict=True):
            if job.due is None or job.weight == 0:
                continue
            late = m.new_int_var(0, self.horizon * 2, "")
            self.late_vars.append((job.operations[-1].id, job.due, late))
            m.add(late >= end - job.due)
            terms.append(weights.tardiness * job.weight * late)
        terms.extend(weights.changeover * cost * lit for lit, cost in self.changeover_terms)
        previous = self.problem.previous
        if previous is not None and weights.moved_operation:
            for row in previous.operations:
                v = self.ops.get(row.operation_id)
                if v is None or row.operation_id in self.fixed:
                    continue
                option = next((o for o in v.options if o.machine_id == row.machine_id), None)
                if option is None:
                    continue
                moved = m.new_bool_var("")
                self.moved_vars.append((row.operation_id, row.start, moved))
                m.add(v.start == row.start).only_enforce_if(moved.Not())
                if not isinstance(option.present, int):
                    m.add_implication(moved.Not(), option.present)
                terms.append(weights.moved_operation * moved)
        m.minimize(sum(terms))

    def add_hint(self, hint: Assignment) -> None:
        """Suggest a complete solution (every decision and auxiliary variable) to the search."""
        m = self.model
        ends: dict[str, int] = {}
        for op_id, v in self.ops.items():
            machine_id, start = hint[op_id]
            option = next((o for o in v.options if o.machine_id == machine_id), v.options[0])
            start = start if op_id not in self.fixed else self.fixed[op_id].start
            ends[op_id] = start + option.duration
            m.add_hint(v.start, start)
            m.add_hint(v.end, ends[op_id])
            for o in v.options:
                if not isinstance(o.present, int):
                    m.add_hint(o.present, o is option)
        for machine_id, op_ids, arcs in self.circuits:
            chosen = sorted(
                (hint[op_id][1], i)
                for i, op_id in enumerate(op_ids, start=1)
                if hint[op_id][0] == machine_id
            )
            order = [i for _, i in chosen]
            on = set(zip([0, *order], [*order, 0], strict=True))
            if not order:
                on = {(0, 0)}
            on |= {(i, i) for i in range(1, len(op_ids) + 1) if i not in set(order)}
            for (i, j), lit in arcs.items():
                if isinstance(lit, cp_model.IntVar):  # negated presence: hinted above
                    m.add_hint(lit, (i, j) in on)
        job_ends = [ends[job.operations[-1].id] for job in self.problem.jobs]
        m.add_hint(self.makespan, max(job_ends))
        for last_op, due, late in self.late_vars:
            m.add_hint(late, max(0, ends[last_op] - due))
        for op_id, start, moved in self.moved_vars:
            m.add_hint(moved, hint[op_id][1] != start)

    def read(self, solver: cp_model.CpSolver) -> Assignment:
        """The assignment in the solver's best solution."""
        result: Assignment = {}
        for op_id, v in self.ops.items():
            machine = next(
                o.machine_id
                for o in v.options
                if isinstance(o.present, int) or solver.boolean_value(o.present)
            )
            result[op_id] = (machine, int(solver.value(v.start)))
        return result


def solve_cpsat(
    problem: SchedulingProblem,
    *,
    time_limit_s: float,
    seed: int = 0,
    num_workers: int = 2,
    deterministic_time: float | None = None,
    hint: Assignment | None = None,
    ignore_subsolvers: tuple[str, ...] = (),
) -> CpSatOutcome:
    """Solve `problem` with CP-SAT within `time_limit_s` wall seconds.

    With `deterministic_time` set, the workers are interleaved on one thread and the
    search stops after that much deterministic time: the same input and `seed` then give
    the same plan, as long as the wall limit is not reached first.
    """
    started = time.perf_counter()
    with _translated():
        built = _Model(problem)
        if hint:
            built.add_hint(hint)
        solver = cp_model.CpSolver()
        params = solver.parameters
        params.max_time_in_seconds = max(0.01, time_limit_s - (time.perf_counter() - started))
        params.random_seed = seed
        params.num_workers = max(1, num_workers)
        params.ignore_subsolvers.extend(ignore_subsolvers)
        if sum(len(arcs) for _, _, arcs in built.circuits) > _LARGE_CIRCUITS:
            # Presolve of large changeover circuits takes seconds and gains little here;
            # without it CP-SAT starts from the hint at once (measured on 400 operations).
            params.cp_model_presolve = False
        if deterministic_time is not None:
            params.interleave_search = True
            params.max_deterministic_time = deterministic_time
        status = solver.solve(built.model)
        found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
        return CpSatOutcome(
            assignment=built.read(solver) if found else None,
            optimal=status == cp_model.OPTIMAL,
            objective=solver.objective_value if found else None,
            lower_bound=solver.best_objective_bound if found else None,
            wall_time_s=time.perf_counter() - started,
        )
