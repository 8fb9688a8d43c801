"""The shared runtime layer: what every process of the fleet needs beneath its own logic.

It sits on top of `protocol` and beneath `firmware_sim`, `edge_agent` and `coordinator`, and
imports none of them:

- `fleet_runtime.clock`: the `Clock` port (`SystemClock`, `FakeClock` for tests and
  simulated time, `ScaledClock` for a simulation faster than wall time shared by processes);
- `fleet_runtime.backoff`: the one reconnect policy, `next_delay(attempt, rng)`;
- `fleet_runtime.mqtt_security`: broker URLs, login and TLS settings, and the words for
  refused connections.
"""

from fleet_runtime.backoff import next_delay
from fleet_runtime.clock import Clock, FakeClock, ScaledClock, SystemClock, now_ms
from fleet_runtime.mqtt_security import BrokerSecurity

__all__ = [
    "BrokerSecurity",
    "Clock",
    "FakeClock",
    "ScaledClock",
    "SystemClock",
    "next_delay",
    "now_ms",
]
