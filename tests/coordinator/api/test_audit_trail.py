"""The audit trail over real HTTP: every write operation of the OpenAPI document leaves a
chained record, `GET /api/v1/audit` is for admins of every site, and `flexfleet audit
verify` fails on an edited or removed record."""

from __future__ import annotations

import asyncio
import hashlib
import re
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from coordinator.access.audit_log import AuditEntry, AuditLog
from coordinator.api.problems import WRITE_METHODS
from tests.coordinator.api.test_site_scope import WRITE_BODIES, Fleet, _as, _fill, fleet

__all__ = ["fleet"]  # the module fixture, shared with the site-scope walk


def _audit_db(fleet: Fleet) -> Path:
    return Path(fleet.coordinator.settings.audit_db_file)


def _verify(db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flexfleet", "audit", "verify", "--db", str(db)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_every_write_operation_leaves_a_record(fleet: Fleet) -> None:
    """Each POST/PUT of the document, sent by an admin, appends one record naming the
    admin, the method, the path and the answer's status."""
    doc = fleet.http.get("/openapi.json").json()
    writes = [
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method in item
        if method.upper() in WRITE_METHODS
    ]
    assert len(writes) >= 15
    for method, path in writes:
        before = fleet.http.get("/api/v1/audit?limit=1000", headers=_as(fleet.root)).json()
        url = _fill(path, fleet) + ("?wait_s=0" if path.endswith("/config") else "")
        answer = fleet.http.request(
            method, url, json=WRITE_BODIES.get(path, {}), headers=_as(fleet.root)
        )
        page = fleet.http.get(
            f"/api/v1/audit?after={before['records'][-1]['seq'] if before['records'] else 0}",
            headers=_as(fleet.root),
        ).json()
        [record] = page["records"]
        pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path))
        assert re.fullmatch(pattern + r"(\?.*)?", record["path"]), (path, record)
        assert (record["principal"], record["role"], record["method"]) == ("root", "admin", method)
        assert record["status"] == answer.status_code


def test_a_write_records_digests_of_the_state_before_and_after(fleet: Fleet) -> None:
    """Acknowledging an alarm records the alarm's state digest before and after: they differ."""
    alarm = next(
        a["alarm_id"]
        for a in fleet.http.get("/api/v1/alarms?site=plant-a", headers=_as(fleet.root)).json()
        if a["status"] == "ACTIVE_UNACK"
    )
    shown = fleet.http.get(f"/api/v1/alarms/{alarm}", headers=_as(fleet.root))
    assert (
        fleet.http.post(f"/api/v1/alarms/{alarm}/ack", headers=_as(fleet.root)).status_code == 200
    )
    log = AuditLog(_audit_db(fleet))
    record = log.records()[-1]
    log.close()
    assert record.path == f"/api/v1/alarms/{alarm}/ack"
    assert record.before_sha256 == hashlib.sha256(shown.content).hexdigest()
    assert record.after_sha256 not in ("", record.before_sha256)


def test_only_an_admin_of_every_site_reads_the_audit_log(fleet: Fleet) -> None:
    """A viewer and a site-scoped admin are refused (403); no token is 401."""
    assert fleet.http.get("/api/v1/audit").status_code == 401
    assert fleet.http.get("/api/v1/audit", headers=_as(fleet.scoped_viewer)).status_code == 403
    assert fleet.http.get("/api/v1/audit", headers=_as(fleet.scoped)).status_code == 403
    assert fleet.http.get("/api/v1/audit", headers=_as(fleet.root)).status_code == 200


def test_verify_fails_on_an_edited_or_removed_record(fleet: Fleet, tmp_path: Path) -> None:
    """`flexfleet audit verify` passes on the live log, then fails on a copy with a record
    edited, and on one with a record removed."""
    live = _audit_db(fleet)
    assert _verify(live).returncode == 0, _verify(live).stderr
    for name, sql in (
        ("edited", "UPDATE audit SET principal = 'someone-else' WHERE seq = 2"),
        ("removed", "DELETE FROM audit WHERE seq = 2"),
        ("status", "UPDATE audit SET status = status + 1 WHERE seq = (SELECT MAX(seq) FROM audit)"),
    ):
        copy = tmp_path / f"{name}.db"
        with sqlite3.connect(live) as src, sqlite3.connect(copy) as dst:
            src.backup(dst)
        with sqlite3.connect(copy) as db:
            assert db.execute(sql).rowcount == 1
        checked = _verify(copy)
        assert checked.returncode == 1, (name, checked.stdout)
        assert "NOT intact" in checked.stderr


@pytest.mark.parametrize("count", [5])
def test_pruning_keeps_the_rest_verifiable(tmp_path: Path, count: int) -> None:
    """Records past retention are dropped and the rest still verifies from the anchor."""
    log = AuditLog(tmp_path / "a.db")
    for i in range(count):
        log.append(AuditEntry(
            ts_ms=i, principal="p", role="admin", method="PUT", path="/x", status=200,
            request_sha256="", before_sha256="", after_sha256="",
        ))  # fmt: skip
    assert log.prune(3) == 3
    assert [r.seq for r in log.records()] == [4, 5]
    assert log.verify() is None
    assert log.anchor()[0] == 3
    log.close()
    assert _verify(tmp_path / "a.db").returncode == 0


def test_concurrent_writes_share_transactions_and_keep_one_whole_chain(tmp_path: Path) -> None:
    """200 writes appended at once from an event loop: every one is kept exactly once,
    numbered 1..200 without gaps, the chain verifies, and they took fewer transactions
    than records (group commit); a single `append` afterwards follows the last of them."""
    log = AuditLog(tmp_path / "a.db")

    def entry(i: int) -> AuditEntry:
        return AuditEntry(
            ts_ms=i, principal="p", role="admin", method="POST", path=f"/x/{i}", status=201,
            request_sha256="", before_sha256="", after_sha256="",
        )  # fmt: skip

    async def burst() -> list[int]:
        added = await asyncio.gather(*(log.append_async(entry(i)) for i in range(200)))
        return [record.seq for record in added]

    seqs = asyncio.run(burst())
    last = log.append(replace(entry(200), path="/x/last"))
    kept = log.records()
    assert sorted(seqs) == list(range(1, 201))
    assert sorted(r.path for r in kept[:200]) == sorted(f"/x/{i}" for i in range(200))
    assert [r.seq for r in kept] == list(range(1, 202))
    assert (last.seq, last.prev_hash) == (201, kept[199].hash)
    assert log.verify() is None
    assert 1 <= log.batches < 200
    log.close()


KILLED_WRITER = """
import sys
from pathlib import Path
from coordinator.access.audit_log import AuditEntry, AuditLog
log = AuditLog(Path(sys.argv[1]))
i = 0
while True:
    log.append(AuditEntry(ts_ms=i, principal="p", role="admin", method="POST", path=f"/x/{i}",
               status=200, request_sha256="", before_sha256="", after_sha256=""))
    i += 1
    if i == 50:
        print("going", flush=True)
"""


def test_a_writer_killed_mid_append_leaves_a_whole_chain(tmp_path: Path) -> None:
    """SIGKILL during appends: every kept record is whole, numbered without gaps, chained."""
    db = tmp_path / "killed.db"
    with subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(db)], stdout=subprocess.PIPE, text=True
    ) as writer:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "going"
        writer.kill()
        writer.wait(10)
    log = AuditLog(db)
    kept = log.records()
    problem = log.verify()
    log.close()
    assert len(kept) >= 50
    assert [r.seq for r in kept] == list(range(1, len(kept) + 1))
    assert [r.path for r in kept] == [f"/x/{i}" for i in range(len(kept))]
    assert problem is None
