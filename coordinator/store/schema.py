"""The coordinator core's database schema, only ever changed through migrations.

Hot tables are `WITHOUT ROWID` with the key they are read by, so a sample insert touches
one B-tree and a range query is one index walk (SQLite docs, "The WITHOUT ROWID
Optimization"): samples by (series_id, ts_ms), rollups by (series_id, minute_ms),
message keys by (node_id, bd_seq, seq), daily sales by (node_id, sku, day).
"""

from __future__ import annotations

from typing import Final

from sqlite_utils import Database, Migrations

MIGRATIONS: Final = Migrations("flexfleet.coordinator")


@MIGRATIONS()
def m001_core(db: Database) -> None:
    """Nodes, message keys, series, samples, rollups, events, stock, dead letters."""
    db.table("nodes").create(
        {
            "id": int,
            "site": str,
            "node": str,
            "kind": str,
            "firmware": str,
            "units": str,
            "capabilities": str,
            "birth_seen": int,
            "online": int,
            "offline_reason": str,
            "bd_seq": int,
            "last_seen_ms": int,
            "last_seq": int,
            "gaps": str,
            "received": int,
            "duplicates": int,
            "gaps_seen": int,
            "lost": int,
            "out_of_sync": int,
            "samples": int,
            "stock_snapshot_seq": int,
        },
        pk="id",
        not_null={"site", "node"},
    )
    db.table("nodes").create_index(["site", "node"], unique=True)
    db.execute(
        "CREATE TABLE messages (node_id INTEGER NOT NULL, bd_seq INTEGER NOT NULL,"
        " seq INTEGER NOT NULL, kind TEXT NOT NULL, ts_ms INTEGER NOT NULL,"
        " historical INTEGER NOT NULL, received_ms INTEGER NOT NULL,"
        " PRIMARY KEY (node_id, bd_seq, seq)) WITHOUT ROWID"
    )
    db.table("series").create(
        {"id": int, "node_id": int, "signal": str, "last_ts_ms": int, "last_value": float},
        pk="id",
        not_null={"node_id", "signal"},
    )
    db.table("series").create_index(["node_id", "signal"], unique=True)
    db.execute(
        "CREATE TABLE samples (series_id INTEGER NOT NULL, ts_ms INTEGER NOT NULL,"
        " value REAL NOT NULL, PRIMARY KEY (series_id, ts_ms)) WITHOUT ROWID"
    )
    db.execute(
        "CREATE TABLE rollup_1m (series_id INTEGER NOT NULL, minute_ms INTEGER NOT NULL,"
        " min REAL NOT NULL, max REAL NOT NULL, sum REAL NOT NULL, count INTEGER NOT NULL,"
        " PRIMARY KEY (series_id, minute_ms)) WITHOUT ROWID"
    )
    db.table("events").create(
        {
            "id": int,
            "node_id": int,
            "seq": int,
            "ts_ms": int,
            "name": str,
            "severity": str,
            "state": str,
            "signal": str,
            "detector": str,
            "score": float,
            "reason": str,
            "data": str,
            "historical": int,
        },
        pk="id",
    )
    db.table("events").create_index(["node_id", "ts_ms"])
    db.execute(
        "CREATE TABLE stock_levels (node_id INTEGER NOT NULL, sku TEXT NOT NULL,"
        " qty INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
        " PRIMARY KEY (node_id, sku)) WITHOUT ROWID"
    )
    db.table("stock_changes").create(
        {
            "id": int,
            "node_id": int,
            "seq": int,
            "ts_ms": int,
            "mode": str,
            "reason": str,
            "sku": str,
            "qty": int,
        },
        pk="id",
    )
    db.table("stock_changes").create_index(["node_id", "ts_ms"])
    db.table("dead_letters").create(
        {
            "id": int,
            "received_ms": int,
            "topic": str,
            "reason": str,
            "error": str,
            "payload_size": int,
            "payload_prefix": bytes,
        },
        pk="id",
    )
    db.table("dead_letters").create_index(["received_ms"])


@MIGRATIONS()
def m002_sales_daily(db: Database) -> None:
    """Units sold per micro-warehouse, SKU and UTC day, backfilled from stored stock deltas.

    The write path adds each new stock message's picks (`coordinator.ingest.sales`) in
    the same transaction as its message key, so a duplicate never counts twice.
    """
    db.execute(
        "CREATE TABLE sales_daily (node_id INTEGER NOT NULL, sku TEXT NOT NULL,"
        " day INTEGER NOT NULL, units INTEGER NOT NULL,"
        " PRIMARY KEY (node_id, sku, day)) WITHOUT ROWID"
    )
    db.execute(
        "INSERT INTO sales_daily (node_id, sku, day, units)"
        " SELECT node_id, sku, ts_ms / 86400000, -sum(qty) FROM stock_changes"
        " WHERE mode = 'delta' AND qty < 0 GROUP BY node_id, sku, ts_ms / 86400000"
    )


@MIGRATIONS()
def m003_plan_state(db: Database) -> None:
    """The planner's durable state (`coordinator.store.plan_state`): accepted orders as
    sent (JSON; `seq` keeps the order of first acceptance), the delivery fleet (one row)
    and the latest plan of each kind with its version, epoch and content."""
    db.execute(
        "CREATE TABLE plan_orders (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL,"
        " id TEXT NOT NULL, body TEXT NOT NULL, accepted_ms INTEGER NOT NULL,"
        " updated_ms INTEGER NOT NULL, UNIQUE (kind, id))"
    )
    db.execute(
        "CREATE TABLE plan_fleet (id INTEGER PRIMARY KEY CHECK (id = 1),"
        " depots TEXT NOT NULL, vehicles TEXT NOT NULL, updated_ms INTEGER NOT NULL)"
    )
    db.execute(
        "CREATE TABLE plan_latest (kind TEXT PRIMARY KEY, version INTEGER NOT NULL,"
        " made_ms INTEGER NOT NULL, triggers TEXT NOT NULL, epoch_s REAL NOT NULL,"
        " content TEXT NOT NULL)"
    )


@MIGRATIONS()
def m004_plan_pins(db: Database) -> None:
    """Deliveries loaded on a vehicle (`POST /api/v1/orders/dispatch`): the vehicle and the
    order they were dispatched in, kept on the delivery's row (closing it drops the pin)."""
    db.execute("ALTER TABLE plan_orders ADD COLUMN vehicle_id TEXT")
    db.execute("ALTER TABLE plan_orders ADD COLUMN pinned_seq INTEGER")


@MIGRATIONS()
def m005_plan_changeovers(db: Database) -> None:
    """Changeover times between product families (`PUT /api/v1/plans/changeovers`), one row."""
    db.execute(
        "CREATE TABLE plan_changeovers (id INTEGER PRIMARY KEY CHECK (id = 1),"
        " body TEXT NOT NULL, updated_ms INTEGER NOT NULL)"
    )


@MIGRATIONS()
def m006_plan_reserve(db: Database) -> None:
    """The rush reserve of the production schedule (`PUT /api/v1/plans/reserve`), one row."""
    db.execute(
        "CREATE TABLE plan_reserve (id INTEGER PRIMARY KEY CHECK (id = 1),"
        " body TEXT NOT NULL, updated_ms INTEGER NOT NULL)"
    )


@MIGRATIONS()
def m007_commands(db: Database) -> None:
    """The commands the coordinator sent and their answers (`coordinator.commands`): read
    newest first by `id`, per node, and the unanswered ones by send time for expiry."""
    db.execute(
        "CREATE TABLE commands (id INTEGER PRIMARY KEY, cmd_id TEXT NOT NULL UNIQUE,"
        " site TEXT NOT NULL, node TEXT NOT NULL, name TEXT NOT NULL, args TEXT NOT NULL,"
        " sent_ms INTEGER NOT NULL, state TEXT NOT NULL"
        " CHECK (state IN ('sent', 'ok', 'rejected', 'expired')),"
        " reason TEXT NOT NULL DEFAULT '', answered_ms INTEGER)"
    )
    db.execute("CREATE INDEX commands_by_node ON commands (site, node, id)")
    db.execute("CREATE INDEX commands_unanswered ON commands (sent_ms) WHERE state = 'sent'")
    db.execute("CREATE INDEX commands_by_sent ON commands (sent_ms)")


@MIGRATIONS()
def m008_replenishment(db: Database) -> None:
    """How SKUs are made (`PUT /api/v1/plans/products`, one row) and the replenishment jobs
    the coordinator made for shelves running low (`coordinator.plan.orders.replenishment`): open until
    received or closed, at most one open per SKU and location (the partial unique index);
    `seq` numbers them for their ids."""
    db.execute(
        "CREATE TABLE plan_products (id INTEGER PRIMARY KEY CHECK (id = 1),"
        " body TEXT NOT NULL, updated_ms INTEGER NOT NULL)"
    )
    db.execute(
        "CREATE TABLE plan_replenishments (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
        " site TEXT NOT NULL, node TEXT NOT NULL, sku TEXT NOT NULL,"
        " quantity INTEGER NOT NULL, stock_at_submit INTEGER NOT NULL,"
        " submitted_ms INTEGER NOT NULL, due_ms INTEGER NOT NULL, rush INTEGER NOT NULL,"
        " received INTEGER NOT NULL, last_qty INTEGER NOT NULL,"
        " closed_ms INTEGER, close_reason TEXT)"
    )
    db.execute(
        "CREATE UNIQUE INDEX plan_replenishments_open ON plan_replenishments (site, node, sku)"
        " WHERE closed_ms IS NULL"
    )


@MIGRATIONS()
def m009_sales_orders(db: Database) -> None:
    """Sales orders (`coordinator.sales`): the network document (one row), each order with
    its promise and tracking-token hash, its status transitions in order, the stock and
    capacity it holds (released on cancel or when consumed), and the webhook events to push
    (delivered in order per order)."""
    db.execute(
        "CREATE TABLE sales_network (id INTEGER PRIMARY KEY CHECK (id = 1),"
        " body TEXT NOT NULL, updated_ms INTEGER NOT NULL)"
    )
    db.execute(
        "CREATE TABLE sales_orders (id TEXT PRIMARY KEY, customer TEXT NOT NULL,"
        " body TEXT NOT NULL, status TEXT NOT NULL, delayed_from TEXT,"
        " promise TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,"
        " created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL)"
    )
    db.execute("CREATE INDEX sales_orders_by_status ON sales_orders (status, created_ms)")
    db.execute(
        "CREATE TABLE sales_events (order_id TEXT NOT NULL, seq INTEGER NOT NULL,"
        " status TEXT NOT NULL, at_ms INTEGER NOT NULL, cause TEXT NOT NULL,"
        " actor TEXT NOT NULL, reason TEXT NOT NULL,"
        " PRIMARY KEY (order_id, seq)) WITHOUT ROWID"
    )
    db.execute(
        "CREATE TABLE sales_holds (order_id TEXT NOT NULL, kind TEXT NOT NULL,"
        " place TEXT NOT NULL, sku TEXT NOT NULL, amount REAL NOT NULL,"
        " from_reserve INTEGER NOT NULL, released_ms INTEGER)"
    )
    db.execute("CREATE INDEX sales_holds_open ON sales_holds (order_id) WHERE released_ms IS NULL")
    db.execute(
        "CREATE TABLE sales_webhooks (order_id TEXT NOT NULL, seq INTEGER NOT NULL,"
        " url TEXT NOT NULL, body BLOB NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
        " next_ms INTEGER NOT NULL, delivered_ms INTEGER, last_error TEXT,"
        " PRIMARY KEY (order_id, seq)) WITHOUT ROWID"
    )
    db.execute(
        "CREATE INDEX sales_webhooks_pending ON sales_webhooks (next_ms) WHERE delivered_ms IS NULL"
    )


@MIGRATIONS()
def m010_job_progress(db: Database) -> None:
    """Job progress from the machines' counts (`coordinator.store.jobs`): one row per
    operation a machine reported (counts so far, state, first and last report) and one
    per job the coordinator follows (its quantity, the state and counts derived from its
    operations, and whether the planner has been told: `settled_ms`, `remake_id`)."""
    db.execute(
        "CREATE TABLE job_operations (operation_id TEXT PRIMARY KEY, job_id TEXT NOT NULL,"
        " machine TEXT NOT NULL, state TEXT NOT NULL"
        " CHECK (state IN ('setup', 'run', 'paused', 'done')),"
        " good INTEGER NOT NULL, scrap INTEGER NOT NULL, started_ms INTEGER NOT NULL,"
        " updated_ms INTEGER NOT NULL, finished_ms INTEGER)"
    )
    db.execute("CREATE INDEX job_operations_by_job ON job_operations (job_id)")
    db.execute(
        "CREATE TABLE jobs (id TEXT PRIMARY KEY, sku TEXT NOT NULL, quantity INTEGER,"
        " operations INTEGER NOT NULL, tracked_ms INTEGER NOT NULL, state TEXT NOT NULL"
        " CHECK (state IN ('planned', 'started', 'finished', 'short')),"
        " good INTEGER NOT NULL, scrap INTEGER NOT NULL, started_ms INTEGER,"
        " finished_ms INTEGER, settled_ms INTEGER, remake_id TEXT)"
    )
    db.execute("CREATE INDEX jobs_by_state ON jobs (state, id)")


@MIGRATIONS()
def m011_transfer_receipts(db: Database) -> None:
    """Goods received against a transfer id (`coordinator.store.jobs`): one row per transfer
    and SKU, written with the stock message that carried it (a replay is ignored)."""
    db.execute(
        "CREATE TABLE transfer_receipts (transfer_id TEXT NOT NULL, sku TEXT NOT NULL,"
        " site TEXT NOT NULL, node TEXT NOT NULL, quantity INTEGER NOT NULL,"
        " ts_ms INTEGER NOT NULL, PRIMARY KEY (transfer_id, sku)) WITHOUT ROWID"
    )


@MIGRATIONS()
def m012_live_streams(db: Database) -> None:
    """Announced live streams (`coordinator.store.live_streams`): one row per stream id,
    its content (featured SKUs as a JSON list) and when it was first and last stored."""
    db.execute(
        "CREATE TABLE live_streams (id TEXT PRIMARY KEY, start_ms INTEGER NOT NULL,"
        " duration_s INTEGER NOT NULL, channel TEXT NOT NULL, featured_skus TEXT NOT NULL,"
        " expected_audience INTEGER, expected_orders INTEGER,"
        " created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL)"
    )
    db.execute("CREATE INDEX live_streams_by_start ON live_streams (start_ms, id)")


@MIGRATIONS()
def m013_lateral_transfers(db: Database) -> None:
    """Lateral transfers between micro-warehouses (`coordinator.store.lateral_transfers`):
    one row per transfer id, open until `received` is set at its receipt."""
    db.execute(
        "CREATE TABLE lateral_transfers (id TEXT PRIMARY KEY, seq INTEGER NOT NULL,"
        " sku TEXT NOT NULL, source TEXT NOT NULL, destination TEXT NOT NULL,"
        " node TEXT NOT NULL, qty INTEGER NOT NULL, created_ms INTEGER NOT NULL,"
        " why TEXT NOT NULL, received INTEGER, received_ms INTEGER)"
    )
    db.execute("CREATE INDEX lateral_transfers_open ON lateral_transfers (received, seq)")


@MIGRATIONS()
def m014_sales_revisions(db: Database) -> None:
    """The latest revision of each sales order's promise by a re-plan
    (`coordinator.sales.revision`): one row per order, its JSON, replaced on each real
    change (the delays themselves are transitions in `sales_events`)."""
    db.execute(
        "CREATE TABLE sales_revisions (order_id TEXT PRIMARY KEY, body TEXT NOT NULL,"
        " updated_ms INTEGER NOT NULL) WITHOUT ROWID"
    )


@MIGRATIONS()
def m015_stream_uplifts(db: Database) -> None:
    """Past live streams' realised uplifts (`coordinator.store.stream_uplifts`): one row per
    stream, measured once after it ended (the measurement as JSON)."""
    db.execute(
        "CREATE TABLE stream_uplifts (stream_id TEXT PRIMARY KEY,"
        " measured_ms INTEGER NOT NULL, doc BLOB NOT NULL)"
    )
    db.execute("CREATE INDEX stream_uplifts_by_time ON stream_uplifts (measured_ms)")


@MIGRATIONS()
def m016_alarm_board(_db: Database) -> None:
    """Nothing on SQLite: the alarm board (every coordinator's alarms, copied for the
    fleet-wide list; `coordinator.store.alarm_board`) lives on a PostgreSQL the coordinators
    share. The number is kept here so both backends count migrations alike."""


@MIGRATIONS()
def m017_fleet_inbox(db: Database) -> None:
    """Fleet facts committed but not yet acted on (`coordinator.store.jobs`): a vehicle's
    stop event or a warehouse's receipt, written with the batch that carried it and deleted
    once the sales book and the planner took it; what a killed coordinator left is acted on
    at its next start. One row per node, fact and reference (the same fact twice before it
    is taken is taken once)."""
    db.execute(
        "CREATE TABLE fleet_inbox (site TEXT NOT NULL, node TEXT NOT NULL,"
        " name TEXT NOT NULL, ref TEXT NOT NULL, at_ms INTEGER NOT NULL,"
        " PRIMARY KEY (site, node, name, ref)) WITHOUT ROWID"
    )


@MIGRATIONS()
def m018_replenishment_without_last_qty(db: Database) -> None:
    """`plan_replenishments.last_qty` (the stock level last seen) was written and never
    read: dropped."""
    db.execute("ALTER TABLE plan_replenishments DROP COLUMN last_qty")


@MIGRATIONS()
def m019_van_bases(db: Database) -> None:
    """Vans lent between depots (`coordinator.plan.van_loans`): one row per van based at a
    depot not its own, so a restart keeps it there."""
    db.execute(
        "CREATE TABLE plan_van_bases (vehicle_id TEXT PRIMARY KEY, depot_id TEXT NOT NULL,"
        " updated_ms INTEGER NOT NULL) WITHOUT ROWID"
    )


@MIGRATIONS()
def m020_batches_by_machine(db: Database) -> None:
    """A machine's finished batches by time (`SqliteJobStore.done_batches`: scrap is judged
    on a machine's recent batches of one product)."""
    db.execute("CREATE INDEX job_operations_by_machine ON job_operations (machine, finished_ms)")


@MIGRATIONS()
def m021_van_tours(db: Database) -> None:
    """The tours timed for the depots' van time (`coordinator.plan.van_loans`): one row per
    tour back within the last day (no vehicle) and per van out (no `back_ms`), so a
    restart judges which depot can spare a van on the same day of tours."""
    db.execute(
        "CREATE TABLE plan_van_tours (vehicle_id TEXT, depot_id TEXT NOT NULL,"
        " left_ms INTEGER NOT NULL, back_ms INTEGER,"
        " CHECK ((vehicle_id IS NULL) <> (back_ms IS NULL)))"
    )


__all__ = ["MIGRATIONS"]
