"""The coordinator's one paho module: ingest subscription, manual acks, publishing, presence.

paho callbacks only convert and enqueue (`RawMessage` into the writer's queue). With
`manual_ack=True` paho sends no PUBACK by itself: the writer acks a message only after the
batch holding it is committed, so a crash loses nothing the broker thinks was delivered;
the broker redelivers the rest and seq tracking drops what was already stored.

The session is persistent (clean start off, session expiry set) so the broker keeps the
fleet's QoS 1 backlog while the coordinator restarts; Receive Maximum equals the ingest
queue size, so the broker never has more unacknowledged messages in flight to us than the
queue can hold (MQTT 5 §4.9 flow control) and backpressure reaches the broker.
The retained presence says online, the last will offline: on `ff/v1/coordinator/state` for a
coordinator owning every site, on `ff/v1/coordinator/{id}/state` for one owning `sites`
(named in the payload, so their agents follow it and the others ignore it).

With `persistent=False` the same class is the alarm fast lane's second connection: clean
start, paho's automatic acks, no presence, a filter of its own (agent events only), and
Nagle's algorithm off: the alerts published on it would otherwise wait for the broker's
delayed ACK of the PUBACK sent just before (about 40 ms).

Login and TLS come from `fleet_runtime.mqtt_security.BrokerSecurity` (both connections use
the same). A refused login (CONNACK "Bad user name or password" / "Not authorized") or a
failed TLS handshake is logged once per cause, kept in `last_error` for `/healthz`, and
retried on the backoff like any failure (a broker's password file can be fixed meanwhile).

Reconnects: paho's own retry is off. The client runs its own network thread (`loop()`),
and after a lost or failed connection waits `fleet_runtime.backoff.next_delay(attempt, ...)`,
the one capped, jittered policy of the project, before trying again.
"""

from __future__ import annotations

import logging
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from coordinator.errors import BrokerUnavailable
from coordinator.ingest.records import RawMessage
from fleet_runtime.backoff import next_delay
from fleet_runtime.clock import Clock, now_ms
from fleet_runtime.mqtt_security import BrokerSecurity, describe_connect_error, describe_refusal
from protocol import (
    FLEET_FILTER,
    CoordinatorState,
    coordinator_state_topic,
    encode,
    shared_filter,
)

log = logging.getLogger(__name__)

AckToken = tuple[int, int, int]
"""(connection generation, mid, qos): a mid is only meaningful on its own connection."""


class MqttClient:
    """Subscribes the fleet filter, hands messages to `on_message`, acks, and publishes."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        coordinator_id: str,
        on_message: Callable[[RawMessage], None],
        clock: Clock,
        share_group: str = "flexfleet",
        session_expiry_s: int = 3600,
        keepalive_s: int = 30,
        receive_maximum: int = 1000,
        topic_filters: tuple[str, ...] = (FLEET_FILTER,),
        persistent: bool = True,
        reconnect_base_s: float = 0.5,
        reconnect_cap_s: float = 30.0,
        rng: random.Random | None = None,
        sites: tuple[str, ...] = (),
        security: BrokerSecurity | None = None,
    ) -> None:
        next_delay(0, random.Random(0), base_s=reconnect_base_s, cap_s=reconnect_cap_s)  # checks
        self.host, self.port = host, port
        self.coordinator_id = coordinator_id
        self.sites = sites
        # a coordinator owning some sites keeps its presence on its own topic
        self.presence_topic = coordinator_state_topic(coordinator_id if sites else None)
        self.on_message = on_message  # where messages go; may be replaced before start()
        self._clock = clock
        if not topic_filters:
            raise ValueError("at least one topic filter is needed")
        self._filters = tuple(
            shared_filter(share_group, f) if share_group else f for f in topic_filters
        )
        self._persistent = persistent
        self._session_expiry_s = session_expiry_s
        self._keepalive_s = keepalive_s
        self._receive_maximum = receive_maximum
        self._reconnect_base_s = reconnect_base_s
        self._reconnect_cap_s = reconnect_cap_s
        self._rng = rng or random.Random()
        self._attempt = 0
        self.connections = 0
        self._generation = 0
        self._connected = threading.Event()
        self._refused = threading.Event()  # login or TLS refused: `start` stops waiting
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=coordinator_id,
            protocol=mqtt.MQTTv5,
            manual_ack=persistent,
        )
        self._client.max_inflight_messages_set(1000)
        self._client.max_queued_messages_set(0)
        self._security = security or BrokerSecurity()
        if self._security.username is not None:
            self._client.username_pw_set(self._security.username, self._security.password)
        context = self._security.context()
        if context is not None:
            self._client.tls_set_context(context)  # certificate and host name verified
        self._last_error = ""
        if persistent:
            self._client.will_set(
                self.presence_topic, self._state(online=False), qos=1, retain=True
            )
        if not persistent:
            self._client.on_socket_open = _no_delay
        self._client.on_connect = self._handle_connect
        self._client.on_disconnect = self._handle_disconnect
        self._client.on_message = self._handle_message

    @property
    def connected(self) -> bool:
        """Whether the broker session is up right now."""
        return self._connected.is_set()

    @property
    def last_error(self) -> str:
        """Why the last connection attempt failed ("" while connected or before any failure)."""
        return self._last_error

    @property
    def subscriptions(self) -> tuple[str, ...]:
        """The topic filters this client subscribes (shared or plain)."""
        return self._filters

    def start(self, *, connect_timeout_s: float = 10.0) -> bool:
        """Start the network thread and connect; True if connected within the timeout
        (0: do not wait). A refused login or TLS handshake ends the wait at once.

        An unreachable broker is not fatal: the thread keeps retrying on the backoff policy
        while the API serves and `/healthz` reports the broker as disconnected. Connection
        parameters paho refuses (a bad port, say) raise `BrokerUnavailable`.
        """
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        if self._persistent:
            props.SessionExpiryInterval = self._session_expiry_s
            props.ReceiveMaximum = self._receive_maximum
        try:
            self._client.connect_async(
                self.host,
                self.port,
                keepalive=self._keepalive_s,
                clean_start=not self._persistent,
                properties=props,
            )
        except (OSError, ValueError) as exc:
            raise BrokerUnavailable(
                f"cannot connect to the broker at {self.host}:{self.port}: {exc}", url=self._url()
            ) from exc
        self._closing.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"mqtt-{self.coordinator_id}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + connect_timeout_s
        while not (self._connected.is_set() or self._refused.is_set()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._connected.wait(min(0.05, remaining))
        if self._connected.is_set():
            return True
        if connect_timeout_s > 0 and not self._refused.is_set():  # a refusal is logged already
            log.warning("broker %s not reachable yet; retrying in the background", self._url())
        return False

    def stop(self) -> None:
        """Publish the offline state, disconnect cleanly (keeping the session), stop the thread."""
        if self._connected.is_set() and self._persistent:
            info = self._client.publish(
                self.presence_topic, self._state(online=False), qos=1, retain=True
            )
            try:
                info.wait_for_publish(timeout=2.0)
            except (RuntimeError, ValueError):
                log.warning("could not publish the offline state before disconnecting")
        self._closing.set()  # the network thread disconnects and ends
        if self._thread is not None:
            self._thread.join(10.0)
            self._thread = None
        # paho closes its wake-up socket pair only in `Client.__del__`; when the client is
        # collected as part of a reference cycle the sockets may be finalised first and
        # warn "unclosed socket". Close them now that the network thread has ended.
        self._client._reset_sockets()
        self._connected.clear()

    def _run(self) -> None:
        """Connect, run paho's loop until the connection ends, back off, repeat until stopped."""
        while not self._closing.is_set():
            try:
                self._client.reconnect()
            except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
                reason = describe_connect_error(exc, url=self._url())
                self._failed(reason, refused=isinstance(exc, ssl.SSLError))
            else:
                while not self._closing.is_set():
                    if self._client.loop(timeout=0.1) != mqtt.MQTT_ERR_SUCCESS:
                        break
                self._connected.clear()
            if self._closing.is_set():
                break
            delay = next_delay(
                self._attempt, self._rng, base_s=self._reconnect_base_s, cap_s=self._reconnect_cap_s
            )
            self._attempt += 1
            log.info("reconnecting to %s in %.2f s", self._url(), delay)
            self._closing.wait(delay)
        self._close_socket()

    def _close_socket(self) -> None:
        """Send DISCONNECT (the session stays on the broker) and let paho close the socket."""
        try:
            self._client.disconnect()  # a no-op when there is no socket
            for _ in range(50):
                if self._client.socket() is None:
                    break
                self._client.loop(timeout=0.02)
        except Exception:  # closing is best effort once the thread ends
            log.debug("closing the MQTT connection failed", exc_info=True)
        self._connected.clear()

    def ack(self, tokens: Iterable[object]) -> int:
        """PUBACK the messages behind `tokens` received on the current connection.

        Tokens from an earlier connection are skipped: the broker redelivers those.
        Returns how many acks were sent.
        """
        sent = 0
        with self._lock:
            generation = self._generation
        for token in tokens:
            if not isinstance(token, tuple) or len(token) != 3:
                continue
            gen, mid, qos = token
            if gen != generation or qos == 0:
                continue
            self._client.ack(mid, qos)
            sent += 1
        return sent

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        """Queue one message for the broker (does not wait for its acknowledgement)."""
        self._client.publish(topic, payload, qos=qos, retain=retain)

    # -- paho callbacks: convert and enqueue only ----------------------------------------

    def _handle_connect(
        self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:
            username = self._security.username
            self._failed(describe_refusal(reason, url=self._url(), username=username), refused=True)
            return
        with self._lock:
            self._generation += 1
        self._attempt = 0
        self._last_error = ""
        self._refused.clear()
        self.connections += 1
        client.subscribe([(f, SubscribeOptions(qos=1)) for f in self._filters])
        if self._persistent:
            client.publish(self.presence_topic, self._state(online=True), qos=1, retain=True)
        self._connected.set()

    def _failed(self, reason: str, *, refused: bool = False) -> None:
        """Keep why the connection failed; log a cause once, not on every retry."""
        if refused:
            self._refused.set()
        if reason != self._last_error:
            log.error("%s (%s); retrying", reason, self.coordinator_id)
        else:
            log.debug("%s (%s)", reason, self.coordinator_id)
        self._last_error = reason

    def _handle_disconnect(
        self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        if reason.is_failure and was_connected:  # a refused attempt was logged by _failed
            log.warning("disconnected from the broker: %s", reason)

    def _handle_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            topic = msg.topic
        except UnicodeDecodeError:
            topic = repr(bytes(msg._topic))[:1024]
        with self._lock:
            generation = self._generation
        self.on_message(
            RawMessage(
                topic=topic,
                payload=bytes(msg.payload),
                received_ms=now_ms(self._clock),
                token=(generation, msg.mid, msg.qos),
            )
        )

    def _state(self, *, online: bool) -> bytes:
        return encode(
            CoordinatorState(
                online=online,
                ts=now_ms(self._clock),
                coordinator=self.coordinator_id,
                sites=self.sites,
            )
        )

    def _url(self) -> str:
        return f"{'mqtts' if self._security.tls else 'mqtt'}://{self.host}:{self.port}"


def _no_delay(_client: mqtt.Client, _userdata: Any, sock: Any) -> None:
    """Send each small packet at once (TCP_NODELAY) on a latency-sensitive connection."""
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


__all__ = ["AckToken", "MqttClient"]
