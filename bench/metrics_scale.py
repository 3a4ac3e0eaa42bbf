"""/metrics at scale: build time of the exposition and /healthz latency while
8 scrapes run in parallel, at 50,000 checks, over a real uvicorn on loopback.

    .venv/bin/python bench/metrics_scale.py --checks 50000 --scrapes 8
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import threading
import time
from types import SimpleNamespace

import httpx
import uvicorn
from prometheus_client import CollectorRegistry, generate_latest

from app.config import Settings
from app.main import create_app
from app.monitor.collector import CheckStateCollector
from app.vocab.states import State


def fake_monitor(n: int) -> SimpleNamespace:
    """What CheckStateCollector reads of a monitor: ``n`` checks with a last result."""
    result = SimpleNamespace(success=True, latency=0.042, details={"http_status": 200})
    checks = {
        i: SimpleNamespace(
            id=i,
            key=f"{10_000 + i}.centre.http",
            unit_code=str(10_000 + i),
            service_kind="commune_centre",
            kind="http",
        )
        for i in range(n)
    }
    now = time.time()
    states = {
        i: SimpleNamespace(
            state=State.UP,
            last_result=result,
            last_result_at=SimpleNamespace(timestamp=lambda: now),
        )
        for i in range(n)
    }
    return SimpleNamespace(checks=checks, states=states, unit_labels={})


async def measure(port: int, scrapes: int) -> tuple[float, list[float], int]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
        started = time.perf_counter()
        tasks = [asyncio.create_task(client.get("/metrics")) for _ in range(scrapes)]
        latencies: list[float] = []
        while not all(t.done() for t in tasks):
            t0 = time.perf_counter()
            await client.get("/healthz")
            latencies.append(time.perf_counter() - t0)
            await asyncio.sleep(0.05)
        sizes = {len((await t).content) for t in tasks}
        return time.perf_counter() - started, latencies, max(sizes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checks", type=int, default=50_000)
    parser.add_argument("--scrapes", type=int, default=8)
    parser.add_argument("--cache-s", type=float, default=5.0)
    args = parser.parse_args()

    registry = CollectorRegistry()
    registry.register(CheckStateCollector(fake_monitor(args.checks)))  # type: ignore[arg-type]
    t0 = time.perf_counter()
    body = generate_latest(registry)
    build_s = time.perf_counter() - t0
    print(f"checks={args.checks} exposition={len(body) / 1e6:.1f} MB build={build_s:.2f} s")

    settings = Settings(database_url="sqlite+aiosqlite:///:memory:", metrics_cache_s=args.cache_s)
    app = create_app(settings, run_monitor=False)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])))
    thread.start()
    while not server.started:
        time.sleep(0.05)
    app.state.monitor = SimpleNamespace(metrics=SimpleNamespace(registry=registry))
    try:
        wall, latencies, size = asyncio.run(measure(sock.getsockname()[1], args.scrapes))
    finally:
        app.state.monitor = None
        server.should_exit = True
        thread.join()
    median_ms = statistics.median(latencies) * 1e3
    print(f"{args.scrapes} parallel scrapes: all answered in {wall:.2f} s ({size / 1e6:.1f} MB)")
    print(f"/healthz meanwhile: n={len(latencies)} median={median_ms:.1f} ms", end=" ")
    print(f"max={max(latencies) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
