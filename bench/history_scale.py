"""History scale bench: the 60 s rollup pass and the pruning of raw results at
national volume (17,000 checks at 30 s = 48,960,000 ``probe_result`` rows a day) on
PostgreSQL.

Creates a database of its own (dropped at the end unless ``--keep``), migrates it
(``--revision`` picks an older schema, e.g. ``0009`` for the plain, unpartitioned
``probe_result``), writes 680 communes × 5 checks per 1,000 checks (the inventory of
``bench.report_scale``), a month so far of flips (every check up since the 1st, 1% of
checks with two outages a day), and ``--days`` UTC days of raw results at one per
check per 30 s. The fill is set-up, not measured: it drops the table's indexes and
constraints, fills by ``INSERT … SELECT generate_series`` and rebuilds them.

It then times, through the monitor's own ``Housekeeper``:

- the rollup pass: once from the 1st of the month (the first pass after a start),
  then an idle pass (nothing changed), then a pass after ``--flipped`` of the checks
  flipped in the last minute (median of ``--repeat``);
- pruning: ``Housekeeper.prune`` with a clock such that exactly the oldest day is
  past the retention, then ``VACUUM probe_result`` (the dead rows a DELETE leaves
  for autovacuum; nothing after dropping a partition).

``--migrate-to head`` after a fill at ``--revision 0009`` times migration 0010 on
the filled table (it becomes the legacy partition, which pruning then drops whole).

    .venv/bin/python bench/history_scale.py                      # national, 2 days
    .venv/bin/python bench/history_scale.py --checks 1000 --days 2
    .venv/bin/python bench/history_scale.py --revision 0009      # before partitioning
    .venv/bin/python bench/history_scale.py --revision 0009 --migrate-to head --days 1
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.ext.asyncio import async_sessionmaker

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/x.py` puts bench/ on sys.path, not the root
    sys.path.insert(0, str(ROOT))

from app import migrate  # noqa: E402
from app.accounting.days import day_start, local_day  # noqa: E402
from app.db import make_engine  # noqa: E402
from app.models.partitions import LEGACY, day_bounds, day_name, partition_indexes  # noqa: E402
from app.monitor.housekeeping import Housekeeper  # noqa: E402
from bench.report_scale import _admin, _inventory, _url  # noqa: E402

NAME = "thongsuot_bench_history"
INTERVAL_S = 30
T = TypeVar("T")


def _mb(n: int) -> str:
    return f"{n / 1_048_576:,.0f} MB"


async def _timed(fn: Callable[[], Awaitable[T]]) -> tuple[float, T]:
    began = time.perf_counter()
    out = await fn()
    return time.perf_counter() - began, out


async def _flips(conn: asyncpg.Connection, checks: list[int], now: datetime) -> int:
    """Every check up since the 1st (local); 1% with two 20-minute outages a day."""
    first = day_start(local_day(now).replace(day=1))
    rows: list[tuple[Any, ...]] = []
    for check_id in checks:
        rows.append((uuid.uuid4().hex, check_id, first, "unknown", "up", "bench", None, first))
        if check_id % 100:
            continue
        day = first
        while day + timedelta(hours=16) < now:
            for hour in (3, 15):
                down = day + timedelta(hours=hour, minutes=check_id % 60)
                up = down + timedelta(minutes=20)
                if up < now - timedelta(minutes=5):
                    rows.append((uuid.uuid4().hex, check_id, down, "up", "down", "b", None, down))
                    rows.append((uuid.uuid4().hex, check_id, up, "down", "up", "b", None, up))
            day += timedelta(days=1)
    columns = ["uid", "check_id", "at", "old_state", "new_state", "reason", "error_kind"]
    await conn.copy_records_to_table("flip", records=rows, columns=[*columns, "created_at"])
    return len(rows)


async def _partitioned(conn: asyncpg.Connection) -> bool:
    kind = await conn.fetchval("SELECT relkind::text FROM pg_class WHERE relname = 'probe_result'")
    return bool(kind == "p")


async def _fill_results(conn: asyncpg.Connection, checks: int, days: list[datetime]) -> float:
    """``checks`` results per 30 s over ``days``; indexes rebuilt after. Returns seconds."""
    began = time.perf_counter()
    partitioned = await _partitioned(conn)
    constraints = await conn.fetch(
        "SELECT conname, pg_get_constraintdef(oid) AS def, contype FROM pg_constraint "
        "WHERE conrelid = 'probe_result'::regclass AND contype IN ('p', 'u', 'f')"
    )
    owned = {r["conname"] for r in constraints}
    indexes = [
        r
        for r in await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'probe_result'"
        )
        if r["indexname"] not in owned
    ]
    for r in indexes:
        await conn.execute(f'DROP INDEX "{r["indexname"]}"')
    for r in sorted(constraints, key=lambda r: r["contype"] != "f"):
        await conn.execute(f'ALTER TABLE probe_result DROP CONSTRAINT "{r["conname"]}"')
    if partitioned:  # a fresh database's legacy partition is empty and spans the past
        await conn.execute(f"DROP TABLE {LEGACY}")
    per_day = 86_400 // INTERVAL_S
    for day in days:
        if partitioned:  # steady state: day partitions only, their indexes built after
            start, end = day_bounds(day.date())
            await conn.execute(
                f"CREATE TABLE {day_name(day.date())} PARTITION OF probe_result "
                f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
            )
        base = int(day.timestamp()) // INTERVAL_S
        for first in range(0, checks, 2_000):  # bounded statements (WAL, memory)
            last = min(first + 2_000, checks)
            await conn.execute(
                """
                INSERT INTO probe_result
                    (uid, check_id, at, status, latency_ms, error_kind, message, details,
                     vantage, slot)
                SELECT md5(c::text || ':' || (s + $1)::text), c,
                       $2::timestamptz + make_interval(secs => s * $3 + c % $3),
                       'up', 20 + (c * 7 + s) % 180, NULL, '', '{}', 'central', s + $1
                FROM (SELECT id AS c FROM "check" ORDER BY id OFFSET $4 LIMIT $5) AS k,
                     generate_series(0, $6 - 1) AS s
                """,
                base,
                day,
                INTERVAL_S,
                first,
                last - first,
                per_day,
            )
    for r in sorted(constraints, key=lambda r: r["contype"] == "f"):
        await conn.execute(f'ALTER TABLE probe_result ADD CONSTRAINT "{r["conname"]}" {r["def"]}')
    for r in indexes:
        await conn.execute(r["indexdef"])
    if partitioned:
        for day in days:
            for statement in partition_indexes(day_name(day.date())):
                await conn.execute(statement)
    await conn.execute("VACUUM ANALYZE probe_result")
    return time.perf_counter() - began


async def _sizes(conn: asyncpg.Connection) -> None:
    rows = await conn.fetchval("SELECT count(*) FROM probe_result")
    size = await conn.fetchval(
        "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
        "WHERE c.relname = 'probe_result' OR c.oid IN "
        "(SELECT inhrelid FROM pg_inherits WHERE inhparent = 'probe_result'::regclass)"
    )
    print(f"  probe_result: {rows:,} rows, {_mb(size)} (heap + indexes, all partitions)")


async def _flip_some(conn: asyncpg.Connection, share: float, now: datetime, round_: int) -> int:
    """``share`` of the checks flip within the minute before ``now``."""
    ids = [r["id"] for r in await conn.fetch('SELECT id FROM "check" ORDER BY id')]
    step = max(1, round(1 / share))
    chosen = ids[round_ % step :: step]
    at = now - timedelta(seconds=30)
    old, new = ("up", "down") if round_ % 2 == 0 else ("down", "up")
    rows = [(uuid.uuid4().hex, c, at, old, new, "bench", None, at) for c in chosen]
    columns = ["uid", "check_id", "at", "old_state", "new_state", "reason", "error_kind"]
    await conn.copy_records_to_table("flip", records=rows, columns=[*columns, "created_at"])
    return len(rows)


async def run(args: argparse.Namespace) -> None:
    name = args.name
    url = _url(name)
    await _admin(f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}")
    engine = None
    try:
        await asyncio.to_thread(migrate.upgrade, url, args.revision)
        conn = await asyncpg.connect(url)
        try:
            partitioned = await _partitioned(conn)
            print(f"schema {args.revision}: probe_result partitioned = {partitioned}")
            checks = [row[0] for row in await _inventory(conn, args.checks // 5)]
            now = datetime.now(UTC).replace(microsecond=0)
            await conn.execute(
                "INSERT INTO monitor_run (uid, host, pid, started_at, last_seen_at) "
                "VALUES ($1, 'bench', 1, $2, $3)",
                uuid.uuid4().hex,
                now - timedelta(days=40),
                now + timedelta(hours=1),  # alive through the simulated minutes
            )
            flips = await _flips(conn, checks, now)
            print(f"inventory: {len(checks):,} checks; {flips:,} flips this month")
            today = now.replace(hour=0, minute=0, second=0)
            days = [today - timedelta(days=args.days - i) for i in range(args.days)]
            took = await _fill_results(conn, len(checks), days)
            print(f"fill (set-up, not measured): {args.days} days in {took:,.0f} s")
            await _sizes(conn)
        finally:
            await conn.close()
        if args.migrate_to:
            began = time.perf_counter()
            await asyncio.to_thread(migrate.upgrade, url, args.migrate_to)
            took = time.perf_counter() - began
            print(f"migrating the filled database to {args.migrate_to}: {took:.1f} s")

        engine = make_engine(url, pool_size=2)
        sm = async_sessionmaker(engine, expire_on_commit=False)
        clock = [now]
        keeper = Housekeeper(sm, retention_days=args.retention, clock=lambda: clock[0])
        print("rollup pass (Housekeeper.rollup):")
        took, report = await _timed(keeper.rollup)
        print(f"  first pass after start (a full one): {took:.2f} s ({report})")
        idle, busy = [], []
        for round_ in range(args.repeat):
            clock[0] += timedelta(seconds=60)
            took, report = await _timed(keeper.rollup)
            idle.append(took)
            conn = await asyncpg.connect(url)
            try:
                clock[0] += timedelta(seconds=60)
                flipped = await _flip_some(conn, args.flipped, clock[0], round_)
            finally:
                await conn.close()
            took, report = await _timed(keeper.rollup)
            busy.append(took)
        print(f"  nothing changed:   median {statistics.median(idle):.2f} s of {args.repeat}")
        print(
            f"  {flipped} checks ({args.flipped:.0%}) flipped in the last minute: "
            f"median {statistics.median(busy):.2f} s of {args.repeat} ({report})"
        )
        clock[0] += timedelta(seconds=600)
        took, report = await _timed(keeper.rollup)
        print(f"  10 min later (a full pass is due): {took:.2f} s ({report})")

        print(f"pruning (Housekeeper.prune, retention {args.retention} days):")
        # the oldest day; after --migrate-to, the legacy partition, which reaches
        # the UTC midnight after the migration (every filled day)
        until = days[-1] + timedelta(days=2) if args.migrate_to else days[0] + timedelta(days=1)
        prune_clock = [until + timedelta(days=args.retention)]
        pruner = Housekeeper(sm, retention_days=args.retention, clock=lambda: prune_clock[0])
        took, removed = await _timed(pruner.prune)
        print(f"  prune one day: {took:.2f} s, {removed:,} rows")
        conn = await asyncpg.connect(url)
        try:
            began = time.perf_counter()
            await conn.execute("VACUUM probe_result")
            print(f"  VACUUM probe_result after it: {time.perf_counter() - began:.2f} s")
            await _sizes(conn)
        finally:
            await conn.close()
    finally:
        if engine is not None:
            await engine.dispose()
        if not args.keep:
            await _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checks", type=int, default=17_000)
    parser.add_argument("--days", type=int, default=2, help="UTC days of raw results (≥ 1)")
    parser.add_argument("--flipped", type=float, default=0.01, help="share of checks that flip")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--retention", type=int, default=30)
    parser.add_argument("--revision", default="head", help="alembic revision to migrate to")
    parser.add_argument(
        "--migrate-to", help="after the fill, time migrating to this revision (e.g. head)"
    )
    parser.add_argument("--name", default=NAME, help="the bench database (created, dropped)")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    if args.days < 1 or args.checks < 5 or not 0 < args.flipped <= 1:
        parser.error("--days ≥ 1, --checks ≥ 5, 0 < --flipped ≤ 1")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
