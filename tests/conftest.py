"""Fixtures shared by every test package."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from flexfleet.broker import Broker, start_broker
from flexfleet.postgres import PostgresError, PostgresServer, find_postgres_bin, start_postgres
from tests.pki import Pki, make_pki

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("FLEXFLEET_DATA", REPO_ROOT.parent / "shared" / "data"))

_unique = itertools.count()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip `data` tests with a clear reason when ../shared/data is absent."""
    if DATA_DIR.is_dir():
        return
    skip = pytest.mark.skip(reason=f"reference data not found at {DATA_DIR} (set FLEXFLEET_DATA)")
    for item in items:
        if "data" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared reference data directory (tests using it are marked `data`)."""
    return DATA_DIR


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A real Mosquitto on a free loopback port, stopped after the test."""
    running = start_broker(tmp_path / "mosquitto")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A throwaway CA with a `localhost` server certificate, a client certificate and a
    rogue CA (`tests.pki`), made once per test session."""
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def unique_site() -> str:
    """A site id no other test uses, so tests on one broker never see each other's data."""
    return f"t{os.getpid()}x{next(_unique)}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the whole session: initdb in a temporary directory (its
    unix socket there too), a free loopback port, fsync off (the tests do not crash the
    machine). Skipped, saying why, only where the server binaries are absent."""
    try:
        find_postgres_bin()
    except PostgresError as exc:
        pytest.skip(str(exc))
    base = Path(tempfile.mkdtemp(prefix="ff-pg-"))  # not under pytest's 0700 root-only tree
    server = start_postgres(base, fsync=False, shared_buffers="32MB")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> str:
    """The URL of a fresh, empty database on the session's server."""
    import psycopg

    name = f"t{os.getpid()}x{next(_unique)}"
    with psycopg.connect(postgres.url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return postgres.database_url(name)
