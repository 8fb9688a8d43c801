"""Nodes of every site for the API: this coordinator's own from its live twin, every other
site's from the node records the store holds.

Coordinators that own different sites (`sites`) share one PostgreSQL database; each writes
its own nodes' records there with every batch, so any of them can answer for all sites. A
standby coordinator has no live twin: it answers everything from the store. On the embedded
SQLite store (one coordinator, every site) the stored part is empty and nothing is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from coordinator.errors import InvalidQuery, NotFound
from coordinator.fleet.twin import FleetTwin
from coordinator.fleet.views import NodeView

if TYPE_CHECKING:  # the store's port imports this package's records
    from coordinator.store.port import Store


class NodeSource(Protocol):
    """What the node routes read: a list of nodes and one node with its latest values."""

    def nodes(self, *, site: str | None = None) -> list[NodeView]:
        """Every node (optionally of one site), sorted by site then node."""
        ...

    def node(self, node: str, *, site: str | None = None) -> NodeView:
        """One node; `NotFound` when unknown, `InvalidQuery` when at several sites."""
        ...


def stored_twin(store: Store, *, except_sites: tuple[str, ...] = ()) -> FleetTwin:
    """A twin restored from the store's node records, latest values and stock, leaving out
    `except_sites`."""
    twin = FleetTwin()
    twin.restore(
        [r for r in store.load_nodes() if r.site not in except_sites],
        [row for row in store.load_latest() if row[0] not in except_sites],
        [item for item in store.load_stock() if item.site not in except_sites],
    )
    return twin


class FleetReads:
    """`own` (the live twin, of `own_sites`; None on a standby) and `stored` (the other
    sites, from the store), read as one."""

    def __init__(
        self, own: FleetTwin | None, own_sites: tuple[str, ...], stored: FleetTwin
    ) -> None:
        self.own = own
        self.own_sites = own_sites
        self.stored = stored

    def _holder(self, site: str) -> FleetTwin:
        if self.own is not None and (not self.own_sites or site in self.own_sites):
            return self.own
        return self.stored

    def nodes(self, *, site: str | None = None) -> list[NodeView]:
        """Every node (optionally of one site), sorted by site then node."""
        own = [] if self.own is None else self.own.nodes(site=site)
        return sorted([*own, *self.stored.nodes(site=site)], key=lambda v: (v.site, v.node))

    def node(self, node: str, *, site: str | None = None) -> NodeView:
        """One node with its latest values; `NotFound`, or `InvalidQuery` if ambiguous."""
        found = [v.site for v in self.nodes(site=site) if v.node == node]
        if not found:
            raise NotFound("node", node if site is None else f"{site}/{node}")
        if len(found) > 1:
            raise InvalidQuery(
                f"node {node!r} exists in several sites; pass site=", parameter="site"
            )
        return self._holder(found[0]).node(node, site=found[0])


def fleet_reads(own: FleetTwin | None, own_sites: tuple[str, ...], store: Store) -> FleetReads:
    """The nodes of every site: a coordinator owning every site reads its twin alone."""
    if own is not None and not own_sites:
        return FleetReads(own, own_sites, FleetTwin())
    return FleetReads(own, own_sites, stored_twin(store, except_sites=own_sites))


__all__ = ["FleetReads", "NodeSource", "fleet_reads", "stored_twin"]
