"""Report scale bench: one year of history for 3,321 units × 5 checks on PostgreSQL.

Creates a database of its own (dropped at the end unless ``--keep``), migrates it,
writes 34 provinces + 3,321 communes, 2 services and 5 critical checks per commune,
2–5 outages per check per month (5 min to 4 h, log-uniform) as flips, then the
rollups computed by the same pure code the job uses (``rollup.entities`` +
``rollup_core.split``; rows are streamed with COPY instead of the job's INSERTs) and
the monthly rollups by the job's own SQL. It prints row counts and table sizes and
times the report API in process (httpx ASGITransport): a one-year report grouped by
unit for the whole country and for one province, median of 5 each.

    .venv/bin/python -m bench.report_scale                 # the full national year
    .venv/bin/python -m bench.report_scale --units 500     # a quicker, smaller run
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]

ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
NAME = "thongsuot_bench_reports"
YEAR = 2025
CHECKS = (
    ("centre", "http"),
    ("centre", "tcp"),
    ("centre", "heartbeat"),
    ("net", "icmp"),
    ("net", "dns"),
)
MAX_SECONDS = 3_600


def _url(name: str) -> str:
    return ADMIN.rsplit("/", 1)[0] + "/" + name


async def _admin(*statements: str) -> None:
    conn = await asyncpg.connect(ADMIN)
    try:
        for stmt in statements:
            await conn.execute(stmt)
    finally:
        await conn.close()


def _outages(rng: random.Random, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """2–5 outages per month, 5 min to 4 h long, not overlapping."""
    found: list[tuple[datetime, datetime]] = []
    month = start
    while month < end:
        following = (month + timedelta(days=32)).replace(day=1)
        span = (min(following, end) - month).total_seconds()
        for _ in range(rng.randint(2, 5)):
            at = month + timedelta(seconds=rng.uniform(0, span))
            length = timedelta(seconds=math.exp(rng.uniform(math.log(300), math.log(14_400))))
            found.append((at, min(at + length, end)))
        month = following
    found.sort()
    merged: list[tuple[datetime, datetime]] = []
    for a, b in found:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


async def _inventory(conn: asyncpg.Connection, units: int) -> list[tuple[int, int, int, str]]:
    """Units, services and checks; returns ``(check_id, unit_id, service_id, key)``."""
    now = datetime.now(UTC)
    provinces = [(i + 1, f"{i + 1:02d}", f"Tỉnh {i + 1:02d}", "province", None) for i in range(34)]
    communes = [
        (35 + i, f"{10_000 + i}", f"Xã {10_000 + i}", "commune", 1 + i % 34) for i in range(units)
    ]
    await conn.copy_records_to_table(
        "unit",
        records=[(*row, "{}", now, now) for row in provinces + communes],
        columns=["id", "code", "name", "kind", "parent_id", "settings", "created_at", "updated_at"],
    )
    services, checks = [], []
    for unit_id, code, *_ in communes:
        for offset, kind in enumerate(("centre", "net")):
            service_id = unit_id * 2 + offset
            services.append(
                (service_id, f"{code}.{kind}", unit_id, kind, f"{kind} {code}", "[]", now, now)
            )
        for index, (service, probe) in enumerate(CHECKS):
            service_id = unit_id * 2 + (0 if service == "centre" else 1)
            checks.append(
                (unit_id * 5 + index, f"{code}.{service}.{probe}", service_id, unit_id, probe)
            )
    await conn.copy_records_to_table(
        "service",
        records=services,
        columns=["id", "key", "unit_id", "kind", "name", "contacts", "created_at", "updated_at"],
    )
    await conn.copy_records_to_table(
        "check",
        records=[
            (
                i,
                key,
                s,
                u,
                key,
                probe,
                "https://bench.invalid/",
                "{}",
                "x",
                30,
                5.0,
                2,
                1,
                True,
                True,
                "up",
                0,
                "[]",
                now,
                now,
            )
            for i, key, s, u, probe in checks
        ],
        columns=[
            "id",
            "key",
            "service_id",
            "unit_id",
            "name",
            "kind",
            "target",
            "config",
            "config_hash",
            "interval_s",
            "timeout_s",
            "failure_threshold",
            "recovery_threshold",
            "critical",
            "enabled",
            "state",
            "streak_count",
            "depends_on",
            "created_at",
            "updated_at",
        ],
    )
    return [(i, u, s, key) for i, key, s, u, _ in checks]


async def _write(
    conn: asyncpg.Connection, table: str, rows: list[tuple[Any, ...]], columns: Sequence[str]
) -> None:
    if rows:
        await conn.copy_records_to_table(table, records=rows, columns=list(columns))


DAY_COLUMNS = [
    "level",
    "entity_id",
    "day",
    "up_s",
    "degraded_s",
    "down_s",
    "maintenance_s",
    "unknown_s",
    "sh_up_s",
    "sh_degraded_s",
    "sh_down_s",
    "sh_maintenance_s",
    "sh_unknown_s",
    "computed_at",
]
PIECE_COLUMNS = [
    "level",
    "entity_id",
    "run_started_at",
    "day",
    "run_ended_at",
    "run_s",
    "run_sh_s",
    "s",
    "sh_s",
    "first",
    "sh_first",
    "last",
]


async def _history(
    conn: asyncpg.Connection, checks: list[tuple[int, int, int, str]], seed: int
) -> dict[str, int]:
    from app.accounting import days as rollup_core
    from app.accounting.checks import CheckInfo
    from app.reports import rollup

    rng = random.Random(seed)
    start = rollup_core.day_start(date(YEAR, 1, 1))
    end = rollup_core.day_start(date(YEAR + 1, 1, 1))
    counts = {"flip": 0, "rollup_day": 0, "outage_day": 0}
    by_unit: dict[int, list[tuple[int, int, int, str]]] = {}
    for row in checks:
        by_unit.setdefault(row[1], []).append(row)
    batch: list[int] = []
    unit_ids = sorted(by_unit)
    for position, unit_id in enumerate(unit_ids):
        batch.append(unit_id)
        if len(batch) < 200 and position + 1 < len(unit_ids):
            continue
        flips, infos, timelines = [], [], {}
        for uid in batch:
            for check_id, u, s, key in by_unit[uid]:
                changes = [(start, "up")]
                for a, b in _outages(rng, start, end):
                    changes += [(a, "down"), (b, "up")] if b < end else [(a, "down")]
                old = "unknown"
                for at, new in changes:
                    flips.append((uuid.uuid4().hex, check_id, at, old, new, "bench", None, at))
                    old = new
                timelines[check_id] = ("unknown", changes)
                infos.append(
                    CheckInfo(
                        check_id,
                        key,
                        u,
                        s,
                        True,
                        key.rsplit(".", 1)[0],
                        key.split(".")[0],
                        "",
                        None,
                    )
                )
        await _write(
            conn,
            "flip",
            flips,
            [
                "uid",
                "check_id",
                "at",
                "old_state",
                "new_state",
                "reason",
                "error_kind",
                "created_at",
            ],
        )
        counts["flip"] += len(flips)
        days, pieces = [], []
        for entity in rollup.entities(infos, timelines):
            result = rollup_core.split(*entity.timeline, date(YEAR, 1, 1), end, entity.clock)
            for d in rollup.day_rows(entity.level, entity.id, result, end):
                days.append(tuple(d[c] for c in DAY_COLUMNS))
            for p in rollup.piece_rows(entity.level, entity.id, result):
                pieces.append(tuple(p[c] for c in PIECE_COLUMNS))
        await _write(conn, "rollup_day", days, DAY_COLUMNS)
        await _write(conn, "outage_day", pieces, PIECE_COLUMNS)
        counts["rollup_day"] += len(days)
        counts["outage_day"] += len(pieces)
        print(f"  units {position + 1}/{len(unit_ids)}: {counts}", flush=True)
        batch = []
    return counts


async def _months(url: str) -> None:
    from app.db import make_engine, make_sessionmaker
    from app.reports import rollup_repository

    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            await rollup_repository.rebuild_months(session, date(YEAR, 1, 1), datetime.now(UTC))
    finally:
        await engine.dispose()


async def _sizes(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("VACUUM ANALYZE")
        for table in (
            "unit",
            "service",
            "check",
            "flip",
            "rollup_day",
            "rollup_month",
            "outage_day",
        ):
            rows = await conn.fetchval(f'SELECT count(*) FROM "{table}"')
            size = await conn.fetchval(
                f"SELECT pg_size_pretty(pg_total_relation_size('\"{table}\"'))"
            )
            print(f"  {table:<13} {rows:>11,} rows  {size:>9}")
    finally:
        await conn.close()


def _days_only() -> None:
    """Make reports read ``rollup_day`` alone (no whole months from ``rollup_month``)."""
    from app.accounting.period import Period

    def months(self: Period) -> tuple[list[date], list[tuple[date, date]]]:
        return [], [(self.first, self.end)]

    Period.months = months  # type: ignore[method-assign]


async def _time_api(url: str, repeats: int) -> dict[str, list[float]]:
    import httpx

    from app.config import Settings
    from app.main import create_app

    app = create_app(Settings(database_url=url), run_monitor=False)
    timings: dict[str, list[float]] = {}
    queries = {
        "country, year, by unit": {"period": "year", "at": str(YEAR), "group": "unit"},
        "country, year, by unit, service hours": {
            "period": "year",
            "at": str(YEAR),
            "group": "unit",
            "clock": "service_hours",
        },
        "one province, year, by unit": {
            "period": "year",
            "at": str(YEAR),
            "group": "unit",
            "province": "01",
        },
        "country, year, by province": {"period": "year", "at": str(YEAR), "group": "province"},
        # last: without rollup_month, to see what the monthly rollups buy
        "daily only: country, year, by unit": {"period": "year", "at": str(YEAR), "group": "unit"},
    }
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for label, params in queries.items():
                if label.startswith("daily only"):
                    _days_only()
                timings[label] = []
                for _ in range(repeats + 1):  # the first run warms caches and is dropped
                    began = time.perf_counter()
                    response = await client.get("/api/v1/reports/availability", params=params)
                    timings[label].append(time.perf_counter() - began)
                    assert response.status_code == 200, response.text
                timings[label] = timings[label][1:]
                rows = len(response.json()["rows"])
                print(
                    f"  {label:<40} median {statistics.median(timings[label]) * 1000:8.1f} ms"
                    f"  (min {min(timings[label]) * 1000:.1f}, rows {rows})",
                    flush=True,
                )
    return timings


async def main(units: int, repeats: int, keep: bool, seed: int) -> None:
    from app import migrate

    began = time.perf_counter()
    url = _url(NAME)
    await _admin(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)', f'CREATE DATABASE "{NAME}"')
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        conn = await asyncpg.connect(url)
        try:
            checks = await _inventory(conn, units)
            print(f"inventory: {units} communes, {len(checks)} checks", flush=True)
            counts = await _history(conn, checks, seed)
        finally:
            await conn.close()
        await _months(url)
        print(f"history and rollups written in {time.perf_counter() - began:.0f} s: {counts}")
        await _sizes(url)
        print(f"report API, median of {repeats}:")
        await _time_api(url, repeats)
    finally:
        if not keep:
            await _admin(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=3_321)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=33)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    asyncio.run(asyncio.wait_for(main(args.units, args.repeats, args.keep, args.seed), MAX_SECONDS))
