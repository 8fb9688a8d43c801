"""The store's commit alone, per backend: CPU and wall time per sample, no broker, no decode.

Builds ingest batches the way the pipeline does (one node-batch of `--nodes` nodes x
`--messages` telemetry messages x 500 samples over 50 signals), then commits `--batches` of
them to a SQLite file (synchronous FULL) and to a throwaway PostgreSQL (fsync on, started
here). Prints per backend: samples/s of commit wall time, this process's CPU per sample,
and for PostgreSQL also the server backend's CPU per sample (read from /proc), so the cost
per sample on the whole machine is known whatever the load. Checks the stored counts.

    .venv/bin/python benchmarks/bench_store_commit.py
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

T0_MS = 1_700_000_000_000
SIGNALS = 50


def _batches(args: argparse.Namespace) -> list[Any]:
    from coordinator.fleet.twin import FleetTwin
    from coordinator.ingest.pipeline import IngestPipeline, decode_all
    from coordinator.ingest.records import RawMessage
    from fleet_runtime.clock import FakeClock
    from protocol import Birth, SignalSpec, Telemetry, encode, topic_for

    pipeline = IngestPipeline(
        FleetTwin(),
        FakeClock(),
        rebirth_min_interval_s=30.0,
        inactivity_timeout_for=lambda _n: 60.0,
    )
    names = [f"sig{i:02d}" for i in range(SIGNALS)]
    out = []
    seq = dict.fromkeys(range(args.nodes), 0)
    births = []
    for n in range(args.nodes):
        births.append(
            Birth(site="s", node=f"n{n}", bd_seq=0, seq=0, ts=T0_MS, node_kind="machine",
                  signals=tuple(SignalSpec(name=s, unit="u") for s in names))
        )  # fmt: skip
    out.append(pipeline.apply(decode_all([RawMessage(topic_for(b), encode(b), T0_MS) for b in births], max_payload_bytes=1 << 20)).batch)  # fmt: skip
    for b in range(args.batches):
        raws = []
        for n in range(args.nodes):
            for _ in range(args.messages):
                seq[n] += 1
                t0 = T0_MS + seq[n] * 100
                m = Telemetry(
                    site="s", node=f"n{n}", bd_seq=0, seq=seq[n], ts=T0_MS,
                    samples=tuple((names[i % SIGNALS], t0 + i // SIGNALS, float(i % 97)) for i in range(500)),
                )  # fmt: skip
                raws.append(RawMessage(topic_for(m), encode(m), T0_MS + b))
        out.append(pipeline.apply(decode_all(raws, max_payload_bytes=1 << 20)).batch)
    return out


def _backend_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run(store: Any, batches: list[Any], backend_pid: int | None) -> dict[str, float]:
    store.commit(batches[0])
    server_before = _backend_cpu_s(backend_pid) if backend_pid else 0.0
    cpu, wall = time.process_time(), time.perf_counter()
    written = sum(store.commit(batch).samples_written for batch in batches[1:])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    server = (_backend_cpu_s(backend_pid) - server_before) if backend_pid else 0.0
    return {"written": written, "wall": wall, "cpu": cpu, "server": server}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=8)
    parser.add_argument("--messages", type=int, default=18, help="per node per batch")
    parser.add_argument("--batches", type=int, default=20)
    args = parser.parse_args()

    from coordinator.store.postgres_store import PostgresStore
    from coordinator.store.sqlite_store import SqliteStore
    from flexfleet.postgres import start_postgres

    load = os.getloadavg()[0]
    batches = _batches(args)
    expected = args.nodes * args.messages * args.batches * 500
    tmp = Path(tempfile.mkdtemp(prefix="ff-bench-store-"))
    pg_dir = Path(tempfile.mkdtemp(prefix="ff-bench-store-pg-"))  # its own: postgres must enter it
    server = start_postgres(pg_dir, fsync=True, options={"max_wal_size": "4GB"})
    try:
        sqlite = SqliteStore(tmp / "core.db", synchronous="FULL")
        lite = _run(sqlite, batches, None)
        lite_count = sqlite.count("samples")
        sqlite.close()
        pg = PostgresStore(server.url)
        pg.commit(batches[0])
        assert pg._writer is not None
        pid = pg._writer.info.backend_pid
        post = _run(pg, batches, pid)
        pg_count = pg.count("samples")
        pg.close()
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(pg_dir, ignore_errors=True)
    print(f"command: {' '.join(sys.argv)}")
    print(
        f"machine: {os.cpu_count()} cores, load average at start {load:.1f}, at end {os.getloadavg()[0]:.1f}"
    )
    per = args.nodes * args.messages * 500
    print(
        f"{args.batches} batches x {per:,} samples ({args.nodes} nodes x {args.messages} messages x 500)"
    )
    for name, r, count in (("SQLite FULL", lite, lite_count), ("PostgreSQL fsync", post, pg_count)):
        line = (
            f"{name}: {r['written'] / r['wall']:,.0f} samples/s of commit wall time; this "
            f"process {r['cpu'] / r['written'] * 1e6:.2f} µs CPU per sample"
        )
        if r["server"]:
            line += (
                f", server backend {r['server'] / r['written'] * 1e6:.2f} µs; together "
                f"{(r['cpu'] + r['server']) / r['written'] * 1e6:.2f} µs"
            )
        print(line + f"; stored {count:,} (expected {expected:,})")
    return 0 if lite_count == pg_count == expected else 1


if __name__ == "__main__":
    sys.exit(main())
