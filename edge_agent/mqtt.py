"""The MQTT 5 adapter: the only module of the agent that imports paho.

Each session is a fresh paho client (so nothing paho buffered survives into the next
session: unacknowledged messages are replayed from the outbox, not by paho) driven by our
own network thread calling `client.loop()`. paho's reconnect is never used: when the
session ends the thread ends, and the agent decides when to try again
(`fleet_runtime.backoff.next_delay`). Callbacks only convert to `TransportEvent`s and enqueue
them, tagged with the session, so a late callback from an old session is ignored.

The login and TLS (`fleet_runtime.mqtt_security.BrokerSecurity`) are set on every session's
client; a refused login or a failed TLS handshake ends the attempt with a `ConnectFailed`
whose reason names the cause, and the agent retries on its backoff as for any failure.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from edge_agent.errors import ConfigError
from edge_agent.transport import (
    Connected,
    ConnectFailed,
    Disconnected,
    Published,
    TransportError,
    TransportEvent,
    Will,
    convert,
)
from fleet_runtime.mqtt_security import BrokerSecurity, describe_connect_error, describe_refusal


class _Session:
    """One paho client and its network thread."""

    def __init__(self, owner: MqttTransport, token: int, client: Any) -> None:
        self.owner = owner
        self.token = token
        self.client = client
        self.stop = threading.Event()
        self.ended = False
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def put(self, event: TransportEvent) -> None:
        self.owner._events.put((self.token, event))

    def end(self, reason: str, *, failed: bool) -> None:
        with self.lock:
            if self.ended:
                return
            self.ended = True
        self.put(ConnectFailed(reason) if failed else Disconnected(reason))

    # paho callbacks (network thread): convert and enqueue, nothing else
    def on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        if rc.is_failure:
            reason = describe_refusal(rc, url=self.owner.url, username=self.owner.username)
            self.end(reason, failed=True)
        else:
            self.put(Connected())

    def on_disconnect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        self.end(f"disconnected: {rc}", failed=False)

    def on_publish(self, client: Any, userdata: Any, mid: int, rc: Any, props: Any) -> None:
        self.put(Published(mid, not rc.is_failure))

    def on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        self.put(convert(msg.topic, msg.payload))

    def run(self, host: str, port: int, keepalive_s: int) -> None:
        try:
            self.client.connect(host, port, keepalive_s, clean_start=True)
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            self.end(describe_connect_error(exc, url=self.owner.url), failed=True)
            return
        while not self.stop.is_set():
            rc = self.client.loop(timeout=0.1)
            if rc != paho.MQTT_ERR_SUCCESS:
                break
        self.end("connection lost", failed=False)


class MqttTransport:
    """`Transport` over paho-mqtt (MQTT 5, QoS 1, clean start), with `security`'s login and TLS."""

    def __init__(self, security: BrokerSecurity | None = None) -> None:
        self._events: queue.SimpleQueue[tuple[int, TransportEvent]] = queue.SimpleQueue()
        self._session: _Session | None = None
        self._token = 0
        self._security = security or BrokerSecurity()
        try:
            self._tls = self._security.context()  # one context for every session
        except ValueError as exc:  # a TLS file changed since the configuration was loaded
            raise ConfigError("mqtt", str(exc)) from None
        self.url = ""

    @property
    def username(self) -> str | None:
        """The login's username (None: anonymous)."""
        return self._security.username

    def connect(
        self, *, host: str, port: int, client_id: str, keepalive_s: int, will: Will
    ) -> None:
        self._close_session()
        self._token += 1
        client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=paho.MQTTv5,
        )
        client.will_set(will.topic, will.payload, qos=1, retain=False)
        if self._security.username is not None:
            client.username_pw_set(self._security.username, self._security.password)
        if self._tls is not None:
            client.tls_set_context(self._tls)
        self.url = f"{'mqtts' if self._tls is not None else 'mqtt'}://{host}:{port}"
        client.max_inflight_messages_set(1000)  # the agent's Link keeps its own window
        client.max_queued_messages_set(0)
        session = _Session(self, self._token, client)
        client.on_connect = session.on_connect
        client.on_disconnect = session.on_disconnect
        client.on_publish = session.on_publish
        client.on_message = session.on_message
        session.thread = threading.Thread(
            target=session.run, args=(host, port, keepalive_s), name="mqtt", daemon=True
        )
        self._session = session
        session.thread.start()

    def _live_client(self) -> Any:
        session = self._session
        if session is None or session.ended:
            raise TransportError("no MQTT session")
        return session.client

    def subscribe(self, topic_filters: list[str]) -> None:
        result, _ = self._live_client().subscribe([(f, 1) for f in topic_filters])
        if result != paho.MQTT_ERR_SUCCESS:
            raise TransportError(f"subscribe failed: {paho.error_string(result)}")

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> int:
        info = self._live_client().publish(topic, payload, qos=1, retain=retain)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            raise TransportError(f"publish failed: {paho.error_string(info.rc)}")
        return int(info.mid)

    def disconnect(self) -> None:
        session = self._session
        if session is not None and not session.ended:
            session.client.disconnect()
        self._close_session()

    def _close_session(self) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        session.stop.set()
        if session.thread is not None and session.thread is not threading.current_thread():
            session.thread.join(timeout=5)
        session.end("closed", failed=False)

    def next_event(self, timeout_s: float) -> TransportEvent | None:
        current = self._session.token if self._session is not None else self._token
        while True:
            try:
                if timeout_s > 0:
                    token, event = self._events.get(timeout=timeout_s)
                else:
                    token, event = self._events.get_nowait()
            except queue.Empty:
                return None
            if token == current:
                return event
            timeout_s = 0.0  # skip a stale event, then look once more without waiting
