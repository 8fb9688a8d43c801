"""What is stored of a sales order, and the store port (with an in-memory double for tests)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

import orjson

from coordinator.sales.lifecycle import Standing, Transition
from coordinator.sales.summary import OrderOutcome

HoldKind = Literal["stock", "work"]


@dataclass(frozen=True, slots=True)
class Hold:
    """Stock (units of `sku` at warehouse `place`) or capacity (machine-seconds at factory
    `place`) an order holds until it is released."""

    kind: HoldKind
    place: str
    sku: str
    amount: float
    from_reserve: bool = False


@dataclass(frozen=True, slots=True)
class SalesOrder:
    """A stored order: the request as sent (canonical JSON text), where it stands, and the
    promise (JSON-ready) it was given."""

    id: str
    customer: str
    body: str
    standing: Standing
    promise: dict[str, Any]
    created_ms: int
    updated_ms: int
    webhook_url: str | None = None


@dataclass(frozen=True, slots=True)
class NewOrder:
    """An order to create: its record, its tracking token's hash, its first transitions and
    what it holds."""

    order: SalesOrder
    token_hash: str
    transitions: tuple[Transition, ...]
    holds: tuple[Hold, ...]


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One transition to push to the order's webhook URL; `(order_id, seq)` is its id."""

    order_id: str
    seq: int
    url: str
    body: bytes
    attempts: int = 0
    next_ms: int = 0


@dataclass(frozen=True, slots=True)
class OrderAdvance:
    """One order moved on: its new standing and the transitions that brought it there
    (`release_holds`: its stock and capacity go back)."""

    order_id: str
    standing: Standing
    transitions: tuple[Transition, ...]
    at_ms: int
    release_holds: bool = False


class SalesStore(Protocol):
    """Durable sales orders; every method is one transaction."""

    def save_network(self, body: str, *, at_ms: int) -> None: ...

    def load_network(self) -> str | None: ...

    def find(self, order_id: str) -> SalesOrder | None: ...

    def find_by_token(self, token_hash: str) -> SalesOrder | None: ...

    def create_all(self, orders: Sequence[NewOrder]) -> None:
        """Create these orders in one transaction (all or none)."""
        ...

    def advance(
        self,
        order_id: str,
        standing: Standing,
        transitions: Sequence[Transition],
        *,
        at_ms: int,
        release_holds: bool = False,
    ) -> None:
        """One order moved on (`advance_all` of one)."""
        ...

    def advance_all(self, changes: Sequence[OrderAdvance]) -> None:
        """Orders moved on, in one transaction (all or none)."""
        ...

    def list_orders(
        self, *, status: str | None, limit: int, after: str | None
    ) -> list[SalesOrder]: ...

    def save_revisions(self, revisions: Sequence[tuple[str, str, int]]) -> None:
        """Store (order id, revision body, at ms) rows in one transaction, each replacing
        the order's previous one."""
        ...

    def load_revision(self, order_id: str) -> str | None: ...

    def transitions(self, order_id: str) -> list[Transition]: ...

    def outcomes(self) -> list[OrderOutcome]:
        """Every order's status, when it was taken, its promised time and its first
        delivery (None: not delivered)."""
        ...

    def open_holds(self) -> list[tuple[str, Hold]]: ...

    def due_webhooks(self, *, now_ms: int, limit: int) -> list[WebhookEvent]: ...

    def webhook_done(self, order_id: str, seq: int, *, at_ms: int) -> None: ...

    def webhook_retry(
        self, order_id: str, seq: int, *, attempts: int, next_ms: int, error: str
    ) -> None: ...


def event_body(order: SalesOrder, seq: int, change: Transition) -> bytes:
    """The JSON pushed for one transition: an id receivers can drop duplicates by."""
    return orjson.dumps(
        {
            "id": f"{order.id}:{seq}",
            "order_id": order.id,
            "seq": seq,
            "status": change.status,
            "at_ms": change.at_ms,
            "cause": change.cause,
            "reason": change.reason,
            "eta_ms": order.promise.get("eta_ms"),
            "promised_ms": order.promise.get("promised_ms"),
        },
        option=orjson.OPT_SORT_KEYS,
    )


@dataclass
class InMemorySalesStore:
    """The in-memory double of `SalesStore` (same behaviour, nothing durable)."""

    network: str | None = None
    orders: dict[str, SalesOrder] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    changes: dict[str, list[Transition]] = field(default_factory=dict)
    holds: dict[str, list[Hold]] = field(default_factory=dict)
    hooks: dict[tuple[str, int], WebhookEvent] = field(default_factory=dict)
    delivered: set[tuple[str, int]] = field(default_factory=set)
    revisions: dict[str, str] = field(default_factory=dict)

    def save_network(self, body: str, *, at_ms: int) -> None:
        self.network = body

    def load_network(self) -> str | None:
        return self.network

    def find(self, order_id: str) -> SalesOrder | None:
        return self.orders.get(order_id)

    def find_by_token(self, token_hash: str) -> SalesOrder | None:
        found = self.tokens.get(token_hash)
        return None if found is None else self.orders[found]

    def create_all(self, orders: Sequence[NewOrder]) -> None:
        ids = [n.order.id for n in orders]
        tokens = [n.token_hash for n in orders]
        if (
            len(set(ids)) < len(ids)
            or len(set(tokens)) < len(tokens)
            or any(i in self.orders for i in ids)
            or any(t in self.tokens for t in tokens)
        ):
            raise ValueError("an order or token of the batch exists")
        for new in orders:
            self.orders[new.order.id] = new.order
            self.tokens[new.token_hash] = new.order.id
            self.changes[new.order.id] = []
            self.holds[new.order.id] = list(new.holds)
            self._append(new.order, new.transitions)

    def advance(
        self,
        order_id: str,
        standing: Standing,
        transitions: Sequence[Transition],
        *,
        at_ms: int,
        release_holds: bool = False,
    ) -> None:
        self.advance_all(
            [OrderAdvance(order_id, standing, tuple(transitions), at_ms, release_holds)]
        )

    def advance_all(self, changes: Sequence[OrderAdvance]) -> None:
        for change in changes:
            order = replace(
                self.orders[change.order_id], standing=change.standing, updated_ms=change.at_ms
            )
            self.orders[change.order_id] = order
            if change.release_holds:
                self.holds[change.order_id] = []
            self._append(order, change.transitions)

    def _append(self, order: SalesOrder, transitions: Sequence[Transition]) -> None:
        for change in transitions:
            seq = len(self.changes[order.id]) + 1
            self.changes[order.id].append(change)
            if order.webhook_url:
                self.hooks[(order.id, seq)] = WebhookEvent(
                    order.id, seq, order.webhook_url, event_body(order, seq, change)
                )

    def list_orders(self, *, status: str | None, limit: int, after: str | None) -> list[SalesOrder]:
        rows = sorted(self.orders.values(), key=lambda o: o.id)
        return [
            o
            for o in rows
            if (status is None or o.standing.status == status) and (after is None or o.id > after)
        ][:limit]

    def save_revisions(self, revisions: Sequence[tuple[str, str, int]]) -> None:
        for order_id, body, _at_ms in revisions:
            self.revisions[order_id] = body

    def load_revision(self, order_id: str) -> str | None:
        return self.revisions.get(order_id)

    def transitions(self, order_id: str) -> list[Transition]:
        return list(self.changes.get(order_id, []))

    def outcomes(self) -> list[OrderOutcome]:
        return [
            OrderOutcome(
                o.standing.status,
                o.created_ms,
                o.promise.get("promised_ms"),
                next(
                    (c.at_ms for c in self.changes.get(o.id, []) if c.status == "delivered"), None
                ),
            )
            for o in self.orders.values()
        ]

    def open_holds(self) -> list[tuple[str, Hold]]:
        return [(oid, h) for oid, hs in self.holds.items() for h in hs]

    def due_webhooks(self, *, now_ms: int, limit: int) -> list[WebhookEvent]:
        first: dict[str, WebhookEvent] = {}
        for key in sorted(self.hooks):
            if key in self.delivered or key[0] in first:
                continue
            first[key[0]] = self.hooks[key]
        return [e for e in first.values() if e.next_ms <= now_ms][:limit]

    def webhook_done(self, order_id: str, seq: int, *, at_ms: int) -> None:
        self.delivered.add((order_id, seq))

    def webhook_retry(
        self, order_id: str, seq: int, *, attempts: int, next_ms: int, error: str
    ) -> None:
        event = self.hooks[(order_id, seq)]
        self.hooks[(order_id, seq)] = replace(event, attempts=attempts, next_ms=next_ms)
