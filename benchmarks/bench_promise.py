"""Order promise latency during a sustained burst, over the real HTTP API.

One run: a Mosquitto (started here) and the full coordinator (ingest, planner thread
re-planning on the new jobs, sales book) served by uvicorn; 1,000 SKUs made in 5 factories
of 10 machines each; 10 micro-warehouses whose shelves report stock through the ingest
path. A separate client process posts `POST /api/v1/sales-orders` open-loop at `--rate`
orders/s for `--seconds` (1–3 lines each, long-tail SKU popularity, destinations around
Yiwu, a mix of express / standard / economy) and records every answer's latency, measured
from the moment the order was due to be sent (so a client falling behind counts against the
server, not for it); it speaks plain HTTP/1.1 on 128 keep-alive connections (httpx's
connection pool, at this rate, made the client the bottleneck). Afterwards the script
checks that no unit was promised twice: the stock reserved per SKU and warehouse never
exceeds what the shelves hold.

    .venv/bin/python benchmarks/bench_promise.py                     # 200 orders/s for 60 s
    .venv/bin/python benchmarks/bench_promise.py --rate 100 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

YIWU = (29.31, 120.08)


def _network(factories: int, machines: int, warehouses: int, skus: int) -> dict[str, Any]:
    rng = random.Random(1)
    return {
        "factories": [
            {
                "id": f"f{f}",
                "location": {
                    "lat": YIWU[0] + rng.uniform(-0.8, 0.8),
                    "lon": YIWU[1] + rng.uniform(-0.8, 0.8),
                },
                "machines": [f"f{f}-m{m}" for m in range(machines)],
                "hours": {"open": "07:00", "close": "23:00", "utc_offset_min": 480},
                "capacity_share": 0.8,
                "min_batch": 5,
            }
            for f in range(factories)
        ],
        "warehouses": [
            {
                "id": f"w{w}",
                "location": {
                    "lat": YIWU[0] + rng.uniform(-0.5, 0.5),
                    "lon": YIWU[1] + rng.uniform(-0.5, 0.5),
                },
                "nodes": [f"shelf-{w}"],
            }
            for w in range(warehouses)
        ],
        "products": [
            {"sku": f"SKU-{s:04d}", "factories": [f"f{(s + k) % factories}" for k in range(2)]}
            for s in range(skus)
        ],
        "rules": [{"below_qty": 10, "max_km": 150}],
    }


CONNECTIONS = 128


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One HTTP/1.1 response: its status and its body (the API sends Content-Length)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = next(
        (int(v) for k, _, v in (line.partition(":") for line in lines[1:])
         if k.strip().lower() == "content-length"),
        None,
    )  # fmt: skip
    if length is None:
        raise ValueError("response without Content-Length")
    return status, await reader.readexactly(length)


def _client(base_url: str, token: str, rate: float, seconds: float, skus: int, out: Any) -> None:
    """Post orders open-loop at `rate`; put (latencies, statuses, answers) on `out`."""

    rng = random.Random(7)
    weights = [1.0 / (i + 1) ** 1.1 for i in range(skus)]  # long tail
    names = [f"SKU-{i:04d}" for i in range(skus)]
    total = int(rate * seconds)
    latencies: list[float] = []
    dues: list[float] = []  # when each answered order was due, seconds into the run
    statuses: dict[int | str, int] = {}
    answers: list[dict[str, Any]] = []

    def order(n: int) -> dict[str, Any]:
        lines = {}
        for sku in rng.choices(names, weights, k=rng.choice((1, 1, 2, 3))):
            lines[sku] = rng.randint(1, 20)
        return {
            "id": f"b{n}",
            "customer": f"shop-{n % 97}",
            "lines": [{"sku": s, "qty": q} for s, q in lines.items()],
            "destination": {
                "lat": YIWU[0] + rng.uniform(-0.4, 0.4),
                "lon": YIWU[1] + rng.uniform(-0.4, 0.4),
                "address": "Yiwu",
            },
            "service": rng.choice(("express", "standard", "standard", "economy")),
        }

    bodies = [order(n) for n in range(total)]

    host, port = base_url.removeprefix("http://").split(":")
    head = (
        f"POST /api/v1/sales-orders HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
    )
    requests = [
        (head + f"Content-Length: {len(b)}\r\n\r\n").encode() + b
        for b in (orjson.dumps(body) for body in bodies)
    ]

    async def run() -> None:
        # A plain HTTP/1.1 client on keep-alive connections, one request in flight on each:
        # httpx's pool scans every connection on every event and, at 200 orders/s, kept
        # the client itself busy enough to be what the run measured (py-spy of the client
        # process). The waiting for a free connection still counts: latency is measured
        # from each order's due time.
        free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None] = (
            asyncio.Queue()
        )
        for _ in range(CONNECTIONS):
            free.put_nowait(None)  # opened on first use
        start = time.perf_counter()

        async def one(n: int) -> None:
            due = start + n / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            conn = await free.get()
            try:
                if conn is None:
                    conn = await asyncio.open_connection(host, int(port))
                reader, writer = conn
                writer.write(requests[n])
                status, body = await _response(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                name = type(exc).__name__  # counted, not fatal: the run still reports
                statuses[name] = statuses.get(name, 0) + 1
                if conn is not None:
                    conn[1].close()
                free.put_nowait(None)
                return
            free.put_nowait(conn)
            latencies.append(time.perf_counter() - due)
            dues.append(due - start)
            statuses[status] = statuses.get(status, 0) + 1
            if status == 201:
                answers.append(orjson.loads(body)["promise"])

        await asyncio.gather(*(one(n) for n in range(total)))
        elapsed = time.perf_counter() - start
        out.put((latencies, statuses, answers, elapsed, dues))

    asyncio.run(run())


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0, help="orders per second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--skus", type=int, default=1000)
    parser.add_argument("--factories", type=int, default=5)
    parser.add_argument("--machines", type=int, default=10, help="per factory")
    parser.add_argument("--warehouses", type=int, default=10)
    return parser.parse_args()


def main() -> None:
    args = _arguments()

    import httpx

    from coordinator.api.app import create_app
    from coordinator.plan.orders.specs import ProductSpec, StepOption
    from coordinator.plan.triggers import MachineSeen
    from coordinator.process_tuning import tune_process
    from coordinator.settings import load_settings
    from flexfleet.broker import start_broker
    from tests.coordinator.conftest import Node, feed, serve

    token = "bench-operator-token-0123456789"
    with tempfile.TemporaryDirectory(prefix="ff-promise-") as tmp:
        broker = start_broker(Path(tmp) / "mosquitto")
        settings = load_settings(
            db_path=Path(tmp) / "c.db",
            broker_url=broker.url,
            admin_tokens=token,
            write_rate_per_minute=0,  # measures the promise path, not the rate limit
            viewer_tokens="bench-viewer-token-0123456789",
            coordinator_id="bench",
            share_group="bench",
        )
        app = create_app(settings)
        tune_process(  # as `flexfleet coordinator` does
            young_threshold=settings.gc_young_threshold,
            switch_interval_s=settings.gil_switch_interval_s,
        )
        network = _network(args.factories, args.machines, args.warehouses, args.skus)
        rng = random.Random(3)
        stock: dict[tuple[str, str], int] = {}
        with serve(app) as url:
            coordinator = app.state.coordinator
            machines = [m for f in network["factories"] for m in f["machines"]]
            coordinator.plans.apply([MachineSeen("bench", m) for m in machines])
            products = []
            for s in range(args.skus):  # one step, on a machine of each of its two makers
                per_unit = rng.uniform(20, 90)
                options = tuple(
                    StepOption(f"f{(s + k) % args.factories}-m{s % args.machines}", per_unit, 600.0)
                    for k in range(2)
                )
                products.append(ProductSpec(f"SKU-{s:04d}", (options,), family=f"fam-{s % 8}"))
            coordinator.plans.set_products(products)
            for w in range(args.warehouses):
                items = {
                    f"SKU-{s:04d}": rng.randint(0, 40)
                    for s in range(args.skus)
                    if rng.random() < 0.6
                }
                stock.update({(f"w{w}", sku): qty for sku, qty in items.items()})
                shelf = Node(site="bench", node=f"shelf-{w}")
                feed(coordinator, shelf.birth(), shelf.stock("snapshot", items))
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as h:
                assert h.put("/api/v1/network", json=network).status_code == 200
            print(
                f"network: {args.factories} factories × {args.machines} machines, "
                f"{args.warehouses} warehouses, {args.skus} SKUs; "
                f"{sum(stock.values()):,} units on shelves",
                file=sys.stderr,
            )
            out: mp.Queue[Any] = mp.Queue()
            client = mp.Process(
                target=_client, args=(url, token, args.rate, args.seconds, args.skus, out)
            )
            planner = _planner_started(coordinator.plans) if settings.plan_isolated else None
            cpu_before, planner_before = time.process_time(), _cpu_s(planner)
            client.start()
            latencies, statuses, answers, elapsed, dues = out.get(timeout=args.seconds * 10 + 120)
            cpu = time.process_time() - cpu_before
            planner_cpu = _cpu_s(planner) - planner_before
            client.join()
        broker.stop()
    _by_window(latencies, dues)
    _report(args, latencies, statuses, answers, elapsed, stock)
    _report_cpu(cpu, planner_cpu, len(latencies))


def _report_cpu(cpu: float, planner_cpu: float, orders: int) -> None:
    per = 1000 / max(1, orders)
    print(
        f"coordinator CPU {cpu:.1f} s during the burst = {cpu * per:.2f} ms per order (every "
        "thread of the API's process: requests, planner thread, ingest); its planner "
        f"process {planner_cpu:.1f} s = {planner_cpu * per:.2f} ms per order"
    )


def _planner_started(plans: Any, timeout_s: float = 120.0) -> int | None:
    """The planner's child process, once it has started."""
    deadline = time.monotonic() + timeout_s
    while plans.planner_pid is None and time.monotonic() < deadline:
        time.sleep(0.1)
    return plans.planner_pid  # type: ignore[no-any-return]


def _cpu_s(pid: int | None) -> float:
    """CPU seconds (user + system) of process `pid` so far (0 without one)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _by_window(latencies: list[float], dues: list[float], width_s: float = 10.0) -> None:
    """p50 and p99 of the orders due in each `width_s` window (a queue that grows over the
    run, or stalls at moments), on stderr."""
    windows: dict[int, list[float]] = {}
    for due, latency in zip(dues, latencies, strict=True):
        windows.setdefault(int(due // width_s), []).append(latency)
    for w, values in sorted(windows.items()):
        values.sort()
        p50 = values[len(values) // 2] * 1000
        p99 = values[min(len(values) - 1, int(0.99 * len(values)))] * 1000
        print(
            f"  due {w * width_s:4.0f}-{(w + 1) * width_s:3.0f} s: {len(values):5d} orders, "
            f"p50 {p50:8.1f} ms, p99 {p99:8.1f} ms",
            file=sys.stderr,
        )


def _report(
    args: argparse.Namespace,
    latencies: list[float],
    statuses: dict[int | str, int],
    answers: list[dict[str, Any]],
    elapsed: float,
    stock: dict[tuple[str, str], int],
) -> None:
    """Print the figures and the double-allocation check."""
    latencies.sort()
    taken: dict[tuple[str, str], int] = {}
    from_stock = made = 0
    for promise in answers:
        for line in promise["lines"]:
            for part in line["from_stock"]:
                key = (part["warehouse"], line["sku"])
                taken[key] = taken.get(key, 0) + part["qty"]
                from_stock += part["qty"]
            made += sum(m["qty"] for m in line["made"])
    over = {k: (v, stock.get(k, 0)) for k, v in taken.items() if v > stock.get(k, 0)}

    def q(p: float) -> float:
        return float(latencies[min(len(latencies) - 1, int(p * len(latencies)))]) * 1000

    print(f"command: {' '.join(sys.argv)}")
    print(
        f"orders sent {len(latencies):,} in {elapsed:.1f} s = {len(latencies) / elapsed:.1f}/s "
        f"(target {args.rate:g}/s); answers {dict(sorted(statuses.items(), key=str))}"
    )
    print(
        f"promise latency p50 {q(0.5):.1f} ms, p95 {q(0.95):.1f} ms, p99 {q(0.99):.1f} ms, "
        f"max {latencies[-1] * 1000:.1f} ms, mean {statistics.fmean(latencies) * 1000:.1f} ms"
    )
    print(
        f"units promised from stock {from_stock:,}, to be made {made:,}; "
        f"double allocation: {over if over else 'none'}"
    )


if __name__ == "__main__":
    main()
