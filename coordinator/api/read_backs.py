"""Direct read-backs for the audit trail: the body a resource's GET route answers a caller
with 200, computed by the route's own code without a request through the app.

The request guard (`coordinator.api.guard`) digests every write's resource as the caller
reads it, before and after the write. Through the app, each read is a whole request
(routing, dependency solving, authentication, serialisation), twice per write; on the order
path (`POST /api/v1/sales-orders`) that was about an eighth of the coordinator's time. A
route listed here offers a reader instead: `reader(app_state, token, key)` returns the body
its GET answers the bearer of `token` with status 200, or None when the GET answers
anything else. Each reader applies its route's checks and renders with the function the
route itself answers with, so the two cannot drift apart (pinned in
`tests/coordinator/api/test_audit_read_back.py`). Resources without a reader are read
through the app as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from coordinator.api.routes import sales

Reader = Callable[[object, str | None, str], bytes | None]
"""(the app's state, the caller's bearer token, the resource's key) → the GET's 200 body."""
ReadBack = Callable[[object, str | None], bytes | None]
"""A reader bound to one resource: (the app's state, the bearer token) → body or None."""

READERS: Final[tuple[tuple[re.Pattern[str], Reader], ...]] = (
    (re.compile(r"/api/v1/sales-orders/([^/]+)"), sales.order_as_read),
)
"""GET paths (the key their one group) that are read without a request."""


def direct_read_back(path: str, query: str) -> ReadBack | None:
    """The reader of the resource at `path` (with no query), or None to read it through
    the app."""
    if query:
        return None
    for pattern, reader in READERS:
        found = pattern.fullmatch(path)
        if found is not None:
            return _bound(reader, found.group(1))
    return None


def _bound(reader: Reader, key: str) -> ReadBack:
    def read(app_state: object, token: str | None) -> bytes | None:
        return reader(app_state, token, key)

    return read


__all__ = ["READERS", "ReadBack", "Reader", "direct_read_back"]
