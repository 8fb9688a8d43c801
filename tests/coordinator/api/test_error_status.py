"""The one table that maps the coordinator's error tree to HTTP status codes."""

from __future__ import annotations

import re

import pytest

import coordinator.alarms.errors
import coordinator.api.errors
import coordinator.commands.errors
import coordinator.errors
import coordinator.forecast.errors
import coordinator.notify.errors
import coordinator.plan.errors
import coordinator.sales.errors
import coordinator.stock.errors
from coordinator.api.errors import status_for
from coordinator.errors import CoordinatorError

# Every class of the tree, with the status its errors answer. A new error class fails
# `test_every_error_class_has_a_decided_status` until it is listed here.
EXPECTED: dict[str, int] = {
    "CoordinatorError": 400,
    "ConfigError": 500,
    "NotFound": 404,
    "InvalidQuery": 422,
    "StoreError": 503,
    "StoreUnavailable": 503,
    "BrokerUnavailable": 503,
    "ApiError": 400,
    "Unauthorized": 401,
    "Forbidden": 403,
    "BodyTooLarge": 413,
    "TooManyRequests": 429,
    "AlarmError": 400,
    "AlarmNotFound": 404,
    "InvalidTransition": 409,
    "AlarmsUnavailable": 503,
    "InvalidAlarmInput": 422,
    "CommandError": 400,
    "InvalidCommand": 422,
    "NodeNotReady": 409,
    "CommandNotSent": 503,
    "CommandsUnavailable": 503,
    "ForecastError": 500,
    "DataError": 500,
    "CsvFormatError": 500,
    "ModelError": 500,
    "ModelLoadError": 500,
    "ModelSignatureError": 500,
    "RefreshFailed": 503,
    "NotifyError": 400,
    "TooManySubscribers": 503,
    "PlanError": 500,
    "ProblemError": 500,
    "InstanceFormatError": 500,
    "InstanceTooLargeError": 500,
    "SolverError": 500,
    "TravelTimeError": 500,
    "OrderRejected": 422,
    "PlanningUnavailable": 503,
    "SalesError": 400,
    "OrderInvalid": 422,
    "OrderConflict": 409,
    "SalesUnavailable": 503,
    "StockError": 400,
    "StreamInvalid": 422,
    "StreamConflict": 409,
    "StreamsUnavailable": 503,
    "PlanInvalid": 422,
}
ERROR_MODULES = (
    coordinator.errors,
    coordinator.alarms.errors,
    coordinator.api.errors,
    coordinator.commands.errors,
    coordinator.forecast.errors,
    coordinator.notify.errors,
    coordinator.plan.errors,
    coordinator.sales.errors,
    coordinator.stock.errors,
)


def _tree() -> list[type[CoordinatorError]]:
    found: list[type[CoordinatorError]] = []
    todo: list[type[CoordinatorError]] = [CoordinatorError]
    while todo:
        kind = todo.pop()
        if kind not in found and kind.__module__.startswith("coordinator."):
            found.append(kind)
            todo.extend(kind.__subclasses__())
    return found


def test_every_error_class_has_a_decided_status() -> None:
    """Each class of the tree maps to the status listed for it, and none is unlisted."""
    tree = _tree()
    assert {kind.__name__ for kind in tree} == set(EXPECTED)
    for kind in tree:
        error = kind.__new__(kind)  # status_for reads the class only
        assert status_for(error) == EXPECTED[kind.__name__], kind.__name__


@pytest.mark.parametrize("module", ERROR_MODULES, ids=lambda m: m.__name__)
def test_every_error_of_a_package_is_drawn_in_its_docstring(module: object) -> None:
    """Each errors module draws every exception class it defines in its tree."""
    doc = getattr(module, "__doc__", "") or ""
    defined = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, BaseException)
        and value.__module__ == getattr(module, "__name__", "")
    ]
    assert defined
    for kind in defined:
        assert re.search(rf"^[\s│├└─]+{kind.__name__}\b", doc, re.M), kind.__name__


def test_no_error_class_names_its_own_status() -> None:
    """Status codes live in the table only: no class of the tree carries `http_status`."""
    assert [k.__name__ for k in _tree() if hasattr(k, "http_status")] == []
