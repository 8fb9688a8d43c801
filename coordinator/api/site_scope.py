"""A caller's site scope applied to what routes read: one node (404 outside the scope,
exactly like an unknown id, so a scoped caller cannot tell another site's nodes from
guesses) and the site filter of a list."""

from __future__ import annotations

from coordinator.access.scope import Scope
from coordinator.errors import NotFound
from coordinator.fleet.fleet_reads import NodeSource
from coordinator.fleet.views import NodeView


def scoped_node(twin: NodeSource, node: str, site: str | None, scope: Scope) -> NodeView:
    """The node `node` (of `site`, if given) as the caller may see it; `NotFound` when it
    is unknown or of a site outside the scope."""
    if site is not None and not scope.covers(site):
        raise NotFound("node", node if site is None else f"{site}/{node}")
    if site is None and not scope.covers_all:
        seen = [v.site for v in twin.nodes() if v.node == node and scope.covers(v.site)]
        if not seen:
            raise NotFound("node", node)
        if len(seen) == 1:
            site = seen[0]
    view = twin.node(node, site=site)
    if not scope.covers(view.site):
        raise NotFound("node", node)
    return view


def site_filter(scope: Scope, site: str | None) -> tuple[str | None, frozenset[str] | None]:
    """(the one site asked for, the sites allowed) for a list query: a site outside the
    scope allows nothing."""
    if site is not None and not scope.covers(site):
        return site, frozenset()
    return site, scope.sites


__all__ = ["scoped_node", "site_filter"]
