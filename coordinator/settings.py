"""The coordinator's settings: one pydantic-settings class.

Sources, strongest first: keyword overrides (the command line), environment variables
prefixed `FLEXFLEET_` (e.g. `FLEXFLEET_HTTP_PORT=8080`,
`FLEXFLEET_OPERATOR_TOKENS=tok1,tok2`), an optional TOML file, then the defaults, which
work on one laptop (embedded SQLite, Mosquitto on loopback).

API tokens are never defaulted: outside `dev_mode` the settings refuse to load unless a
`token_file` (hashed tokens with roles and sites, `flexfleet token add`) or tokens in clear
(`viewer_tokens`, `operator_tokens`, `admin_tokens`, kept for compatibility: each a bare
token or `name:token`, at least 16 characters long and not a well-known placeholder) is
configured. In dev mode with no tokens the API is open (`coordinator.api.auth`);
configured tokens are always enforced.

The broker login and TLS: `broker_url` `mqtts://` turns TLS on (port 8883 by default;
`broker_ca_file`, else the system CAs; `broker_cert_file` + `broker_key_file` for a client
certificate), `broker_username`, and `broker_password` from the environment
(`FLEXFLEET_BROKER_PASSWORD`), refused in the TOML file. TLS files are checked at load
(present, readable, PEM, certificate and key matching) and refused with a plain `mqtt://`
URL, so a setting that would be silently ignored never loads.
"""

from __future__ import annotations

import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Final

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from coordinator.errors import ConfigError
from fleet_runtime.mqtt_security import (
    BrokerSecurity,
    check_readable,
    check_username,
    parse_broker_url,
    tls_context,
)
from protocol import TopicError, site_filters
from protocol.topics import ID, ID_PATTERN

MIN_TOKEN_CHARS: Final = 16
_PLACEHOLDER_TOKENS: Final = frozenset(
    {"", "changeme", "change-me", "secret", "token", "password", "admin", "viewer", "operator"}
)
_TOML_PATH: ContextVar[Path | None] = ContextVar("flexfleet_toml_path", default=None)

Tokens = Annotated[tuple[SecretStr, ...], NoDecode]


class _TomlSource(PydanticBaseSettingsSource):
    """Values from the TOML file named by `load_settings` (flat keys, or a [coordinator] table)."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        path = _TOML_PATH.get()
        self._data: dict[str, Any] = {}
        if path is not None:
            try:
                loaded = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"cannot read config file {path}: {exc}", field="config") from exc
            table = loaded.get("coordinator", loaded)
            self._data = table if isinstance(table, dict) else {}
            if "broker_password" in self._data:
                raise ConfigError(
                    f"{path}: broker_password must not be in the file; "
                    "set FLEXFLEET_BROKER_PASSWORD in the environment",
                    field="broker_password",
                )

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self._data.items() if k in self.settings_cls.model_fields}


class CoordinatorSettings(BaseSettings):
    """Everything the coordinator can be told; see `config/coordinator.example.toml`."""

    model_config = SettingsConfigDict(env_prefix="FLEXFLEET_", extra="forbid", frozen=True)

    dev_mode: bool = False
    coordinator_id: str = Field(default="coordinator-1", pattern=ID_PATTERN)
    # MQTT
    broker_url: str = "mqtt://127.0.0.1:1883"  # mqtts:// for TLS
    broker_username: str | None = None
    broker_password: SecretStr | None = None  # environment only (FLEXFLEET_BROKER_PASSWORD)
    broker_ca_file: Path | None = None  # PEM; None: the system CAs
    broker_cert_file: Path | None = None  # PEM client certificate, with broker_key_file
    broker_key_file: Path | None = None
    share_group: str = Field(default="flexfleet", pattern=rf"^({ID})?$")  # empty: no sharing
    # The sites this coordinator owns (empty: every site). Several coordinators can share
    # one broker, each owning its sites; see docs/protocol.md.
    sites: Annotated[tuple[str, ...], NoDecode] = Field(default=(), max_length=1000)
    session_expiry_s: int = Field(default=3600, ge=0, le=2**32 - 1)
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    # Reconnects wait fleet_runtime.backoff.next_delay (paho's own retry is off).
    reconnect_base_s: float = Field(default=0.5, gt=0, le=3600)
    reconnect_cap_s: float = Field(default=30.0, gt=0, le=3600)
    # Ingest
    queue_max_messages: int = Field(default=1000, ge=1, le=65535)
    batch_max_messages: int = Field(default=500, ge=1, le=65535)
    batch_max_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    batch_max_wait_s: float = Field(default=0.05, gt=0, le=10)
    max_payload_bytes: int = Field(default=512 * 1024, ge=1024, le=64 * 1024 * 1024)
    dead_letter_payload_prefix_bytes: int = Field(default=256, ge=0, le=65536)
    dead_letter_burst_count: int = Field(default=20, ge=1)
    dead_letter_burst_window_s: float = Field(default=60.0, gt=0)
    rebirth_min_interval_s: float = Field(default=30.0, ge=0)
    # Commit watermarks (coordinator.ingest.watermarks): at most one per node per interval.
    watermark_interval_s: float = Field(default=1.0, ge=1.0, le=60.0)
    # Commands to nodes (coordinator.commands): unanswered ones expire after this long.
    command_timeout_s: float = Field(default=60.0, gt=0, le=86_400)
    # Fleet twin
    inactivity_timeout_s: float = Field(default=60.0, gt=0)
    node_inactivity_timeout_s: dict[str, float] = Field(default_factory=dict)
    twin_check_interval_s: float = Field(default=1.0, gt=0)
    stock_low_threshold: int = Field(default=5, ge=0)
    stock_thresholds: dict[str, int] = Field(default_factory=dict)
    # Alarms (read by the alarm service wiring)
    webhook_urls: tuple[str, ...] = ()
    webhook_secret: SecretStr | None = None
    escalate_after_s: float = Field(default=900.0, gt=0)
    alarm_fast_lane: bool = True  # agent events reach the alarm rules ahead of telemetry
    alarm_cleared_retention_days: float = Field(default=30.0, gt=0)
    alarm_purge_interval_s: float = Field(default=3600.0, gt=0)
    alarm_db_path: Path | None = None  # None: <db_path stem>-alarms.db beside db_path
    # Forecasting (coordinator.forecast.serving.job): without a model directory every series gets
    # its best baseline; a directory holds one model or one subdirectory per version.
    forecast_model_dir: Path | None = None
    forecast_horizon_days: int = Field(default=28, ge=1, le=366)
    forecast_refresh_interval_s: float = Field(default=3600.0, gt=0)
    forecast_model_check_interval_s: float = Field(default=30.0, gt=0)
    # Stock cover (coordinator.stock.cover): each SKU's stock against its forecast, after
    # every refresh and every cover_check_interval_s; stockout_risk alarms when the P90
    # demand would empty a shelf within the replenishment lead time.
    cover_lead_time_days: float = Field(default=2.0, ge=0, le=366)
    cover_review_days: float = Field(default=7.0, ge=0, le=366)
    cover_check_interval_s: float = Field(default=60.0, gt=0)
    # Stock placement (coordinator.stock.placement, GET /api/v1/stock/plan): the service
    # level of each SKU class (A/B/C by share of forecast sales), the smallest lateral
    # transfer, and the expected orders per viewer of a stream announced with an audience.
    # After every cover check the plan's lateral transfers are handed to the planner as
    # deliveries (coordinator.stock.lateral_book); off: they are only proposed.
    stock_service_a: float = Field(default=0.98, ge=0.5, lt=1.0)
    stock_service_b: float = Field(default=0.95, ge=0.5, lt=1.0)
    stock_service_c: float = Field(default=0.90, ge=0.5, lt=1.0)
    stock_min_transfer_units: int = Field(default=1, ge=1, le=1_000_000)
    stock_orders_per_viewer: float = Field(default=0.02, ge=0.0, le=1.0)
    stock_lateral_transfers: bool = True
    # Replenishment (coordinator.plan.orders.replenishment): an at-risk SKU declared "auto" in
    # PUT /api/v1/plans/products becomes a production job; False turns that off for all.
    # With replenish_can_order_days > 0, the other SKUs of its family (at any warehouse)
    # that would be at risk within that many more days are ordered with it (joint
    # replenishment: the family's work reaches the scheduler together).
    auto_replenish: bool = True
    replenish_can_order_days: float = Field(default=0.0, ge=0, le=366)
    # Planning (coordinator.plan.runner): debounced re-plans on machine down, orders and
    # stock-out risk; an outage of unknown length is assumed to last plan_machine_down_s.
    plan_time_limit_s: float = Field(default=2.0, gt=0, le=600)
    plan_time_unit_s: float = Field(default=60.0, ge=1, le=86_400)
    plan_quiet_s: float = Field(default=2.0, ge=0)
    plan_urgent_quiet_s: float = Field(default=0.2, ge=0)
    plan_max_delay_s: float = Field(default=10.0, gt=0)
    # After each re-plan the next waits this many times its duration, so re-planning takes
    # at most 1 / (1 + factor) of the time and a burst of orders still gets the API (the
    # planner shares its GIL); 0 re-plans as soon as the triggers are due.
    plan_rest_factor: float = Field(default=2.0, ge=0, le=100)
    # Schedules are solved in a child process of their own (coordinator.plan.schedule.
    # isolated), so building a solve's model never holds the interpreter the API and ingest
    # run on; False solves in the coordinator's process (one process fewer, slower answers
    # while it re-plans).
    plan_isolated: bool = True
    # The process's garbage collector (coordinator.process_tuning): a young generation of this
    # many allocations, so a busy coordinator's short-lived objects die young instead of
    # making full collections walk its whole heap; 0 keeps Python's defaults.
    gc_young_threshold: int = Field(default=50_000, ge=0, le=10_000_000)
    # Threads of the process switch every this many seconds (coordinator.process_tuning):
    # the API's event loop gets the interpreter back sooner from the planner's and the
    # stores' threads; 0 keeps Python's default (0.005).
    gil_switch_interval_s: float = Field(default=0.001, ge=0, le=0.1)
    plan_machine_down_s: float = Field(default=4 * 3600.0, gt=0)
    # Jobs from facts (coordinator.jobs.tracker): plans keep started operations and close
    # jobs on their good counts; a planned start unreported past job_start_grace_s alarms;
    # while operations run, a re-plan from their counts at most every plan_progress_replan_s;
    # a machine alarms when its batches of one product over the last quality_window_h scrap
    # more than the product's limit (default quality_max_scrap_share) explains: so much
    # scrap would happen by chance at the limit less often than quality_alarm_p.
    plan_from_facts: bool = True
    # Travel times between places given in latitude/longitude (coordinator.plan.routing.travel):
    # great-circle distance x travel_detour_factor / travel_speed_kmh, or the road times of an
    # OSRM-compatible `table` service at travel_osrm_url when set.
    travel_detour_factor: float = Field(default=1.3, ge=1.0, le=10.0)
    # (up to 100000: a demo whose simulated vans live faster than wall time plans with
    # their speed x the simulation speed)
    travel_speed_kmh: float = Field(default=30.0, gt=0, le=100_000)
    # time at the door of a sales order's delivery
    delivery_service_s: float = Field(default=120.0, ge=0, le=86_400)
    # Tours (coordinator.plan.routing.tours): a van at its depot is sent its planned route
    # only when it may leave (coordinator.plan.routing.departures): loaded to
    # dispatch_fill_share of its capacity, a promise on it at risk, or its longest-waiting
    # stop dispatch_max_wait_s old; the stops are then on it until delivered or failed.
    # Held tours are looked at every dispatch_every_s. False sends every route as planned
    # and re-planned (vans re-routed on the road, with no notion of what they carry).
    dispatch_tours: bool = True
    dispatch_fill_share: float = Field(default=1.0, gt=0, le=1)
    dispatch_max_wait_s: float = Field(default=6 * 3600.0, ge=0, le=7 * 86_400)
    dispatch_every_s: float = Field(default=300.0, gt=0, le=86_400)
    # With tours, a depot whose oldest waiting delivery waited over dispatch_behind_s
    # borrows a free van from the nearest depot that can spare one, which goes home once
    # the borrower caught up (coordinator.plan.van_loans); False keeps every van at home.
    dispatch_lend_vans: bool = True
    dispatch_behind_s: float = Field(default=86_400.0, gt=0, le=30 * 86_400)
    travel_osrm_url: str | None = Field(default=None, pattern=r"^https?://[^\s]{1,500}$")
    travel_timeout_s: float = Field(default=10.0, gt=0, le=120)
    job_start_grace_s: float = Field(default=300.0, gt=0)
    plan_progress_replan_s: float = Field(default=60.0, gt=0)
    quality_max_scrap_share: float = Field(default=0.05, ge=0, le=1)
    quality_window_h: float = Field(default=24.0, gt=0, le=24 * 90)
    quality_alarm_p: float = Field(default=0.01, gt=0, lt=1)
    # Store
    db_path: Path = Path("flexfleet.db")
    # The core tables (nodes, messages, samples, rollups, events, stock, dead letters) on a
    # PostgreSQL server instead of db_path (`--db postgresql://user@host:port/db`;
    # coordinator.store.postgres_store). The other stores stay in db_path's SQLite file.
    # Keep the password out of the URL: libpq reads PGPASSWORD or ~/.pgpass.
    db_url: str | None = Field(default=None, pattern=r"^postgres(ql)?://[^\s]{1,1000}$")
    # At most this many connections read from it (the API's threads share them); with
    # the ingest writer, each coordinator holds db_readers + 1 of the server's connections.
    db_readers: int = Field(default=8, ge=1, le=64)
    # Several coordinators with the same coordinator_id on one PostgreSQL: the one holding
    # the leader lock (coordinator.store.leader_lock) ingests, alarms and plans, the others
    # stand by serving reads and ask for the lock every leader_poll_s. Needs db_url; they
    # share db_path's directory (plan state, commands, alarms are still SQLite files).
    leader_lock: bool = False
    leader_poll_s: float = Field(default=0.5, gt=0, le=30)
    raw_retention_days: float = Field(default=7.0, gt=0)
    rollup_retention_days: float = Field(default=365.0, gt=0)
    retention_interval_s: float = Field(default=600.0, gt=0)
    rollup_query_threshold_s: float = Field(default=6 * 3600.0, gt=0)
    max_query_points: int = Field(default=100_000, ge=1)
    sqlite_synchronous: str = Field(default="FULL", pattern=r"^(?i:off|normal|full|extra)$")
    # HTTP
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    # API tokens: the hashed token file (`flexfleet token add`), and for compatibility
    # tokens in clear per role (every site; prefer the file). See coordinator.api.auth.
    token_file: Path | None = None
    # /metrics (and /healthz's error texts) need a token covering every site, of any role
    # (a `metrics` token reads nothing else); true opens them, for an API reachable only
    # from the scrape network.
    metrics_public: bool = False
    viewer_tokens: Tokens = ()
    operator_tokens: Tokens = ()
    admin_tokens: Tokens = ()
    # Audit log of every API write (coordinator.access.audit_log): beside db_path unless
    # set, records kept audit_retention_days.
    audit_db_path: Path | None = None
    audit_retention_days: float = Field(default=365.0, gt=0)
    # Hardening: the largest request body any route takes, writes per token per minute
    # (0: no limit), and the origins allowed by CORS (none: CORS off).
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    write_rate_per_minute: float = Field(default=600.0, ge=0)
    write_burst: int = Field(default=60, ge=1)
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    # The operator console's map draws node positions on a plain projection; with a tile URL
    # template (`https://tiles.example/{z}/{x}/{y}.png`, e.g. a plant's own tile server) it
    # lays map tiles beneath them. Empty: no tiles, nothing fetched from outside.
    console_tile_url: str = Field(
        default="", max_length=512, pattern=r"^(https?://[^\s\"'<>`\\]*\{z\}[^\s\"'<>`\\]*)?$"
    )

    @field_validator("viewer_tokens", "operator_tokens", "admin_tokens", mode="before")
    @classmethod
    def _split_tokens(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("sites", "cors_origins", mode="before")
    @classmethod
    def _split_sites(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("sites")
    @classmethod
    def _check_sites(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        try:
            site_filters(value)
        except TopicError as exc:
            raise ValueError(str(exc)) from exc
        if len(set(value)) != len(value):
            raise ValueError("a site is named twice in sites")
        return value

    @field_validator("broker_url")
    @classmethod
    def _check_broker_url(cls, value: str) -> str:
        try:
            parse_broker_url(value)
        except ValueError as exc:
            raise ValueError(f"broker_url {exc}") from None
        return value

    @field_validator("broker_username")
    @classmethod
    def _check_broker_username(cls, value: str | None) -> str | None:
        if value is not None:
            check_username(value)
        return value

    @field_validator("broker_ca_file", "broker_cert_file", "broker_key_file")
    @classmethod
    def _check_readable(cls, value: Path | None) -> Path | None:
        if value is not None:
            check_readable(value)
        return value

    @model_validator(mode="after")
    def _broker_security(self) -> CoordinatorSettings:
        # Raised as ConfigError (not ValueError) so the message names the field.
        tls = parse_broker_url(self.broker_url).tls
        if self.broker_password is not None and not self.broker_username:
            raise ConfigError("broker_password needs broker_username", field="broker_username")
        if (self.broker_cert_file is None) != (self.broker_key_file is None):
            raise ConfigError(
                "broker_cert_file and broker_key_file go together",
                field="broker_key_file" if self.broker_key_file is None else "broker_cert_file",
            )
        for name in ("broker_ca_file", "broker_cert_file"):
            if getattr(self, name) is not None and not tls:
                raise ConfigError(
                    f"{name} needs an mqtts:// broker_url (TLS), got {self.broker_url!r}",
                    field=name,
                )
        if tls:
            try:
                tls_context(
                    ca_file=self.broker_ca_file,
                    cert_file=self.broker_cert_file,
                    key_file=self.broker_key_file,
                )
            except ValueError as exc:
                name = "broker_cert_file" if self.broker_cert_file else "broker_ca_file"
                raise ConfigError(f"{name}: {exc}", field=name) from None
        return self

    @model_validator(mode="after")
    def _behind_beyond_the_longest_hold(self) -> CoordinatorSettings:
        # A delivery held for its tour to fill waits up to dispatch_max_wait_s: were that
        # "behind", every held tour would borrow a van its depot does not need.
        lending = self.dispatch_tours and self.dispatch_lend_vans
        if lending and self.dispatch_behind_s <= self.dispatch_max_wait_s:
            raise ConfigError(
                f"dispatch_behind_s ({self.dispatch_behind_s:g}) must exceed"
                f" dispatch_max_wait_s ({self.dispatch_max_wait_s:g}): a delivery held for"
                " its tour to fill would count as its depot behind and borrow a van",
                field="dispatch_behind_s",
            )
        return self

    @model_validator(mode="after")
    def _leader_lock_on_postgres(self) -> CoordinatorSettings:
        if self.leader_lock and self.db_url is None:
            raise ConfigError(
                "leader_lock needs db_url (a PostgreSQL server the coordinators share)",
                field="leader_lock",
            )
        return self

    @model_validator(mode="after")
    def _tokens_configured(self) -> CoordinatorSettings:
        names = ("viewer_tokens", "operator_tokens", "admin_tokens")
        if (
            not self.dev_mode
            and self.token_file is None
            and not any(getattr(self, n) for n in names)
        ):
            raise ValueError(
                "token_file (see `flexfleet token add`) or viewer/operator/admin tokens"
                " must be configured outside dev mode"
            )
        for name in names:
            tokens: tuple[SecretStr, ...] = getattr(self, name)
            for token in tokens:
                raw = token.get_secret_value()
                secret = raw.partition(":")[2] if ":" in raw else raw
                if secret.lower() in _PLACEHOLDER_TOKENS or len(secret) < MIN_TOKEN_CHARS:
                    raise ValueError(
                        f"{name} holds a placeholder or a token shorter than {MIN_TOKEN_CHARS} characters"
                    )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls))

    @property
    def broker_host(self) -> str:
        """Host part of `broker_url`."""
        return parse_broker_url(self.broker_url).host

    @property
    def broker_port(self) -> int:
        """Port part of `broker_url` (1883 plain, 8883 TLS when absent)."""
        return parse_broker_url(self.broker_url).port

    @property
    def broker_security(self) -> BrokerSecurity:
        """The broker login and TLS settings (the password in clear: for the MQTT client only)."""
        password = self.broker_password
        return BrokerSecurity(
            tls=parse_broker_url(self.broker_url).tls,
            username=self.broker_username,
            password=password.get_secret_value() if password is not None else None,
            ca_file=self.broker_ca_file,
            cert_file=self.broker_cert_file,
            key_file=self.broker_key_file,
        )

    @property
    def alarm_db_file(self) -> Path:
        """Where the alarm tables live: `alarm_db_path`, else a file beside `db_path`
        (`coordinator.db` → `coordinator-alarms.db`), so alarm writes never wait for the
        ingest writer's transaction (ADR 3)."""
        if self.alarm_db_path is not None:
            return self.alarm_db_path
        return self.db_path.with_name(f"{self.db_path.stem}-alarms{self.db_path.suffix or '.db'}")

    @property
    def audit_db_file(self) -> Path:
        """Where the audit log lives: `audit_db_path`, else beside `db_path`
        (`coordinator.db` → `coordinator-audit.db`)."""
        if self.audit_db_path is not None:
            return self.audit_db_path
        return self.db_path.with_name(f"{self.db_path.stem}-audit{self.db_path.suffix or '.db'}")

    def inactivity_timeout_for(self, node: str) -> float:
        """The inactivity timeout in seconds for `node` (its override, else the default)."""
        return self.node_inactivity_timeout_s.get(node, self.inactivity_timeout_s)


def load_settings(config_file: Path | None = None, **overrides: Any) -> CoordinatorSettings:
    """Settings from overrides, environment, the TOML `config_file` and defaults.

    Raises `ConfigError` naming the first offending field.
    """
    reset = _TOML_PATH.set(config_file)
    try:
        return CoordinatorSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigError(
            f"invalid setting {field or '(model)'}: {first['msg']}", field=field
        ) from None
    finally:
        _TOML_PATH.reset(reset)


__all__ = ["CoordinatorSettings", "load_settings"]
