"""Cost of revising the promises after one re-plan, on the plan thread before its diffs go out.

    .venv/bin/python benchmarks/bench_revision.py [--orders 5000] [--machines 50]
        [--late-share 0.1] [--repeats 7]

Stores `--orders` made orders (one line, one production part each) in a fresh SQLite
coordinator database, builds the planner's schedule view holding their jobs on `--machines`
machines, and times `SalesBook.revise_schedule` three ways: the first re-plan after a start
(each order read once and its first revision stored), a re-plan saying the same again (the
steady state: nothing read, nothing written; median of `--repeats`), and one in which
`--late-share` of the orders become late (each a `delayed` transition, its webhook event
and its revision written).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from coordinator.sales.book import CapacityView, SalesBook
from coordinator.sales.lifecycle import Standing, Transition
from coordinator.sales.records import NewOrder, SalesOrder
from coordinator.store.sqlite_store import SqliteStore
from fleet_runtime.clock import FakeClock

T0_S = 1_800_000_000.0
UNIT_S = 60.0
HOUR_MS = 3_600_000


def _promise(k: int) -> dict[str, Any]:
    ready = round(T0_S * 1000) + (k % 48 + 1) * HOUR_MS
    return {
        "eta_ms": ready + HOUR_MS,
        "promised_ms": ready + 2 * HOUR_MS,
        "bound_by": "capacity",
        "in_service_target": True,
        "lines": [
            {
                "sku": "CUP",
                "qty": 10,
                "eta_ms": ready + HOUR_MS,
                "bound_by": "capacity",
                "from_stock": [],
                "made": [
                    {"factory": "f1", "qty": 10, "ready_ms": ready, "eta_ms": ready + HOUR_MS}
                ],
            }
        ],
    }


def _view(orders: int, machines: int, late: set[int], version: int) -> dict[str, Any]:
    """The schedule view: order k's job ends at its promised readiness, or 3 h later."""
    rows: dict[str, list[dict[str, Any]]] = {f"m{i}": [] for i in range(machines)}
    for k in range(orders):
        ready_ms = _promise(k)["lines"][0]["made"][0]["ready_ms"]
        end = (ready_ms / 1000 - T0_S) / UNIT_S + (180 if k in late else 0)
        job = f"sales.o{k}.0.0"
        rows[f"m{k % machines}"].append(
            {"operation_id": f"{job}/0", "job_id": job, "start": end - 10, "end": end, "setup": 0}
        )
    return {"version": version, "epoch_s": T0_S, "time_unit_s": UNIT_S, "now": 0,
            "machines": rows, "late_jobs": []}  # fmt: skip


def main() -> int:
    """Store the orders, time the revisions, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--machines", type=int, default=50)
    parser.add_argument("--late-share", type=float, default=0.1)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    clock = FakeClock(start_s=T0_S)
    with tempfile.TemporaryDirectory() as tmp:
        db = SqliteStore(Path(tmp) / "c.db")
        store = db.sales_store()
        at = round(T0_S * 1000)
        promised = (Transition("promised", at, "promise", "system"),)
        store.create_all([
            NewOrder(SalesOrder(f"o{k}", "shop", "{}", Standing("promised"), _promise(k), at, at,
                                webhook_url="https://shop.example/hook"), f"t{k}", promised, ())
            for k in range(args.orders)
        ])  # fmt: skip
        book = SalesBook(
            store=store,
            clock=clock,
            stock=lambda _skus: {},
            capacity=lambda: CapacityView({}, frozenset(), frozenset(), 0),
            recipe=lambda _sku: None,
            travel=lambda _a, _b: 1800.0,
        )
        on_time = _view(args.orders, args.machines, set(), 1)
        t0 = time.perf_counter()
        book.revise_schedule(on_time)
        cold = time.perf_counter() - t0
        steady = []
        for r in range(args.repeats):
            view = {**on_time, "version": 2 + r}
            t0 = time.perf_counter()
            moved = book.revise_schedule(view)
            steady.append(time.perf_counter() - t0)
            assert moved == 0
        late = set(range(0, args.orders, max(1, round(1 / args.late_share))))
        t0 = time.perf_counter()
        moved = book.revise_schedule(_view(args.orders, args.machines, late, 100))
        changed = time.perf_counter() - t0
        db.close()
    print(f"orders={args.orders} machines={args.machines} late={len(late)} repeats={args.repeats}")
    print(f"first re-plan after a start (read + first revision each): {cold * 1000:.0f} ms")
    print(f"same news again (steady state): median {statistics.median(steady) * 1000:.1f} ms")
    print(f"{moved} orders delayed (transition, webhook event, revision): {changed * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
