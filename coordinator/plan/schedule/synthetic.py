"""Seeded synthetic factories: flexible job shops shaped like a made-to-order plant.

Machines come in groups (cutting, sewing, printing, ...); each operation may run on two
or three machines of its group, a little slower on the older ones; products belong to
families with changeover times between them; jobs have release and due times, weights,
and a few are rush orders. Used by tests, benchmarks and the demo.
"""

from __future__ import annotations

import random

from coordinator.plan.schedule.problem import (
    Job,
    Machine,
    Operation,
    OperationOption,
    ReservePolicy,
    SchedulingProblem,
    Setup,
)

__all__ = ["factory_problem"]


def factory_problem(
    *,
    machines: int = 30,
    operations: int = 400,
    families: int = 5,
    ops_per_job: int = 4,
    rush_share: float = 0.05,
    reserve_share: float = 0.0,
    seed: int = 0,
) -> SchedulingProblem:
    """A random flexible job shop with `machines` machines and about `operations` operations."""
    rng = random.Random(seed)
    group_count = max(1, min(ops_per_job + 2, machines // 3))
    groups: list[list[str]] = [[] for _ in range(group_count)]
    for k in range(machines):
        groups[k % group_count].append(f"M{k:02d}")
    family_names = [f"F{k}" for k in range(families)]
    setups = tuple(
        Setup(a, b, 5 + 5 * ((i * 7 + j * 3) % 4))
        for i, a in enumerate(family_names)
        for j, b in enumerate(family_names)
        if a != b
    )
    jobs: list[Job] = []
    remaining = operations
    job_no = 0
    total_work = 0
    while remaining > 0:
        count = min(remaining, rng.randint(max(1, ops_per_job - 1), ops_per_job + 1))
        family = rng.choice(family_names)
        start_group = rng.randrange(group_count)
        ops: list[Operation] = []
        for k in range(count):
            group = groups[(start_group + k) % group_count]
            base = rng.randint(10, 60)
            chosen = rng.sample(group, k=min(len(group), rng.randint(2, 3)))
            options = tuple(
                OperationOption(m, base if n == 0 else int(base * rng.uniform(1.0, 1.3)))
                for n, m in enumerate(chosen)
            )
            ops.append(Operation(f"J{job_no:03d}.{k}", options, family))
            total_work += base
        jobs.append(Job(f"J{job_no:03d}", tuple(ops)))
        remaining -= count
        job_no += 1
    span = total_work // machines
    finished: list[Job] = []
    for job in jobs:
        release = rng.randint(0, span // 2)
        length = sum(min(o.duration for o in op.options) for op in job.operations)
        rush = rng.random() < rush_share
        due = release + length + rng.randint(span // 4, span) // (2 if rush else 1)
        finished.append(
            Job(
                job.id,
                job.operations,
                release,
                due,
                rng.choice((1, 1, 2, 3)) * (5 if rush else 1),
                rush,
            )
        )
    return SchedulingProblem(
        machines=tuple(Machine(m) for group in groups for m in group),
        jobs=tuple(finished),
        setups=setups,
        reserve=ReservePolicy(share=reserve_share, period=60, horizon=span if reserve_share else 0),
        name=f"factory-{machines}x{operations}-s{seed}",
    )
