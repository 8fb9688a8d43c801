"""Where tracked commands are kept: the `CommandStore` port and its in-memory double.

`coordinator.store.commands.SqliteCommandStore` keeps them in the coordinator's SQLite
file (migration m007); `MemoryCommandStore` is for tests of the parts that send commands.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from coordinator.commands.tracking import CommandState, TrackedCommand

Update = tuple[TrackedCommand, CommandState]
"""A command's new form and the state it must still be in for the update to apply."""


class CommandStore(Protocol):
    """Durable record of the commands the coordinator sent."""

    def insert(self, command: TrackedCommand) -> None:
        """Record a new command (durable on return)."""
        ...

    def get(self, cmd_id: str) -> TrackedCommand | None:
        """The command with this id, if recorded."""
        ...

    def save(self, updates: Sequence[Update]) -> int:
        """Apply each update whose command is still in the given state, in one transaction;
        how many applied."""
        ...

    def unanswered_before(self, cutoff_ms: int, *, limit: int) -> list[TrackedCommand]:
        """Commands still `sent` that were sent at or before `cutoff_ms`, oldest first."""
        ...

    def query(
        self, *, site: str | None, node: str | None, state: CommandState | None, limit: int
    ) -> list[TrackedCommand]:
        """Commands matching the filters, newest first."""
        ...

    def purge(self, *, before_ms: int, keep_rows: int) -> int:
        """Delete commands sent before `before_ms`, and the oldest beyond `keep_rows`."""
        ...


@dataclass
class MemoryCommandStore:
    """A `CommandStore` in a dict (insertion order is sending order)."""

    commands: dict[str, TrackedCommand] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def insert(self, command: TrackedCommand) -> None:
        with self._lock:
            if command.cmd_id in self.commands:
                raise ValueError(f"command id {command.cmd_id!r} recorded twice")
            self.commands[command.cmd_id] = command

    def get(self, cmd_id: str) -> TrackedCommand | None:
        with self._lock:
            return self.commands.get(cmd_id)

    def save(self, updates: Sequence[Update]) -> int:
        applied = 0
        with self._lock:
            for command, previous in updates:
                held = self.commands.get(command.cmd_id)
                if held is not None and held.state == previous:
                    self.commands[command.cmd_id] = command
                    applied += 1
        return applied

    def unanswered_before(self, cutoff_ms: int, *, limit: int) -> list[TrackedCommand]:
        with self._lock:
            due = [
                c for c in self.commands.values() if c.state == "sent" and c.sent_ms <= cutoff_ms
            ]
        return due[:limit]

    def query(
        self, *, site: str | None, node: str | None, state: CommandState | None, limit: int
    ) -> list[TrackedCommand]:
        with self._lock:
            newest_first = list(reversed(self.commands.values()))
        return [
            c
            for c in newest_first
            if site in (None, c.site) and node in (None, c.node) and state in (None, c.state)
        ][:limit]

    def purge(self, *, before_ms: int, keep_rows: int) -> int:
        with self._lock:
            kept = [c for c in self.commands.values() if c.sent_ms >= before_ms]
            kept = kept[max(len(kept) - keep_rows, 0) :]
            removed = len(self.commands) - len(kept)
            self.commands = {c.cmd_id: c for c in kept}
        return removed


__all__ = ["CommandStore", "MemoryCommandStore", "Update"]
