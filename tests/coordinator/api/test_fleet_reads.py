"""Fleet-wide reads on a shared PostgreSQL: a coordinator owning some sites answers
`/api/v1/nodes` for every site (its own from its twin, the others' from the database), and
a standby answers them all from the database while leading nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from coordinator.api.app import create_app
from coordinator.settings import load_settings
from tests.coordinator.conftest import T0_MS, Node, feed, serve
from tests.waiting import wait_until


def _app(postgres_url: str, tmp_path: Path, name: str, **overrides: Any) -> FastAPI:
    """An app on the shared database that does not connect to a broker."""
    settings = load_settings(
        dev_mode=True,
        db_path=tmp_path / f"{name}.db",
        db_url=postgres_url,
        broker_url="mqtt://127.0.0.1:1",
        **overrides,
    )
    return create_app(settings, start_service=False)


@pytest.fixture
def two_sites(postgres_url: str, tmp_path: Path) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """Coordinators of site `sa` (machine m1, one sample) and site `sb` (warehouse w1),
    each fed its own nodes' messages."""
    apps = [
        _app(postgres_url, tmp_path, "a", coordinator_id="ca", sites=("sa",)),
        _app(postgres_url, tmp_path, "b", coordinator_id="cb", sites=("sb",)),
    ]
    with ExitStack() as stack:
        clients = [
            stack.enter_context(httpx.Client(base_url=stack.enter_context(serve(app))))
            for app in apps
        ]
        m1, w1 = Node(site="sa", node="m1"), Node(site="sb", node="w1")
        feed(apps[0].state.coordinator, m1.birth(), m1.telemetry(("temp", T0_MS, 21.5)))
        feed(apps[1].state.coordinator, w1.birth(node_kind="warehouse"))
        for app in apps:  # started by `Coordinator.start`, which these apps do not call
            app.state.coordinator.alarm_board.start()
        apps[1].state.alarms.raise_alarm(
            site="sb", source="w1", alarm_type="stock_low", severity="MAJOR",
            message="cups low", ts_ms=T0_MS,
        )  # fmt: skip
        apps[0].state.alarms.raise_alarm(
            site="sa", source="m1", alarm_type="overheat", severity="MINOR",
            message="hot", ts_ms=T0_MS + 1,
        )  # fmt: skip
        yield clients[0], clients[1]


def test_each_coordinator_lists_the_nodes_of_every_site(
    two_sites: tuple[httpx.Client, httpx.Client],
) -> None:
    """Both coordinators list sa/m1 and sb/w1, with the other's counters from the database."""
    for client in two_sites:
        nodes = client.get("/api/v1/nodes").json()
        assert [(n["site"], n["node"], n["last_seq"]) for n in nodes] == [
            ("sa", "m1", 1),
            ("sb", "w1", 0),
        ]
        assert client.get("/api/v1/nodes", params={"site": "sb"}).json()[0]["node"] == "w1"


def test_one_node_of_another_coordinators_site_with_its_latest_values(
    two_sites: tuple[httpx.Client, httpx.Client],
) -> None:
    """sa's coordinator answers sb's w1 (its kind) and sb's answers sa's m1 (its latest
    sample); an unknown node is still 404."""
    a, b = two_sites
    w1 = a.get("/api/v1/nodes/w1").json()
    assert (w1["site"], w1["kind"]) == ("sb", "warehouse")
    m1 = b.get("/api/v1/nodes/m1").json()
    assert [(s["name"], s["value"]) for s in m1["signals"]] == [("temp", 21.5)]
    assert a.get("/api/v1/nodes/nobody").status_code == 404


def test_each_coordinator_lists_the_alarms_of_every_site(
    two_sites: tuple[httpx.Client, httpx.Client],
) -> None:
    """Each coordinator lists its own alarm and the other's (from the shared board), newest
    first, filtered like its own; an acknowledgement on sb reaches sa's list."""
    a, b = two_sites

    def listed(client: httpx.Client, **params: str) -> list[tuple[str, str, str]]:
        body = client.get("/api/v1/alarms", params=params).json()
        return [(x["site"], x["alarm_type"], x["status"]) for x in body]

    both = [("sa", "overheat", "ACTIVE_UNACK"), ("sb", "stock_low", "ACTIVE_UNACK")]
    wait_until(lambda: listed(a) == both)
    wait_until(lambda: listed(b) == both)
    assert listed(a, severity="MAJOR") == [both[1]]
    assert listed(b, site="sa") == [both[0]]
    alarm_id = b.get("/api/v1/alarms", params={"site": "sb"}).json()[0]["alarm_id"]
    assert b.post(f"/api/v1/alarms/{alarm_id}/ack").status_code == 200
    wait_until(lambda: listed(a, site="sb") == [("sb", "stock_low", "ACTIVE_ACK")])


def test_standby_serves_reads_from_the_database_and_leads_once_the_lock_is_free(
    postgres_url: str, tmp_path: Path
) -> None:
    """Two apps of one coordinator id with the leader lock: the second stands by (role,
    nodes and the alarm list from the database, 503 for what only a leader has) and leads
    once the first has stopped."""
    leader_app = _app(postgres_url, tmp_path, "l", coordinator_id="cl", leader_lock=True)
    standby_app = _app(
        postgres_url, tmp_path, "l", coordinator_id="cl", leader_lock=True, leader_poll_s=0.05
    )
    with ExitStack() as stack:
        standby_url = ""
        with serve(leader_app) as leader_url, httpx.Client(base_url=leader_url) as leader:
            assert leader.get("/healthz").json()["role"] == "leader"
            feed(leader_app.state.coordinator, Node(site="s1", node="m1").birth())
            leader_app.state.coordinator.alarm_board.start()  # as `start` would
            alarm = leader_app.state.alarms.raise_alarm(
                site="s1", source="m1", alarm_type="overheat", severity="MAJOR",
                message="hot", ts_ms=T0_MS,
            )  # fmt: skip
            standby_url = stack.enter_context(serve(standby_app))
            with httpx.Client(base_url=standby_url) as standby:
                health = standby.get("/healthz")
                assert health.status_code == 200
                assert (health.json()["role"], health.json()["ingest_running"]) == (
                    "standby",
                    False,
                )
                assert [n["node"] for n in standby.get("/api/v1/nodes").json()] == ["m1"]
                assert standby.get("/api/v1/nodes/m1").json()["last_seq"] == 0
                wait_until(
                    lambda: (
                        [a["alarm_id"] for a in standby.get("/api/v1/alarms").json()]
                        == [alarm.alarm_id]
                    )
                )
                detail = f"/api/v1/alarms/{alarm.alarm_id}"  # the leader's file only
                for path in (detail, "/metrics", "/api/v1/plans/schedule"):
                    answer = standby.get(path)
                    assert answer.status_code == 503, path
                telemetry = standby.get("/api/v1/nodes/m1/telemetry", params={"signal": "temp"})
                assert (telemetry.status_code, telemetry.json()["error"]) == (503, "StandingBy")
        # the leader stopped: its lock released, the standby takes over
        with httpx.Client(base_url=standby_url) as standby:
            wait_until(lambda: standby.get("/healthz").json()["role"] == "leader", 30)
            assert standby_app.state.coordinator is not None
            assert standby_app.state.coordinator.twin.node("m1").last_seq == 0
