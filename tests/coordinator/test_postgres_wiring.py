"""`--db postgresql://...` end to end: the coordinator's core on PostgreSQL, the other
stores on its SQLite file, `/healthz` on a lost server, and start-up errors."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from coordinator.api.app import create_app
from coordinator.errors import StoreError, StoreUnavailable
from coordinator.service import Coordinator
from coordinator.settings import load_settings
from coordinator.store.postgres_store import PostgresStore
from coordinator.store.sqlite_store import SqliteStore
from flexfleet.broker import free_port
from flexfleet.postgres import PostgresServer, start_postgres
from tests.coordinator.conftest import T0_MS, Node, feed, raw, serve


def test_db_url_puts_the_core_on_postgresql_and_job_facts_on_sqlite(
    postgres_url: str, tmp_path: Path
) -> None:
    """Messages and stock land in PostgreSQL; a receipt's job fact in the SQLite file; a
    restarted coordinator restores its twin from PostgreSQL."""
    settings = load_settings(
        dev_mode=True,
        db_path=tmp_path / "c.db",
        db_url=postgres_url,
        broker_url="mqtt://127.0.0.1:1",
    )
    coordinator = Coordinator.open(settings, with_alarms=False)
    assert isinstance(coordinator.store, PostgresStore)
    assert isinstance(coordinator.local, SqliteStore)
    w = Node(node="w1")
    coordinator.writer.start()
    try:
        feed(coordinator, w.birth(), w.stock("delta", {"tea": 4}, transfer_id="T-1"))
    finally:
        coordinator.writer.stop()
    assert coordinator.store.count("messages") == 2
    assert coordinator.store.count("stock_changes") == 1
    assert coordinator.jobs is not None
    assert coordinator.jobs.store.received(["T-1"]) == {"T-1": 4}
    assert coordinator.local.count("messages") == 0  # the core is not on the SQLite file
    coordinator.close_stores()
    again = Coordinator.open(settings, with_alarms=False)
    try:
        assert again.twin.node("w1").last_seq == 1
    finally:
        again.close_stores()


def test_unreachable_database_stops_start_up(tmp_path: Path) -> None:
    """Coordinator.open refuses to start on a server that does not answer, saying where."""
    port = free_port()
    settings = load_settings(
        dev_mode=True,
        db_path=tmp_path / "c.db",
        db_url=f"postgresql://flexfleet@127.0.0.1:{port}/fleet",
        broker_url="mqtt://127.0.0.1:1",
    )
    with pytest.raises(StoreUnavailable, match=f"127.0.0.1:{port}/fleet"):
        Coordinator.open(settings, with_alarms=False)


def test_command_line_says_why_it_cannot_start(tmp_path: Path) -> None:
    """`flexfleet coordinator --db postgresql://...` on a dead port exits 2 with one line."""
    port = free_port()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "flexfleet",
            "coordinator",
            "--dev",
            "--db",
            f"postgresql://flexfleet@127.0.0.1:{port}/fleet",
            "--http-port",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith(
        f"flexfleet coordinator: cannot connect to PostgreSQL at postgresql://flexfleet@127.0.0.1:{port}/fleet"
    )
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "url",
    ["mysql://x/y", "postgresql://", "postgresql://h/db with space", "postgresql://" + "a" * 1001],
)
def test_malformed_db_setting_is_refused(tmp_path: Path, url: str) -> None:
    """A db_url that is not a postgresql:// URL, is empty past the scheme, holds blanks or
    is oversized never loads."""
    from coordinator.errors import ConfigError

    with pytest.raises(ConfigError, match="db_url"):
        load_settings(dev_mode=True, db_path=tmp_path / "c.db", db_url=url)


@pytest.fixture
def own_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test's own, so it can be stopped."""
    base = Path(tempfile.mkdtemp(prefix="ff-pg-health-"))
    server = start_postgres(base, fsync=False, shared_buffers="16MB")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_healthz_shows_a_lost_database_and_recovers(
    own_server: PostgresServer, tmp_path: Path
) -> None:
    """With the server down /healthz is 503 with the database's reason and ingest paused,
    nothing lost; with it back, 503 turns to answers and the paused batch is stored."""
    settings = load_settings(
        dev_mode=True,
        db_path=tmp_path / "c.db",
        db_url=own_server.url,
        broker_url="mqtt://127.0.0.1:1",
    )
    app = create_app(settings, start_service=False)
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        coordinator = app.state.coordinator
        node = Node()
        feed(coordinator, node.birth())
        body = client.get("/healthz").json()
        assert (body["database_connected"], body["database_error"]) == (True, "")
        own_server.kill()
        coordinator.writer.enqueue(raw(node.telemetry(("temp", T0_MS + 1, 1.0))))
        deadline = time.monotonic() + 20
        while not coordinator.writer.store_lost:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        health = client.get("/healthz")
        assert health.status_code == 503
        body = health.json()
        assert body["database_connected"] is False
        assert "PostgreSQL" in body["database_error"]
        assert body["ingest_running"] is True  # paused, not stopped
        own_server.start()
        deadline = time.monotonic() + 30
        while coordinator.writer.store_lost:
            assert time.monotonic() < deadline, "ingest did not resume"
            time.sleep(0.05)
        body = client.get("/healthz").json()
        assert (body["database_connected"], body["database_error"]) == (True, "")
        assert coordinator.store.count("samples") == 1


def test_closed_store_health_reason_is_a_store_error(postgres_url: str) -> None:
    """ping on a closed PostgreSQL store raises StoreError (what /healthz reports)."""
    store = PostgresStore(postgres_url)
    store.ping()
    store.close()
    with pytest.raises(StoreError):
        store.ping()


def test_coordinators_owning_other_sites_share_one_database(
    postgres_url: str, tmp_path: Path
) -> None:
    """Two coordinators on one PostgreSQL database, each owning its site: each restores only
    its own nodes (so never expires and rewrites the other's), while the stored fleet holds
    both."""

    def open_for(site: str) -> Coordinator:
        settings = load_settings(
            dev_mode=True,
            db_path=tmp_path / f"{site}.db",
            db_url=postgres_url,
            broker_url="mqtt://127.0.0.1:1",
            sites=(site,),
        )
        return Coordinator.open(settings, with_alarms=False)

    for site in ("east", "west"):
        coordinator = open_for(site)
        coordinator.writer.start()
        try:
            feed(coordinator, Node(site=site, node=f"m-{site}").birth())
        finally:
            coordinator.writer.stop()
            coordinator.close_stores()
    east = open_for("east")
    try:
        assert [v.node for v in east.twin.nodes()] == ["m-east"]
        assert sorted(r.node for r in east.store.load_nodes()) == ["m-east", "m-west"]
    finally:
        east.close_stores()
