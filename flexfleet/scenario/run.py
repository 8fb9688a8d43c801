"""One run: a scenario, a policy, days, a seed and drills in; the KPIs and daily series out."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from flexfleet.scenario.baseline import BaselinePolicy
from flexfleet.scenario.delivery_detail import delivery_detail
from flexfleet.scenario.demand import draw_orders
from flexfleet.scenario.drills import Drill, apply_drill, spikes
from flexfleet.scenario.kpis import daily, kpis
from flexfleet.scenario.schema import Scenario
from flexfleet.scenario.world import Policy, World

if TYPE_CHECKING:
    from flexfleet.scenario.broker_link import WireStats

PolicyName = Literal["flexfleet", "baseline"]
START_S = 1_772_409_600.0  # 2026-03-02T00:00:00Z, a Monday: the run's day 0 at midnight
POLICIES = ("flexfleet", "baseline")


def make_policy(name: str, *, seed: int, time_limit_s: float) -> Policy:
    """The policy called `name`."""
    if name == "baseline":
        return BaselinePolicy()
    if name == "flexfleet":
        from flexfleet.scenario.flexfleet_policy import FlexfleetPolicy

        return FlexfleetPolicy(seed=seed, time_limit_s=time_limit_s)
    raise ValueError(f"unknown policy {name!r} (one of {', '.join(POLICIES)})")


def run_scenario(
    scenario: Scenario,
    *,
    policy: str,
    days: int,
    seed: int,
    drills: list[Drill] | None = None,
    time_limit_s: float = 0.5,
    progress: Callable[[int], None] | None = None,
    broker: str | None = None,
    on_wire: Callable[[WireStats], None] | None = None,
) -> dict[str, Any]:
    """Run `policy` on `scenario` for `days` with `seed`; the result as JSON-able data.

    With `broker` (`mqtt://HOST[:PORT]`, or `auto` for a private Mosquitto on a free
    loopback port) the world's facts reach the policy through that broker
    (`flexfleet.scenario.broker_policy`); `on_wire` is then told what crossed it."""
    drills = drills or []
    demand = draw_orders(scenario, days=days, seed=seed, extra_spikes=spikes(drills))
    world = World(scenario, demand, days=days, start_s=START_S)
    chosen = make_policy(policy, seed=seed, time_limit_s=time_limit_s)
    with contextlib.ExitStack() as stack:
        if broker is not None:
            chosen = stack.enter_context(_over_broker(chosen, broker, on_wire))
        started = time.perf_counter()
        world.run(
            chosen,
            drills=[(d.at_s, d.name) for d in drills],
            on_drill=apply_drill,
            progress=progress,
        )
        wall_s = time.perf_counter() - started
    replans = int(getattr(chosen, "replans", 0))
    return {
        "scenario": scenario.name,
        "policy": policy,
        "days": days,
        "seed": seed,
        "kpis": kpis(world, replans=replans, drills=[(d.at_s, d.name) for d in drills]),
        "daily": daily(world),
        "delivery": delivery_detail(world),
        "events": [{"day": round(t / 86_400.0, 3), "what": what} for t, what in world.log.events],
        "wall_s": round(wall_s, 1),
    }


@contextlib.contextmanager
def _over_broker(
    inner: Policy, broker: str, on_wire: Callable[[WireStats], None] | None
) -> Iterator[Policy]:
    """`inner` behind a `BrokerPolicy` on `broker` (started here when `auto`)."""
    from flexfleet.broker import start_broker
    from flexfleet.scenario.broker_link import BrokerLink, parse_broker_url
    from flexfleet.scenario.broker_policy import BrokerPolicy

    with tempfile.TemporaryDirectory(prefix="flexfleet-scenario-") as tmp:
        local = None
        if broker == "auto":
            local = start_broker(Path(tmp) / "broker")
            host, port = local.host, local.port
        else:
            host, port = parse_broker_url(broker)
        # a site of its own: runs sharing a broker never see each other's messages
        site = f"scenario-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        link = BrokerLink(host=host, port=port, site=site, data_dir=Path(tmp) / "nodes")
        try:
            yield BrokerPolicy(inner, link)
        finally:
            link.close()
            if local is not None:
                local.stop()
            if on_wire is not None:
                on_wire(link.stats)


__all__ = ["POLICIES", "START_S", "make_policy", "run_scenario"]
