"""Login and TLS against a real Mosquitto (password file, TLS-only listener, test CA): an
edge agent and a coordinator exchange data over TLS with their logins and client
certificates; a wrong password is refused and named (then works once the broker's
password file is fixed); an untrusted CA or a host name mismatch is refused with a clear
reason and nothing goes out in clear."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from coordinator.api.app import create_app
from coordinator.settings import load_settings
from edge_agent.runner import AgentThread, demo_config
from flexfleet.broker import Broker, ListenerSecurity, free_port, start_broker
from tests.coordinator.conftest import serve
from tests.pki import Pki
from tests.waiting import wait_until

pytestmark = pytest.mark.integration

AGENT_PASSWORD = "press-01 pass phrase"
COORDINATOR_PASSWORD = "coordinator pass phrase"


def _secure_broker(tmp_path: Path, pki: Pki, *, users: dict[str, str], **tls: Any) -> Broker:
    return start_broker(
        tmp_path / "mosquitto",
        security=ListenerSecurity(
            users=users, certfile=pki.server_cert, keyfile=pki.server_key, **tls
        ),
    )


@pytest.fixture
def secure_broker(tmp_path: Path, pki: Pki) -> Iterator[Broker]:
    """Mosquitto with a password file and a TLS-only listener; client certificates required."""
    broker = _secure_broker(
        tmp_path,
        pki,
        users={"press-01": AGENT_PASSWORD, "coordinator": COORDINATOR_PASSWORD},
        cafile=pki.ca,
        require_certificate=True,
    )
    try:
        yield broker
    finally:
        broker.stop()


def _coordinator(
    broker: Broker, tmp_path: Path, site: str, pki: Pki, **broker_settings: Any
) -> Any:
    settings = load_settings(
        dev_mode=True,
        db_path=tmp_path / "c.db",
        broker_url=broker.url,
        coordinator_id=f"coord-{site}",
        share_group=f"g{site}",
        reconnect_base_s=0.1,
        reconnect_cap_s=0.5,
        **{
            "broker_username": "coordinator",
            "broker_ca_file": pki.ca,
            "broker_cert_file": pki.client_cert,
            "broker_key_file": pki.client_key,
            **broker_settings,
        },
    )
    return serve(create_app(settings))


def _agent(
    broker_url: str, tmp_path: Path, site: str, password: str, pki: Pki, **tls: Any
) -> AgentThread:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "agent-password").write_text(password + "\n")
    files = {"ca_file": pki.ca, "cert_file": pki.client_cert, "key_file": pki.client_key, **tls}
    config = demo_config(
        site=site,
        node="press-01",
        broker=broker_url,
        username="press-01",
        password_file=tmp_path / "agent-password",
        state_dir=tmp_path / "agent",
        interval_ms=50,
        **files,
    )
    return AgentThread(config)


def _stored_telemetry(api: httpx.Client) -> int:
    """The node's highest stored seq (0 until it has one: a node first heard of through
    its will, after a dropped first connection, has none)."""
    node = api.get("/api/v1/nodes/press-01")
    return int(node.json()["last_seq"] or 0) if node.status_code == 200 else 0


def test_agent_and_coordinator_exchange_data_over_tls_with_logins(
    secure_broker: Broker, tmp_path: Path, unique_site: str, pki: Pki
) -> None:
    """Both log in over TLS with the test CA and a client certificate; the agent waits for
    the coordinator's presence, and its telemetry is stored and served by the coordinator."""
    assert secure_broker.url.startswith("mqtts://localhost:")
    with (
        _coordinator(
            secure_broker,
            tmp_path,
            unique_site,
            pki,
            broker_password=COORDINATOR_PASSWORD,
        ) as url,
        httpx.Client(base_url=url, timeout=10) as api,
    ):
        health = wait_until(lambda: (r := api.get("/healthz")).status_code == 200 and r.json())
        assert health["broker_error"] == ""
        agent = _agent(secure_broker.url, tmp_path, unique_site, AGENT_PASSWORD, pki).start()
        try:
            wait_until(lambda: _stored_telemetry(api) >= 3)
            points = api.get(
                "/api/v1/nodes/press-01/telemetry", params={"signal": "spindle_temp_c"}
            ).json()["points"]
            assert points
        finally:
            agent.stop()
    assert agent.error is None


def test_wrong_password_is_refused_and_named_then_connects_once_fixed(
    tmp_path: Path, unique_site: str, pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    """With wrong passwords the coordinator's /healthz says which login was refused and the
    agent logs it once; once the broker's password file accepts them, both connect (on
    their own backoff) and data flows."""
    broker = _secure_broker(tmp_path, pki, users={"press-01": "other", "coordinator": "other"})
    caplog.set_level(logging.INFO)
    try:
        with (
            _coordinator(
                broker, tmp_path, unique_site, pki, broker_password="wrong coordinator password"
            ) as url,
            httpx.Client(base_url=url, timeout=10) as api,
        ):
            health = api.get("/healthz")
            assert health.status_code == 503
            body = health.json()
            assert body["broker_connected"] is False
            assert "refused the login of user 'coordinator'" in body["broker_error"]
            assert "Not authorized" in body["broker_error"]
            agent = _agent(broker.url, tmp_path, unique_site, "wrong agent password", pki).start()
            try:
                wait_until(lambda: "refused the login of user 'press-01'" in caplog.text)
                broker.update_users(
                    {
                        "press-01": "wrong agent password",
                        "coordinator": "wrong coordinator password",
                    }
                )
                wait_until(lambda: api.get("/healthz").status_code == 200, timeout_s=15)
                wait_until(lambda: _stored_telemetry(api) >= 1, timeout_s=15)
            finally:
                agent.stop()
            assert agent.error is None
    finally:
        broker.stop()
    for user, connections in (("press-01", 1), ("coordinator", 2)):  # ingest + alarm lane
        refusals = [
            r for r in caplog.records if f"refused the login of user '{user}'" in r.getMessage()
        ]
        assert len(refusals) == connections  # one line per cause, however many retries
        assert {r.levelno for r in refusals} == {logging.ERROR}
    assert "Protocol error" not in caplog.text  # a refused attempt is not logged twice


class _Recorder:
    """A TCP listener that records the first bytes each client sends (and answers nothing)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[bytes] = []
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        conn, _ = self._server.accept()
        with conn:
            conn.settimeout(5)
            with contextlib.suppress(OSError):
                self.received.append(conn.recv(65536))

    def close(self) -> None:
        self._thread.join(10)
        self._server.close()


def test_untrusted_ca_and_host_mismatch_are_refused_with_a_reason(
    tmp_path: Path, unique_site: str, pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    """A broker whose certificate the client's CA did not sign, or that does not name the
    host connected to, is refused during the handshake: the log and /healthz say why, and
    the first bytes on the wire are a TLS ClientHello, never the MQTT login."""
    broker = _secure_broker(tmp_path, pki, users={"press-01": AGENT_PASSWORD})
    recorder = _Recorder()
    caplog.set_level(logging.INFO)
    try:
        with (
            _coordinator(  # no CA file: the system CAs do not know the test CA
                broker,
                tmp_path,
                unique_site,
                pki,
                broker_ca_file=None,
                broker_cert_file=None,
                broker_key_file=None,
                broker_password=COORDINATOR_PASSWORD,
            ) as url,
            httpx.Client(base_url=url, timeout=10) as api,
        ):
            body = api.get("/healthz").json()
            assert body["broker_connected"] is False
            assert "presented a certificate that is not trusted" in body["broker_error"]
        rogue = _agent(broker.url, tmp_path, unique_site, AGENT_PASSWORD, pki, ca_file=pki.rogue_ca)
        rogue.start()
        wait_until(lambda: "not trusted (unable to get local issuer certificate)" in caplog.text)
        rogue.stop()
        by_ip = broker.url.replace("localhost", "127.0.0.1")
        mismatch = _agent(by_ip, tmp_path / "ip", unique_site, AGENT_PASSWORD, pki)
        mismatch.start()
        wait_until(lambda: "certificate is not valid for '127.0.0.1'" in caplog.text)
        mismatch.stop()
        sniffed = _agent(
            f"mqtts://localhost:{recorder.port}",
            tmp_path / "sniff",
            unique_site,
            AGENT_PASSWORD,
            pki,
        )
        sniffed.start()
        wait_until(lambda: recorder.received)
        sniffed.stop()
    finally:
        recorder.close()
        broker.stop()
    hello = recorder.received[0]
    assert hello[:1] == b"\x16"  # TLS handshake record
    assert AGENT_PASSWORD.encode() not in hello
    assert b"MQTT" not in hello
    assert rogue.error is None
    assert mismatch.error is None
