"""`CommandLog`: the one way the coordinator sends commands to nodes, and their tracking.

Every command (ingest's `rebirth`, the planner's `schedule` and `route`, the operators'
`config`) goes through `send`, which records it in the `CommandStore` before publishing it
at QoS 1, so an answer can never arrive for a command the coordinator does not know,
restart or not. The ingest writer hands it the acks of each committed batch (`on_acks`,
before the batch's MQTT messages are acked to the broker, so an ack is never lost to a
crash), expires unanswered commands on its periodic tick (`expire_due`) and purges old
ones with the other retention (`purge`). A rejected plan command raises an alarm
(`coordinator.alarms.sources.on_command_answer`), cleared by the next ok answer, and so
does one that expires while its node is online (`on_command_expired`: a node that is
offline already has its own alarm).

Decisions are the pure functions of `coordinator.commands.tracking`; this class does the
I/O around them and counts outcomes for `/metrics`.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Final

from coordinator.alarms.port import AlarmSink
from coordinator.alarms.sources import on_command_answer, on_command_expired
from coordinator.commands.errors import CommandNotSent
from coordinator.commands.port import CommandStore, Update
from coordinator.commands.tracking import (
    CommandState,
    TrackedCommand,
    answer,
    expire,
    expiry_cutoff,
    metric_name,
    stored_args,
)
from coordinator.errors import NotFound
from coordinator.publisher import Publisher
from fleet_runtime.clock import Clock, now_ms
from protocol import Command, CommandAck, encode, topic_for

log = logging.getLogger(__name__)

MAX_COMMAND_ROWS: Final = 100_000
"""Tracked commands kept at most (the oldest go first), on top of the retention time."""
_EXPIRE_BATCH: Final = 1000


def new_cmd_id(name: str) -> str:
    """A fresh command id: the command name and 32 hex digits (unique across restarts)."""
    return f"{name[:24]}-{uuid.uuid4().hex}"


class CommandLog:
    """Sends commands and tracks their answers; thread-safe."""

    def __init__(
        self,
        *,
        store: CommandStore,
        publisher: Publisher,
        clock: Clock,
        timeout_s: float = 60.0,
        alarms: AlarmSink | None = None,
        id_factory: Callable[[str], str] = new_cmd_id,
        max_rows: int = MAX_COMMAND_ROWS,
        online: Callable[[str, str], bool] | None = None,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
        self.store = store
        self.publisher = publisher
        self.timeout_s = timeout_s
        self._clock = clock
        self._alarms = alarms
        self._new_id = id_factory
        self._max_rows = max_rows
        self._online = online  # (site, node) -> is it online now; None: always
        self._counts: Counter[tuple[str, str]] = Counter()
        self._counts_lock = threading.Lock()
        self._answered = threading.Condition()
        self._answers_seen = 0

    # -- sending --------------------------------------------------------------------------

    def send(self, *, site: str, node: str, name: str, args: Mapping[str, Any]) -> TrackedCommand:
        """Record, then publish one command; the recorded command (state `sent`).

        Raises `ProtocolError` for a command the protocol refuses (nothing recorded), and
        `CommandNotSent` when the MQTT client refuses it (recorded as `expired`).
        """
        ts = now_ms(self._clock)
        command = Command(
            site=site, node=node, name=name, cmd_id=self._new_id(name), ts=ts, args=dict(args)
        )
        payload = encode(command)
        tracked = TrackedCommand(
            cmd_id=command.cmd_id,
            site=site,
            node=node,
            name=name,
            args=stored_args(command.args),
            sent_ms=ts,
        )
        self.store.insert(tracked)
        try:
            self.publisher.publish(topic_for(command), payload, 1, False)
        except Exception as exc:
            failed = replace(tracked, state="expired", reason=f"not sent: {exc}"[:500])
            self.store.save([(failed, "sent")])
            self._count(name, "publish_failed")
            raise CommandNotSent(
                f"the MQTT client did not take {name} for {site}/{node}: {exc}"[:500],
                key=command.cmd_id,
            ) from exc
        self._count(name, "sent")
        return tracked

    # -- answers --------------------------------------------------------------------------

    def on_acks(self, acks: Sequence[CommandAck]) -> None:
        """Match a committed batch's acks to their commands and record the answers."""
        if not acks:
            return
        now = now_ms(self._clock)
        seen: dict[str, TrackedCommand | None] = {}
        updates: list[Update] = []
        for ack in acks:
            if ack.cmd_id not in seen:
                seen[ack.cmd_id] = self.store.get(ack.cmd_id)
            held = seen[ack.cmd_id]
            outcome, updated = answer(held, ack, now_ms=now)
            if held is None or updated is None:
                self._count(ack.name if held is None else held.name, f"{outcome}_ack")
                continue
            updates.append((updated, held.state))
            seen[ack.cmd_id] = updated
        self.store.save(updates)
        for updated, _previous in updates:
            self._count(updated.name, updated.state)
            if self._alarms is not None:
                on_command_answer(
                    self._alarms,
                    site=updated.site,
                    node=updated.node,
                    name=updated.name,
                    cmd_id=updated.cmd_id,
                    ok=updated.state == "ok",
                    reason=updated.reason,
                    ts_ms=now,
                )
        if updates:
            self._wake_waiters()

    def expire_due(self) -> list[TrackedCommand]:
        """Expire the commands unanswered past the timeout; the expired ones."""
        cutoff = expiry_cutoff(now_ms=now_ms(self._clock), timeout_s=self.timeout_s)
        due = self.store.unanswered_before(cutoff, limit=_EXPIRE_BATCH)
        if not due:
            return []
        expired = [expire(c, timeout_s=self.timeout_s) for c in due]
        self.store.save([(c, "sent") for c in expired])
        stamp = now_ms(self._clock)
        for command in expired:
            self._count(command.name, "expired")
            online = self._online is None or self._online(command.site, command.node)
            if self._alarms is not None and online:
                on_command_expired(
                    self._alarms,
                    site=command.site,
                    node=command.node,
                    name=command.name,
                    cmd_id=command.cmd_id,
                    timeout_s=self.timeout_s,
                    ts_ms=stamp,
                )
        self._wake_waiters()
        return expired

    def purge(self, *, before_ms: int) -> int:
        """Delete commands sent before `before_ms` and the oldest past the row limit."""
        return self.store.purge(before_ms=before_ms, keep_rows=self._max_rows)

    # -- reading --------------------------------------------------------------------------

    def get(self, cmd_id: str) -> TrackedCommand:
        """One tracked command; `NotFound` if unknown (or purged)."""
        found = self.store.get(cmd_id)
        if found is None:
            raise NotFound("command", cmd_id)
        return found

    def query(
        self,
        *,
        site: str | None = None,
        node: str | None = None,
        state: CommandState | None = None,
        limit: int = 100,
    ) -> list[TrackedCommand]:
        """Tracked commands, newest first."""
        return self.store.query(site=site, node=node, state=state, limit=limit)

    def wait(self, cmd_id: str, *, timeout_s: float) -> TrackedCommand:
        """The command once answered (or expired), or as it is after `timeout_s` of real
        time (a caller waiting on the network, not on the coordinator's clock)."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._answered:
                seen = self._answers_seen
            current = self.get(cmd_id)
            remaining = deadline - time.monotonic()
            if current.state != "sent" or remaining <= 0:
                return current
            with self._answered:
                if self._answers_seen == seen:
                    self._answered.wait(remaining)

    def counts(self) -> dict[tuple[str, str], int]:
        """(command name, outcome) → count since start (see `docs/api.md`, metrics)."""
        with self._counts_lock:
            return dict(self._counts)

    def _count(self, name: str, outcome: str) -> None:
        with self._counts_lock:
            self._counts[(metric_name(name), outcome)] += 1

    def _wake_waiters(self) -> None:
        with self._answered:
            self._answers_seen += 1
            self._answered.notify_all()


__all__ = ["MAX_COMMAND_ROWS", "CommandLog", "new_cmd_id"]
