"""The coordinator service: store, fleet twin, ingest writer, MQTT client and alarms, wired.

`Coordinator.open(settings)` builds the parts (applying every migration set at start-up:
the core's and the alarm service's; the core's tables on PostgreSQL when `db_url` is set,
the other stores on the SQLite file `db_path` either way), restores the twin from the store, and
`start()` connects to the broker and starts the writer, the forecast job
(`coordinator.forecast.serving.job`: sales history → forecasts, on a schedule) and the planner
(`coordinator.plan.runner`: re-plans on machine down, orders and stock-out risk), fed the
machines' counts by the job tracker (`coordinator.jobs.tracker`). The HTTP app
(`coordinator.api.app`) creates one in its lifespan; benchmarks and tests use it bare.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from coordinator.alarms.model import Alarm, AlarmQuery
from coordinator.alarms.port import AlarmSink
from coordinator.alarms.service import AlarmService
from coordinator.alarms.store import MAX_QUERY_LIMIT
from coordinator.alarms.wiring import build_alarm_service
from coordinator.commands import CommandLog
from coordinator.errors import CoordinatorError, NotFound, StoreError
from coordinator.fleet.node import NodeRecord
from coordinator.fleet.twin import FleetTwin
from coordinator.fleet_facts import FleetFollower
from coordinator.forecast.events.head import EventHeadParams
from coordinator.forecast.events.hourly import EventContext
from coordinator.forecast.serving.job import ForecastJob
from coordinator.forecast.serving.store import ForecastStore
from coordinator.ingest.alarm_feed import AlarmFeed
from coordinator.ingest.fast_lane import EventFastLane
from coordinator.ingest.pipeline import IngestPipeline
from coordinator.ingest.records import BatchOutcome, RawMessage
from coordinator.ingest.watermarks import WatermarkSender
from coordinator.ingest.writer import IngestWriter
from coordinator.jobs.tracker import JobTracker
from coordinator.mqtt_client import MqttClient
from coordinator.plan.routing.departures import DeparturePolicy
from coordinator.plan.routing.osrm import OsrmTravel
from coordinator.plan.routing.travel import GreatCircleTravel, TravelTimes
from coordinator.plan.runner import PlanRunner
from coordinator.plan.schedule.isolated import IsolatedScheduler
from coordinator.plan.van_loans import VanLoans
from coordinator.sales.book import SalesBook
from coordinator.sales.network import Network
from coordinator.sales.sources import PromiseReviser, capacity_source, pairwise_travel
from coordinator.sales.webhooks import WebhookPusher
from coordinator.settings import CoordinatorSettings
from coordinator.stock.cover import CoverPolicy, StockCover
from coordinator.stock.cover_watch import CoverWatch, StockoutRiskRule
from coordinator.stock.lateral_book import LateralTransferBook
from coordinator.stock.placement import PlacementPolicy
from coordinator.stock.plan_inputs import Inbound, sized_by_plan, stream_event
from coordinator.stock.plan_service import StockPlanner
from coordinator.stock.stream_book import LiveStreamBook
from coordinator.stock.uplift_meter import StreamUpliftMeter, UpliftStore
from coordinator.store.port import CommitResult, Store
from coordinator.store.sqlite_store import SqliteStore
from coordinator.transfers import carry_made_goods
from fleet_runtime.clock import Clock, SystemClock
from protocol import site_filters
from protocol.plans import EXECUTES_CAPABILITY

if TYPE_CHECKING:  # psycopg only when the core is on PostgreSQL
    from coordinator.store.alarm_board import AlarmBoardFeed

log = logging.getLogger(__name__)
UPLIFT_LOOKBACK_MS = 7 * 86_400_000  # streams that ended within a week get measured
PROFILE_DAYS = 28  # the hourly sales profile of each shelf: picks over the last 4 weeks


@dataclass
class Coordinator:
    """The running parts of one coordinator process."""

    settings: CoordinatorSettings
    clock: Clock
    store: Store
    twin: FleetTwin
    writer: IngestWriter
    mqtt: MqttClient
    local: SqliteStore
    """The SQLite file of the stores that are not the core's (plan state, jobs, sales,
    commands, ...): `store` itself unless the core is on PostgreSQL."""
    alarms: AlarmService | None = None
    fast_lane: EventFastLane | None = None
    events_mqtt: MqttClient | None = None
    plans: PlanRunner | None = None
    jobs: JobTracker | None = None
    forecasts: ForecastJob | None = None
    cover: CoverWatch | None = None
    commands: CommandLog | None = None
    sales: SalesBook | None = None
    live_streams: LiveStreamBook | None = None
    stock_plan: StockPlanner | None = None
    lateral: LateralTransferBook | None = None
    fleet_follower: FleetFollower | None = None
    """Acts on committed stop events and receipts (`coordinator.fleet_facts`)."""
    sales_webhooks: WebhookPusher | None = None
    promise_reviser: PromiseReviser | None = None
    alarm_board: AlarmBoardFeed | None = None
    """Copies this coordinator's alarms onto the board other coordinators read (PostgreSQL)."""

    @classmethod
    def open(
        cls, settings: CoordinatorSettings, *, clock: Clock | None = None, with_alarms: bool = True
    ) -> Coordinator:
        """Build every part from `settings` (no network yet)."""
        clock = clock or SystemClock()
        local, store = _open_stores(settings)
        twin = FleetTwin()
        _restore_own_sites(twin, store, settings.sites)
        client = MqttClient(
            host=settings.broker_host,
            port=settings.broker_port,
            coordinator_id=settings.coordinator_id,
            on_message=_not_wired,  # the writer's enqueue, once the writer exists
            clock=clock,
            share_group=settings.share_group,
            topic_filters=site_filters(settings.sites),
            sites=settings.sites,
            session_expiry_s=settings.session_expiry_s,
            keepalive_s=settings.keepalive_s,
            receive_maximum=settings.queue_max_messages,
            reconnect_base_s=settings.reconnect_base_s,
            reconnect_cap_s=settings.reconnect_cap_s,
            security=settings.broker_security,
        )
        events_mqtt = (
            _build_events_client(settings, clock)
            if with_alarms and settings.alarm_fast_lane
            else None
        )
        alarms = _build_alarms(settings, clock, events_mqtt or client) if with_alarms else None
        commands = CommandLog(
            store=local.command_store(),
            publisher=client,
            clock=clock,
            online=twin.is_online,
            timeout_s=settings.command_timeout_s,
            alarms=alarms,
        )
        feed = (
            AlarmFeed(
                alarms,
                stock_low_threshold=settings.stock_low_threshold or None,
                stock_thresholds=settings.stock_thresholds,
                dead_letter_burst_count=settings.dead_letter_burst_count,
                dead_letter_burst_window_s=settings.dead_letter_burst_window_s,
            )
            if alarms is not None
            else None
        )
        writer = IngestWriter(
            pipeline=IngestPipeline(
                twin,
                clock,
                rebirth_min_interval_s=settings.rebirth_min_interval_s,
                inactivity_timeout_for=settings.inactivity_timeout_for,
            ),
            store=store,
            clock=clock,
            ack=client.ack,
            commands=commands,
            feed=feed,
            queue_max_messages=settings.queue_max_messages,
            batch_max_messages=settings.batch_max_messages,
            batch_max_bytes=settings.batch_max_bytes,
            batch_max_wait_s=settings.batch_max_wait_s,
            max_payload_bytes=settings.max_payload_bytes,
            dead_letter_prefix_bytes=settings.dead_letter_payload_prefix_bytes,
            tick_interval_s=settings.twin_check_interval_s,
            retention_interval_s=settings.retention_interval_s,
            raw_retention_days=settings.raw_retention_days,
            rollup_retention_days=settings.rollup_retention_days,
        )
        client.on_message = writer.enqueue
        # Agents keep their outbox rows until these say the rows are committed.
        watermarks = WatermarkSender(
            publisher=client, clock=clock, min_interval_s=settings.watermark_interval_s
        )
        writer.listeners.append(watermarks.on_commit)
        plans, jobs = _build_plans(settings, clock, commands, local, store, alarms, twin)
        writer.listeners.append(plans.on_commit)
        writer.listeners.append(jobs.on_commit)
        fast_lane = _build_fast_lane(settings, twin, feed, events_mqtt)
        forecasts = ForecastJob(
            sales=lambda since_day: store.daily_sales(since_day=since_day),
            store=ForecastStore.open(settings.db_path),
            clock=clock,
            model_dir=settings.forecast_model_dir,
            horizon_days=settings.forecast_horizon_days,
            refresh_interval_s=settings.forecast_refresh_interval_s,
            model_check_interval_s=settings.forecast_model_check_interval_s,
            events=lambda: _event_context(settings, store, streams, plans, meter),
        )
        cover = _build_cover(settings, clock, twin, forecasts, alarms)
        sales = _build_sales(settings, local, clock, twin, plans)
        sales.network_listeners.append(lambda network: _plan_opening_hours(plans, network))
        reviser = PromiseReviser(sales, plans)
        plans.plan_listeners.append(reviser.on_plan)
        _plan_opening_hours(plans, sales.network)
        _follow_orders(writer, sales, jobs, plans, service_s=settings.delivery_service_s)
        streams = LiveStreamBook(
            local.live_stream_store(), clock, known_skus=lambda: {s.sku for s in twin.stock()}
        )
        streams.listeners.append(lambda _stream: forecasts.request_refresh())
        meter = _build_uplift_meter(local, store, streams, plans, clock)
        forecasts.watchers.append(meter)  # measures ended streams between refreshes
        lateral = LateralTransferBook(
            local.lateral_store(),
            plans,
            clock,
            nodes=lambda: {w.id: w.nodes for w in sales.network.warehouses},
            received=jobs.store.received,
        )
        stock_plan = _build_stock_plan(settings, clock, twin, forecasts, plans, sales, streams)
        stock_plan.inbound_sources.append(lateral.inbound)
        lateral.restore()  # after the planner took back its saved orders and fleet

        def place_stock(rows: list[tuple[str, str, StockCover]], ts_ms: int) -> None:
            """After a cover check: the stock plan's lateral transfers are carried out and
            the replenishment jobs are sized by what it still lacks after them (by the
            covers alone when no plan can be made: replenishment never stops for it)."""
            try:
                plan = stock_plan.plan().plan
            except CoordinatorError:
                log.exception("no stock plan; replenishment sized by the covers alone")
                plans.on_covers(rows, ts_ms)
                return
            if settings.stock_lateral_transfers:
                lateral.carry_out(plan)
            plans.on_covers(sized_by_plan(rows, plan, sales.network), ts_ms)

        follower = FleetFollower(
            jobs.store,
            planner=plans.follow_fleet,
            lateral=lateral.on_receipts,
            sales=sales,
            monotonic=clock.monotonic,
        )
        writer.listeners.append(follower.on_commit)  # last: every other listener saw the batch
        follower.catch_up()  # what a previous run committed and did not act on
        cover.listeners.append(place_stock)
        return cls(
            settings=settings,
            clock=clock,
            store=store,
            twin=twin,
            writer=writer,
            mqtt=client,
            alarms=alarms,
            fast_lane=fast_lane,
            events_mqtt=events_mqtt,
            plans=plans,
            jobs=jobs,
            forecasts=forecasts,
            cover=cover,
            commands=commands,
            sales=sales,
            promise_reviser=reviser,
            live_streams=streams,
            stock_plan=stock_plan,
            lateral=lateral,
            fleet_follower=follower,
            local=local,
            alarm_board=_build_alarm_board(settings, alarms),
            sales_webhooks=WebhookPusher(
                local.sales_store(),
                clock,
                secret=None
                if settings.webhook_secret is None
                else settings.webhook_secret.get_secret_value(),
            ),
        )

    def start(self) -> None:
        """Start the writer, then connect (so nothing arrives before someone drains it)."""
        self.writer.start()
        if self.alarms is not None:
            self.alarms.start()
        if self.alarm_board is not None and self.alarms is not None:
            _resync_board(self.alarm_board, self.alarms)
            self.alarm_board.start()
        if self.fast_lane is not None and self.events_mqtt is not None:
            self.fast_lane.start()
            self.events_mqtt.start(connect_timeout_s=0)  # connects in the background
        self.mqtt.start()
        if self.plans is not None:
            self.plans.start()
        if self.forecasts is not None:
            self.forecasts.start()
        if self.sales_webhooks is not None:
            self.sales_webhooks.start()
        if self.promise_reviser is not None:
            self.promise_reviser.start()

    def stop(self) -> None:
        """Disconnect, finish the batch in hand, and close the alarm service and the stores."""
        if self.sales_webhooks is not None:
            self.sales_webhooks.close()
        if self.promise_reviser is not None:
            self.promise_reviser.close()
        if self.forecasts is not None:
            self.forecasts.close()
        if self.plans is not None:
            self.plans.stop()
        if self.fast_lane is not None and self.events_mqtt is not None:
            self.events_mqtt.stop()
            self.fast_lane.stop()
        self.mqtt.stop()
        self.writer.stop()
        if self.alarms is not None:
            self.alarms.close()
        if self.alarm_board is not None:
            self.alarm_board.close()
        self.close_stores()

    def close_stores(self) -> None:
        """Close the core store and, when it is another one, the local SQLite file."""
        self.store.close()
        if self.local is not self.store:
            self.local.close()

    @property
    def healthy(self) -> bool:
        """Broker connected, ingest running and the database reachable."""
        return self.mqtt.connected and not self.writer.failed and not self.writer.store_lost


def _build_cover(
    settings: CoordinatorSettings,
    clock: Clock,
    twin: FleetTwin,
    forecasts: ForecastJob,
    alarms: AlarmService | None,
) -> CoverWatch:
    """The stock cover watch on the forecasts and the twin's stock, checked after every
    forecast refresh and between them; stock-out risks alarm."""
    policy = CoverPolicy(settings.cover_lead_time_days, settings.cover_review_days)
    cover = CoverWatch(
        forecasts=forecasts.service.latest,
        stock=lambda: [(s.site, s.node, s.sku, s.qty) for s in twin.stock()],
        policy=policy,
        clock=clock,
        interval_s=settings.cover_check_interval_s,
        rule=None if alarms is None else StockoutRiskRule(alarms, policy),
    )
    forecasts.watchers.append(cover)
    return cover


def _plan_opening_hours(plans: PlanRunner, network: Network) -> None:
    """Several factories planned together: each machine only while its factory is open."""
    plans.set_opening_hours(
        {machine: f.hours.open_intervals for f in network.factories for machine in f.machines}
    )


def _build_sales(
    settings: CoordinatorSettings,
    store: SqliteStore,
    clock: Clock,
    twin: FleetTwin,
    plans: PlanRunner,
) -> SalesBook:
    """The sales book on the store, reading the twin and the planner, handing it jobs and
    deliveries; its travel times from the same settings as the router's."""
    return SalesBook(
        store=store.sales_store(),
        clock=clock,
        stock=twin.stock_of,
        capacity=lambda: capacity_source(twin, plans),
        recipe=plans.product,
        schedule_version=plans.schedule_version,
        travel=pairwise_travel(
            GreatCircleTravel(
                detour_factor=settings.travel_detour_factor, speed_kmh=settings.travel_speed_kmh
            )
        ),
        delivery_service_s=settings.delivery_service_s,
        submit_jobs=plans.submit_orders,
        close_jobs=lambda ids: plans.close_orders(ids, [], reason="order cancelled"),
        submit_deliveries=lambda drops: plans.submit_orders([], drops),
        submit_orders=plans.submit_orders,
        fleet_waits=plans.delivery_waits,
    )


def _follow_orders(
    writer: IngestWriter, sales: SalesBook, jobs: JobTracker, plans: PlanRunner, *, service_s: float
) -> None:
    """Sales orders move on the facts of each committed batch: their jobs' reports (once
    tracked; their deliveries' stop events and their transfers' receipts through the
    fleet follower, `coordinator.fleet_facts`, wired last); made goods are
    carried to the warehouses (`coordinator.transfers`, wired before the tracker settles
    what a previous run left unsettled); the orders ready to ship are handed to the
    planner again at start."""
    carry_made_goods(plans, jobs, sales, service_s=service_s)
    jobs.resume()

    def follow_production(outcome: BatchOutcome, _result: CommitResult) -> None:
        sales.follow_production(
            (r.job_id for r in outcome.batch.progress),
            lambda job_id: None if (p := jobs.job(job_id)) is None else p.state,
        )

    writer.listeners.append(follow_production)
    sales.resume_shipping()


def _own_nodes(store: Store, sites: tuple[str, ...]) -> list[NodeRecord]:
    """The stored node records of the sites this coordinator owns (all when `sites` is
    empty): coordinators owning other sites may share the database (PostgreSQL), and a
    node of theirs taken in here would be expired and written back by this one."""
    return [r for r in store.load_nodes() if not sites or r.site in sites]


def _restore_own_sites(twin: FleetTwin, store: Store, sites: tuple[str, ...]) -> None:
    """The twin from the store, for the sites this coordinator owns only."""
    twin.restore(
        _own_nodes(store, sites),
        [row for row in store.load_latest() if not sites or row[0] in sites],
        [item for item in store.load_stock() if not sites or item.site in sites],
    )


def check_database(settings: CoordinatorSettings) -> None:
    """Open the core's PostgreSQL store once (connect, apply pending migrations) and close
    it, so a command line can say why start-up cannot go on before serving anything;
    `StoreError` with the reason. Nothing to check for the embedded SQLite file."""
    if settings.db_url is None:
        return
    from coordinator.store.postgres_store import PostgresStore

    PostgresStore(settings.db_url).close()


def _open_stores(settings: CoordinatorSettings) -> tuple[SqliteStore, Store]:
    """The SQLite file of the local stores, and the core's store: that file too, or
    PostgreSQL at `db_url` (its batches' job facts written to the file first). An
    unreachable server or a failed migration raises `StoreError` here, so start-up stops
    with the reason."""
    local = SqliteStore(settings.db_path, synchronous=settings.sqlite_synchronous)
    if settings.db_url is None:
        return local, local
    from coordinator.store.postgres_store import PostgresStore  # psycopg: only when used

    try:
        return local, PostgresStore(
            settings.db_url, job_facts=local.commit_job_facts, readers=settings.db_readers
        )
    except BaseException:
        local.close()
        raise


def _build_plans(
    settings: CoordinatorSettings,
    clock: Clock,
    commands: CommandLog,
    local: SqliteStore,
    store: Store,
    alarms: AlarmSink | None,
    twin: FleetTwin,
) -> tuple[PlanRunner, JobTracker]:
    """The re-planning loop (ingest and the orders API feed it, plan diffs go out as
    commands) and the job tracker that feeds it the shop floor's facts."""

    def executes(site: str, machine: str) -> bool:
        try:
            return EXECUTES_CAPABILITY in twin.node(machine, site=site).capabilities
        except NotFound:
            return False

    plans = PlanRunner(
        clock=clock,
        commands=commands,
        stock_thresholds=settings.stock_thresholds,
        stock_low_threshold=settings.stock_low_threshold or None,
        time_unit_s=settings.plan_time_unit_s,
        time_limit_s=settings.plan_time_limit_s,
        quiet_s=settings.plan_quiet_s,
        urgent_quiet_s=settings.plan_urgent_quiet_s,
        max_delay_s=settings.plan_max_delay_s,
        rest_factor=settings.plan_rest_factor,
        machine_down_s=settings.plan_machine_down_s,
        state=local.plan_state(),
        lead_time_days=settings.cover_lead_time_days,
        auto_replenish=settings.auto_replenish,
        can_order_days=settings.replenish_can_order_days,
        from_facts=settings.plan_from_facts,
        travel=_travel_times(settings),
        scheduler=IsolatedScheduler() if settings.plan_isolated else None,
        departures=(
            DeparturePolicy(
                fill_share=settings.dispatch_fill_share, max_wait_s=settings.dispatch_max_wait_s
            )
            if settings.dispatch_tours
            else None
        ),
        dispatch_every_s=settings.dispatch_every_s,
        loans=VanLoans(behind_s=settings.dispatch_behind_s)
        if settings.dispatch_lend_vans
        else None,
        executes=executes,
    )

    def scrap_limit(sku: str) -> float:
        product = next((p for p in plans.products() if p.sku == sku), None)
        if product is None or product.max_scrap_share is None:
            return settings.quality_max_scrap_share
        return product.max_scrap_share

    jobs = JobTracker(
        store=local.job_store(),
        clock=clock,
        alarms=alarms,
        scrap_limit_for=scrap_limit,
        scrap_window_s=settings.quality_window_h * 3600,
        scrap_alpha=settings.quality_alarm_p,
        start_grace_s=settings.job_start_grace_s,
        replan_interval_s=settings.plan_progress_replan_s,
    )
    jobs.attach(plans)
    plans.received = jobs.store.received
    plans.restore(_own_nodes(store, settings.sites))
    plans.restore_saved()  # orders, fleet and latest plans of the previous run
    return plans, jobs


def _travel_times(settings: CoordinatorSettings) -> TravelTimes:
    """The travel-time port: an OSRM-compatible service when one is configured, else the
    great-circle default."""
    if settings.travel_osrm_url:
        return OsrmTravel(settings.travel_osrm_url, timeout_s=settings.travel_timeout_s)
    return GreatCircleTravel(
        detour_factor=settings.travel_detour_factor, speed_kmh=settings.travel_speed_kmh
    )


def _not_wired(_raw: RawMessage) -> None:
    raise RuntimeError("the MQTT client started before the ingest writer was attached")


def _build_events_client(settings: CoordinatorSettings, clock: Clock) -> MqttClient:
    """The fast lane's own connection (agent events and deaths only; the alarm alerts go out
    on it, so they never wait behind the ingest connection's backpressure)."""
    return MqttClient(
        host=settings.broker_host,
        port=settings.broker_port,
        coordinator_id=f"{settings.coordinator_id}-events",
        on_message=lambda _raw: None,  # the fast lane's enqueue, once it exists
        clock=clock,
        share_group=f"{settings.share_group}-events" if settings.share_group else "",
        keepalive_s=settings.keepalive_s,
        topic_filters=(
            *site_filters(settings.sites, "event"),
            *site_filters(settings.sites, "death"),
        ),
        persistent=False,
        reconnect_base_s=settings.reconnect_base_s,
        reconnect_cap_s=settings.reconnect_cap_s,
        security=settings.broker_security,  # the same login and TLS as the ingest connection
    )


def _build_fast_lane(
    settings: CoordinatorSettings,
    twin: FleetTwin,
    feed: AlarmFeed | None,
    client: MqttClient | None,
) -> EventFastLane | None:
    """The alarm fast lane, fed by `client`, when alarms and the lane are on."""
    if feed is None or client is None:
        return None
    lane = EventFastLane(twin=twin, feed=feed, max_payload_bytes=settings.max_payload_bytes)
    client.on_message = lane.enqueue
    return lane


def _build_alarm_board(
    settings: CoordinatorSettings, alarms: AlarmService | None
) -> AlarmBoardFeed | None:
    """On PostgreSQL, the feed copying every alarm change onto the shared alarm board."""
    if settings.db_url is None or alarms is None:
        return None
    from coordinator.store.alarm_board import AlarmBoardFeed, PostgresAlarmBoard

    feed = AlarmBoardFeed(PostgresAlarmBoard(settings.db_url), sites=settings.sites)
    alarms.add_notifier(feed)
    return feed


def _resync_board(feed: AlarmBoardFeed, alarms: AlarmService) -> None:
    """The board's rows of this coordinator's sites as its alarm file holds them (a server
    out of reach now: the changes from here on reach it once it answers)."""
    held: list[Alarm] = []
    while page := alarms.store.query(AlarmQuery(limit=MAX_QUERY_LIMIT, offset=len(held))):
        held.extend(page)
        if len(page) < MAX_QUERY_LIMIT:
            break
    try:
        feed.resync(held)
    except StoreError as exc:
        log.warning("alarm board not resynchronised: %s", exc.reason)


def _build_alarms(settings: CoordinatorSettings, clock: Clock, client: MqttClient) -> AlarmService:
    """The alarm service over its own database file (`settings.alarm_db_file`)."""
    return build_alarm_service(
        db_path=settings.alarm_db_file,
        clock=clock,
        publisher=client,
        webhook_urls=settings.webhook_urls,
        webhook_secret=(
            settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        ),
        escalate_after_s=settings.escalate_after_s,
        cleared_retention_s=settings.alarm_cleared_retention_days * 86_400,
        purge_interval_s=settings.alarm_purge_interval_s,
    )


__all__ = ["Coordinator", "check_database"]


def _build_uplift_meter(
    local: SqliteStore, store: Store, streams: LiveStreamBook, plans: PlanRunner, clock: Clock
) -> StreamUpliftMeter:
    """Measures the streams that ended within a week; the book shows the measurements
    (kept in the local file, measured from the core's tables wherever they are)."""
    uplifts: UpliftStore = local.stream_uplift_store()
    if store is not local:
        from coordinator.store.postgres_store import PostgresStore, SplitUpliftStore

        assert isinstance(store, PostgresStore)
        uplifts = SplitUpliftStore(local.stream_uplift_store(), store)
    meter = StreamUpliftMeter(
        store=uplifts,
        streams=lambda: [
            kept.stream
            for kept in streams.list(ended_after_ms=streams.now_ms() - UPLIFT_LOOKBACK_MS)
        ],
        family_of=lambda: _families(plans),
        clock=clock,
    )
    streams.measured = meter.get
    return meter


def _families(plans: PlanRunner) -> dict[str, str]:
    return {p.sku: p.family for p in plans.products() if p.family}


def _event_context(
    settings: CoordinatorSettings,
    store: Store,
    streams: LiveStreamBook,
    plans: PlanRunner,
    meter: StreamUpliftMeter,
) -> EventContext:
    """What the forecast's event step needs: the streams not ended, the SKU families and
    the uplifts past streams realised."""
    past = meter.past()
    since = streams.now_ms() - PROFILE_DAYS * 86_400_000
    profiles: dict[str, list[float]] = {}
    for site, node, hour, units in store.hourly_sales_profile(since_ms=since):
        profiles.setdefault(f"{site}/{node}", [0.0] * 24)[hour] += units
    return EventContext(
        streams=tuple(
            stream_event(kept.stream, orders_per_viewer=settings.stock_orders_per_viewer)
            for kept in streams.list()
        ),
        uplift_sku=past.sku,
        uplift_family=past.family,
        family_of=_families(plans),
        params=EventHeadParams(pre_uplift=past.pre_uplift),
        hour_profiles=profiles,
    )


def _build_stock_plan(
    settings: CoordinatorSettings,
    clock: Clock,
    twin: FleetTwin,
    forecasts: ForecastJob,
    plans: PlanRunner,
    sales: SalesBook,
    streams: LiveStreamBook,
) -> StockPlanner:
    """Stock placement over the sales network, with the open replenishments in transit."""

    def inbound() -> list[Inbound]:
        return [
            Inbound(r.transfer_id, r.node, r.sku, max(0, r.quantity - r.received), "replenishment")
            for r in plans.replenishments().values()
        ]

    return StockPlanner(
        forecasts=forecasts.service.latest,
        stock=lambda: [(s.site, s.node, s.sku, s.qty) for s in twin.stock()],
        network=lambda: sales.network,
        inbound=inbound,
        streams=lambda: [kept.stream for kept in streams.list()],
        clock=clock,
        policy=PlacementPolicy(
            lead_time_days=max(settings.cover_lead_time_days, 1 / 24),
            service_a=settings.stock_service_a,
            service_b=settings.stock_service_b,
            service_c=settings.stock_service_c,
            min_transfer_units=settings.stock_min_transfer_units,
        ),
        orders_per_viewer=settings.stock_orders_per_viewer,
        stream_units=forecasts.stream_units,
    )
