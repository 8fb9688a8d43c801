"""Dispatch-rule scheduling: a fast, always-feasible plan without a solver.

List scheduling with insertion: fixed operations are placed first; then, among the
operations whose job predecessor is placed, the one with the smallest key goes next and
takes the earliest-finishing gap on any of its machines (operations of zero length
are instantaneous and occupy no machine time) that respects downtime,
changeovers and the rush reserve. The key is the operation's start in a preferred plan
(the previous plan or a hint — an operation keeps that slot when it is still free, which
makes this a repair heuristic), else its ready time, then rush first, then earliest due.

With changeovers (some setup time is non-zero) the rule keeps families together, as the
objective does (`ScheduleWeights`): operations ready at the same time go family by family
(the family whose most urgent job is due first goes first), and an operation takes the
slot that costs least by the objective's own weights — tardiness of its job, changeover
time it adds on that machine, its end as the makespan's share — rather than merely the
earliest end. Without changeovers both reduce to the plain rule above.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right, insort
from dataclasses import dataclass, field
from typing import Final

from coordinator.plan.schedule.evaluate import Assignment
from coordinator.plan.schedule.problem import Job, Operation, SchedulingProblem
from coordinator.plan.schedule.rules import (
    earliest_start,
    fixed_slots,
    operation_index,
    reserved_blocks,
    uses_setups,
)

__all__ = ["MachineTimeline", "dispatch"]

_NEVER: Final = -(1 << 62)  # reach before any entry


@dataclass(slots=True)
class _Busy:
    start: int
    end: int
    family: str | None  # None: downtime or reserve, which carries no changeover
    rush_only: bool = False  # a reserved slice: rush operations may use it


@dataclass
class MachineTimeline:
    """The busy intervals of one machine, kept sorted by (start, end).

    Beside the entries it keeps their starts, their ends in order, and how far the
    entries up to each index reach (the largest end so far, over all entries and over
    those not reserved for rush work), so that a query looks only at the entries near
    its slot: a plan of n operations on a machine costs O(n log n) per query instead of
    O(n²), which is what makes a burst of hundreds of jobs re-plan in time. It also keeps
    where each stretch of continuous busy time ends (`_run_ends`), so that `earliest`
    skips in one step the candidate starts inside a stretch that no changeover can push
    out of it: a machine booked solid for hours is not walked one operation at a time."""

    problem: SchedulingProblem
    initial_family: str
    entries: list[_Busy] = field(default_factory=list)
    _starts: list[int] = field(default_factory=list)
    _ends: list[int] = field(default_factory=list)
    _reach: list[int] = field(default_factory=list)
    _reach_firm: list[int] = field(default_factory=list)
    _run_ends: list[int] = field(default_factory=list)
    """Where each stretch of continuous busy time (all entries) ends, ascending."""

    def add(self, start: int, end: int, family: str | None, *, rush_only: bool = False) -> None:
        """Mark [start, end) busy (an operation's entry, with a family, is never empty:
        zero-length operations take no machine time and are not added)."""
        i = bisect_right(self._starts, start)
        while i > 0 and self._starts[i - 1] == start and self.entries[i - 1].end > end:
            i -= 1  # among equal starts, sorted by end (equal keys: in the order added)
        self.entries.insert(i, _Busy(start, end, family, rush_only))
        self._starts.insert(i, start)
        insort(self._ends, end)
        reach = self._reach[i - 1] if i else _NEVER
        firm = self._reach_firm[i - 1] if i else _NEVER
        del self._reach[i:], self._reach_firm[i:]
        for b in self.entries[i:]:
            reach = max(reach, b.end)
            firm = firm if b.rush_only else max(firm, b.end)
            self._reach.append(reach)
            self._reach_firm.append(firm)
        # The stretches ending before entry i - 1's reach are unchanged; the rest are
        # found again from there (a stretch ends where the next entry starts later).
        j = max(i - 1, 0)
        del self._run_ends[bisect_left(self._run_ends, self._reach[j]) if i else 0 :]
        last = len(self.entries) - 1
        for k in range(j, last + 1):
            if k == last or self._starts[k + 1] > self._reach[k]:
                self._run_ends.append(self._reach[k])

    def _fits(self, start: int, duration: int, family: str, rush: bool) -> int | None:
        """The start actually usable at or after `start` in this gap, or None if blocked."""
        setup = self.problem.setup_time
        entries = self.entries
        prev_family = self.initial_family
        prev_end = self.problem.now if self.initial_family else start
        j = bisect_left(self._starts, start) - 1
        while j >= 0 and entries[j].family is None:
            j -= 1
        if j >= 0:
            prev_family, prev_end = entries[j].family or "", entries[j].end
        s = start
        if prev_family:
            s = max(s, prev_end + setup(prev_family, family))
        end = s + duration
        # Entries before `first` end before s: they can neither overlap nor follow the slot.
        first = bisect_left(self._reach_firm if rush else self._reach, s)
        for k in range(first, len(entries)):
            b = entries[k]
            if b.rush_only and rush:
                continue
            if b.start < end and s < b.end and not (duration == 0 and b.start == s):
                return None
            if b.family is not None and b.start >= end:
                return None if end + setup(family, b.family) > b.start else s
        return s

    def earliest(self, ready: int, duration: int, family: str, *, rush: bool) -> int:
        """The earliest start ≥ `ready` where the operation fits: at `ready` or right after
        one of the entries ending later."""
        ends = self._ends
        candidate, k = ready, bisect_right(ends, ready)
        while True:
            s = self._fits(candidate, duration, family, rush)
            if s is not None and self._fits(s, duration, family, rush) == s:
                return s
            k = max(k, bisect_right(ends, candidate))
            if s is None and duration > 0 and not rush:
                k = max(k, bisect_left(ends, self._doomed_until(candidate)))
            if k == len(ends):
                raise AssertionError("the last candidate always fits")  # pragma: no cover
            candidate = ends[k]

    def _doomed_until(self, candidate: int) -> int:
        """A bound below which every candidate start from `candidate` on fails for an
        operation that is not rush work and takes time: inside a stretch of
        continuous busy time, a start fails unless the changeover before it pushes the
        slot past the stretch's end E, which needs an entry before it reaching within the
        longest changeover of E (or the machine's initial family doing so)."""
        starts, reach = self._starts, self._reach
        before = bisect_right(starts, candidate) - 1
        if before < 0 or reach[before] <= candidate:
            return candidate  # not inside busy time
        end = self._run_ends[bisect_right(self._run_ends, candidate)]
        longest = self.problem.longest_setup
        if self.initial_family and self.problem.now + longest >= end:
            return candidate
        near = bisect_left(reach, end - longest)
        return min(end, starts[near]) if near < len(starts) else end

    def is_free(self, start: int, duration: int, family: str, *, rush: bool) -> bool:
        """True when the operation can start exactly at `start`."""
        return self._fits(start, duration, family, rush) == start

    def setup_added(self, start: int, end: int, family: str) -> int:
        """Changeover time that an operation of `family` in [start, end) adds to this
        machine: into it from the family before, out of it into the family after, less
        the changeover between those two that it replaces."""
        setup = self.problem.setup_time
        entries = self.entries
        j = bisect_left(self._starts, start) - 1
        while j >= 0 and entries[j].family is None:
            j -= 1
        before = (entries[j].family or "") if j >= 0 else self.initial_family
        k = bisect_left(self._starts, end)
        while k < len(entries) and entries[k].family is None:
            k += 1
        after = (entries[k].family or "") if k < len(entries) else ""
        added = setup(before, family) if before else 0
        if after:
            added += setup(family, after) - (setup(before, after) if before else 0)
        return added


def _keep_preferred(
    problem: SchedulingProblem,
    preferred: Assignment,
    timelines: dict[str, MachineTimeline],
    result: Assignment,
) -> None:
    """First pass of a repair: every operation whose preferred slot is still feasible keeps
    it (in start order, and only after its job predecessor kept its own)."""
    index = operation_index(problem)
    for op_id, (machine_id, start) in sorted(preferred.items(), key=lambda kv: (kv[1][1], kv[0])):
        if op_id in result or op_id not in index:
            continue
        job, pos, op = index[op_id]
        duration = next((o.duration for o in op.options if o.machine_id == machine_id), None)
        if duration is None or start < earliest_start(problem, job):
            continue
        if pos > 0:
            before = job.operations[pos - 1].id
            if before not in result:
                continue
            b_machine, b_start = result[before]
            b_op = index[before][2]
            b_end = b_start + next(o.duration for o in b_op.options if o.machine_id == b_machine)
            if b_end > start:
                continue
        tl = timelines[machine_id]
        if tl.is_free(start, duration, op.family, rush=job.rush):
            if duration:  # zero-length operations take no machine time
                tl.add(start, start + duration, op.family)
            result[op_id] = (machine_id, start)


def _best_slot(
    problem: SchedulingProblem,
    job: Job,
    op: Operation,
    timelines: dict[str, MachineTimeline],
    ready: int,
    wish: tuple[str, int] | None,
    *,
    setups: bool,
) -> tuple[int, int, str]:
    """(end, start, machine): the preferred slot if still free, else the cheapest by the
    objective's weights (with no changeovers: the earliest end)."""
    weights = problem.weights
    last = op is job.operations[-1]
    choice: tuple[int, int, int, str] | None = None
    for opt in op.options:
        tl = timelines[opt.machine_id]
        wished = wish is not None and wish[0] == opt.machine_id and wish[1] >= ready
        if wish and wished and tl.is_free(wish[1], opt.duration, op.family, rush=job.rush):
            return (wish[1] + opt.duration, wish[1], opt.machine_id)
        start = tl.earliest(ready, opt.duration, op.family, rush=job.rush)
        end = start + opt.duration
        price = 0
        if setups:
            late = max(0, end - job.due) if last and job.due is not None else 0
            price = (
                weights.tardiness * job.weight * late
                + weights.changeover * tl.setup_added(start, end, op.family)
                + weights.makespan * end
            )
        if choice is None or (price, end, start) < choice[:3]:
            choice = (price, end, start, opt.machine_id)
    assert choice is not None
    return choice[1:]


def _family_ranks(problem: SchedulingProblem, skip: Assignment) -> dict[str, int]:
    """Per family, the earliest due of its jobs still to place (families with an earlier
    urgent job go first among operations ready together)."""
    ranks: dict[str, int] = {}
    for job in problem.jobs:
        due = job.due if job.due is not None else 1 << 60
        for op in job.operations:
            if op.id not in skip:
                ranks[op.family] = min(ranks.get(op.family, due), due)
    return ranks


def dispatch(problem: SchedulingProblem, *, preferred: Assignment | None = None) -> Assignment:
    """A feasible assignment built by insertion list scheduling (see module docstring)."""
    index = operation_index(problem)
    fixed = fixed_slots(problem)
    timelines = {m.id: MachineTimeline(problem, m.initial_family) for m in problem.machines}
    blocks = reserved_blocks(problem)
    for machine in problem.machines:
        tl = timelines[machine.id]
        for w in machine.unavailable:
            tl.add(w.start, w.end, None)
        for b in blocks:
            tl.add(b.start, b.end, None, rush_only=True)
    result: Assignment = {}
    for op_id, slot in sorted(fixed.items(), key=lambda kv: kv[1].start):
        if slot.end > slot.start:
            timelines[slot.machine_id].add(slot.start, slot.end, index[op_id][2].family)
        result[op_id] = (slot.machine_id, slot.start)
    preferred = preferred or {}
    _keep_preferred(problem, preferred, timelines, result)
    setups = uses_setups(problem)
    ranks = _family_ranks(problem, result) if setups else {}
    heap: list[tuple[int, int, int, str, int, int, int]] = []
    ready_at: dict[int, int] = {}
    position: dict[int, int] = {}

    def push(job_no: int) -> None:
        job = problem.jobs[job_no]
        pos = position[job_no]
        while pos < len(job.operations) and job.operations[pos].id in result:
            ready_at[job_no] = result[job.operations[pos].id][1] + next(
                o.duration
                for o in job.operations[pos].options
                if o.machine_id == result[job.operations[pos].id][0]
            )
            pos += 1
        position[job_no] = pos
        if pos == len(job.operations):
            return
        op = job.operations[pos]
        ready = max(ready_at[job_no], earliest_start(problem, job))
        key = preferred[op.id][1] if op.id in preferred else ready
        due = job.due if job.due is not None else 1 << 60
        rank = ranks.get(op.family, 0)
        family = op.family if setups else ""
        heapq.heappush(heap, (key, 0 if job.rush else 1, rank, family, due, job_no, pos))

    for job_no, job in enumerate(problem.jobs):
        ready_at[job_no], position[job_no] = job.release, 0
        push(job_no)
    while heap:
        *_, job_no, pos = heapq.heappop(heap)
        job = problem.jobs[job_no]
        op = job.operations[pos]
        ready = max(ready_at[job_no], earliest_start(problem, job))
        end, start, machine_id = _best_slot(
            problem, job, op, timelines, ready, preferred.get(op.id), setups=setups
        )
        if end > start:
            timelines[machine_id].add(start, end, op.family)
        result[op.id] = (machine_id, start)
        push(job_no)
    return result
