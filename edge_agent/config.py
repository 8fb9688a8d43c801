"""Agent configuration: one TOML file → frozen dataclasses, validated with clear errors.

Every section is a frozen dataclass checked in `__post_init__`; `load_config(path)` reads
the file (bounded size, UTF-8, TOML 1.0 via `tomllib`) and raises `ConfigError` naming
the dotted field for unknown keys, wrong types and out-of-range values. Example:
`config/agent.example.toml`. Paths are resolved relative to the config file.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from edge_agent.detection import check_detector_settings
from edge_agent.errors import ConfigError
from edge_agent.registers import RegisterMap, parse_register_map
from fleet_runtime.mqtt_security import (
    MAX_PASSWORD_FILE_BYTES,
    BrokerSecurity,
    check_readable,
    check_username,
    parse_broker_url,
    read_password_file,
    tls_context,
)
from protocol import TopicError, check_id

MAX_CONFIG_BYTES: Final = 1024 * 1024
PASSWORD_ENV: Final = "FLEXFLEET_MQTT_PASSWORD"  # noqa: S105 (a variable name, not a password)
NODE_KINDS: Final = ("machine", "warehouse", "gateway", "vehicle")


def _check(ok: bool, name: str, reason: str) -> None:
    if not ok:
        raise ConfigError(name, reason)


def _finite_range(value: float, name: str, low: float, high: float) -> None:
    _check(
        math.isfinite(value) and low <= value <= high,
        name,
        f"must be in {low}..{high}, got {value!r}",
    )


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """Who the agent is: `site`/`node` ids as in the topic, and its kind."""

    site: str
    node: str
    kind: str = "machine"
    firmware: str = ""

    def __post_init__(self) -> None:
        for name in ("site", "node"):
            try:
                check_id(getattr(self, name), what=name)
            except TopicError as exc:
                raise ConfigError(f"node.{name}", exc.reason) from None
        _check(self.site != "coordinator", "node.site", "'coordinator' is reserved")
        _check(self.node != "alerts", "node.node", "'alerts' is reserved")
        _check(self.kind in NODE_KINDS, "node.kind", f"must be one of {', '.join(NODE_KINDS)}")
        _check(len(self.firmware) <= 64, "node.firmware", "at most 64 characters")


@dataclass(frozen=True, slots=True)
class MqttConfig:
    """The broker, the login and TLS, and session behaviour.

    `broker` is `mqtt://host[:1883]` (plain) or `mqtts://host[:8883]` (TLS: the broker's
    certificate and host name are verified against `ca_file`, else the system CAs).
    `cert_file` + `key_file` give a client certificate. The password never sits in the
    TOML file: `FLEXFLEET_MQTT_PASSWORD`, when set, wins over `password_file` (read at
    load); `password` is filled from them by `config_from_dict`.
    """

    broker: str = "mqtt://127.0.0.1:1883"
    username: str = ""
    password_file: Path | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    keepalive_s: int = 30
    wait_for_coordinator: bool = True
    reconnect_base_s: float = 0.5
    reconnect_cap_s: float = 30.0
    max_inflight: int = 20
    password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        try:
            endpoint = parse_broker_url(self.broker)
        except ValueError as exc:
            raise ConfigError("mqtt.broker", str(exc)) from None
        if self.username:
            try:
                check_username(self.username)
            except ValueError as exc:
                raise ConfigError("mqtt.username", str(exc)) from None
        if self.password is not None or self.password_file is not None:
            _check(bool(self.username), "mqtt.username", "a password needs a username")
        _check(
            (self.cert_file is None) == (self.key_file is None),
            "mqtt.cert_file" if self.key_file is not None else "mqtt.key_file",
            "cert_file and key_file go together",
        )
        for name in ("ca_file", "cert_file"):
            _check(
                endpoint.tls or getattr(self, name) is None,
                f"mqtt.{name}",
                "TLS files need an mqtts:// broker",
            )
        _check(5 <= self.keepalive_s <= 3600, "mqtt.keepalive_s", "must be in 5..3600")
        _finite_range(self.reconnect_base_s, "mqtt.reconnect_base_s", 0.01, 60.0)
        _finite_range(self.reconnect_cap_s, "mqtt.reconnect_cap_s", self.reconnect_base_s, 3600.0)
        _check(1 <= self.max_inflight <= 1000, "mqtt.max_inflight", "must be in 1..1000")

    @property
    def host(self) -> str:
        """Broker host name."""
        return parse_broker_url(self.broker).host

    @property
    def port(self) -> int:
        """Broker TCP port (1883 plain, 8883 TLS when the URL names none)."""
        return parse_broker_url(self.broker).port

    @property
    def security(self) -> BrokerSecurity:
        """The login and TLS settings of the broker connection."""
        return BrokerSecurity(
            tls=parse_broker_url(self.broker).tls,
            username=self.username or None,
            password=self.password,
            ca_file=self.ca_file,
            cert_file=self.cert_file,
            key_file=self.key_file,
        )


def resolve_secrets(mqtt: MqttConfig, environ: Mapping[str, str]) -> MqttConfig:
    """`mqtt` with its password read (`FLEXFLEET_MQTT_PASSWORD`, else `password_file`) and
    its TLS files checked: present, readable, PEM, certificate and key matching."""
    password = environ.get(PASSWORD_ENV) or None
    if password is not None:
        _check(len(password) <= MAX_PASSWORD_FILE_BYTES, PASSWORD_ENV, "too long")
    elif mqtt.password_file is not None:
        try:
            password = read_password_file(mqtt.password_file)
        except ValueError as exc:
            raise ConfigError("mqtt.password_file", str(exc)) from None
    if password is not None:
        _check(
            bool(mqtt.username), "mqtt.username", f"a password ({PASSWORD_ENV}) needs a username"
        )
    for name in ("ca_file", "cert_file", "key_file"):
        path = getattr(mqtt, name)
        if path is not None:
            try:
                check_readable(path)
            except ValueError as exc:
                raise ConfigError(f"mqtt.{name}", str(exc)) from None
    if mqtt.security.tls:
        try:
            tls_context(ca_file=mqtt.ca_file, cert_file=mqtt.cert_file, key_file=mqtt.key_file)
        except ValueError as exc:
            raise ConfigError(
                "mqtt.cert_file" if mqtt.cert_file else "mqtt.ca_file", str(exc)
            ) from None
    return replace(mqtt, password=password)


@dataclass(frozen=True, slots=True)
class OutboxConfig:
    """Where state lives and how large the outbox may grow."""

    state_dir: Path = Path("state")
    max_outbox_bytes: int = 64 * 1024 * 1024
    max_age_s: float = 7 * 24 * 3600.0
    # How long a link period holds PUBACKed rows waiting for the coordinator's first commit
    # watermark before deciding it is an older coordinator and releasing rows on PUBACK.
    watermark_wait_s: float = 30.0

    def __post_init__(self) -> None:
        _check(
            1024 <= self.max_outbox_bytes <= 2**40,
            "outbox.max_outbox_bytes",
            "must be in 1024..2**40",
        )
        _finite_range(self.max_age_s, "outbox.max_age_s", 1.0, 10 * 365 * 86400.0)
        _finite_range(self.watermark_wait_s, "outbox.watermark_wait_s", 1.0, 3600.0)


@dataclass(frozen=True, slots=True)
class SamplingConfig:
    """How often the device is read and what is reported (deadbands in signal units)."""

    interval_ms: int = 100
    default_deadband: float = 0.0
    deadbands: Mapping[str, float] = field(default_factory=dict)
    max_silence_s: float = 60.0

    def __post_init__(self) -> None:
        _check(
            10 <= self.interval_ms <= 3_600_000, "sampling.interval_ms", "must be in 10..3600000"
        )
        _finite_range(self.default_deadband, "sampling.default_deadband", 0.0, 1e12)
        for signal, band in self.deadbands.items():
            _finite_range(band, f"sampling.deadbands.{signal}", 0.0, 1e12)
        _finite_range(self.max_silence_s, "sampling.max_silence_s", 0.1, 86400.0)


@dataclass(frozen=True, slots=True)
class BatchingConfig:
    """A telemetry message leaves at `max_samples` samples or when `max_age_ms` old."""

    max_samples: int = 500
    max_age_ms: int = 1000

    def __post_init__(self) -> None:
        _check(1 <= self.max_samples <= 20_000, "batching.max_samples", "must be in 1..20000")
        _check(0 <= self.max_age_ms <= 3_600_000, "batching.max_age_ms", "must be in 0..3600000")


@dataclass(frozen=True, slots=True)
class ReplayConfig:
    """Backlog replay after reconnect, rate-limited so live data keeps flowing."""

    max_messages_per_s: float = 50.0

    def __post_init__(self) -> None:
        _finite_range(self.max_messages_per_s, "replay.max_messages_per_s", 0.1, 100_000.0)


@dataclass(frozen=True, slots=True)
class DriverConfig:
    """The southbound device: `sim` (in-process simulator) or `modbus` (TCP client).

    Simulated machines idle without a schedule unless `free_running` (random jobs, for the
    anomaly scenarios). A simulated vehicle starts at (`lat`, `lon`), drives at
    `speed_kmh` × a seeded traffic factor over great-circle distance × `detour_factor`,
    serves each stop in `service_s` and fails a delivery with probability `failure_rate`;
    `places` locates the stop ids it may be sent bare (`{id = [lat, lon]}`). `dock` is the
    directory where simulated vehicles leave transfers for simulated warehouses. `speed` is
    how many simulated seconds simulated devices live per second of the agent's clock
    (below 1 when the agent's clock is itself faster than wall time: see the demo).
    """

    type: str = "sim"
    seed: int = 1
    machines: int = 1
    skus: int = 20
    host: str = "127.0.0.1"
    port: int = 502
    unit_id: int = 1
    timeout_s: float = 1.0
    registers: RegisterMap = ()
    free_running: bool = False
    speed: float = 1.0
    dock: Path | None = None
    lat: float = 0.0
    lon: float = 0.0
    speed_kmh: float = 40.0
    service_s: float = 120.0
    detour_factor: float = 1.3
    traffic_sigma: float = 0.2
    failure_rate: float = 0.0
    places: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check(self.type in ("sim", "modbus"), "driver.type", "must be 'sim' or 'modbus'")
        _check(0 <= self.seed < 2**63, "driver.seed", "must be in 0..2**63-1")
        _check(1 <= self.machines <= 400, "driver.machines", "must be in 1..400")
        _check(1 <= self.skus <= 20_000, "driver.skus", "must be in 1..20000")
        _check(1 <= self.port <= 65535, "driver.port", "must be in 1..65535")
        _check(0 <= self.unit_id <= 247, "driver.unit_id", "must be in 0..247")
        _finite_range(self.timeout_s, "driver.timeout_s", 0.01, 60.0)
        _finite_range(self.speed, "driver.speed", 0.0001, 10_000.0)
        _finite_range(self.lat, "driver.lat", -90.0, 90.0)
        _finite_range(self.lon, "driver.lon", -180.0, 180.0)
        _finite_range(self.speed_kmh, "driver.speed_kmh", 0.1, 100_000.0)
        _finite_range(self.service_s, "driver.service_s", 0.0, 86_400.0)
        _finite_range(self.detour_factor, "driver.detour_factor", 1.0, 10.0)
        _finite_range(self.traffic_sigma, "driver.traffic_sigma", 0.0, 2.0)
        _finite_range(self.failure_rate, "driver.failure_rate", 0.0, 1.0)
        _check(len(self.places) <= 10_000, "driver.places", "at most 10000 places")
        for place, (lat, lon) in self.places.items():
            try:
                check_id(place, what="place")
            except TopicError as exc:
                raise ConfigError(f"driver.places.{place[:64]}", exc.reason) from None
            _finite_range(lat, f"driver.places.{place}[0]", -90.0, 90.0)
            _finite_range(lon, f"driver.places.{place}[1]", -180.0, 180.0)
        if self.type == "modbus":
            _check(bool(self.host), "driver.host", "must not be empty")
            _check(bool(self.registers), "driver.registers", "a modbus driver needs a register map")


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    """Optional Prometheus text file (node_exporter's textfile-collector format)."""

    textfile: Path | None = None
    interval_s: float = 10.0

    def __post_init__(self) -> None:
        _finite_range(self.interval_s, "metrics.interval_s", 0.1, 3600.0)


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """The whole agent configuration. `detectors` is the detector dict (or None: off)."""

    node: NodeConfig
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    outbox: OutboxConfig = field(default_factory=OutboxConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    batching: BatchingConfig = field(default_factory=BatchingConfig)
    replay: ReplayConfig = field(default_factory=ReplayConfig)
    driver: DriverConfig = field(default_factory=DriverConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    detectors: Mapping[str, Any] | None = field(default_factory=dict)


# --- loading -------------------------------------------------------------------------

_SECTIONS: Final[dict[str, type[Any]]] = {
    "node": NodeConfig,
    "mqtt": MqttConfig,
    "outbox": OutboxConfig,
    "sampling": SamplingConfig,
    "batching": BatchingConfig,
    "replay": ReplayConfig,
    "driver": DriverConfig,
    "metrics": MetricsConfig,
}
_TYPES: Final[dict[str, dict[str, tuple[type, ...]]]] = {
    "node": {"site": (str,), "node": (str,), "kind": (str,), "firmware": (str,)},
    "mqtt": {
        "broker": (str,),
        "username": (str,),
        "password_file": (Path,),
        "ca_file": (Path,),
        "cert_file": (Path,),
        "key_file": (Path,),
        "keepalive_s": (int,),
        "wait_for_coordinator": (bool,),
        "reconnect_base_s": (float,),
        "reconnect_cap_s": (float,),
        "max_inflight": (int,),
    },
    "outbox": {
        "state_dir": (Path,),
        "max_outbox_bytes": (int,),
        "max_age_s": (float,),
        "watermark_wait_s": (float,),
    },
    "sampling": {
        "interval_ms": (int,),
        "default_deadband": (float,),
        "deadbands": (dict,),
        "max_silence_s": (float,),
    },
    "batching": {"max_samples": (int,), "max_age_ms": (int,)},
    "replay": {"max_messages_per_s": (float,)},
    "driver": {
        "type": (str,),
        "seed": (int,),
        "machines": (int,),
        "skus": (int,),
        "host": (str,),
        "port": (int,),
        "unit_id": (int,),
        "timeout_s": (float,),
        "registers": (list,),
        "free_running": (bool,),
        "speed": (float,),
        "dock": (Path,),
        "lat": (float,),
        "lon": (float,),
        "speed_kmh": (float,),
        "service_s": (float,),
        "detour_factor": (float,),
        "traffic_sigma": (float,),
        "failure_rate": (float,),
        "places": (tuple,),
    },
    "metrics": {"textfile": (Path,), "interval_s": (float,)},
}


def _value(raw: Any, kind: type, name: str, base: Path | None) -> Any:
    if kind is bool:
        _check(isinstance(raw, bool), name, f"must be true or false, got {raw!r}")
        return raw
    if kind is int:
        _check(
            isinstance(raw, int) and not isinstance(raw, bool),
            name,
            f"must be an integer, got {raw!r}",
        )
        return raw
    if kind is float:
        ok = isinstance(raw, int | float) and not isinstance(raw, bool)
        _check(ok, name, f"must be a number, got {raw!r}")
        return float(raw)
    if kind is str:
        _check(isinstance(raw, str) and len(raw) <= 4096, name, f"must be a string, got {raw!r}")
        return raw
    if kind is Path:
        _check(isinstance(raw, str) and 0 < len(raw) <= 4096, name, f"must be a path, got {raw!r}")
        path = Path(raw)
        return path if path.is_absolute() or base is None else base / path
    if kind is dict:
        _check(isinstance(raw, dict) and len(raw) <= 10_000, name, "must be a table of numbers")
        return {str(k): _value(v, float, f"{name}.{k}", base) for k, v in raw.items()}
    if kind is tuple:  # a table of [lat, lon] positions
        _check(isinstance(raw, dict) and len(raw) <= 10_000, name, "must be a table of positions")
        places: dict[str, tuple[float, float]] = {}
        for k, v in raw.items():
            where = f"{name}.{str(k)[:64]}"
            _check(isinstance(v, list) and len(v) == 2, where, "must be [lat, lon]")
            places[str(k)] = (_value(v[0], float, where, base), _value(v[1], float, where, base))
        return places
    _check(isinstance(raw, list) and len(raw) <= 10_000, name, "must be an array of tables")
    return raw


def _section(name: str, raw: Any, base: Path | None) -> Any:
    _check(isinstance(raw, dict), name, "must be a table")
    types = _TYPES[name]
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        dotted = f"{name}.{key}"
        _check(
            dotted != "mqtt.password",
            dotted,
            f"not in the file: use mqtt.password_file or the {PASSWORD_ENV} environment variable",
        )
        _check(key in types, dotted, "unknown setting")
        kwargs[key] = _value(value, types[key][0], dotted, base)
    if name == "driver" and "registers" in kwargs:
        kwargs["registers"] = parse_register_map(kwargs["registers"])
    try:
        return _SECTIONS[name](**kwargs)
    except TypeError as exc:  # a required key is missing
        missing = str(exc).split("argument")[-1].strip(": '\"")
        raise ConfigError(f"{name}.{missing}", "is required") from None


def config_from_dict(
    data: Mapping[str, Any],
    *,
    base_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> AgentConfig:
    """Build and validate a configuration from a parsed TOML document.

    The broker password comes from `environ` (default: the process environment) or the
    password file, and the TLS files are checked (`resolve_secrets`).
    """
    _check(isinstance(data, Mapping), "<root>", "must be a table")
    for key in data:
        _check(key in _SECTIONS or key == "detectors", str(key), "unknown section")
    _check("node" in data, "node", "section [node] is required")
    sections = {name: _section(name, data[name], base_dir) for name in _SECTIONS if name in data}
    detectors = data.get("detectors", {})
    _check(isinstance(detectors, dict), "detectors", "must be a table")
    if detectors.get("enabled", True) is False:
        detectors = None
    else:
        detectors = {k: v for k, v in detectors.items() if k != "enabled"}
        check_detector_settings(detectors)
    if base_dir is not None and "outbox" not in sections:
        sections["outbox"] = OutboxConfig(state_dir=base_dir / "state")
    sections["mqtt"] = resolve_secrets(
        sections.get("mqtt", MqttConfig()), os.environ if environ is None else environ
    )
    return AgentConfig(detectors=detectors, **sections)


def load_config(path: Path) -> AgentConfig:
    """Read, parse and validate the TOML file at `path` (relative paths resolve beside it)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read: {exc.strerror or exc}") from None
    _check(len(data) <= MAX_CONFIG_BYTES, str(path), f"larger than {MAX_CONFIG_BYTES} bytes")
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(str(path), "not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(str(path), "nested too deeply") from None
    return config_from_dict(document, base_dir=path.resolve().parent)
