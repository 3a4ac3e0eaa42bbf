"""A full rollup pass at national size, in one transaction and in chunks.

3,400 communes × 5 checks (bench/report_scale.py's ``_inventory``, 27,200 entities
with services and units) on PostgreSQL, one flip per check 30 h ago and a 7-minute
outage for ~10% of them: the passes the housekeeper runs (``rollup.plan``,
``recompute`` per chunk, ``finish``), unchunked then in chunks of ``--chunk``
checks, twice each; per pass its transactions, the longest one and the whole pass.
Own database, dropped at the end.

    .venv/bin/python bench/rollup_chunks.py
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/x.py` puts bench/ on sys.path, not the root
    sys.path.insert(0, str(ROOT))

import asyncpg  # type: ignore[import-untyped]  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker  # noqa: E402

from app import migrate  # noqa: E402
from app.db import make_engine, make_sessionmaker  # noqa: E402
from app.reports import rollup  # noqa: E402
from bench.report_scale import _admin, _inventory, _url  # noqa: E402

NAME = "thongsuot_bench_rollup_chunks"


async def _flips(url: str, units: int, seed: int, now: datetime) -> None:
    conn = await asyncpg.connect(url)
    try:
        checks = await _inventory(conn, units)
        rng = random.Random(seed)
        rows = []
        for check_id, *_ in checks:
            rows.append((uuid.uuid4().hex, check_id, now - timedelta(hours=30), "unknown", "up"))
            if rng.random() < 0.1:
                at = now - timedelta(hours=rng.uniform(1, 20))
                rows.append((uuid.uuid4().hex, check_id, at, "up", "down"))
                rows.append((uuid.uuid4().hex, check_id, at + timedelta(minutes=7), "down", "up"))
        await conn.copy_records_to_table(
            "flip",
            records=[(*row, "", now) for row in rows],
            columns=["uid", "check_id", "at", "old_state", "new_state", "reason", "created_at"],
        )
        print(f"{len(checks):,} checks, {len(rows):,} flips", flush=True)
    finally:
        await conn.close()


async def full_pass(
    sm: async_sessionmaker[AsyncSession], now: datetime, chunk: int | None
) -> tuple[int, float, float]:
    """Transactions, the longest one and the whole pass (seconds), as the housekeeper
    runs it (app/monitor/housekeeping.py ``_pass``)."""
    began = time.perf_counter()
    async with sm() as s, s.begin():
        todo = await rollup.plan(s, now, None, chunk)
    longest = 0.0
    for ids in todo.chunks:
        start = time.perf_counter()
        async with sm() as s, s.begin():
            await rollup.recompute(s, todo.first_day, now, ids, live=todo.live)
        longest = max(longest, time.perf_counter() - start)
    async with sm() as s, s.begin():
        await rollup.finish(s, todo, now)
    return len(todo.chunks) + 2, longest, time.perf_counter() - began


async def run(units: int, chunk: int, seed: int) -> None:
    url = _url(NAME)
    await _admin(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)', f'CREATE DATABASE "{NAME}"')
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        now = datetime.now(UTC)
        await _flips(url, units, seed, now)
        engine = make_engine(url.replace("postgresql://", "postgresql+asyncpg://"))
        try:
            sm = make_sessionmaker(engine)
            for size in (None, chunk, None, chunk):
                n, longest, whole = await full_pass(sm, now, size)
                label = "unchunked" if size is None else f"chunks of {size:,} checks"
                print(
                    f"{label:<24} {n:3d} transactions, longest {longest:5.1f} s, "
                    f"pass {whole:5.1f} s",
                    flush=True,
                )
        finally:
            await engine.dispose()
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--units", type=int, default=3_400, help="communes, 5 checks each")
    p.add_argument("--chunk", type=int, default=rollup.CHUNK_CHECKS, help="checks per chunk")
    p.add_argument("--seed", type=int, default=33)
    args = p.parse_args(argv)
    asyncio.run(run(args.units, args.chunk, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
