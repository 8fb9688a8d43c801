"""A pure debouncer for re-planning triggers.

Triggers arrive in bursts (a live-stream sale brings hundreds of orders in a minute; a
machine fault raises several events). The debouncer collects them and says when to
re-plan: after `quiet_s` without a new trigger (`urgent_quiet_s` once an urgent kind such
as a machine going down or a rush order is pending), and at the latest `max_delay_s`
after the first pending trigger. It only reads the clock it is given.

A re-plan shares the coordinator's process (and Python's GIL) with the API that takes the
orders which trigger it: under a sustained burst, triggers never stop, and back-to-back
re-plans would starve the API. So after each re-plan (`ran`), the next is not due before
`rest_factor` times that re-plan's duration has passed: re-planning then takes at most
1 / (1 + rest_factor) of the time, and a quick re-plan (an idle plant) is barely delayed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fleet_runtime.clock import Clock

__all__ = ["TRIGGER_KINDS", "URGENT_KINDS", "Debouncer", "Trigger"]

TRIGGER_KINDS = frozenset(
    {
        "machine_down",
        "machine_up",
        "rush_order",
        "new_orders",
        "stockout_risk",
        "routing_orders",
        "progress",
    }
)
URGENT_KINDS = frozenset({"machine_down", "rush_order"})


@dataclass(frozen=True, slots=True)
class Trigger:
    """Something that may change the plan; `key` identifies its subject (a machine, a SKU)."""

    kind: str
    key: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


class Debouncer:
    """Collects triggers and releases them as one batch when it is time to re-plan."""

    def __init__(
        self,
        clock: Clock,
        *,
        quiet_s: float = 2.0,
        urgent_quiet_s: float = 0.2,
        max_delay_s: float = 10.0,
        rest_factor: float = 0.0,
    ) -> None:
        if not 0 <= urgent_quiet_s <= quiet_s <= max_delay_s:
            raise ValueError("need 0 <= urgent_quiet_s <= quiet_s <= max_delay_s")
        if rest_factor < 0:
            raise ValueError("need rest_factor >= 0")
        self._rest_factor = rest_factor
        self._not_before: float | None = None
        self._clock = clock
        self._quiet_s = quiet_s
        self._urgent_quiet_s = urgent_quiet_s
        self._max_delay_s = max_delay_s
        self._pending: dict[tuple[str, str], Trigger] = {}
        self._first_at: float | None = None
        self._last_at: float | None = None

    def submit(self, trigger: Trigger) -> None:
        """Record a trigger; a newer trigger of the same kind and key replaces the older."""
        if trigger.kind not in TRIGGER_KINDS:
            raise ValueError(f"unknown trigger kind {trigger.kind!r}")
        now = self._clock.monotonic()
        self._pending.pop((trigger.kind, trigger.key), None)
        self._pending[(trigger.kind, trigger.key)] = trigger
        self._first_at = now if self._first_at is None else self._first_at
        self._last_at = now

    def deadline(self) -> float | None:
        """Monotonic time at which the pending batch becomes due (None when idle)."""
        if self._first_at is None or self._last_at is None:
            return None
        urgent = any(kind in URGENT_KINDS for kind, _ in self._pending)
        quiet = self._urgent_quiet_s if urgent else self._quiet_s
        due = min(self._last_at + quiet, self._first_at + self._max_delay_s)
        return due if self._not_before is None else max(due, self._not_before)

    def ran(self, duration_s: float) -> None:
        """A re-plan just ended after `duration_s`: the next batch waits `rest_factor`
        times as long from now (see the module docstring)."""
        self._not_before = self._clock.monotonic() + self._rest_factor * max(0.0, duration_s)

    def take_due(self) -> list[Trigger]:
        """The pending batch if it is due (and forget it), else an empty list."""
        due = self.deadline()
        if due is None or self._clock.monotonic() < due:
            return []
        batch = list(self._pending.values())
        self._pending.clear()
        self._first_at = self._last_at = None
        return batch

    @property
    def pending(self) -> int:
        """Number of triggers waiting."""
        return len(self._pending)
