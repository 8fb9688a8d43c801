"""Per-device accounts and the ACL on a real Mosquitto (`flexfleet device` files): anonymous
clients are refused; a device publishes and reads only its own topics; a coordinator's account
sees its sites only; a removed or rotated login is cut off and cannot come back; a denied
publish and a refused login are each recorded once in the security log; and the real agent
and coordinator run with these accounts."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from coordinator.api.app import create_app
from coordinator.settings import load_settings
from edge_agent.runner import AgentThread, demo_config
from flexfleet.broker import Broker, ListenerSecurity, start_broker
from flexfleet.broker_watch import read_security_log
from flexfleet.device_registry import DeviceRegistry
from tests.coordinator.conftest import serve
from tests.waiting import wait_until

pytestmark = pytest.mark.integration


@dataclass
class Session:
    """A paho client logged in (or refused) with one account, recording what it gets."""

    client: mqtt.Client
    connack: ReasonCode | None = None
    connected: threading.Event = field(default_factory=threading.Event)
    disconnected: threading.Event = field(default_factory=threading.Event)
    messages: queue.Queue[tuple[str, bytes]] = field(default_factory=queue.Queue)
    suback: queue.Queue[list[ReasonCode]] = field(default_factory=queue.Queue)

    def subscribe(self, topic: str) -> int:
        """Subscribe and return the broker's reason code for it."""
        self.client.subscribe(topic, qos=1)
        return int(self.suback.get(timeout=10)[0].value)

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish at QoS 1 and wait until the broker has answered."""
        self.client.publish(topic, payload, qos=1).wait_for_publish(timeout=10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _login(broker: Broker, username: str | None, password: str | None) -> Session:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5, client_id=f"t-{username}-{id(object())}"
    )
    client.reconnect_delay_set(60, 60)  # a refused login must not be retried behind our back
    session = Session(client=client)

    def on_connect(_c: Any, _u: Any, _f: Any, rc: ReasonCode, _p: Properties | None) -> None:
        session.connack = rc
        session.connected.set()

    def on_disconnect(_c: Any, _u: Any, _f: Any, _rc: ReasonCode, _p: Any) -> None:
        session.disconnected.set()

    def on_message(_c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        session.messages.put((msg.topic, bytes(msg.payload)))

    def on_subscribe(_c: Any, _u: Any, _m: int, codes: list[ReasonCode], _p: Any) -> None:
        session.suback.put(codes)

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    client.on_message = on_message
    client.on_subscribe = on_subscribe
    if username is not None:
        client.username_pw_set(username, password)
    client.connect(broker.host, broker.port, keepalive=30)
    client.loop_start()
    session.connected.wait(10)
    return session


@dataclass
class Accounts:
    """The registry and the passwords it handed out, by username."""

    registry: DeviceRegistry
    passwords: dict[str, str]


@pytest.fixture
def accounts(tmp_path: Path, unique_site: str) -> Accounts:
    """Two presses at the test's site, one press elsewhere, and the site's coordinator."""
    registry = DeviceRegistry(tmp_path / "auth")
    passwords: dict[str, str] = {}
    for name, role, site in (
        ("press-01", "device", unique_site),
        ("press-02", "device", unique_site),
        ("press-01", "device", f"{unique_site}-b"),
        ("c1", "coordinator", unique_site),
    ):
        account, password = registry.add(name, role=role, sites=[site])  # type: ignore[arg-type]
        passwords[account.username] = password
    return Accounts(registry, passwords)


@pytest.fixture
def acl_broker(tmp_path: Path, accounts: Accounts) -> Iterator[Broker]:
    """Mosquitto enforcing the registry's password file and ACL."""
    broker = start_broker(
        tmp_path / "mosquitto",
        security=ListenerSecurity(auth_dir=accounts.registry.directory),
        security_log=tmp_path / "security.jsonl",
    )
    try:
        yield broker
    finally:
        broker.stop()


def _as(broker: Broker, accounts: Accounts, username: str) -> Session:
    session = _login(broker, username, accounts.passwords[username])
    assert session.connack is not None
    assert not session.connack.is_failure, session.connack
    return session


def test_anonymous_and_wrong_password_are_refused(acl_broker: Broker, accounts: Accounts) -> None:
    """No login, or a known user with a wrong password, gets no session."""
    for username, password in ((None, None), (next(iter(accounts.passwords)), "wrong")):
        session = _login(acl_broker, username, password)
        try:
            assert session.connack is not None
            assert session.connack.is_failure
        finally:
            session.close()


def test_a_device_reaches_only_its_own_topics(
    acl_broker: Broker, accounts: Accounts, unique_site: str
) -> None:
    """press-02 cannot read press-01's commands (Mosquitto 2.0 may grant the subscription,
    but delivers nothing its read rule does not allow) nor publish as press-01, as a made-up
    node, a command or at another site (the coordinator's account never receives it), while
    its own data arrives and the coordinator's commands reach exactly their node."""
    site = unique_site
    coordinator = _as(acl_broker, accounts, "coordinator/c1")
    press1 = _as(acl_broker, accounts, f"{site}/press-01")
    press2 = _as(acl_broker, accounts, f"{site}/press-02")
    try:
        assert coordinator.subscribe(f"$share/g/ff/v1/{site}/+/+") < 0x80
        for topic in (f"ff/v1/{site}/press-01/cmd/#", f"ff/v1/{site}/#", "ff/v1/#"):
            press2.subscribe(topic)
        assert press2.subscribe(f"ff/v1/{site}/press-02/cmd/#") < 0x80
        assert press1.subscribe(f"ff/v1/{site}/press-01/cmd/#") < 0x80
        for topic in (
            f"ff/v1/{site}/press-01/telemetry",  # another device's data
            f"ff/v1/{site}/press-99/birth",  # a node nobody registered
            f"ff/v1/{site}/press-01/cmd/rebirth",  # a command
            f"ff/v1/{site}-b/press-02/birth",  # another site
        ):
            press2.publish(topic, b'{"forged": true}')
        press2.publish(f"ff/v1/{site}/press-02/birth", b'{"own": true}')
        assert coordinator.messages.get(timeout=10) == (
            f"ff/v1/{site}/press-02/birth",
            b'{"own": true}',
        )
        coordinator.publish(f"ff/v1/{site}/press-01/cmd/rebirth", b"{}")
        coordinator.publish(f"ff/v1/{site}/press-02/cmd/rebirth", b"{}")
        assert press1.messages.get(timeout=10)[0] == f"ff/v1/{site}/press-01/cmd/rebirth"
        # press-02 reads its own command (once per overlapping subscription, as MQTT 5
        # allows) and nothing else
        assert press2.messages.get(timeout=10)[0] == f"ff/v1/{site}/press-02/cmd/rebirth"
        time.sleep(0.5)
        extra = [press2.messages.get() for _ in range(press2.messages.qsize())]
        assert {topic for topic, _ in extra} <= {f"ff/v1/{site}/press-02/cmd/rebirth"}
        assert press1.messages.empty()
        assert coordinator.messages.empty()  # none of the forged messages got through
    finally:
        for session in (coordinator, press1, press2):
            session.close()


def test_a_coordinator_account_sees_only_its_sites(
    acl_broker: Broker, accounts: Accounts, unique_site: str
) -> None:
    """The site's coordinator may not read another site nor command its devices."""
    coordinator = _as(acl_broker, accounts, "coordinator/c1")
    other = _as(acl_broker, accounts, f"{unique_site}-b/press-01")
    try:
        coordinator.subscribe(f"ff/v1/{unique_site}-b/#")
        assert other.subscribe(f"ff/v1/{unique_site}-b/press-01/cmd/#") < 0x80
        coordinator.publish(f"ff/v1/{unique_site}-b/press-01/cmd/rebirth", b"{}")
        other.publish(f"ff/v1/{unique_site}-b/press-01/birth", b"{}")
        with pytest.raises(queue.Empty):
            other.messages.get(timeout=1)
        with pytest.raises(queue.Empty):
            coordinator.messages.get(timeout=1)
    finally:
        coordinator.close()
        other.close()


def test_a_removed_device_is_cut_off_and_cannot_come_back(
    acl_broker: Broker, accounts: Accounts, unique_site: str
) -> None:
    """Removing the account disconnects the live session at the broker's reload, and the
    same login is refused afterwards; a rotated password likewise stops the old one."""
    username = f"{unique_site}/press-02"
    session = _as(acl_broker, accounts, username)
    try:
        accounts.registry.remove("press-02", site=unique_site)
        assert accounts.registry.reload_broker() == acl_broker.process.pid  # type: ignore[union-attr]
        assert session.disconnected.wait(10)
    finally:
        session.close()
    again = _login(acl_broker, username, accounts.passwords[username])
    try:
        assert again.connack is not None
        assert again.connack.is_failure
    finally:
        again.close()
    rotated_user = f"{unique_site}/press-01"
    _, new_password = accounts.registry.rotate("press-01", site=unique_site)
    accounts.registry.reload_broker()
    old = _login(acl_broker, rotated_user, accounts.passwords[rotated_user])
    new = _login(acl_broker, rotated_user, new_password)
    try:
        assert old.connack is not None
        assert old.connack.is_failure
        assert new.connack is not None
        assert not new.connack.is_failure
    finally:
        old.close()
        new.close()


def test_agent_and_coordinator_run_with_their_accounts(
    acl_broker: Broker, accounts: Accounts, unique_site: str, tmp_path: Path
) -> None:
    """The real coordinator (its shared subscription, presence, alarm lane) and a real agent
    (birth, telemetry, will) work under the ACL: the agent's telemetry is stored."""
    settings = load_settings(
        dev_mode=True,
        db_path=tmp_path / "c.db",
        broker_url=acl_broker.url,
        coordinator_id="c1",
        share_group=f"g{unique_site}",
        sites=[unique_site],
        broker_username="coordinator/c1",
        broker_password=accounts.passwords["coordinator/c1"],
        reconnect_base_s=0.1,
        reconnect_cap_s=0.5,
    )
    (tmp_path / "pw").write_text(accounts.passwords[f"{unique_site}/press-01"] + "\n")
    agent = AgentThread(
        demo_config(
            site=unique_site,
            node="press-01",
            broker=acl_broker.url,
            username=f"{unique_site}/press-01",
            password_file=tmp_path / "pw",
            state_dir=tmp_path / "agent",
            interval_ms=50,
        )
    )
    with serve(create_app(settings)) as url, httpx.Client(base_url=url, timeout=10) as api:
        wait_until(lambda: api.get("/healthz").status_code == 200)
        agent.start()
        try:
            node = wait_until(
                lambda: (
                    (r := api.get("/api/v1/nodes/press-01")).status_code == 200
                    and (r.json()["last_seq"] or 0) >= 3  # None until its first seq
                    and r.json()
                )
            )
            assert node["online"] is True
        finally:
            agent.stop()
    assert agent.error is None
    assert orjson.loads(orjson.dumps(node))["site"] == unique_site


def _records(broker: Broker) -> list[dict[str, Any]]:
    assert broker.security_log is not None
    return read_security_log(broker.security_log)


def test_a_denied_publish_and_a_wrong_password_are_recorded_once(
    acl_broker: Broker, accounts: Accounts, unique_site: str
) -> None:
    """press-02 publishing as press-01 never reaches the coordinator and leaves exactly one
    record naming press-02's account and the topic; a wrong password leaves exactly one
    refused-login record (a later denial, awaited, shows every earlier line was read)."""
    site = unique_site
    coordinator = _as(acl_broker, accounts, "coordinator/c1")
    press2 = _as(acl_broker, accounts, f"{site}/press-02")
    forged = f"ff/v1/{site}/press-01/telemetry"
    try:
        assert coordinator.subscribe(f"ff/v1/{site}/+/+") < 0x80
        press2.publish(forged, b'{"forged": true}')
        press2.publish(f"ff/v1/{site}/press-02/birth", b'{"own": true}')
        assert coordinator.messages.get(timeout=10)[0] == f"ff/v1/{site}/press-02/birth"
        refused = _login(acl_broker, f"{site}/press-01", "wrong password")
        assert refused.connack is not None
        assert refused.connack.is_failure
        refused.close()
        sentinel = f"ff/v1/{site}/press-01/birth"
        press2.publish(sentinel, b"{}")
        wait_until(lambda: any(r["topic"] == sentinel for r in _records(acl_broker)))
        records = _records(acl_broker)
        denied = [r for r in records if r["topic"] == forged]
        assert len(denied) == 1
        assert (denied[0]["kind"], denied[0]["who"], denied[0]["qos"]) == (
            "publish_denied",
            f"{site}/press-02",
            1,
        )
        assert denied[0]["address"].startswith("127.0.0.1:")
        logins = [r for r in records if r["kind"] == "login_refused"]
        assert len(logins) == 1
        assert logins[0]["address"] == "127.0.0.1"
        assert logins[0]["code"] in (134, 135)  # MQTT 5: bad user name or password / not authorised
        assert coordinator.messages.empty()
    finally:
        coordinator.close()
        press2.close()


def test_the_security_log_survives_a_broker_killed_mid_flood(
    acl_broker: Broker, accounts: Accounts, unique_site: str
) -> None:
    """A broker killed with SIGKILL while a client floods denied publishes leaves only
    whole records; after a restart new denials are appended after them."""
    site = unique_site
    press2 = _as(acl_broker, accounts, f"{site}/press-02")
    stop = threading.Event()

    def flood() -> None:
        while not stop.is_set():
            press2.client.publish(f"ff/v1/{site}/press-01/telemetry", b"x", qos=0)
            time.sleep(0.001)

    flooder = threading.Thread(target=flood, daemon=True)
    flooder.start()
    try:
        wait_until(lambda: len(_records(acl_broker)) >= 5)
        assert acl_broker.process is not None
        acl_broker.process.kill()
        acl_broker.process.wait(10)
    finally:
        stop.set()
        flooder.join(10)
        press2.close()
    acl_broker.stop()
    before = _records(acl_broker)  # every line parses: no torn record
    assert {r["kind"] for r in before} == {"publish_denied"}
    acl_broker.start()
    again = _as(acl_broker, accounts, f"{site}/press-02")
    try:
        again.publish(f"ff/v1/{site}/press-01/birth", b"{}")
        wait_until(lambda: len(_records(acl_broker)) > len(before))
    finally:
        again.close()
    after = _records(acl_broker)
    assert after[: len(before)] == before
    assert after[-1]["topic"] == f"ff/v1/{site}/press-01/birth"


def test_a_subscription_outside_the_acl_is_recorded_once(
    acl_broker: Broker, accounts: Accounts, unique_site: str
) -> None:
    """Mosquitto grants press-02 a subscription to press-01's commands and delivers nothing
    of it; the security log records the attempt once, with press-02's account, and none of
    the subscriptions the ACL allows (its own commands, the coordinator's shared one)."""
    site = unique_site
    coordinator = _as(acl_broker, accounts, "coordinator/c1")
    press2 = _as(acl_broker, accounts, f"{site}/press-02")
    try:
        assert coordinator.subscribe(f"$share/g/ff/v1/{site}/+/+") < 0x80
        assert press2.subscribe(f"ff/v1/{site}/press-02/cmd/#") < 0x80
        press2.subscribe(f"ff/v1/{site}/press-01/cmd/#")
        coordinator.publish(f"ff/v1/{site}/press-01/cmd/rebirth", b"{}")
        sentinel = f"ff/v1/{site}/press-01/birth"
        press2.publish(sentinel, b"{}")  # denied: once recorded, every earlier line was read
        wait_until(lambda: any(r["topic"] == sentinel for r in _records(acl_broker)))
        outside = [r for r in _records(acl_broker) if r["kind"] == "subscribe_outside_acl"]
        assert [(r["who"], r["topic"]) for r in outside] == [
            (f"{site}/press-02", f"ff/v1/{site}/press-01/cmd/#")
        ]
        assert press2.messages.empty()
    finally:
        coordinator.close()
        press2.close()
