"""A connection that keeps failing is logged once per cause, not once per retry."""

from __future__ import annotations

import logging

import pytest

from tests.edge_agent.conftest import MakeCore, run_for

REFUSED = "mqtts://b:8883 refused the login of user 'n1': Not authorized; check the username"


def test_each_cause_is_logged_once_while_retrying(
    make_core: MakeCore, caplog: pytest.LogCaptureFixture
) -> None:
    """Repeated refusals log one error; a new cause logs again; after a session, again."""
    core, transport, clock = make_core(mqtt={"reconnect_base_s": 0.1, "reconnect_cap_s": 0.2})
    caplog.set_level(logging.INFO, logger="edge_agent")

    def fail(reason: str, times: int) -> None:
        for _ in range(times):  # each refusal, then the retry within the backoff cap
            transport.refuse(reason)
            run_for(core, clock, 0.3)

    core.tick()
    fail(REFUSED, 4)
    fail("TLS: mqtts://b:8883 presented a certificate that is not trusted", 2)
    transport.accept()
    run_for(core, clock, 0.1)
    transport.drop("network down")
    run_for(core, clock, 0.3)
    fail(REFUSED, 2)
    assert len(transport.connects) == 10  # every failure was retried
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [
        f"cannot connect to the broker: {REFUSED}; retrying",
        "cannot connect to the broker: TLS: mqtts://b:8883 presented a certificate that is "
        "not trusted; retrying",
        f"cannot connect to the broker: {REFUSED}; retrying",
    ]
