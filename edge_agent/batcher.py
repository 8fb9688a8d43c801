"""Batching: samples collect until there are `max_samples` of them or the oldest is
`max_age_ms` old, then leave as one telemetry message (fewer, larger MQTT messages)."""

from __future__ import annotations

from protocol import Sample


class Batcher:
    """Collects samples and says when a batch is due."""

    def __init__(self, *, max_samples: int = 500, max_age_ms: int = 1000) -> None:
        self._samples: list[Sample] = []
        self._first_ms = 0
        self.configure(max_samples=max_samples, max_age_ms=max_age_ms)

    def configure(self, *, max_samples: int, max_age_ms: int) -> None:
        """Change the limits live."""
        if not 1 <= max_samples <= 20_000:
            raise ValueError(f"max_samples must be in 1..20000, got {max_samples}")
        if max_age_ms < 0:
            raise ValueError(f"max_age_ms must be >= 0, got {max_age_ms}")
        self.max_samples = max_samples
        self.max_age_ms = max_age_ms

    def __len__(self) -> int:
        return len(self._samples)

    def add(self, sample: Sample, now_ms: int) -> None:
        """Add one sample received at `now_ms` (monotonic milliseconds)."""
        if not self._samples:
            self._first_ms = now_ms
        self._samples.append(sample)

    def due(self, now_ms: int) -> bool:
        """Whether the batch should be sent now."""
        if not self._samples:
            return False
        return len(self._samples) >= self.max_samples or now_ms - self._first_ms >= self.max_age_ms

    def deadline_ms(self) -> int | None:
        """When the current batch falls due by age (None if empty)."""
        return self._first_ms + self.max_age_ms if self._samples else None

    def take(self) -> tuple[Sample, ...]:
        """Remove and return up to `max_samples` samples, oldest first."""
        batch = tuple(self._samples[: self.max_samples])
        del self._samples[: self.max_samples]
        return batch
