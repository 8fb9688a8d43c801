"""`POST /api/v1/nodes/{node}/config` end to end: a real coordinator, a real Mosquitto and
a real agent process. A valid change is answered ok and the agent really samples at the
new interval (and keeps it); a change naming a signal the node lacks is nacked by the
agent and answered 422 with its reason."""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge_agent.outbox import Outbox
from flexfleet.broker import Broker
from tests.edge_agent.support import start_agent, stop_agent, write_config
from tests.integration.coordinator_support import coordinator_api, coordinator_settings
from tests.waiting import wait_until

pytestmark = pytest.mark.integration

SIGNALS = [f"m0{m}.{s}" for m in (1, 2) for s in ("spindle_temp_c", "vibration_rms_mm_s", "motor_current_a")]  # fmt: skip


@pytest.fixture
def api(broker: Broker, tmp_path: Path, unique_site: str) -> Iterator[httpx.Client]:
    """A coordinator connected to the test broker, with its HTTP API (dev mode)."""
    settings = coordinator_settings(broker, tmp_path, unique_site)
    with coordinator_api(settings, timeout_s=40) as client:
        yield client


def _sample_times(api: httpx.Client, site: str, start: int, end: int) -> list[int]:
    """Distinct sample timestamps of the analog signals stored between start and end (one
    sampling tick gives one timestamp, whichever signals passed the deadband)."""
    times: set[int] = set()
    for signal in SIGNALS:
        response = api.get(
            "/api/v1/nodes/m1/telemetry",
            params={
                "site": site,
                "signal": signal,
                "start": start,
                "end": end,
                "resolution": "raw",
            },
        )
        if response.status_code == 200:
            times.update(p["ts_ms"] for p in response.json()["points"])
    return sorted(times)


def _median_step(times: list[int]) -> float:
    return statistics.median(b - a for a, b in itertools.pairwise(times))


def test_config_reaches_the_agent_and_its_answer_comes_back(
    api: httpx.Client, broker: Broker, tmp_path: Path, unique_site: str
) -> None:
    """200 ok and a real change of the sampling interval (50 ms to 500 ms); a deadband for
    an unknown signal is 422 with the agent's reason; both are tracked."""
    config = write_config(tmp_path / "agent.toml", site=unique_site, node="m1", port=broker.port)
    agent = start_agent(config, tmp_path / "agent.log")
    try:
        node: dict[str, Any] = wait_until(
            lambda: (
                (r := api.get("/api/v1/nodes/m1", params={"site": unique_site})).status_code == 200
                and "config" in r.json()["capabilities"]
                and r.json()["online"]
                and r.json()
            )
        )
        assert node["kind"] == "machine"
        wait_until(lambda: len(_sample_times(api, unique_site, 0, int(time.time() * 1000))) > 10)
        response = api.post(
            "/api/v1/nodes/m1/config",
            params={"site": unique_site, "wait_s": 20},
            json={"sampling_interval_ms": 500},
        )
        assert response.status_code == 200, response.text
        ok = response.json()
        assert (ok["state"], ok["node"], ok["args"]) == ("ok", "m1", {"sampling_interval_ms": 500})

        rejected = api.post(
            "/api/v1/nodes/m1/config",
            params={"site": unique_site, "wait_s": 20},
            json={"deadbands": {"no_such_signal": 1.0}},
        )
        assert rejected.status_code == 422, rejected.text
        nack = rejected.json()
        assert nack["state"] == "rejected"
        assert nack["reason"] == "deadbands: no signal 'no_such_signal'"

        before = _sample_times(api, unique_site, 0, ok["sent_ms"])
        changed_from = ok["answered_ms"] + 200
        after = wait_until(
            lambda: (
                len(
                    t := _sample_times(
                        api, unique_site, changed_from, int(time.time() * 1000) + 60_000
                    )
                )
                >= 6
                and t
            )
        )
        assert _median_step(before[-20:]) <= 150  # 50 ms configured in the file
        assert _median_step(after) >= 400  # 500 ms once the command took effect

        listed = api.get("/api/v1/commands", params={"site": unique_site, "node": "m1"}).json()
        assert [(c["name"], c["state"]) for c in listed[:2]] == [
            ("config", "rejected"),
            ("config", "ok"),
        ]
    finally:
        stop_agent(agent)
    outbox = Outbox(tmp_path / "state" / "outbox.sqlite3")
    try:
        assert outbox.load_settings()["live"]["sampling_interval_ms"] == 500  # kept for restarts
    finally:
        outbox.close()
