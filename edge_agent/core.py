"""The agent's decisions, on one thread: sample → detect → deadband → batch → outbox → link.

`AgentCore` owns no thread and never sleeps: the runner calls `handle(event)` for each
transport event and `tick()`, which does whatever is due and returns how long it may
wait. With a `FakeClock` and a `MemoryTransport` every path is testable in memory.

Session rules (Sparkplug B 3.0 adapted; docs/protocol.md, ADR 1):
- every connect attempt takes a new persisted `bd_seq`; the last will is `Death` with it;
- once connected (and the coordinator's retained state says online, unless
  `wait_for_coordinator` is off) a `Birth` goes out first, with `pending_from_seq` = the
  lowest seq still in the outbox and the drop counters in `stats`, then live data and the
  replayed backlog (`Link`);
- while the coordinator is offline everything is stored and nothing sent; when it comes
  back a new birth opens a new link period and the backlog is flushed;
- reconnects wait `next_delay(attempt, rng)`;
- the birth announces the `watermark` capability; the coordinator's commit watermarks
  (a `watermark` command, never answered) release outbox rows (`Link.on_watermark`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import random
from collections import OrderedDict
from typing import Any

from edge_agent.batcher import Batcher
from edge_agent.config import AgentConfig
from edge_agent.deadband import DeadbandFilter
from edge_agent.detection import DetectorBank
from edge_agent.drivers.base import DeviceEvent, Driver, Reading
from edge_agent.errors import CommandRejected, DriverError, OutboxFull, PlanRefused
from edge_agent.execution import PlanExecutor, RetainedState, check_subject
from edge_agent.link import Link, Release
from edge_agent.outbox import Outbox, OutboxRow
from edge_agent.settings import LiveSettings, apply_config_args, restore
from edge_agent.transport import (
    Connected,
    ConnectFailed,
    Disconnected,
    Published,
    Received,
    Transport,
    TransportError,
    TransportEvent,
    Will,
)
from fleet_runtime.backoff import next_delay
from fleet_runtime.clock import Clock, now_ms
from protocol import (
    COORDINATOR_STATE_FILTER,
    COORDINATOR_STATE_TOPIC,
    WATERMARK_CAPABILITY,
    WATERMARK_COMMAND,
    Birth,
    Command,
    CommandAck,
    CoordinatorState,
    Death,
    EncodeError,
    Event,
    InvalidMessage,
    Message,
    PlanUpdate,
    Sample,
    ScheduleUpdate,
    Stock,
    Telemetry,
    command_filter,
    encode,
    plan_update,
    stock_parts,
    topic_for,
    watermark_seq,
)
from protocol.plans import EXECUTES_CAPABILITY, PLAN_COMMANDS

log = logging.getLogger("edge_agent")

CAPABILITIES = ("rebirth", "config", *PLAN_COMMANDS, WATERMARK_CAPABILITY)
_MAX_VALUE = 1e15
_MISSING_CHECK_S = 1.0
_EXPIRE_EVERY_S = 60.0
_REBIRTH_AFTER_DROP_S = 10.0
_WATERMARK_STALL_S = 15.0
_DEVICE_STATE = "device"  # settings key of the device's retained state


class AgentCore:
    """One edge agent's state and policy."""

    def __init__(
        self,
        config: AgentConfig,
        *,
        clock: Clock,
        transport: Transport,
        driver: Driver,
        outbox: Outbox,
        rng: random.Random | None = None,
        executor: PlanExecutor | None = None,
    ) -> None:
        self.config = config
        self.site, self.node = config.node.site, config.node.node
        self.clock = clock
        self.transport = transport
        self.driver = driver
        self.outbox = outbox
        self.rng = rng or random.Random()
        self.signal_specs = driver.signals()
        self._signal_names = frozenset(s.name for s in self.signal_specs)
        persisted = outbox.load_settings()
        self.settings = restore(config, persisted, self._signal_names)
        # The device that carries out plans: given, or the driver if it can.
        if executor is None and isinstance(driver, PlanExecutor):
            executor = driver
        self.executor = executor
        self.capabilities = CAPABILITIES + ((EXECUTES_CAPABILITY,) if executor is not None else ())
        retains = executor or (driver if isinstance(driver, RetainedState) else None)
        if retains is not None and isinstance(persisted.get(_DEVICE_STATE), dict):
            retains.restore_state(persisted[_DEVICE_STATE])
        self.detectors = (
            None
            if self.settings.detectors is None
            else DetectorBank(
                self.settings.detectors,
                sorted(self._signal_names),
                stepped=driver.stepped_signals(),
                modes=driver.mode_signals(),
                units={s.name: s.unit for s in self.signal_specs},
            )
        )
        self.deadband = DeadbandFilter(
            default_deadband=self.settings.default_deadband,
            deadbands=self.settings.deadbands,
            max_silence_ms=int(config.sampling.max_silence_s * 1000),
        )
        self.batcher = Batcher(
            max_samples=config.batching.max_samples, max_age_ms=config.batching.max_age_ms
        )
        self.link = Link(
            transport=transport,
            outbox=outbox,
            max_inflight=config.mqtt.max_inflight,
            replay_rate_per_s=config.replay.max_messages_per_s,
            watermark_wait_s=config.outbox.watermark_wait_s,
        )
        now = clock.monotonic()
        self.connected = False
        self.connecting = False
        self.coordinator_online: bool | None = None
        # presence topic → online, for each coordinator owning this site
        self._owners: dict[str, bool] = {}
        self._attempt = 0
        self._failure: str | None = None  # the last connect failure, logged once
        self._connect_at = now
        self._next_sample = now
        self._next_missing_check = now + _MISSING_CHECK_S
        self._next_expire = now
        self._stock: dict[str, int] = {}  # pending receipts (signed changes)
        self._picks: dict[str, int] = {}  # pending picks (negative changes), sent apart
        self._stock_since = now
        self._stock_resync = False  # a stock message was refused: send a snapshot when room
        self._dropped_at_birth = 0  # the outbox's drop count when the last birth was made
        self._born_at = now
        self._device_ok = True
        self._recent: OrderedDict[str, CommandAck] = OrderedDict()
        # The newest plan update per machine / vehicle, for the site's HMI or PLC link.
        self.plans: dict[str, PlanUpdate] = {}
        self.counters: dict[str, int] = dict.fromkeys(
            (
                "samples_read",
                "samples_reported",
                "invalid_values",
                "anomalies",
                "read_errors",
                "refused_events",
                "bad_inbound",
                "commands",
                "watermarks",
                "sessions",
            ),
            0,
        )

    # --- the loop ------------------------------------------------------------------

    def tick(self) -> float:
        """Do everything that is due; returns seconds until something else falls due."""
        while (event := self.transport.next_event(0.0)) is not None:
            self.handle(event)
        now = self.clock.monotonic()
        if not self.connected and not self.connecting and now >= self._connect_at:
            self._connect()
        if now >= self._next_sample:
            self._sample()
            interval = self.settings.interval_ms / 1000.0
            self._next_sample += interval
            if self._next_sample <= now:  # fell behind: skip, never burst
                self._next_sample = now + interval
        self._flush_due(now)
        self._settle_own_drops(now)
        wake = self.link.pump(self.clock.monotonic())
        self.link.flush_acks()
        deadlines = [self._next_sample]
        if wake is not None:
            deadlines.append(wake)
        deadline = self.batcher.deadline_ms()
        if deadline is not None:
            deadlines.append(deadline / 1000.0)
        if not self.connected and not self.connecting:
            deadlines.append(self._connect_at)
        return max(0.0, min(deadlines) - self.clock.monotonic())

    def handle(self, event: TransportEvent) -> None:
        """React to one transport event."""
        if isinstance(event, Published):
            self.link.on_puback(event.mid, event.ok)
        elif isinstance(event, Received):
            self._received(event)
        elif isinstance(event, Connected):
            self._connected()
        elif isinstance(event, ConnectFailed | Disconnected):
            self._lost(event.reason)

    # --- session ---------------------------------------------------------------------

    def _connect(self) -> None:
        bd_seq = self.outbox.begin_session()
        will = Death(site=self.site, node=self.node, bd_seq=bd_seq)
        self.connecting = True
        self.transport.connect(
            host=self.config.mqtt.host,
            port=self.config.mqtt.port,
            client_id=f"ff-{self.site}-{self.node}",
            keepalive_s=self.config.mqtt.keepalive_s,
            will=Will(topic_for(will), encode(will)),
        )

    def _connected(self) -> None:
        self.connecting, self.connected = False, True
        self._attempt = 0
        self._failure = None
        self.counters["sessions"] += 1
        try:
            self.transport.subscribe(
                [
                    command_filter(self.site, self.node),
                    COORDINATOR_STATE_TOPIC,
                    COORDINATOR_STATE_FILTER,
                ]
            )
        except TransportError:
            return
        log.info("connected to %s (bd_seq %d)", self.config.mqtt.broker, self.outbox.bd_seq)
        if not self.config.mqtt.wait_for_coordinator:
            self._link_up()

    def _lost(self, reason: str) -> None:
        was_connected = self.connected
        self.connecting = self.connected = False
        self.coordinator_online = None  # the next session learns it again (retained state)
        self._owners.clear()
        self.link.session_lost()
        delay = next_delay(
            self._attempt,
            self.rng,
            base_s=self.config.mqtt.reconnect_base_s,
            cap_s=self.config.mqtt.reconnect_cap_s,
        )
        self._attempt += 1
        self._connect_at = self.clock.monotonic() + delay
        if was_connected:
            log.warning("disconnected (%s); reconnecting in %.2f s", reason, delay)
        elif reason != self._failure:  # one line per cause, not one per retry
            self._failure = reason
            log.error("cannot connect to the broker: %s; retrying", reason)

    def _settle_own_drops(self, now: float) -> None:
        """A new birth (which replays every row still held) when the watermark is stuck:
        - it has not grown for `_WATERMARK_STALL_S` although the broker took rows above
          it: they went nowhere (a broker restarted without the coordinator's session
          drops what it acknowledges), and only a replay sends them again;
        - telemetry the outbox bounds dropped while linked left a gap only a birth can
          settle (at most one birth per `_REBIRTH_AFTER_DROP_S`)."""
        if self.link.release is not Release.WATERMARK or not self.link.linked:
            return
        if self.link.stalled(now, _WATERMARK_STALL_S):
            log.warning("the watermark stalled below what the broker took: birth and replay")
            self._link_up()
            return
        if self.outbox.stats().dropped_messages <= self._dropped_at_birth:
            return
        if now - self._born_at >= _REBIRTH_AFTER_DROP_S:
            log.warning("telemetry dropped while linked: a new birth settles the gap")
            self._link_up()

    def _link_up(self) -> None:
        self._dropped_at_birth = self.outbox.stats().dropped_messages
        self._born_at = self.clock.monotonic()
        birth = self._append(self._birth, samples=0, historical=False)  # a live birth
        if birth is None:
            return
        self.link.start(birth, self.clock.monotonic())
        levels = self.driver.stock_levels()
        if levels is not None:
            # The snapshot sets the levels; the pending picks still go out first: they are sales.
            self._append_stock_deltas()
            self._append_stock("snapshot", levels, "birth")

    def _birth(self, seq: int) -> Message:
        stats = self.outbox.stats()
        return Birth(
            site=self.site,
            node=self.node,
            bd_seq=self.outbox.bd_seq,
            seq=seq,
            ts=now_ms(self.clock),
            node_kind=self.config.node.kind,  # type: ignore[arg-type]
            firmware=self.config.node.firmware,
            signals=self.signal_specs,
            capabilities=self.capabilities,
            pending_from_seq=self.outbox.lowest_pending_seq(),
            stats={
                "produced_messages": stats.produced_messages,
                "produced_samples": stats.produced_samples,
                "dropped_telemetry": stats.dropped_messages,
                "dropped_samples": stats.dropped_samples,
                "refused_messages": stats.refused_messages,
            },
        )

    # --- inbound -----------------------------------------------------------------------

    def _received(self, event: Received) -> None:
        message = event.message
        if message is None:
            self.counters["bad_inbound"] += 1
            log.warning("ignored message on %s: %s", event.topic, event.error)
        elif isinstance(message, CoordinatorState):
            self._coordinator_state(event.topic, message)
        elif isinstance(message, Command):
            self._command(message)
        else:
            self.counters["bad_inbound"] += 1

    def _coordinator_state(self, topic: str, state: CoordinatorState) -> None:
        """Follow the coordinators that own this site: one owning every site (shared
        topic) or one naming it; a coordinator of other sites is none of our business."""
        if state.sites and self.site not in state.sites:
            if self._owners.pop(topic, None) is None:
                return
        else:
            self._owners[topic] = state.online
        self._coordinator(any(self._owners.values()))

    def _coordinator(self, online: bool) -> None:
        was = self.coordinator_online
        self.coordinator_online = online
        if not (self.config.mqtt.wait_for_coordinator and self.connected) or was == online:
            return
        if online:
            log.info("coordinator online: birth and flush")
            self._link_up()
        else:
            log.warning("coordinator offline: buffering")
            self.link.stop()

    def _command(self, command: Command) -> None:
        if command.site != self.site or command.node != self.node:
            self.counters["bad_inbound"] += 1
            return
        if command.name == WATERMARK_COMMAND:
            self._watermark(command)
            return
        self.counters["commands"] += 1
        ack = self._recent.get(command.cmd_id)  # a redelivered command is answered again
        if ack is None:
            try:
                self._execute(command)
                ok, reason = True, ""
            except CommandRejected as exc:
                ok, reason = False, exc.reason
            ack = CommandAck(
                site=self.site,
                node=self.node,
                name=command.name,
                cmd_id=command.cmd_id,
                ts=now_ms(self.clock),
                ok=ok,
                reason=reason,
            )
            self._recent[command.cmd_id] = ack
            while len(self._recent) > 64:
                self._recent.popitem(last=False)
        # If the session dropped, the command is redelivered (QoS 1) and answered again.
        with contextlib.suppress(TransportError):
            self.transport.publish(topic_for(ack), encode(ack))

    def _watermark(self, command: Command) -> None:
        """A commit watermark (a notice: not answered). One naming a seq this node never
        produced cannot come from a coordinator that stored it: ignored and counted."""
        try:
            seq = watermark_seq(command)
        except InvalidMessage as exc:
            self.counters["bad_inbound"] += 1
            log.warning("ignored watermark: %s", exc.reason)
            return
        if seq >= self.outbox.next_seq:
            self.counters["bad_inbound"] += 1
            log.warning(
                "ignored watermark %d: this node has produced seqs < %d only",
                seq,
                self.outbox.next_seq,
            )
            return
        self.counters["watermarks"] += 1
        self.link.on_watermark(seq, self.clock.monotonic())

    def _execute(self, command: Command) -> None:
        if command.name == "rebirth":
            if self.link.linked:
                self._link_up()
        elif command.name == "config":
            new = apply_config_args(self.settings, command.args, self._signal_names)
            self._apply(new)
        elif command.name in PLAN_COMMANDS:
            self._take_plan(command)
        else:
            raise CommandRejected(command.name, f"unknown command {command.name!r}")

    def _take_plan(self, command: Command) -> None:
        try:
            update = plan_update(command)
        except InvalidMessage as exc:
            raise CommandRejected(command.name, exc.reason) from exc
        subject = update.machine_id if isinstance(update, ScheduleUpdate) else update.vehicle_id
        key = f"{update.kind}:{subject}"
        held = self.plans.get(key)
        if held is not None and held.version > update.version:
            return  # never step back to an older plan
        if self.executor is not None:
            try:
                check_subject(update, self.node)
                if isinstance(update, ScheduleUpdate):
                    self.executor.take_schedule(update)
                else:
                    self.executor.take_route(update)
            except PlanRefused as exc:
                log.warning("plan %s version %d refused: %s", key, update.version, exc.reason)
                raise CommandRejected(command.name, exc.reason) from exc
            retained = self.executor.retained_state()
            if retained is not None:  # on disk before the ack says it was taken
                self.outbox.save_settings({_DEVICE_STATE: retained})
        self.plans[key] = update
        log.info("plan %s version %d taken", key, update.version)

    def _apply(self, new: LiveSettings) -> None:
        self.deadband.configure(
            default_deadband=new.default_deadband,
            deadbands=new.deadbands,
            max_silence_ms=self.deadband.max_silence_ms,
        )
        if self.detectors is not None and new.detectors is not None:
            for fields in self.detectors.events(self.detectors.reconfigure(new.detectors)):
                self._append_event(fields)
        self.settings = new
        self.outbox.save_settings({"live": new.to_dict()})
        log.info("settings changed: %s", new.to_dict())

    # --- sampling ----------------------------------------------------------------------

    def _sample(self) -> None:
        ts = now_ms(self.clock)
        mono_ms = int(self.clock.monotonic() * 1000)
        try:
            reading = self.driver.read(self.clock.now())
        except DriverError as exc:
            self.counters["read_errors"] += 1
            if self._device_ok:
                self._device_ok = False
                self._device_event(
                    DeviceEvent("device_offline", "MAJOR", exc.reason[:1000], state="raised")
                )
            return
        if not self._device_ok:
            self._device_ok = True
            self._device_event(
                DeviceEvent(
                    "device_offline",
                    "INDETERMINATE",
                    f"{self.driver.name} answers again",
                    state="cleared",
                )
            )
        detectors, deadband, batcher = self.detectors, self.deadband, self.batcher
        if detectors is not None:
            for device_event in reading.events:
                family = device_event.data.get("family")
                if device_event.name == "operation_started" and isinstance(family, str):
                    detectors.observe_family("", family)  # the node's own machine
            detectors.observe_modes(reading.values)
        for signal, value in reading.values:
            self.counters["samples_read"] += 1
            if detectors is not None:
                found = detectors.update(signal, ts, value)
                if found:
                    self.counters["anomalies"] += len(found)
                    for fields in detectors.events(found):
                        self._append_event(fields)
            if not -_MAX_VALUE <= value <= _MAX_VALUE:  # NaN fails too
                self.counters["invalid_values"] += 1
                continue
            if deadband.admit(signal, ts, value):
                batcher.add((signal, ts, value), mono_ms)
        if reading.retained is not None or reading.receipts:
            self._device_reports(reading)
        else:
            for device_event in reading.events:
                self._device_event(device_event)
        if reading.stock_changes or reading.picks:
            if not self._stock and not self._picks:
                self._stock_since = self.clock.monotonic()
            for sku, delta in reading.stock_changes.items():
                self._stock[sku] = self._stock.get(sku, 0) + delta
            for sku, units in reading.picks.items():
                self._picks[sku] = self._picks.get(sku, 0) - units

    def _flush_due(self, now: float) -> None:
        mono_ms = int(now * 1000)
        while self.batcher.due(mono_ms):
            self._flush_batch()
        pending = self._stock or self._picks
        if pending and now - self._stock_since >= self.config.batching.max_age_ms / 1000.0:
            self._append_stock_deltas()
        if self._stock_resync and self.outbox.stats().bytes < self.outbox.max_outbox_bytes:
            self._resync_stock()
        if self.detectors is not None and now >= self._next_missing_check:
            self._next_missing_check = now + _MISSING_CHECK_S
            missing = self.detectors.check_missing(now_ms(self.clock))
            for fields in self.detectors.events(missing):
                self._append_event(fields)
        if now >= self._next_expire:
            self._next_expire = now + _EXPIRE_EVERY_S
            self.outbox.expire(now_ms(self.clock))

    def _resync_stock(self) -> None:
        """A snapshot after a refused stock message, so the coordinator's levels heal."""
        self._stock_resync = False
        levels = self.driver.stock_levels()
        if levels is not None:
            self._append_stock_deltas()  # pending picks are sales, whatever the snapshot says
            self._append_stock("snapshot", levels, "resync after a refused stock message")

    def flush(self) -> None:
        """Store whatever is batched now (on shutdown)."""
        while len(self.batcher):
            self._flush_batch()
        self._append_stock_deltas()

    def _append_stock_deltas(self) -> None:
        """Pending picks and receipts as two deltas: the coordinator counts picks as sales."""
        for reason, pending in (("picks", self._picks), ("receipts", self._stock)):
            changes = {sku: d for sku, d in pending.items() if d}
            pending.clear()
            if changes:
                self._append_stock("delta", changes, reason)

    def _flush_batch(self) -> None:
        samples = self.batcher.take()
        self.counters["samples_reported"] += len(samples)
        self._append_telemetry(samples)

    def _append_telemetry(self, samples: tuple[Sample, ...]) -> None:
        """Store one telemetry message, halving it while it is over the payload limit."""
        try:
            self._append(
                lambda seq: Telemetry(
                    site=self.site,
                    node=self.node,
                    bd_seq=self.outbox.bd_seq,
                    seq=seq,
                    ts=now_ms(self.clock),
                    samples=samples,
                    historical=not self.link.linked,
                ),
                samples=len(samples),
            )
        except EncodeError:
            if len(samples) == 1:  # cannot happen with the protocol's name limits
                self.counters["invalid_values"] += 1
                log.error("a single sample does not fit in a message: %s", samples[0][0])
                return
            half = len(samples) // 2
            self._append_telemetry(samples[:half])
            self._append_telemetry(samples[half:])

    def _append_stock(self, mode: str, items: dict[str, int], reason: str) -> None:
        """Store stock levels or changes: more SKUs than one message carries go as the
        parts of one snapshot (consecutive seqs) or as several deltas (`protocol.stock_parts`)."""
        try:
            pieces = stock_parts(mode, items)
        except InvalidMessage as exc:
            self.counters["refused_events"] += 1
            log.error("stock snapshot not sent: %s", exc)
            return
        for part, parts, chunk in pieces:
            stored = self._append(
                functools.partial(self._stock_message, mode, chunk, reason, part, parts),
                samples=0,
            )
            if stored is None:  # refused (counted): the levels are resent once there is room
                self._stock_resync = True
                return

    def _stock_message(
        self,
        mode: str,
        items: dict[str, int],
        reason: str,
        part: int | None,
        parts: int | None,
        seq: int,
    ) -> Stock:
        return Stock(
            site=self.site,
            node=self.node,
            bd_seq=self.outbox.bd_seq,
            seq=seq,
            ts=now_ms(self.clock),
            mode=mode,  # type: ignore[arg-type]
            items=items,
            reason=reason,
            historical=not self.link.linked,
            part=part,
            parts=parts,
        )

    def _device_event(self, event: DeviceEvent) -> None:
        self._append_event(_event_fields(event))

    def _device_reports(self, reading: Reading) -> None:
        """The poll's events and receipts stored with the device's retained state in one
        transaction, so after a crash the device resumes exactly from what was reported."""
        ts, historical = now_ms(self.clock), not self.link.linked
        common = {"site": self.site, "node": self.node, "ts": ts, "historical": historical}
        builds: list[Any] = [
            functools.partial(_build_event, common, self.outbox.bd_seq, _event_fields(e))
            for e in reading.events
        ]
        builds += [
            functools.partial(_build_receipt, common, self.outbox.bd_seq, transfer_id, items)
            for transfer_id, items in reading.receipts.items()
        ]
        state = {_DEVICE_STATE: reading.retained} if reading.retained is not None else {}
        try:
            rows = self.outbox.append_with_state(
                builds, created_ms=ts, historical=historical, state=state
            )
        except OutboxFull as exc:
            self.counters["refused_events"] += len(builds)
            log.error("outbox full, device reports refused: %s", exc)
            return
        for row in rows:
            self.link.offer(row)

    def _append_event(self, fields: dict[str, Any]) -> None:
        self._append(
            lambda seq: Event(
                site=self.site,
                node=self.node,
                bd_seq=self.outbox.bd_seq,
                seq=seq,
                ts=now_ms(self.clock),
                historical=not self.link.linked,
                **fields,
            ),
            samples=0,
        )

    def _append(
        self, build: Any, *, samples: int, historical: bool | None = None
    ) -> OutboxRow | None:
        """Store a message; the row's `historical` flag must say what its payload says
        (a replay re-encodes only rows stored as live)."""
        try:
            row = self.outbox.append(
                build,
                created_ms=now_ms(self.clock),
                samples=samples,
                historical=not self.link.linked if historical is None else historical,
            )
        except OutboxFull as exc:
            self.counters["refused_events"] += 1
            log.error("outbox full, message refused: %s", exc)
            return None
        if row is not None:
            self.link.offer(row)
        return row

    # --- shutdown ----------------------------------------------------------------------

    def close(self, *, drain_s: float = 5.0) -> None:
        """Store what is batched, wait briefly for acknowledgements (and, with a coordinator
        sending watermarks, for the one covering them), send death, disconnect. What is
        not released by then stays stored for the next start."""
        self.flush()
        deadline = self.clock.monotonic() + drain_s
        # Each round waits up to 0.05 s for an event; the round count also bounds the wait
        # on a clock that does not move by itself (tests, scenarios).
        for _ in range(max(1, int(drain_s / 0.05))):
            if not (self.connected and self.link.linked and self.clock.monotonic() < deadline):
                break
            self.link.pump(self.clock.monotonic())
            event = self.transport.next_event(0.05)
            if event is not None:
                self.handle(event)
            self.link.flush_acks()
            if self.link.inflight == 0 and not self.link.replaying and self._released():
                break
        self.link.flush_acks()
        if self.connected:
            death = Death(site=self.site, node=self.node, bd_seq=self.outbox.bd_seq)
            with contextlib.suppress(TransportError):
                self.transport.publish(topic_for(death), encode(death))
        self.transport.disconnect()
        self.driver.close()
        self.outbox.close()

    def _released(self) -> bool:
        """Whether nothing sent waits for a watermark any more."""
        if self.link.release is not Release.WATERMARK:
            return True
        return self.outbox.stats().rows == 0

    def status(self) -> dict[str, int]:
        """Counters for metrics and tests."""
        stats = self.outbox.stats()
        return {
            **self.counters,
            "outbox_rows": stats.rows,
            "outbox_bytes": stats.bytes,
            "next_seq": stats.next_seq,
            "bd_seq": stats.bd_seq,
            "produced_messages": stats.produced_messages,
            "produced_samples": stats.produced_samples,
            "dropped_messages": stats.dropped_messages,
            "dropped_samples": stats.dropped_samples,
            "refused_messages": stats.refused_messages,
            "inflight": self.link.inflight,
            "sent_live": self.link.sent_live,
            "sent_replay": self.link.sent_replay,
            "connected": int(self.connected),
            "linked": int(self.link.linked),
        }


def _event_fields(event: DeviceEvent) -> dict[str, Any]:
    return {
        "name": event.name,
        "severity": event.severity,
        "reason": event.reason[:1000],
        "data": dict(event.data),
        "state": event.state,
    }


def _build_event(common: dict[str, Any], bd_seq: int, fields: dict[str, Any], seq: int) -> Event:
    return Event(**common, bd_seq=bd_seq, seq=seq, **fields)


def _build_receipt(
    common: dict[str, Any], bd_seq: int, transfer_id: str, items: dict[str, int], seq: int
) -> Stock:
    return Stock(
        **common,
        bd_seq=bd_seq,
        seq=seq,
        mode="delta",
        items=items,
        reason="receipt",
        transfer_id=transfer_id,
    )
