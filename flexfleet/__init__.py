"""Cross-cutting pieces of flexfleet: the clock port, the command line and the demo."""

from flexfleet.clock import Clock, FakeClock, SystemClock

__all__ = ["Clock", "FakeClock", "SystemClock"]
