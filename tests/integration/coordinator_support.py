"""An in-process coordinator on the test broker, for the integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from coordinator.api.app import create_app
from coordinator.settings import CoordinatorSettings, load_settings
from fleet_runtime.clock import Clock
from flexfleet.broker import Broker
from tests.coordinator.conftest import serve
from tests.waiting import wait_until


def coordinator_settings(
    broker: Broker, tmp_path: Path, site: str, **overrides: Any
) -> CoordinatorSettings:
    """Dev-mode settings for a coordinator of its own (database, id and share group) on
    the test broker, with `overrides`."""
    return load_settings(
        dev_mode=True,
        db_path=tmp_path / "c.db",
        broker_url=broker.url,
        coordinator_id=f"coord-{site}",
        share_group=f"g{site}",
        **overrides,
    )


@contextmanager
def coordinator_api(
    settings: CoordinatorSettings, *, timeout_s: float = 10.0, clock: Clock | None = None
) -> Iterator[httpx.Client]:
    """The coordinator's app served on a free port (on `clock`, default wall time), once
    `/healthz` answers 200."""
    with (
        serve(create_app(settings, clock=clock)) as url,
        httpx.Client(base_url=url, timeout=timeout_s) as c,
    ):
        wait_until(lambda: c.get("/healthz").status_code == 200)
        yield c
