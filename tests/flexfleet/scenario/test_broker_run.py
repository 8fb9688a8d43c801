"""Scenario runs through a real Mosquitto: the same KPIs as in-process, facts on the wire."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flexfleet.broker import Broker
from flexfleet.scenario.broker_link import BrokerLink, WireError, WireStats, parse_broker_url
from flexfleet.scenario.broker_policy import BrokerPolicy
from flexfleet.scenario.demand import draw_orders
from flexfleet.scenario.drills import parse_drill
from flexfleet.scenario.flexfleet_policy import FlexfleetPolicy
from flexfleet.scenario.kpis import KEYS
from flexfleet.scenario.run import START_S, run_scenario
from flexfleet.scenario.schema import load_scenario
from flexfleet.scenario.world import World

SMALL = str(Path(__file__).with_name("small.toml"))
WALL_CLOCK_KEYS = ("replan_p99_s",)  # measured in wall time: the only figures that vary


def _stable(result: dict[str, Any]) -> str:
    data = dict(result)
    data.pop("wall_s")
    data["kpis"] = {k: v for k, v in result["kpis"].items() if k not in WALL_CLOCK_KEYS}
    return json.dumps(data, sort_keys=True)


def test_flexfleet_through_the_broker_equals_in_process(broker: Broker) -> None:
    """One day of flexfleet with a breakdown and a fire: the broker's JSON is the in-process one."""
    scenario = load_scenario(SMALL)
    drills = [parse_drill(d, days=1) for d in ("machine-breakdown@0", "warehouse-fire@0")]
    stats: list[WireStats] = []
    common: dict[str, Any] = {"policy": "flexfleet", "days": 1, "seed": 2, "drills": drills}
    inside = run_scenario(scenario, time_limit_s=0.2, **common)
    wired = run_scenario(
        scenario, time_limit_s=0.2, broker=broker.url, on_wire=stats.append, **common
    )
    assert set(wired["kpis"]) == set(inside["kpis"]) >= set(KEYS)
    assert _stable(wired) == _stable(inside)
    assert inside["kpis"]["orders"] > 20
    # every kind of fact crossed; births for every node
    wire = stats[0]
    assert set(wire.by_fact) >= {
        "operation_finished", "machine_down", "receipt", "stop_arrived", "stop_delivered",
        "consignment_lost", "stock:count", "stock:pick", "stock:fire",
    }  # fmt: skip
    assert wire.by_fact["stock:count"] == 2  # one snapshot per shelf
    assert wire.commands > 0  # the machines ran the schedules they received
    assert wire.messages == sum(wire.by_fact.values())
    assert wire.births == 3 + 2 * 2  # 3 machines; a shelf and a van node per warehouse


def test_the_coordinator_reads_the_shelves_it_was_told(broker: Broker, tmp_path: Path) -> None:
    """Flexfleet reads stock from the fleet twin the shelves' reports keep, equal to the world's."""
    scenario = load_scenario(SMALL)
    world = World(scenario, draw_orders(scenario, days=1, seed=6), days=1, start_s=START_S)
    inner = FlexfleetPolicy(seed=6, time_limit_s=0.2)
    link = BrokerLink(host=broker.host, port=broker.port, site="s3", data_dir=tmp_path)
    policy = BrokerPolicy(inner, link)
    try:
        world.run(policy)
        assert inner.shelves is not None
        for w in world.warehouses:
            told = {sku: n for sku, n in inner.shelves(w).items() if n}
            assert told == {sku: n for sku, n in world.on_hand[w].items() if n}
            assert told  # the shelves are not empty: the comparison means something
        assert link.stats.by_fact["stock:pick"] > 0
    finally:
        link.close()


def test_baseline_through_a_private_broker_equals_in_process() -> None:
    """`--broker auto` starts its own Mosquitto; the baseline's KPIs are the same through it."""
    scenario = load_scenario(SMALL)
    stats: list[WireStats] = []
    inside = run_scenario(scenario, policy="baseline", days=1, seed=4)
    wired = run_scenario(
        scenario, policy="baseline", days=1, seed=4, broker="auto", on_wire=stats.append
    )
    assert _stable(wired) == _stable(inside)
    assert stats[0].messages > 0


def test_broker_urls_are_checked() -> None:
    """mqtt://HOST[:PORT] only; anything else is refused before a run starts."""
    assert parse_broker_url("mqtt://127.0.0.1:1999") == ("127.0.0.1", 1999)
    assert parse_broker_url("mqtt://broker.local") == ("broker.local", 1883)
    for bad in ("http://x:1", "mqtt://", "mqtt://h:99999", "mqtt://h:1/topic", "localhost:1883"):
        with pytest.raises(WireError):
            parse_broker_url(bad)


def test_an_unreachable_broker_fails_the_run(tmp_path: Path) -> None:
    """No broker on the port: the run ends with a WireError naming the URL, not a hang."""
    from flexfleet.broker import free_port

    port = free_port()
    link = BrokerLink(host="127.0.0.1", port=port, site="s1", data_dir=tmp_path)
    with pytest.raises(WireError, match=f"127.0.0.1:{port}"):
        link.open({"m1": "machine"})
    link.close()


def test_garbage_on_the_site_is_dead_lettered_not_applied(broker: Broker, tmp_path: Path) -> None:
    """Bytes that are no message, and a duplicate seq, on the run's topics never become facts."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    from protocol import Event, encode

    link = BrokerLink(host=broker.host, port=broker.port, site="s2", data_dir=tmp_path)
    try:
        link.open({"m1": "machine"})
        hostile = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
        hostile.connect(broker.host, broker.port)
        hostile.loop_start()
        # garbage, oversized, and a replay of the birth's seq 0 claiming to be an event
        for payload in (b"{not json", b"x" * 600_000):
            hostile.publish("ff/v1/s2/m1/event", payload, qos=1).wait_for_publish(5)
        forged = Event(site="s2", node="m1", bd_seq=1, seq=0, ts=1_772_409_600_000, name="x")
        hostile.publish("ff/v1/s2/m1/event", encode(forged), qos=1).wait_for_publish(5)
        outcome = link.send(
            "m1",
            lambda seq, bd: Event(
                site="s2", node="m1", bd_seq=bd, seq=seq, ts=1_772_409_600_000, name="real"
            ),
            ts_ms=1_772_409_600_000,
        )
        hostile.loop_stop()
        hostile.disconnect()
        assert [a.message.name for a in outcome.batch.accepted] == ["real"]  # type: ignore[union-attr]
        assert link.stats.dead_letters == 2
        assert link.stats.by_fact == {"real": 1}
    finally:
        link.close()


def test_a_broker_killed_mid_run_stops_the_run(broker: Broker, tmp_path: Path) -> None:
    """kill -9 of the broker mid-run ends the run with a WireError, never with made-up KPIs."""
    from protocol import Event

    def event(seq: int, bd: int) -> Event:
        return Event(site="s4", node="m1", bd_seq=bd, seq=seq, ts=1_772_409_600_000, name="x")

    link = BrokerLink(host=broker.host, port=broker.port, site="s4", data_dir=tmp_path)
    link.timeout_s = 5.0
    try:
        link.open({"m1": "machine"})
        link.send("m1", event, ts_ms=1_772_409_600_000)
        assert broker.process is not None
        broker.process.kill()
        broker.process.wait()
        with pytest.raises(WireError):
            link.send("m1", event, ts_ms=1_772_409_600_000)
        assert link.stats.by_fact == {"x": 1}  # the fact after the kill was never applied
    finally:
        link.close()


def test_a_machine_keeps_its_newest_schedule(broker: Broker, tmp_path: Path) -> None:
    """Schedules reach the machine over MQTT; garbage and an older version do not replace it."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    from protocol import Command, PlannedOperation, ScheduleUpdate, encode

    def schedule(version: int, jobs: list[tuple[str, int]]) -> dict[str, Any]:
        ops = tuple(
            PlannedOperation(operation_id=f"{j}:0", job_id=j, start=t, end=t + 1) for j, t in jobs
        )
        update = ScheduleUpdate(
            version=version, machine_id="m1", epoch_ms=1_772_409_600_000, time_unit_s=300.0,
            operations=ops,
        )  # fmt: skip
        return update.to_dict()

    link = BrokerLink(host=broker.host, port=broker.port, site="s5", data_dir=tmp_path)
    try:
        link.open({"m1": "machine"})
        assert link.queue("m1") == []
        link.command("m1", "schedule", schedule(3, [("b", 2), ("a", 5), ("c", 2)]))
        assert link.queue("m1") == ["b", "c", "a"]  # by start, then job id
        hostile = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
        hostile.connect(broker.host, broker.port)
        hostile.loop_start()
        old = Command(
            site="s5", node="m1", name="schedule", cmd_id="old", ts=1_772_409_600_000,
            args=schedule(2, [("z", 0)]),
        )  # fmt: skip
        for payload in (b"\xff\x00", encode(old)):
            hostile.publish("ff/v1/s5/m1/cmd/schedule", payload, qos=1).wait_for_publish(5)
        hostile.loop_stop()
        hostile.disconnect()
        link.command("m1", "rebirth", {})  # carries no plan: a sync point, ignored
        assert link.queue("m1") == ["b", "c", "a"]
        assert link.stats.commands == 2
    finally:
        link.close()
