"""`IsolatedScheduler`: a `SchedulePlanner` that solves in a child process of its own.

The coordinator answers the API, ingests and plans in one Python interpreter. A schedule
solve builds its model in Python (the dispatch rule's warm start, CP-SAT's model, the
schedule's evaluation) and would hold that interpreter's lock for much of each re-plan, so
every promise and every ingest batch would wait behind it. Here the same planner runs in
one long-lived child process, started with `spawn` (it shares no thread, lock or file
handle with the coordinator): the coordinator pickles the problem, waits for the schedule
without holding its interpreter, and unpickles the answer. Plans are identical to the
planner's own in the coordinator's process (same code, problem and seed).

Nothing is lost when the child fails: if it dies (killed, out of memory) or has not
answered `grace_s` after the time limit, it is killed, this plan is made in the
coordinator's process by the same planner, and the next plan starts a new child. Errors
the planner raises (`PlanError`) come back as themselves. A child whose coordinator died
exits within a second (`_PARENT_CHECK_S`), so a killed coordinator leaves no solver behind.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Final

from coordinator.plan.errors import PlanError
from coordinator.plan.schedule.planner import CpSatScheduler, SchedulePlanner, warm_up
from coordinator.plan.schedule.problem import Schedule, SchedulingProblem

__all__ = ["IsolatedScheduler"]

_log = logging.getLogger(__name__)

_PARENT_CHECK_S: Final = 1.0
_READY: Final = "ready"


class _NoAnswer(Exception):
    """The child did not start or answer in time."""


@dataclass(slots=True)
class _Child:
    process: BaseProcess
    conn: Connection


class IsolatedScheduler:
    """Plans with `planner` (CP-SAT by default) in a child process (module docstring)."""

    def __init__(
        self,
        planner: SchedulePlanner | None = None,
        *,
        grace_s: float = 10.0,
        start_timeout_s: float = 120.0,
    ) -> None:
        self.planner: SchedulePlanner = planner or CpSatScheduler()
        self._grace_s = grace_s
        self._start_timeout_s = start_timeout_s
        self._lock = threading.Lock()
        self._child: _Child | None = None

    @property
    def pid(self) -> int | None:
        """The child's process id (None before the first plan or `start`, or after a failure)."""
        child = self._child
        return child.process.pid if child is not None else None

    def start(self) -> None:
        """Start the child now and wait until it has imported the solvers (else the first
        plan does it); a child that cannot start is reported and left to the first plan."""
        with self._lock:
            if self._child is None:
                try:
                    self._child = self._spawn()
                except (OSError, EOFError, _NoAnswer) as exc:
                    _log.warning("the planner process did not start: %s", exc)

    def plan(self, problem: SchedulingProblem, *, time_limit_s: float, seed: int = 0) -> Schedule:
        """The planner's schedule for `problem`, made in the child (or, when the child
        fails, here)."""
        with self._lock:
            try:
                child = self._child or self._spawn()
                self._child = child
                child.conn.send((problem, time_limit_s, seed))
                if not child.conn.poll(time_limit_s + self._grace_s):
                    raise _NoAnswer(f"no schedule {time_limit_s + self._grace_s:g} s after asking")
                answer: Schedule | BaseException = child.conn.recv()
            except (OSError, EOFError, _NoAnswer) as exc:
                _log.warning("the planner process failed (%s): planning in this process", exc)
                self._discard()
                return self.planner.plan(problem, time_limit_s=time_limit_s, seed=seed)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def close(self) -> None:
        """Stop the child (a later plan starts a new one)."""
        with self._lock:
            self._discard()

    def _spawn(self) -> _Child:
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(
            target=_serve,
            args=(theirs, os.getpid(), self.planner),
            name="flexfleet-planner",
            daemon=True,
        )
        process.start()
        theirs.close()
        child = _Child(process, ours)
        try:
            if not ours.poll(self._start_timeout_s) or ours.recv() != _READY:
                raise _NoAnswer(f"not ready within {self._start_timeout_s:g} s")
        except BaseException:
            _stop(child)
            raise
        _log.info("planner process %d started", process.pid)
        return child

    def _discard(self) -> None:
        if self._child is not None:
            _stop(self._child)
            self._child = None


def _stop(child: _Child) -> None:
    child.conn.close()
    if child.process.is_alive():
        child.process.kill()
    child.process.join(5.0)


def _serve(conn: Connection, parent_pid: int, planner: SchedulePlanner) -> None:
    """The child's loop: plan each problem sent, answer with the schedule or the error;
    return when the coordinator closes its end or is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the coordinator decides when to stop
    warm_up()
    conn.send(_READY)
    while True:
        try:
            if not conn.poll(_PARENT_CHECK_S):
                if os.getppid() != parent_pid:
                    return
                continue
            problem, time_limit_s, seed = conn.recv()
        except (EOFError, OSError):
            return
        answer: Schedule | BaseException
        try:
            answer = planner.plan(problem, time_limit_s=time_limit_s, seed=seed)
        except Exception as exc:  # the coordinator raises it, as the planner would have
            answer = exc
        try:
            conn.send(answer)
        except (EOFError, OSError):
            return
        except Exception as exc:  # an error that cannot be pickled: its text instead
            conn.send(PlanError(f"{type(answer).__name__}: {answer} ({exc})"))
