"""Where does the edge agent's memory go over time? A diagnostic run, not a benchmark.

Runs the same agent as `bench_agent_footprint.py` (40 simulated machines × 5 signals at
10 Hz, detectors on, a private Mosquitto) in this process with `tracemalloc` on, and
every `--every-s` seconds after the warm-up prints:

- Python heap traced by tracemalloc, SQLite's own heap (`sqlite3_memory_used`), RssAnon
  and RssFile of the process, the outbox WAL size;
- the sizes of every structure that could grow without bound (deadband and detector
  state per signal, the link's in-flight map and live queue, the PUBACK batch, paho's
  outgoing/incoming message maps, the transport's event queue, the command-ack cache);
- the top allocation sites that grew since the snapshot taken at the end of the warm-up.

A leak shows as a traced or SQLite total that keeps rising and a site at the top of the
diff that keeps growing; warm-up shows as growth that stops.

    .venv/bin/python benchmarks/diag_agent_memory.py --duration-s 900 --every-s 150
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gc
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from edge_agent.config import load_config  # noqa: E402
from edge_agent.runner import AgentThread  # noqa: E402
from flexfleet.broker import start_broker  # noqa: E402

sys.path.insert(0, str(REPO / "benchmarks"))
from bench_agent_footprint import config_text, memory_kib  # noqa: E402


def sqlite_memory_used() -> int:
    """Bytes held by SQLite's allocator in this process (all connections)."""
    name = ctypes.util.find_library("sqlite3") or "libsqlite3.so.0"
    lib = ctypes.CDLL(name)
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    return int(lib.sqlite3_memory_used())


def structure_sizes(agent: AgentThread) -> dict[str, int]:
    """Lengths of the agent's structures that could grow."""
    core = agent.core
    link: Any = core.link
    sizes = {
        "deadband_signals": len(core.deadband._last),
        "link_inflight": len(link._inflight),
        "link_live_queue": len(link._live),
        "link_acked_batch": len(link._acked),
        "command_acks": len(core._recent),
        "outbox_rows": core.outbox.stats().rows,
        "transport_events": core.transport._events.qsize(),  # type: ignore[attr-defined]
    }
    if core.detectors is not None:
        sizes["detector_monitors"] = len(core.detectors.monitors)
    session = core.transport._session  # type: ignore[attr-defined]
    if session is not None:
        client = session.client
        sizes["paho_out_messages"] = len(client._out_messages)
        sizes["paho_in_messages"] = len(client._in_messages)
        sizes["paho_out_packets"] = len(client._out_packet)
    return sizes


def main() -> int:
    """Run the agent under tracemalloc and print what grows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration-s", type=float, default=900.0)
    parser.add_argument("--warmup-s", type=float, default=60.0)
    parser.add_argument("--every-s", type=float, default=150.0)
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args()
    tracemalloc.start(1)
    with tempfile.TemporaryDirectory(prefix="ff-diag-") as tmp:
        work = Path(tmp)
        broker = start_broker(work / "mosquitto")
        path = work / "agent.toml"
        path.write_text(
            config_text(
                port=broker.port,
                state_dir=work / "state",
                machines=40,
                interval_ms=100,
                detectors=True,
            )
        )
        agent = AgentThread(load_config(path)).start()
        wal = work / "state" / "outbox.sqlite3-wal"
        try:
            time.sleep(args.warmup_s)
            gc.collect()
            base = tracemalloc.take_snapshot()
            t0 = time.monotonic()
            print("t_s  traced_MiB  sqlite_MiB  anon_MiB  file_MiB  wal_MiB  structures")
            while True:
                elapsed = time.monotonic() - t0
                gc.collect()
                traced, _ = tracemalloc.get_traced_memory()
                mem = memory_kib(os.getpid())
                print(
                    f"{elapsed:5.0f}  {traced / 2**20:10.2f}  {sqlite_memory_used() / 2**20:10.2f}"
                    f"  {mem['RssAnon']:8.1f}  {mem['RssFile']:8.1f}"
                    f"  {wal.stat().st_size / 2**20 if wal.exists() else 0:7.2f}  {structure_sizes(agent)}",
                    flush=True,
                )
                if elapsed >= args.duration_s:
                    break
                time.sleep(min(args.every_s, args.duration_s - elapsed + 0.01))
            diff = tracemalloc.take_snapshot().compare_to(base, "lineno")
            print(f"top {args.top} allocation sites by growth since the end of the warm-up:")
            for stat in diff[: args.top]:
                print(
                    f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks  {stat.traceback}"
                )
        finally:
            agent.stop()
            broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
