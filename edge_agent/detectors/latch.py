"""Hysteresis: turns a detector's score stream into raise / clear transitions.

A latch raises on the first sample whose score reaches the raise threshold and clears
only after `clear_after_samples` consecutive samples below the clear threshold, so a
score that flaps around the threshold produces one raise and one clear, not a hundred.
"""

from __future__ import annotations

RAISED = 1
CLEARED = -1
UNCHANGED = 0


class Latch:
    """Raise / clear state of one detector on one signal."""

    __slots__ = ("active", "quiet")

    def __init__(self) -> None:
        self.active = False
        self.quiet = 0

    def feed(self, score: float, raise_at: float, clear_at: float, clear_after: int) -> int:
        """Advance by one sample; returns RAISED, CLEARED or UNCHANGED."""
        if not self.active:
            if score >= raise_at:
                self.active = True
                self.quiet = 0
                return RAISED
            return UNCHANGED
        if score < clear_at:
            quiet = self.quiet + 1
            if quiet >= clear_after:
                self.active = False
                self.quiet = 0
                return CLEARED
            self.quiet = quiet
        else:
            self.quiet = 0
        return UNCHANGED

    def reset(self) -> None:
        """Forget any raised state (used when its detector is switched off)."""
        self.active = False
        self.quiet = 0
