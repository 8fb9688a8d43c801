"""Errors raised by the coordinator core.

    CoordinatorError              anything the coordinator refuses or fails at
    ├── ConfigError               settings that cannot be used (e.g. default tokens in production)
    ├── NotFound                  a node, signal or other resource that does not exist
    ├── InvalidQuery              a request whose parameters contradict each other
    ├── StoreError                the database failed (translated from sqlite3 or psycopg)
    │   └── StoreUnavailable      the database cannot be reached now (ingest pauses, retries)
    ├── BrokerUnavailable         the MQTT broker could not be reached
    └── StandingBy                a standby coordinator asked for what only the leader runs

Each package of the coordinator hangs its own branch under `CoordinatorError`, drawn in its
`errors` module: `AlarmError` (alarms), `CommandError` (commands), `ForecastError`
(forecast), `NotifyError` (notify), `PlanError` (plan), `ApiError` (api). Each error carries
its data as attributes; the HTTP layer maps the whole tree to status codes in one table and
one handler (`coordinator.api.errors`).
"""

from __future__ import annotations


class CoordinatorError(Exception):
    """Base of every error the coordinator core raises."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ConfigError(CoordinatorError):
    """A setting that cannot be used; `field` names it."""

    def __init__(self, reason: str, *, field: str = "") -> None:
        super().__init__(reason)
        self.field = field


class NotFound(CoordinatorError):
    """A resource that does not exist: `resource` is its kind, `key` its id."""

    def __init__(self, resource: str, key: str) -> None:
        super().__init__(f"{resource} {key!r} not found")
        self.resource = resource
        self.key = key


class InvalidQuery(CoordinatorError):
    """Query parameters that cannot be answered, such as a start after the end."""

    def __init__(self, reason: str, *, parameter: str = "") -> None:
        super().__init__(reason)
        self.parameter = parameter


class StoreError(CoordinatorError):
    """The store failed; `operation` says what it was doing."""

    def __init__(self, reason: str, *, operation: str = "") -> None:
        super().__init__(reason)
        self.operation = operation


class StoreUnavailable(StoreError):
    """The database server cannot be reached (refused, connection lost, disk full): a
    condition that may pass, so ingest pauses and retries instead of stopping."""


class BrokerUnavailable(CoordinatorError):
    """The MQTT broker at `url` could not be reached."""

    def __init__(self, reason: str, *, url: str = "") -> None:
        super().__init__(reason)
        self.url = url


class StandingBy(CoordinatorError):
    """This coordinator stands by behind the leader lock (`coordinator.store.leader_lock`):
    ingest, alarms, planning and commands run on the leader only."""


__all__ = [
    "BrokerUnavailable",
    "ConfigError",
    "CoordinatorError",
    "InvalidQuery",
    "NotFound",
    "StandingBy",
    "StoreError",
    "StoreUnavailable",
]
