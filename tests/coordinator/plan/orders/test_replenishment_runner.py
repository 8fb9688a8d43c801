"""Replenishment in the planner: recipes and replenishment records stored (on the in-memory
double and on SQLite), at-risk covers submitted as held jobs the schedule plans, no second
job while one is open (also after a restart), and the job closed by a receipt or an
operator."""

from __future__ import annotations

from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest
from sqlite_utils import Database

from coordinator.errors import StoreError
from coordinator.ingest.records import BatchOutcome, WriteBatch
from coordinator.jobs.facts import FleetFact, Receipt
from coordinator.notify.publisher import InMemoryPublisher
from coordinator.plan.errors import OrderRejected
from coordinator.plan.orders.replenishment import DAY_MS, jobs_to_submit, transfer_id
from coordinator.plan.orders.specs import JobOrder, OperationOrder, ProductSpec, StepOption
from coordinator.plan.runner import PlanRunner
from coordinator.plan.state import MemoryPlanState, PlanState
from coordinator.plan.triggers import DepotSeen, MachineSeen
from coordinator.stock.cover import StockCover
from coordinator.store.port import CommitResult
from coordinator.store.sqlite_store import SqliteStore
from fleet_runtime.clock import FakeClock
from tests.coordinator.conftest import command_log
from tests.coordinator.plan.conftest import Reopen

CUP = ProductSpec(
    sku="cup",
    operations=((StepOption("m1", 60.0, setup_s=300.0), StepOption("m2", 90.0)),),
    family="ceramic",
    min_batch=10,
)
TEA = ProductSpec(sku="tea", operations=((StepOption("m2", 30.0),),), replenish="off")


def _cover(sku: str = "cup", *, location: str = "s/w1", stock: int = 2) -> StockCover:
    return StockCover(
        sku=sku,
        location=location,
        stock=stock,
        horizon_days=28,
        expected_days=5,
        p90_days=1,
        at_risk=True,
        order_up_to=stock + 24,
        proposed=24,
        method="ma28",
    )


def test_a_database_with_the_unread_last_qty_column_keeps_its_open_jobs(tmp_path: Path) -> None:
    """m018 drops `last_qty` from a database made before it: the open replenishment and its
    received count come back, and counting goes on."""
    [new] = jobs_to_submit(
        [_cover()], {"cup": CUP}, [], now_ms=1_000, lead_time_days=2.0, next_seq=4
    )
    with closing(SqliteStore(tmp_path / "c.db")) as store:
        store.plan_state().save_replenishment(new.order, new.record)
        store.plan_state().update_replenishments([replace(new.record, received=5)])
    db = Database(tmp_path / "c.db")  # as the version before m018 left it
    db.execute("ALTER TABLE plan_replenishments ADD COLUMN last_qty INTEGER NOT NULL DEFAULT 7")
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm018_replenishment_without_last_qty'")
    db.conn.commit()
    db.close()
    with closing(SqliteStore(tmp_path / "c.db")) as store:
        assert store.plan_state().load().replenishments == (replace(new.record, received=5),)
        store.plan_state().update_replenishments([replace(new.record, received=9)])
        assert store.plan_state().load().replenishments == (replace(new.record, received=9),)
    with closing(Database(tmp_path / "c.db")) as db:
        assert "last_qty" not in db["plan_replenishments"].columns_dict


def test_products_and_replenishments_round_trip(reopen: Reopen) -> None:
    """Recipes come back as saved; a replenishment is stored with its held job, its counts
    are updated, a second open one for the same shelf is refused, and closing it forgets
    the job and the record but not the sequence number."""
    assert reopen().load().products == ()
    reopen().save_products([CUP, TEA], at_ms=1)
    assert reopen().load().products == (CUP, TEA)
    [new] = jobs_to_submit(
        [_cover()], {"cup": CUP}, [], now_ms=1_000, lead_time_days=2.0, next_seq=4
    )
    reopen().save_replenishment(new.order, new.record)
    saved = reopen().load()
    assert (saved.jobs, saved.replenishments, saved.replenish_seq) == (
        (new.order,),
        (new.record,),
        4,
    )
    counted = replace(new.record, received=5)
    reopen().update_replenishments([counted])
    assert reopen().load().replenishments == (counted,)
    [twin] = jobs_to_submit(
        [_cover()], {"cup": CUP}, [], now_ms=2_000, lead_time_days=2.0, next_seq=5
    )
    with pytest.raises(StoreError):
        reopen().save_replenishment(twin.order, twin.record)
    assert reopen().load().replenish_seq == 4
    state = reopen()
    assert state.close_replenishments([new.record.id, "nope"], reason="received", at_ms=3) == (
        frozenset({new.record.id}),
        frozenset({new.record.id}),
    )
    saved = reopen().load()
    assert (saved.jobs, saved.replenishments, saved.replenish_seq) == ((), (), 4)


def _runner(
    state: PlanState | None = None,
    *,
    auto_replenish: bool = True,
    store: SqliteStore | None = None,
) -> tuple[PlanRunner, FakeClock]:
    clock = FakeClock()
    runner = PlanRunner(
        clock=clock,
        commands=command_log(InMemoryPublisher(), clock),
        state=state or MemoryPlanState(),
        time_limit_s=1.0,
        seed=1,
        auto_replenish=auto_replenish,
    )
    if store is not None:
        runner.received = store.job_store().received
    runner.apply([MachineSeen("s", "m1"), MachineSeen("s", "m2"), DepotSeen("s", "w1")])
    runner.restore_saved()
    return runner, clock


def _receipt(runner: PlanRunner, store: SqliteStore, transfer: str, qty: int) -> None:
    """A warehouse receipt committed by ingest, then the commit listener."""
    batch = WriteBatch(
        receipts=(Receipt("s", "w1", transfer, "cup", qty, 0),),
        fleet_facts=(FleetFact("s", "w1", "received", transfer),),
    )
    store.commit(batch)
    runner.on_commit(BatchOutcome(batch), CommitResult(0, 0, 0, 0))
    runner.follow_fleet(batch.fleet_facts)


def test_an_at_risk_cover_is_planned_once_and_closed_by_its_receipt(tmp_path: Path) -> None:
    """The at-risk cup becomes one held job (24 units: 24 min + 5 min setup on m1) that the
    next schedule plans beside an operator's job; the same cover again adds nothing; tea
    (`off`) and mugs (no recipe) none; a stock rise without a receipt closes nothing, 24
    cups received against its transfer close it (a replayed receipt counts once) and the
    next schedule drops it; a cover still at risk then makes the next job."""
    store = SqliteStore(tmp_path / "c.db")
    runner, clock = _runner(store=store)
    runner.set_products([CUP, TEA])
    operator = JobOrder("j1", (OperationOrder({"m2": 600.0}),))
    runner.submit_orders([operator])
    covers = [("s", "w1", _cover()), ("s", "w1", _cover("tea")), ("s", "w1", _cover("mug"))]
    now = int(clock.now() * 1000)
    runner.on_covers(covers, now)
    [_, job], _ = runner.orders()
    assert job.id == "replenish-w1.cup-1"
    assert dict(job.operations[0].options) == {"m1": 24 * 60.0 + 300.0, "m2": 24 * 90.0}
    assert (job.due_ms, job.rush) == (now + DAY_MS, False)
    runner.on_covers(covers, now + 60_000)
    assert [j.id for j in runner.orders()[0]] == ["j1", job.id]
    clock.advance(5.0)
    assert runner.service.tick()
    planned = runner.schedule()["machines"]
    assert sorted(op["job_id"] for ops in planned.values() for op in ops) == ["j1", job.id]

    transfer = transfer_id(job.id)
    _receipt(runner, store, "t.someone-else", 50)  # another transfer's goods
    assert runner.replenishments()[job.id].received == 0
    _receipt(runner, store, transfer, 24)
    _receipt(runner, store, transfer, 30)  # replayed (or a second report): kept once
    assert runner.replenishments() == {}
    assert store.job_store().received([transfer]) == {transfer: 24}
    assert runner.orders() == ([operator], [])
    clock.advance(5.0)
    assert runner.service.tick()
    planned = runner.schedule()["machines"]
    assert [op["job_id"] for ops in planned.values() for op in ops] == ["j1"]
    runner.on_covers(covers, now + 120_000)  # still at risk: a new job
    assert [j.id for j in runner.orders()[0]] == ["j1", "replenish-w1.cup-2"]
    store.close()


def test_an_operator_closes_a_replenishment_and_the_prefix_is_kept(tmp_path: Path) -> None:
    """Closing the job by id forgets it (even after a restart); an operator may not post
    a job under the replenishment prefix."""
    with closing(SqliteStore(tmp_path / "c.db")) as store:
        runner, clock = _runner(store.plan_state())
        runner.set_products([CUP])
        runner.on_covers([("s", "w1", _cover())], int(clock.now() * 1000))
        closed = runner.close_orders(["replenish-w1.cup-1"], [])
        assert (closed.jobs, closed.unknown_jobs) == (["replenish-w1.cup-1"], [])
        again, _ = _runner(store.plan_state())
        assert (again.orders(), again.replenishments()) == (([], []), {})
        with pytest.raises(OrderRejected) as refused:
            again.submit_orders([JobOrder("replenish-x-1", (OperationOrder({"m1": 60.0}),))])
        assert refused.value.field == "jobs[0].id"


def test_a_restarted_runner_keeps_the_open_job_and_does_not_submit_it_again(
    tmp_path: Path,
) -> None:
    """On the same database a new runner holds the open job, and the same at-risk cover
    submits nothing new; recipes come back too; a receipt committed while no runner
    listened (it died in between) closes the job on the next start."""
    with closing(SqliteStore(tmp_path / "c.db")) as store:
        first, clock = _runner(store.plan_state(), store=store)
        first.set_products([CUP])
        first.on_covers([("s", "w1", _cover())], int(clock.now() * 1000))
        second, clock = _runner(store.plan_state(), store=store)
        assert second.products() == [CUP]
        assert [j.id for j in second.orders()[0]] == ["replenish-w1.cup-1"]
        second.on_covers([("s", "w1", _cover())], int(clock.now() * 1000))
        assert [j.id for j in second.orders()[0]] == ["replenish-w1.cup-1"]
        transfer = transfer_id("replenish-w1.cup-1")
        store.commit(WriteBatch(receipts=(Receipt("s", "w1", transfer, "cup", 24, 1),)))
        third, _ = _runner(store.plan_state(), store=store)  # the receipt's listener never ran
        assert (third.replenishments(), third.orders()) == ({}, ([], []))


def test_nothing_happens_without_auto_replenish_or_with_unknown_machines() -> None:
    """`auto_replenish=False` submits nothing; a recipe naming an unknown machine is
    refused naming the field, and a SKU given twice too."""
    runner, clock = _runner(auto_replenish=False)
    runner.set_products([CUP])
    runner.on_covers([("s", "w1", _cover())], int(clock.now() * 1000))
    assert runner.orders() == ([], [])
    bad = replace(CUP, operations=((StepOption("m9", 1.0),),))
    with pytest.raises(OrderRejected) as refused:
        runner.set_products([TEA, bad])
    assert refused.value.field == "products[1].operations[0].options"
    with pytest.raises(OrderRejected) as twice:
        runner.set_products([CUP, CUP])
    assert twice.value.field == "products[1].sku"
    assert runner.products() == [CUP]


def test_a_made_replenishment_is_carried_to_its_shelf_and_closes_on_the_receipt_once(
    tmp_path: Path,
) -> None:
    """Once its machines made it, a replenishment job's good units become a pickup at the
    factory for a van of the shelf it replenishes (the job stays open: made is not
    received); the receipt against its transfer closes it, a replayed one changes nothing."""
    from coordinator.plan.orders.specs import DeliveryOrder, DepotSpec, VehicleSpec
    from coordinator.transfers import Origin, destination, transfer_pickup

    store = SqliteStore(tmp_path / "c.db")
    runner, clock = _runner(store=store)
    runner.set_fleet([DepotSpec("w1", 0, 0, lat=29.31, lon=120.07)], [VehicleSpec("v1", "w1", 100)])
    runner.set_products([CUP])
    runner.on_covers([("s", "w1", _cover())], int(clock.now() * 1000))
    [job_id] = runner.replenishments()

    def carry(job: str) -> DeliveryOrder | None:
        shelves = {k: r.node for k, r in runner.replenishments().items()}
        depot = destination(
            job, depots=runner.depots(), shelves=shelves, order_destination=lambda _o: None
        )
        origin = Origin(job, "cup", 23, (29.28, 120.02))  # 23 good of 24
        return None if depot is None else transfer_pickup(origin, depot_id=depot, service_s=60)

    runner.carry = carry
    runner.jobs_produced([job_id])
    [pickup] = runner.orders()[1]
    assert (pickup.id, pickup.action, pickup.depot_id, pickup.demand) == (
        transfer_id(job_id), "pickup", "w1", 23,
    )  # fmt: skip
    assert job_id in runner.replenishments()
    _receipt(runner, store, transfer_id(job_id), 23)
    _receipt(runner, store, transfer_id(job_id), 23)  # replayed
    assert runner.replenishments() == {}
    assert runner.orders()[1] == []  # the receipt is the pickup done: its stop closes too
    assert store.job_store().received([transfer_id(job_id)]) == {transfer_id(job_id): 23}
    store.close()


def test_a_pickup_received_while_the_coordinator_was_down_closes_at_restart(
    tmp_path: Path,
) -> None:
    """A held pickup whose receipt was stored but never acted on (killed in between) is
    closed when the planner takes back its saved orders; other deliveries stay held."""
    from coordinator.plan.orders.specs import DeliveryOrder, DepotSpec, VehicleSpec

    store = SqliteStore(tmp_path / "c.db")
    runner, _clock = _runner(state=store.plan_state(), store=store)
    runner.set_fleet([DepotSpec("w1", 0, 0, lat=29.31, lon=120.07)], [VehicleSpec("v1", "w1", 100)])
    pickup = DeliveryOrder("t.sales.o-1.0.0", 0, 0, demand=3, lat=29.28, lon=120.02,
                           action="pickup", depot_id="w1")  # fmt: skip
    drop = DeliveryOrder("ship.o-2", 0, 0, demand=1, lat=29.30, lon=120.05)
    runner.submit_orders([], [pickup, drop])
    store.commit(WriteBatch(receipts=(Receipt("s", "w1", pickup.id, "cup", 3, 0),)))  # no listener
    assert [d.id for d in runner.orders()[1]] == [pickup.id, drop.id]
    again, _ = _runner(state=store.plan_state(), store=store)
    again.apply([DepotSeen("s", "w1")])
    again.restore_saved()
    assert [d.id for d in again.orders()[1]] == [drop.id]
    store.close()
