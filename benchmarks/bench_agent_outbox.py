"""Edge agent outbox throughput and replay rate.

1. Append: telemetry messages of `--samples-per-message` samples into the SQLite outbox
   (WAL, synchronous=FULL: every append is durable), removal on PUBACK in batches of 20
   (a coordinator without watermarks), and release by commit watermark (`remove_through`,
   one watermark per 20 messages).
2. Replay: a backlog of `--backlog` messages replayed to a private Mosquitto over MQTT 5
   QoS 1 by the real agent loop (replay rate limit lifted), until every PUBACK is in (no
   coordinator runs, so the rows stay stored waiting for a watermark). Prints messages/s
   and samples/s.

    .venv/bin/python benchmarks/bench_agent_outbox.py
    .venv/bin/python benchmarks/bench_agent_outbox.py --messages 5000 --backlog 5000 --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from edge_agent.config import config_from_dict  # noqa: E402
from edge_agent.core import AgentCore  # noqa: E402
from edge_agent.drivers import make_driver  # noqa: E402
from edge_agent.mqtt import MqttTransport  # noqa: E402
from edge_agent.outbox import Outbox  # noqa: E402
from fleet_runtime.clock import SystemClock  # noqa: E402
from flexfleet.broker import start_broker  # noqa: E402
from protocol import Telemetry  # noqa: E402

TS = 1_700_000_000_000


def builder(samples: int, bd_seq: int = 1) -> Callable[[int], Telemetry]:
    rows = tuple(
        (f"m{i % 40:02d}.spindle_temp_c", TS + i, 20.0 + i * 0.001) for i in range(samples)
    )

    def build(seq: int) -> Telemetry:
        return Telemetry(site="bench", node="gw-1", bd_seq=bd_seq, seq=seq, ts=TS, samples=rows)

    return build


def bench_append(work: Path, messages: int, samples: int) -> tuple[float, float, float]:
    """(append, remove on PUBACK, release by watermark) in messages/s for one fresh outbox."""
    box = Outbox(work / "append.sqlite3", max_outbox_bytes=2**34)
    build = builder(samples)
    t0 = time.perf_counter()
    for _ in range(messages):
        box.append(build, created_ms=TS, samples=samples)
    appended = messages / (time.perf_counter() - t0)
    seqs = [r.seq for r in box.pending(limit=messages)]
    t0 = time.perf_counter()
    for start in range(0, len(seqs), 20):  # one transaction per batch of 20 PUBACKs
        box.remove(seqs[start : start + 20])
    removed = messages / (time.perf_counter() - t0)
    for _ in range(messages):
        box.append(build, created_ms=TS, samples=samples)
    seqs = [r.seq for r in box.pending(limit=messages)]
    t0 = time.perf_counter()
    for end in range(19, len(seqs), 20):  # one watermark per 20 messages
        box.remove_through(seqs[end])
    box.remove_through(seqs[-1])
    released = messages / (time.perf_counter() - t0)
    box.close()
    (work / "append.sqlite3").unlink()
    return appended, removed, released


def bench_replay(work: Path, backlog: int, samples: int, max_inflight: int) -> float:
    """Messages/s replayed from a full outbox to Mosquitto until all are acknowledged."""
    broker = start_broker(work / "mosquitto")
    try:
        config = config_from_dict(
            {
                "node": {"site": "bench", "node": "gw-1", "kind": "gateway"},
                "mqtt": {
                    "broker": broker.url,
                    "wait_for_coordinator": False,
                    "max_inflight": max_inflight,
                },
                "outbox": {"state_dir": str(work / "replay"), "max_outbox_bytes": 2**34},
                "sampling": {"interval_ms": 3_600_000},
                "replay": {"max_messages_per_s": 100_000.0},
                "driver": {"type": "sim"},
                "detectors": {"enabled": False},
            }
        )
        outbox = Outbox(config.outbox.state_dir / "outbox.sqlite3", max_outbox_bytes=2**34)
        build = builder(samples)
        for _ in range(backlog):
            outbox.append(
                build, created_ms=int(time.time() * 1000), samples=samples, historical=True
            )
        clock = SystemClock()
        core = AgentCore(
            config,
            clock=clock,
            transport=MqttTransport(),
            driver=make_driver(config, clock),
            outbox=outbox,
        )
        t0 = time.perf_counter()
        deadline = t0 + 600
        while time.perf_counter() < deadline and (
            core.link.sent_replay < backlog or core.link.inflight > 0
        ):
            wait = core.tick()
            event = core.transport.next_event(min(wait, 0.05))
            if event is not None:
                core.handle(event)
        elapsed = time.perf_counter() - t0
        sent = core.link.sent_replay
        core.close()
        return sent / elapsed
    finally:
        broker.stop()


def main() -> int:
    """Run both benchmarks and print medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--backlog", type=int, default=2000)
    parser.add_argument("--samples-per-message", type=int, default=200)
    parser.add_argument("--max-inflight", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n = args.samples_per_message
    appends, removes, releases, replays = [], [], [], []
    for i in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="ff-outbox-") as tmp:
            a, r, w = bench_append(Path(tmp), args.messages, n)
            appends.append(a)
            removes.append(r)
            releases.append(w)
            replays.append(bench_replay(Path(tmp) / f"r{i}", args.backlog, n, args.max_inflight))
    print(f"outbox append (durable, synchronous=FULL): median {statistics.median(appends):.0f} msg/s "
          f"= {statistics.median(appends) * n:,.0f} samples/s ({n} samples/msg, {args.repeats} runs)")  # fmt: skip
    print(
        f"outbox remove on PUBACK (20 per transaction): median {statistics.median(removes):.0f} msg/s"
    )
    print(
        f"outbox release by watermark (20 per transaction): median "
        f"{statistics.median(releases):.0f} msg/s"
    )
    print(f"replay to Mosquitto, QoS 1, window {args.max_inflight} (replay uses half): median "
          f"{statistics.median(replays):.0f} msg/s = {statistics.median(replays) * n:,.0f} samples/s "
          f"(backlog {args.backlog})")  # fmt: skip
    print(f"command: .venv/bin/python benchmarks/bench_agent_outbox.py --messages {args.messages} "
          f"--backlog {args.backlog} --samples-per-message {n} --max-inflight {args.max_inflight} --repeats {args.repeats}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
