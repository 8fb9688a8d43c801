"""The flexfleet edge agent: sample a device, detect, report by exception, never lose data.

Data flow: driver → detectors (every raw sample) → deadband → batcher → SQLite outbox →
MQTT 5 QoS 1 (leaving the outbox only on PUBACK). See `docs/agent.md`.

Errors (`edge_agent.errors`)::

    AgentError
    ├── ConfigError
    ├── OutboxError
    │   └── OutboxFull
    ├── DriverError
    └── CommandRejected

This package's `__init__` imports nothing heavy: paho is loaded by `edge_agent.mqtt`
(through `edge_agent.runner`) and pymodbus only by the Modbus driver.
"""

from edge_agent.config import AgentConfig, config_from_dict, load_config
from edge_agent.errors import (
    AgentError,
    CommandRejected,
    ConfigError,
    DriverError,
    OutboxError,
    OutboxFull,
)

__all__ = [
    "AgentConfig",
    "AgentError",
    "CommandRejected",
    "ConfigError",
    "DriverError",
    "OutboxError",
    "OutboxFull",
    "config_from_dict",
    "load_config",
]
