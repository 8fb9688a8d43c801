"""Disruption drills (`--drill NAME@DAY`): what each does to the world.

- `machine-breakdown`: the machine with the most queued or running work... chosen simply as
  the first machine of the first factory, down 12 hours;
- `factory-offline`: every machine of the first factory down 24 hours (a supplier down for
  a day);
- `warehouse-fire`: the warehouse serving the largest region loses its stock and the
  consignments waiting there, and is closed 24 hours;
- `vehicle-breakdown`: one vehicle of that warehouse out for 24 hours;
- `demand-spike`: an unannounced stream at 20:00 of the day, 4 hours, 6 featured SKUs at
  10-30 extra orders per hour each (drawn with the run's seed).

A drill starts at 10:00 of its day (0-based) unless it is a spike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from flexfleet.scenario.schema import Scenario, Stream
from flexfleet.scenario.world import Policy, World

NAMES: Final = (
    "machine-breakdown",
    "factory-offline",
    "warehouse-fire",
    "vehicle-breakdown",
    "demand-spike",
)
START_HOUR: Final = 10.0


class DrillError(ValueError):
    """A drill that cannot be run: unknown name or a day outside the run."""


@dataclass(frozen=True, slots=True)
class Drill:
    """A drill by name, on a day of the run (0-based)."""

    name: str
    day: int

    @property
    def at_s(self) -> float:
        """When it starts, seconds from the run's start."""
        hour = 20.0 if self.name == "demand-spike" else START_HOUR
        return self.day * 86_400.0 + hour * 3600.0


def parse_drill(text: str, *, days: int) -> Drill:
    """`NAME@DAY` → `Drill`; `DrillError` names what is wrong."""
    name, sep, day = text.partition("@")
    if not sep or name not in NAMES:
        raise DrillError(f"drill {text!r}: expected NAME@DAY with NAME one of {', '.join(NAMES)}")
    if not day.isdigit() or not 0 <= int(day) < days:
        raise DrillError(f"drill {text!r}: DAY must be a whole day in 0..{days - 1}")
    return Drill(name, int(day))


def spikes(drills: list[Drill]) -> tuple[Stream, ...]:
    """The unannounced streams the `demand-spike` drills add to demand."""
    return tuple(
        Stream(
            day=d.day,
            hour=20.0,
            duration_h=4.0,
            announce_h=0.0,
            featured=6,
            uplift_min=10.0,
            uplift_max=30.0,
        )
        for d in drills
        if d.name == "demand-spike"
    )


def busiest_warehouse(scenario: Scenario, world: World) -> str:
    """The warehouse nearest to the region with the largest share."""
    region = max(scenario.regions, key=lambda g: (g.share, g.id))
    return world.nearest_warehouse((region.lat, region.lon))


def apply_drill(world: World, policy: Policy, name: str) -> None:
    """Do what the drill `name` does, now."""
    scenario = world.scenario
    first = scenario.factories[0]
    if name == "machine-breakdown":
        world.machine_down(policy, first.machines[0].id, 12.0)
    elif name == "factory-offline":
        for m in first.machines:
            world.machine_down(policy, m.id, 24.0)
    elif name == "warehouse-fire":
        world.fire(policy, busiest_warehouse(scenario, world), 24.0)
    elif name == "vehicle-breakdown":
        w = busiest_warehouse(scenario, world)
        world.vehicles_out[w].append(world.t + 86_400.0)
        world.log.events.append((world.t, f"{w} vehicle down"))
    elif name == "demand-spike":
        world.log.events.append((world.t, "demand spike"))


__all__ = [
    "NAMES",
    "Drill",
    "DrillError",
    "apply_drill",
    "busiest_warehouse",
    "parse_drill",
    "spikes",
]
