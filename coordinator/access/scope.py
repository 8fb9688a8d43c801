"""Which sites a caller may see: all of them, or a fixed set.

A scoped caller sees a node, a sample, an alarm, a command, a stock level or a forecast
only when its site is in the set; fleet-wide things (planning, sales, jobs, live streams,
dead letters, the audit log) need a caller covering every site (`covers_all`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Scope:
    """`sites` None: every site; else only those."""

    sites: frozenset[str] | None = None

    @classmethod
    def of(cls, sites: Iterable[str]) -> Scope:
        """The scope of a token's site list (empty: every site)."""
        chosen = frozenset(sites)
        return cls(chosen or None)

    @property
    def covers_all(self) -> bool:
        """Whether every site is in scope."""
        return self.sites is None

    def covers(self, site: str | None) -> bool:
        """Whether `site` is in scope (an unknown site only for an unscoped caller)."""
        return self.sites is None or (site is not None and site in self.sites)

    def covers_location(self, location: str) -> bool:
        """Whether a micro-warehouse `site/node` lies in scope."""
        return self.covers(location.partition("/")[0] if "/" in location else None)

    def describe(self) -> str:
        """`every site`, or the sites by name."""
        return "every site" if self.sites is None else ", ".join(sorted(self.sites))


__all__ = ["Scope"]
