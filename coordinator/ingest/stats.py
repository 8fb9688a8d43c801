"""Ingest counters, written by the writer thread and read by metrics and the API."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field


@dataclass
class IngestStats:
    """Totals since start, plus a sliding window for the recent sample rate."""

    messages: int = 0
    samples: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    already_stored: int = 0
    batches: int = 0
    rebirth_requests: int = 0
    backpressure_waits: int = 0
    decode_seconds: float = 0.0
    apply_seconds: float = 0.0
    commit_seconds: float = 0.0
    last_error: str = ""
    _window: deque[tuple[float, int]] = field(default_factory=deque, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record_samples(self, *, now_s: float, samples: int, window_s: float = 10.0) -> None:
        """Note `samples` committed at monotonic time `now_s`."""
        with self._lock:
            self._window.append((now_s, samples))
            while self._window and now_s - self._window[0][0] > window_s:
                self._window.popleft()

    def samples_per_s(self, *, now_s: float, window_s: float = 10.0) -> float:
        """Samples committed per second over the last `window_s` seconds."""
        with self._lock:
            total = sum(n for t, n in self._window if now_s - t <= window_s)
        return total / window_s


__all__ = ["IngestStats"]
