"""How many answers a second the demo farm gives on one core.

Starts ``python -m app.demo.farm`` in its own process, hammers healthy units with
raw asyncio connections (a new connection per request, as probes do) and reports
requests/s and, from /proc, the farm's own CPU per request, hence its one-core
capacity. Usage: ``.venv/bin/python -m bench.farm_throughput --seconds 5``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/x.py` puts bench/ on sys.path, not the root
    sys.path.insert(0, str(ROOT))

from app.demo.script import Behaviour, FarmScript  # noqa: E402
from bench.farmproc import FarmProcess  # noqa: E402


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _client(port: int, paths: list[str], deadline: float, counts: list[int]) -> None:
    i = 0
    while time.monotonic() < deadline:
        path = paths[i % len(paths)]
        i += 1
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = await reader.read()
        writer.close()
        counts[0 if data.startswith(b"HTTP/1.1 200") else 1] += 1


async def run(seconds: float, concurrency: int, units: int) -> None:
    script = FarmScript.for_units(units)
    healthy = [c for c, p in script.plans.items() if p.behaviour is Behaviour.HEALTHY]
    paths = [f"/u/{c}/dvc/health" for c in healthy]
    async with FarmProcess(units) as farm:
        cpu0, t0 = _cpu_seconds(farm.pid), time.monotonic()
        counts = [0, 0]
        deadline = t0 + seconds
        await asyncio.gather(
            *(_client(farm.port, paths, deadline, counts) for _ in range(concurrency))
        )
        elapsed, cpu = time.monotonic() - t0, _cpu_seconds(farm.pid) - cpu0
    total = sum(counts)
    rate = total / elapsed
    print(f"requests: {total} ({counts[1]} not 200) in {elapsed:.1f} s = {rate:,.0f} req/s")
    print(f"farm CPU: {cpu:.2f} s = {cpu / total * 1000:.3f} ms/request")
    print(f"farm one-core capacity: {total / cpu if cpu else float('inf'):,.0f} req/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--units", type=int, default=104)
    args = parser.parse_args()
    asyncio.run(run(args.seconds, args.concurrency, args.units))


if __name__ == "__main__":
    main()
