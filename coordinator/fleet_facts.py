"""The fleet's facts are acted on once committed, even by a coordinator killed in between.

A vehicle's stop event (`stop_arrived`, `stop_delivered`, `stop_failed`) and a warehouse's
receipt against a transfer move sales orders, close or re-plan deliveries and close
replenishment jobs and lateral transfers. Ingest commits them with their batch, and the
agent drops its copy once the commit's watermark reaches it; an agent never sends them
again, and the twin's sequence numbers would drop a copy as seen. So each committed batch
also writes its facts to the *fleet inbox* (`WriteBatch.fleet_facts`, in the batch's
transaction on SQLite, before it on PostgreSQL), and `FleetFollower`:

- `on_commit`, the last commit listener: hands the batch's receipts to the lateral
  transfers and the sales book (`follow_receipts`), then the facts to the planner
  (`PlanRunner.follow_fleet`) and the stop events to the sales book (`follow_stops`),
  then takes them out of the inbox;
- `catch_up()`, at start (after the planner, the job tracker, the sales book and the
  lateral transfers restored what they hold) and at the next commit after a failure:
  the same for what is still in the inbox.

Every taker is idempotent (a fact that no longer fits an order changes nothing, receipts
are counted from the store's), so a kill after acting and before taking a fact out acts on
it again harmlessly; a kill before acting loses nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from coordinator.jobs.facts import RECEIVED, FleetFact

log = logging.getLogger(__name__)


class FleetInbox(Protocol):
    """Where committed fleet facts wait until acted on (`SqliteJobStore`)."""

    def fleet_inbox(self, *, limit: int = ...) -> list[FleetFact]: ...

    def take_from_inbox(self, facts: Iterable[FleetFact]) -> None: ...


class SalesFollower(Protocol):
    """The sales book's side (`SalesBook`)."""

    def follow_stops(self, stops: Iterable[tuple[str, str, str]]) -> int: ...

    def follow_receipts(
        self, transfer_ids: Iterable[str], *, places: dict[str, str] | None = None
    ) -> int: ...


class FleetFollower:
    """Acts on the fleet's facts once committed (see the module)."""

    def __init__(
        self,
        inbox: FleetInbox,
        *,
        planner: Callable[[Sequence[FleetFact]], None],
        lateral: Callable[[Iterable[str]], object],
        sales: SalesFollower,
        monotonic: Callable[[], float],
        retry_s: float = 60.0,
        batch_size: int = 2_000,
    ) -> None:
        self._inbox = inbox
        self._planner = planner
        self._lateral = lateral
        self._sales = sales
        self._monotonic = monotonic
        self._retry_s = retry_s
        self._batch = batch_size
        self._lock = threading.Lock()
        self._retry_at: float | None = None  # set while the inbox holds facts not acted on

    def on_commit(self, outcome: Any, _result: object) -> None:
        """Ingest commit listener (also called on the writer's ticks): act on the batch's
        fleet facts; after a failure, on the whole inbox once `retry_s` passed."""
        facts = list(outcome.batch.fleet_facts)
        with self._lock:
            if self._retry_at is not None:
                if self._monotonic() >= self._retry_at:
                    self._catch_up()
                return  # the batch's facts are in the inbox: the next retry takes them
            if facts:
                try:
                    self._follow(facts)
                except Exception:
                    log.exception("fleet facts not acted on; kept in the inbox for a retry")
                    self._retry_at = self._monotonic() + self._retry_s

    def catch_up(self) -> int:
        """Act on every fact in the inbox (call at start); how many were acted on."""
        with self._lock:
            return self._catch_up()

    def _catch_up(self) -> int:
        """The inbox in chunks; a chunk that fails is taken fact by fact, and a fact that
        fails alone stays in the inbox for the next retry."""
        done, failed = 0, 0
        skip: set[FleetFact] = set()
        while chunk := [
            f for f in self._inbox.fleet_inbox(limit=self._batch + len(skip)) if f not in skip
        ][: self._batch]:
            try:
                self._follow(chunk)
                done += len(chunk)
                continue
            except Exception:
                log.exception("fleet facts failed together; acting on them one by one")
            for fact in chunk:
                try:
                    self._follow([fact])
                    done += 1
                except Exception:
                    log.exception("fleet fact %s kept in the inbox for a retry", fact)
                    skip.add(fact)
                    failed += 1
        self._retry_at = self._monotonic() + self._retry_s if failed else None
        if done:
            log.info("acted on %d fleet fact(s) left in the inbox", done)
        return done

    def _follow(self, facts: list[FleetFact]) -> None:
        """Hand the facts to every taker, then take them out of the inbox. Receipts reach
        the sales book before the planner: the made goods received become their orders'
        deliveries before the planner lets the van that brought them leave again."""
        received = [f for f in facts if f.name == RECEIVED]
        if received:
            ids = [f.ref for f in received]
            self._lateral(ids)
            self._sales.follow_receipts(ids, places={f.ref: f.node for f in received})
        self._planner(facts)
        stops = [(f.name, f.ref, f.node) for f in facts if f.name != RECEIVED]
        if stops:
            self._sales.follow_stops(stops)
        self._inbox.take_from_inbox(facts)


__all__ = ["FleetFollower", "FleetInbox", "SalesFollower"]
