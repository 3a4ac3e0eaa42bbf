"""Scale bench: N checks at interval I for D seconds, against the farm in its own process.

The Monitor runs in this process on SQLite (a temp file) or PostgreSQL (a bench
database of its own, created, migrated and dropped), exactly as in production:
inventory YAML → SQL → one APScheduler job per check → probes → batch writer.

    .venv/bin/python -m bench.run_checks                       # 2,000 checks, 30 s, 180 s
    .venv/bin/python -m bench.run_checks --checks 17000        # the national target
    .venv/bin/python -m bench.run_checks --db postgresql://postgres@127.0.0.1:5432/test

It prints probes/s, scheduling lateness p50/p99/max, CPU seconds per 1,000 probes
(this process only: the farm's CPU is not counted), peak memory, database rows/s,
results written vs probes run vs rows in the database after the final flush, and
the time to detect the farm's scripted outages (bench/detect.py). It exits 1 if
any result was lost.

    --retry-interval 5     every check re-probes after 5 s while a streak is in progress
    --with-blackbox        then blackbox_exporter probes the same targets at the same
                           rate (bench/blackbox.py); CPU per HTTP probe side by side
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import resource
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/x.py` puts bench/ on sys.path, not the root
    sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from app.monitor.runtime import Monitor
    from bench.blackbox import BlackboxReport
    from bench.detect import Detection
    from bench.farmproc import FarmProcess

MAX_DURATION_S = 3_600.0


@dataclass(slots=True)
class Report:
    checks: int
    interval_s: int
    startup_s: float
    elapsed_s: float
    probes_started: int
    probes_finished: int
    results_written: int
    rows_in_db: int
    flips_written: int
    dropped: int
    lateness: list[float]
    write_seconds: list[float]
    cpu_s: float
    maxrss_mb: float
    retry_interval_s: int | None = None
    detection: Detection | None = None
    blackbox: BlackboxReport | None = None
    http_targets: int = 0

    @property
    def lost(self) -> bool:
        return not (self.probes_finished == self.results_written == self.rows_in_db)

    def lines(self) -> list[str]:
        lat = sorted(self.lateness)
        per_k = self.cpu_s / self.probes_finished * 1000 if self.probes_finished else math.nan
        writes = sorted(self.write_seconds)
        return [
            f"checks: {self.checks} at {self.interval_s} s "
            f"(expected {self.checks / self.interval_s:,.1f} probes/s)",
            f"start-up (inventory sync + jobs): {self.startup_s:.1f} s",
            f"run: {self.elapsed_s:.1f} s, probes started {self.probes_started}, "
            f"finished {self.probes_finished}, cancelled at stop "
            f"{self.probes_started - self.probes_finished}",
            f"probes/s: {self.probes_finished / self.elapsed_s:,.1f}",
            f"lateness: p50 {percentile(lat, 50) * 1000:.1f} ms, "
            f"p99 {percentile(lat, 99) * 1000:.1f} ms, "
            f"max {(lat[-1] if lat else math.nan) * 1000:.1f} ms ({len(lat)} samples)",
            f"CPU: {self.cpu_s:.1f} s = {per_k:.2f} CPU-s per 1,000 probes "
            f"({self.cpu_s / self.elapsed_s * 100:.0f}% of a core)",
            f"peak memory (ru_maxrss): {self.maxrss_mb:.0f} MB",
            f"database: {self.results_written / self.elapsed_s:,.1f} rows/s, "
            f"batch write p50 {percentile(writes, 50) * 1000:.1f} ms, "
            f"max {(writes[-1] if writes else math.nan) * 1000:.1f} ms",
            f"flips written: {self.flips_written}, dropped from the buffer: {self.dropped}",
            f"results: written {self.results_written}, probes run {self.probes_finished}, "
            f"rows in the database {self.rows_in_db} -> "
            + ("LOST RESULTS" if self.lost else "none lost"),
            *self._detection_lines(),
            *self._blackbox_lines(),
        ]

    def _detection_lines(self) -> list[str]:
        if self.detection is None:
            return []
        retry = self.retry_interval_s
        label = f"retry_interval {retry} s" if retry else "no retry_interval"
        return [self.detection.line(label)]

    def _blackbox_lines(self) -> list[str]:
        ours = self.cpu_s * 1000 / self.probes_finished if self.probes_finished else math.nan
        lines = [f"thongsuot CPU: {ours:.2f} CPU-ms per HTTP probe, all in (this process)"]
        if self.blackbox is None:
            return lines
        theirs = self.blackbox.cpu_ms_per_probe
        return [
            *lines,
            *self.blackbox.lines(self.interval_s, self.http_targets),
            f"ratio thongsuot / blackbox_exporter: {ours / theirs:.2f}",
        ]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return math.nan
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def _cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


@asynccontextmanager
async def bench_database(db: str | None, tmp: Path) -> AsyncIterator[str]:
    """A migrated empty database: a temp SQLite file, or a PostgreSQL bench database."""
    from app import migrate

    if db is None or db.startswith("sqlite"):
        url = db or f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
        await asyncio.to_thread(migrate.upgrade, url)
        yield url
        return
    admin = db.replace("postgresql+asyncpg://", "postgresql://")
    name = f"thongsuot_bench_{os.getpid()}"
    url = f"{admin.rsplit('/', 1)[0]}/{name}"
    await _pg(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        yield url
    finally:
        await _pg(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _pg(admin: str, *statements: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(admin)
    try:
        for stmt in statements:
            await conn.execute(stmt)
    finally:
        await conn.close()


async def run(args: argparse.Namespace) -> Report:
    from bench.farmproc import FarmProcess

    per_unit = args.checks_per_unit
    units = units_for(args.checks, per_unit)
    with tempfile.TemporaryDirectory(prefix="thongsuot-bench-") as tmpdir:
        tmp = Path(tmpdir)
        async with FarmProcess(units, seed=args.seed) as farm, bench_database(args.db, tmp) as url:
            inventory = write_inventory(tmp, farm.url(), units, args)
            return await _measure(args, url, inventory, units * per_unit + 1, farm, units)


def units_for(checks: int, per_unit: int) -> int:
    """Demo units for about ``checks`` checks (plus the provincial system's one)."""
    return max(1, math.ceil((checks - 1) / per_unit))


def write_inventory(tmp: Path, farm_url: str, units: int, args: argparse.Namespace) -> Path:
    """The demo inventory of ``units`` units against the farm, as YAML in ``tmp``."""
    from app.demo.inventory import demo_inventory_data, dump_yaml

    data = demo_inventory_data(
        farm_url, units, args.interval, timeout_s=args.timeout, checks_per_unit=args.checks_per_unit
    )
    if getattr(args, "retry_interval", None):
        data["province"]["defaults"]["retry_interval"] = args.retry_interval
    inventory = tmp / "bench-inventory.yaml"
    inventory.write_text(dump_yaml(data), encoding="utf-8")
    return inventory


def http_urls(inventory: Path) -> list[str]:
    """The URLs of the inventory's HTTP checks (blackbox_exporter's targets)."""
    from app.inventory.loader import load_resolved

    _, flat = load_resolved(inventory)
    return [c.target for c in flat.checks if c.kind == "http" and c.enabled]


async def _measure(
    args: argparse.Namespace,
    url: str,
    inventory: Path,
    checks: int,
    farm: FarmProcess,
    units: int,
) -> Report:
    from app.config import Settings
    from app.db import make_engine, make_sessionmaker
    from app.monitor.runtime import Monitor

    settings = Settings(database_url=url, inventory=inventory, max_concurrency=args.concurrency)
    engine = make_engine(settings.database_url)
    monitor = Monitor(settings, make_sessionmaker(engine))
    try:
        t0 = time.monotonic()
        await monitor.start()
        startup = time.monotonic() - t0
        print(f"monitor started: {len(monitor.checks)} checks in {startup:.1f} s", flush=True)
        cpu0, t1, wall0 = _cpu_seconds(), time.monotonic(), time.time()
        await _progress(monitor, min(args.duration, MAX_DURATION_S), t1)
        await monitor.stop()
        elapsed, cpu = time.monotonic() - t1, _cpu_seconds() - cpu0
        rows = await _count_results(make_sessionmaker(engine))
        detection = await _detect(args, farm, units, make_sessionmaker(engine), wall0)
    finally:
        await engine.dispose()
    urls = [str(getattr(rc.config, "url", "")) for rc in monitor.checks.values()]
    urls = [u for u in urls if u]
    blackbox = None
    if args.with_blackbox:
        from app.demo.inventory import KEYWORD
        from bench.blackbox import run_blackbox

        seconds = args.blackbox_duration or min(args.duration, 120.0)
        print(f"blackbox_exporter: {len(urls)} targets for {seconds:.0f} s ...", flush=True)
        blackbox = await run_blackbox(urls, args.interval, seconds, args.timeout, KEYWORD)
    s = monitor.stats
    return Report(
        checks=checks, interval_s=args.interval, startup_s=startup, elapsed_s=elapsed,
        probes_started=s.probes_started, probes_finished=s.probes_finished,
        results_written=s.results_written, rows_in_db=rows, flips_written=s.flips_written,
        dropped=s.dropped, lateness=list(s.lateness), write_seconds=list(s.write_seconds),
        cpu_s=cpu, maxrss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        retry_interval_s=args.retry_interval, detection=detection, blackbox=blackbox,
        http_targets=len(urls),
    )  # fmt: skip


async def _detect(
    args: argparse.Namespace,
    farm: FarmProcess,
    units: int,
    sm: async_sessionmaker[AsyncSession],
    wall0: float,
) -> Detection:
    """Outages that start once every check has run and end early enough to be confirmed."""
    from app.demo.script import FarmScript
    from bench import detect

    epoch = detect.farm_epoch(farm.url())
    threshold = 2  # the demo inventory's failure_threshold
    # the same window with and without a retry interval: room to confirm at the interval
    t_to = wall0 + args.duration - ((threshold + 1) * args.interval + args.timeout + 2)
    starts = detect.outage_starts(units, args.seed, epoch, wall0 + args.interval, t_to)
    return await detect.detection_times(sm, starts, FarmScript().down_s, threshold)


async def _progress(monitor: Monitor, duration: float, t0: float) -> None:
    end = t0 + duration
    while (left := end - time.monotonic()) > 0:
        await asyncio.sleep(min(10.0, left))
        s = monitor.stats
        rate = s.probes_finished / max(time.monotonic() - t0, 1e-9)
        print(
            f"  t={time.monotonic() - t0:5.0f} s  probes {s.probes_finished:>8}  "
            f"{rate:7.1f}/s  written {s.results_written:>8}  buffer {s.buffer_depth}",
            flush=True,
        )


async def _count_results(sm: async_sessionmaker[AsyncSession]) -> int:
    from sqlalchemy import func, select

    from app.models import ProbeResult

    async with sm() as session:
        return int((await session.execute(select(func.count(ProbeResult.id)))).scalar_one())


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="thongsuot scale bench against the demo farm")
    p.add_argument("--checks", type=int, default=2_000, help="number of checks (default 2000)")
    p.add_argument("--interval", type=int, default=30, help="check interval in seconds")
    p.add_argument("--duration", type=float, default=180.0, help="seconds to run (max 3600)")
    p.add_argument("--db", default=None, help="postgresql://... admin URL (default: temp SQLite)")
    p.add_argument("--timeout", type=float, default=None, help="probe timeout (min(5, I/2) s)")
    p.add_argument("--checks-per-unit", type=int, default=5)
    p.add_argument("--concurrency", type=int, default=500, help="max probes in flight")
    p.add_argument("--seed", type=int, default=33)
    p.add_argument(
        "--retry-interval", type=int, default=None, help="every check's retry_interval (s)"
    )
    p.add_argument(
        "--with-blackbox", action="store_true", help="blackbox_exporter side by side, after"
    )
    p.add_argument(
        "--blackbox-duration", type=float, default=None, help="seconds (min(duration, 120))"
    )
    args = p.parse_args(argv)
    if args.checks < 2 or args.duration <= 0:
        p.error("need at least 2 checks and a positive duration")
    if args.timeout is None:
        args.timeout = min(5.0, args.interval / 2)
    if args.retry_interval is not None and not 1 <= args.retry_interval < args.interval:
        p.error("--retry-interval must be at least 1 and shorter than --interval")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # APScheduler logs a traceback per job still running at shutdown; they are counted instead.
    logging.getLogger("apscheduler.executors").setLevel(logging.CRITICAL)
    from bench.farmproc import run_bench

    if (report := run_bench(run(args))) is None:
        return 130
    print("\n".join(report.lines()))
    return 1 if report.lost else 0


if __name__ == "__main__":
    sys.exit(main())
