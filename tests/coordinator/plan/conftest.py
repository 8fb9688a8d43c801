"""Fixtures for the planning tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from coordinator.plan.state import MemoryPlanState, PlanState
from coordinator.store.sqlite_store import SqliteStore

Reopen = Callable[[], PlanState]
"""The plan state as a restarted coordinator sees it."""


@pytest.fixture(params=["memory", "sqlite"])
def reopen(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Reopen]:
    """The state as a restarted coordinator sees it: the same object in memory, or a fresh
    store on the same SQLite file."""
    if request.param == "memory":
        state = MemoryPlanState()
        yield lambda: state
        return
    stores: list[SqliteStore] = []

    def sqlite() -> PlanState:
        for store in stores:
            store.close()
        stores.append(SqliteStore(tmp_path / "c.db"))
        return stores[-1].plan_state()

    yield sqlite
    for store in stores:
        store.close()
