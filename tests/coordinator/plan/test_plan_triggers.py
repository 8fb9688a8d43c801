"""Ingest → planning inputs (`TriggerMapper`) and the coordinator's `PlanRunner`: orders in,
plan updates out as validated `schedule` commands."""

from __future__ import annotations

import pytest

from coordinator.ingest.records import (
    Accepted,
    AgentEvent,
    BatchOutcome,
    NodeCameOnline,
    NodeWentOffline,
    StockChanged,
    WriteBatch,
)
from coordinator.notify.publisher import InMemoryPublisher
from coordinator.plan.errors import OrderRejected
from coordinator.plan.runner import (
    DeliveryOrder,
    DepotSpec,
    JobOrder,
    OperationOrder,
    PlanRunner,
    VehicleSpec,
)
from coordinator.plan.triggers import (
    DepotSeen,
    MachineDown,
    MachineSeen,
    MachineUp,
    StockoutRisk,
    TriggerMapper,
)
from fleet_runtime.clock import FakeClock
from protocol import Birth, Command, Event, RouteUpdate, ScheduleUpdate, decode, plan_update
from tests.coordinator.conftest import command_log

T0 = 1_700_000_000_000


def _birth(node: str, kind: str = "machine") -> Accepted:
    message = Birth(site="s", node=node, bd_seq=0, seq=0, ts=T0, node_kind=kind)  # type: ignore[arg-type]
    return Accepted(message, T0)


def _outcome(
    *accepted: Accepted,
    happenings: tuple[object, ...] = (),
    states: dict[str, float] | None = None,
) -> BatchOutcome:
    latest = tuple(("s", node, {"state": (T0, code)}) for node, code in (states or {}).items())
    return BatchOutcome(
        batch=WriteBatch(accepted=accepted, latest=latest),
        happenings=happenings,  # type: ignore[arg-type]
    )


def _mapper(threshold: int | None = 5) -> TriggerMapper:
    return TriggerMapper(stock_threshold_for=lambda sku: {"rare": 2}.get(sku, threshold))


def test_births_make_machines_and_depots_known_once() -> None:
    """A machine's birth is `MachineSeen`, a warehouse's `DepotSeen`, once; gateways and
    re-births add nothing."""
    mapper = _mapper()
    first = _outcome(_birth("m1"), _birth("w1", "warehouse"), _birth("g1", "gateway"))
    assert mapper.map(first) == [MachineSeen("s", "m1"), DepotSeen("s", "w1")]
    assert mapper.map(_outcome(_birth("m1"), _birth("w1", "warehouse"))) == []


def test_down_state_in_telemetry_takes_a_machine_down_and_back_up() -> None:
    """State code 3 (DOWN) is `MachineDown`; another code afterwards is `MachineUp`."""
    mapper = _mapper()
    mapper.map(_outcome(_birth("m1")))
    assert mapper.map(_outcome(states={"m1": 2.0})) == []
    assert mapper.map(_outcome(states={"m1": 3.0})) == [MachineDown("s", "m1", ("state",))]
    assert mapper.map(_outcome(states={"m1": 3.0})) == []
    assert mapper.map(_outcome(states={"m1": 0.0})) == [MachineUp("s", "m1")]


def test_state_of_an_unknown_node_is_ignored() -> None:
    """A `state` signal from a node that never announced itself as a machine maps to nothing."""
    assert _mapper().map(_outcome(states={"x": 3.0})) == []


def test_machine_node_death_is_down_until_it_is_back_and_not_down() -> None:
    """Offline and DOWN are two causes: the machine is up only when neither holds."""
    mapper = _mapper()
    mapper.map(_outcome(_birth("m1")))
    offline = NodeWentOffline("s", "m1", "death", T0)
    assert mapper.map(_outcome(happenings=(offline,))) == [MachineDown("s", "m1", ("offline",))]
    assert mapper.map(_outcome(states={"m1": 3.0})) == []
    assert mapper.map(_outcome(happenings=(NodeCameOnline("s", "m1", T0),))) == []
    assert mapper.map(_outcome(states={"m1": 2.0})) == [MachineUp("s", "m1")]


def test_death_and_rebirth_in_one_batch_do_not_flap() -> None:
    """Only the net change over a batch is reported."""
    mapper = _mapper()
    mapper.map(_outcome(_birth("m1")))
    flap = (NodeWentOffline("s", "m1", "death", T0), NodeCameOnline("s", "m1", T0))
    assert mapper.map(_outcome(happenings=flap)) == []


def test_offline_warehouse_is_not_a_machine_down() -> None:
    """Liveness of nodes that are not machines does not touch the plan."""
    mapper = _mapper()
    assert mapper.map(_outcome(happenings=(NodeWentOffline("s", "w1", "inactive", T0),))) == []


def test_restore_knows_machines_and_starts_offline_ones_down() -> None:
    """Machines and warehouses from the store join; an offline machine is down at once."""
    mapper = _mapper()
    known = [
        ("s", "m1", "machine", True),
        ("s", "m2", "machine", False),
        ("s", "w1", "warehouse", False),
    ]
    assert mapper.restore(known) == [
        MachineSeen("s", "m1"),
        MachineSeen("s", "m2"),
        DepotSeen("s", "w1"),
        MachineDown("s", "m2", ("offline",)),
    ]


def test_stock_below_threshold_is_a_stockout_risk_once_per_fall() -> None:
    """Falling below the threshold triggers once; back at the threshold re-arms it."""
    mapper = _mapper()

    def stock(sku: str, qty: int) -> list[object]:
        return list(mapper.map(_outcome(happenings=(StockChanged("s", "w1", sku, qty, T0),))))

    assert stock("a", 9) == []
    assert stock("a", 4) == [StockoutRisk("s", "w1", "a", 4, 5)]
    assert stock("a", 1) == []
    assert stock("a", 5) == []
    assert stock("a", 0) == [StockoutRisk("s", "w1", "a", 0, 5)]
    assert stock("rare", 2) == []
    assert stock("rare", 1) == [StockoutRisk("s", "w1", "rare", 1, 2)]


def test_unwatched_stock_never_triggers() -> None:
    """With no threshold for a SKU, no quantity is a risk."""
    mapper = _mapper(threshold=None)
    assert mapper.map(_outcome(happenings=(StockChanged("s", "w1", "a", 0, T0),))) == []


@pytest.fixture
def runner() -> PlanRunner:
    """A runner on a fake clock with machines m1, m2 and warehouse w1 of site s (no thread
    started)."""
    clock = FakeClock()
    plan = PlanRunner(clock=clock, commands=command_log(clock=clock), time_limit_s=1.0)
    plan.apply([MachineSeen("s", "m1"), MachineSeen("s", "m2"), DepotSeen("s", "w1")])
    return plan


def test_orders_become_jobs_in_plan_units(runner: PlanRunner) -> None:
    """Durations round up to whole units; due and release times are relative to now."""
    now_ms = int(runner.clock.now() * 1000)
    runner.submit_orders(
        [
            JobOrder(
                "j1",
                (OperationOrder({"m1": 61.0, "m2": 60.0}), OperationOrder({"m2": 1.0})),
                due_ms=now_ms + 3_600_000,
                release_ms=now_ms - 60_000,
                weight=3,
            )
        ]
    )
    job = runner.service._jobs["j1"]
    assert [o.id for o in job.operations] == ["j1:0", "j1:1"]
    assert [(o.machine_id, o.duration) for o in job.operations[0].options] == [
        ("m1", 2),
        ("m2", 1),
    ]
    assert job.operations[1].options[0].duration == 1
    assert (job.due, job.release, job.weight, job.rush) == (60, 0, 3, False)


def test_orders_naming_unknown_machines_or_repeating_ids_are_refused(runner: PlanRunner) -> None:
    """Nothing of a bad batch is taken, and the error names the offending field."""
    with pytest.raises(OrderRejected, match="unknown machine 'm9'") as err:
        runner.submit_orders([JobOrder("a", (OperationOrder({"m9": 5.0}),))])
    assert err.value.field == "jobs[0].operations[0].options"
    twice = JobOrder("a", (OperationOrder({"m1": 5.0}),))
    with pytest.raises(OrderRejected, match="appears twice"):
        runner.submit_orders([twice, twice])
    assert runner.service._jobs == {}


def test_a_new_plan_is_sent_as_schedule_commands(runner: PlanRunner) -> None:
    """Each machine whose sequence changed gets a valid `schedule` command on its topic."""
    publisher = runner.commands.publisher
    assert isinstance(publisher, InMemoryPublisher)
    runner.submit_orders(
        [JobOrder(f"j{k}", (OperationOrder({"m1": 600.0, "m2": 600.0}),)) for k in range(2)]
    )
    assert isinstance(runner.clock, FakeClock)
    runner.clock.advance(5.0)
    assert runner.service.tick() is True
    assert sorted(publisher.topics()) == ["ff/v1/s/m1/cmd/schedule", "ff/v1/s/m2/cmd/schedule"]
    for sent in publisher.messages:
        command = decode(sent.topic, sent.payload)
        assert isinstance(command, Command)
        update = plan_update(command)
        assert isinstance(update, ScheduleUpdate)
        assert update.version == 1
        assert update.epoch_ms == T0
        assert len(update.added) == 1
    schedule = runner.schedule()
    assert {"kind": "new_orders", "key": "batch"} in schedule["triggers"]
    assert schedule["made_ms"] == T0 + 5000


def test_schedule_commands_say_how_many_of_which_family_to_make(runner: PlanRunner) -> None:
    """Each planned operation carries its job's quantity and its step's family, so a
    machine executing its schedule knows what to make; a job without them sends neither."""
    publisher = runner.commands.publisher
    assert isinstance(publisher, InMemoryPublisher)
    runner.submit_orders(
        [
            JobOrder("q", (OperationOrder({"m1": 600.0}, family="red"),), quantity=40),
            JobOrder("p", (OperationOrder({"m2": 600.0}),)),
        ]
    )
    assert isinstance(runner.clock, FakeClock)
    runner.clock.advance(5.0)
    assert runner.service.tick() is True
    made = {}
    for sent in publisher.messages:
        update = plan_update(decode(sent.topic, sent.payload))  # type: ignore[arg-type]
        assert isinstance(update, ScheduleUpdate)
        made.update({op.operation_id: (op.quantity, op.family) for op in update.operations})
    assert made == {"q:0": (40, "red"), "p:0": (None, None)}


def test_state_change_events_take_a_machine_down_and_back_up() -> None:
    """A `state_change` event to DOWN is `MachineDown`; one to another state is `MachineUp`."""
    mapper = _mapper()
    mapper.map(_outcome(_birth("m1")))

    def change(to: str, name: str = "state_change") -> list[object]:
        event = Event(
            site="s", node="m1", bd_seq=0, seq=1, ts=T0, name=name, data={"from": "RUN", "to": to}
        )
        return list(mapper.map(_outcome(happenings=(AgentEvent(event),))))

    assert change("DOWN", name="overheat") == []
    assert change("DOWN") == [MachineDown("s", "m1", ("state",))]
    assert change("IDLE") == [MachineUp("s", "m1")]


def test_fleet_must_use_known_warehouses_and_declared_depots(runner: PlanRunner) -> None:
    """Depots are known micro-warehouses; vehicles sit at declared depots; ids are unique."""
    w1 = DepotSpec("w1", 0.0, 0.0)
    with pytest.raises(OrderRejected, match="no known micro-warehouse") as err:
        runner.set_fleet([DepotSpec("w9", 0.0, 0.0)], [])
    assert err.value.field == "depots[0].id"
    with pytest.raises(OrderRejected, match="undeclared depot"):
        runner.set_fleet([w1], [VehicleSpec("v1", "w2", 10)])
    with pytest.raises(OrderRejected, match="appears twice"):
        runner.set_fleet([w1, w1], [])
    with pytest.raises(OrderRejected, match="negative capacity"):
        runner.set_fleet([w1], [VehicleSpec("v1", "w1", -1)])
    now_ms = int(runner.clock.now() * 1000)
    with pytest.raises(OrderRejected, match="closes before it opens"):
        runner.set_fleet([DepotSpec("w1", 0, 0, open_ms=now_ms + 600_000, close_ms=now_ms)], [])


def test_deliveries_are_checked_as_one_batch_with_the_jobs(runner: PlanRunner) -> None:
    """A bad delivery refuses the whole batch, jobs included."""
    job = JobOrder("j1", (OperationOrder({"m1": 60.0}),))
    now_ms = int(runner.clock.now() * 1000)
    late = DeliveryOrder("o1", 1.0, 1.0, 1, ready_ms=now_ms + 600_000, due_ms=now_ms)
    for bad, problem in (
        ([late], "window closes before it opens"),
        ([DeliveryOrder("w1", 1.0, 1.0, 1)], "is a depot's id"),
        ([DeliveryOrder("o1", 1.0, 1.0, 1)] * 2, "appears twice"),
    ):
        with pytest.raises(OrderRejected, match=problem):
            runner.submit_orders([job], bad)
    assert runner.service._jobs == {}
    assert runner.service._orders == {}


def test_routes_are_planned_and_sent_to_the_depot(runner: PlanRunner) -> None:
    """Delivery orders are routed from the depot; its agent gets a valid `route` command."""
    publisher = runner.commands.publisher
    assert isinstance(publisher, InMemoryPublisher)
    runner.set_fleet([DepotSpec("w1", 0.0, 0.0)], [VehicleSpec("v1", "w1", 10)])
    taken = runner.submit_orders(
        [], [DeliveryOrder("o1", 3.0, 4.0, 2, service_s=60.0), DeliveryOrder("o2", 3.0, 0.0, 2)]
    )
    assert (taken.jobs, taken.deliveries) == ([], ["o1", "o2"])
    assert isinstance(runner.clock, FakeClock)
    runner.clock.advance(5.0)
    assert runner.service.tick() is True
    routes = runner.routes()
    assert [sorted(r["stops"]) for r in routes["routes"]] == [["o1", "o2"]]
    assert routes["unserved"] == []
    [sent] = publisher.messages
    command = decode(sent.topic, sent.payload)
    assert isinstance(command, Command)
    assert sent.topic == "ff/v1/s/w1/cmd/route"
    update = plan_update(command)
    assert isinstance(update, RouteUpdate)
    assert (update.vehicle_id, update.depot_id, sorted(map(str, update.stops))) == (
        "v1",
        "w1",
        ["o1", "o2"],
    )
