"""The OpenAPI document is the contract: schemathesis, with every check, finds nothing
against the app in-process, for a viewer's token, an operator's and an admin's (the write
rate limit set high enough that generated writes are not refused with 429; the guard still
runs, with the audit trail, on every request).

Bounded (`MAX_EXAMPLES` per operation and phase, fixed seed, deterministic generation), so
it runs in the normal test run. Positive data may be refused with 422 only for the rules
beyond the schema that operations name in their description, and then with a domain
problem type, never `validation-failed`: `valid_data_passes_validation` holds that.
The server-sent event stream is left out (it never ends; `test_alarm_stream` covers it).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from anyio.from_thread import start_blocking_portal
from schemathesis import Case, CheckContext, Response
from schemathesis.config import SchemathesisConfig

from coordinator.api.app import create_app
from coordinator.api.problems import VALIDATION_FAILED
from coordinator.settings import load_settings

VIEWER = "viewer-token-for-contract-0001"
OPERATOR = "operator-token-for-contract-0001"
ADMIN = "admin-token-for-contract-000001"
MAX_EXAMPLES = 5
SEED = 20261206
STREAM = "/api/v1/alarms/stream"

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,
        "generation": {
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "mode": "all",
            # The role's token is sent with every request; `ignored_auth` probes
            # requests without it and with a wrong one.
            "with-security-parameters": False,
        },
        "checks": {
            # Schema-valid requests may meet a rule named in the operation's description
            # (an undeclared vehicle, an unknown machine): 422 with a domain problem type.
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "401", "403", "404", "409", "422", "503"]
            },
            # A body over a route's limit is refused unread (413), whatever is in it.
            "negative_data_rejection": {
                "expected-statuses": ["400", "401", "403", "404", "409", "413", "422"]
            },
        },
        "operations": [
            {
                # Without a broker the service is degraded: 503 is /healthz's documented
                # answer, with the same body as 200.
                "include-path": "/healthz",
                "checks": {"not_a_server_error": {"expected-statuses": ["2xx", "4xx", "503"]}},
            }
        ],
    }
)


def valid_data_passes_validation(_ctx: CheckContext, response: Response, case: Case[Any]) -> bool:
    """A request the document calls valid never fails the app's own validation."""
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    if positive and response.status_code == 422:
        body: Any = response.json()
        assert body.get("type") != VALIDATION_FAILED.uri, (
            f"schema-valid request refused by validation: {body.get('detail')}"
        )
    return True


_DB_DIR = Path(tempfile.mkdtemp(prefix="flexfleet-contract-"))
APP = create_app(
    load_settings(
        db_path=_DB_DIR / "api.db",
        broker_url="mqtt://127.0.0.1:1",
        viewer_tokens=(f"vera:{VIEWER}",),
        operator_tokens=(f"otto:{OPERATOR}",),
        admin_tokens=(f"ada:{ADMIN}",),
        write_rate_per_minute=1_000_000,
        write_burst=1_000_000,
    ),
    start_service=False,
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, config=CONFIG)


@pytest.fixture(scope="module", autouse=True)
def running_app() -> Iterator[None]:
    """The app's lifespan: its store, twin, planner and alarm service open (no broker)."""
    try:
        with (
            start_blocking_portal() as portal,
            portal.wrap_async_context_manager(APP.router.lifespan_context(APP)),
        ):
            yield
    finally:
        shutil.rmtree(_DB_DIR, ignore_errors=True)


@pytest.fixture(
    scope="module", params=[VIEWER, OPERATOR, ADMIN], ids=["viewer", "operator", "admin"]
)
def token(request: pytest.FixtureRequest) -> str:
    """Each role's token in turn."""
    value: str = request.param
    return value


@schema.exclude(path=STREAM).parametrize()
def test_the_app_keeps_its_openapi_contract(case: Case[Any], token: str) -> None:
    """Every check passes for every generated request, with each role's token."""
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"},
        additional_checks=[valid_data_passes_validation],
    )
