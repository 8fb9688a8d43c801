"""The console with a fleet too big to label: 150 nodes on 3 sites fed through ingest and
a restored schedule of 600 operations, on a coordinator without a broker. The map draws
every node (compact, each still named), the Gantt chart every operation."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from coordinator.api.app import create_app
from coordinator.plan.schedule.problem import Schedule, ScheduledOperation
from coordinator.plan.state import PlanMade
from coordinator.settings import load_settings
from protocol import Birth, SignalSpec
from protocol.messages import NodeKind
from tests.browser.console_page import Console
from tests.coordinator.conftest import feed, serve

pytestmark = pytest.mark.slow

NODES = 150
OPERATIONS = 600


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, httpx.Client]]:
    """A dev-mode coordinator (no broker) holding NODES nodes and an OPERATIONS schedule."""
    settings = load_settings(
        dev_mode=True,
        db_path=tmp_path_factory.mktemp("console-scale") / "c.db",
        broker_url="mqtt://127.0.0.1:1",
    )
    app: Any = create_app(settings, start_service=False)
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as api:
        now = int(time.time() * 1000)
        births = []
        for i in range(NODES):
            kind: NodeKind = "machine" if i % 3 else "warehouse"
            births.append(
                Birth(site=f"s{i % 3}", node=f"n{i:03d}", bd_seq=0, seq=0, ts=now,
                      node_kind=kind, signals=(SignalSpec(name="t", unit="degC"),))
            )  # fmt: skip
        feed(app.state.coordinator, *births)
        ops = tuple(
            ScheduledOperation(f"j{k}:0", f"j{k}", f"n{k % 20:03d}", 10 * (k // 20), 10 * (k // 20) + 8)
            for k in range(OPERATIONS)
        )  # fmt: skip
        schedule = Schedule(ops, max(o.end for o in ops), 0, 0)
        app.state.plans.service.restore([PlanMade("schedule", 1, now, (), time.time(), schedule)])
        yield url, api


def test_a_large_fleet_is_drawn_whole(browser: Any, big: tuple[str, httpx.Client]) -> None:
    """One map-node per node (compact: no labels, each with its accessible name) and one
    gantt-op per scheduled operation."""
    url, api = big
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = Console(context.new_page(), url)
    try:
        tab.open("fleet")
        nodes = api.get("/api/v1/nodes").json()
        assert tab.count("map-node") == len(nodes) == NODES
        assert tab.page.locator("svg.map .node-label").count() == 0
        named = tab.page.locator("[data-testid=map-node][aria-label='machine n001 at s1, online']")
        assert named.count() == 1
        tab.open("production")
        served = api.get("/api/v1/plans/schedule").json()
        assert tab.count("gantt-op") == sum(len(v) for v in served["machines"].values())
        assert tab.count("gantt-op") == OPERATIONS
    finally:
        context.close()
    assert tab.errors == []
