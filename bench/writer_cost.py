"""What the batch writer costs: ``write_batch`` on batches of 1,000 outcomes.

N batches of synthetic outcomes (200 checks, about 5% down so some carry flips
and incident changes, every result in its own slot, probed under a shard lease
epoch as replicas do) are written one transaction per batch, as the pipeline
does, to a migrated database (a temp SQLite file, or ``--db postgresql://...``,
where the bench creates, migrates and drops a database of its own). It prints
the wall time per batch and this process's CPU per outcome (the database
server's CPU is not counted), then writes the first batch again, which must
store nothing more (exactly once).

    .venv/bin/python -m bench.writer_cost                       # 20 batches of 1,000, SQLite
    .venv/bin/python -m bench.writer_cost --db postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python -m bench.writer_cost --profile 15          # the top 15 functions, cProfile
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/x.py` puts bench/ on sys.path, not the root
    sys.path.insert(0, str(ROOT))

from bench.journal_cost import _checks  # noqa: E402
from bench.run_checks import _cpu_seconds, bench_database  # noqa: E402

if TYPE_CHECKING:
    from app.monitor.evaluator import Outcome

MAX_BATCHES = 500


def _outcomes(checks: list[tuple[int, int]], n: int) -> list[Outcome]:
    from app.monitor.evaluator import CheckState, apply_result
    from probes import ErrorKind, ProbeResult

    rng = random.Random(7)
    states = [CheckState(c, u) for c, u in checks]
    up = ProbeResult.up(0.042, "HTTP 200", status_code=200, bytes=5120)
    down = ProbeResult.down(ErrorKind.CONNECT, "connection refused")
    t0 = datetime.now(UTC) - timedelta(days=1)
    out = []
    for i in range(n):
        cs = states[i % len(states)]
        result = down if rng.random() < 0.05 else up
        outcome = apply_result(cs, result, t0 + timedelta(milliseconds=100 * i))
        outcome.result_row["slot"] = i // len(states)
        outcome.shard, outcome.epoch = cs.check_id % 256, 0  # migration 0007: epoch 0
        out.append(outcome)
    return out


async def _run(db: str | None, batches: int, size: int, top: int) -> dict[str, Any]:
    from sqlalchemy import func, select

    from app.db import make_engine, make_sessionmaker
    from app.models import ProbeResult
    from app.monitor.writer import write_batch

    with tempfile.TemporaryDirectory(prefix="writer-cost-") as tmp:
        async with bench_database(db, Path(tmp)) as url:
            engine = make_engine(url)
            sm = make_sessionmaker(engine)
            outcomes = _outcomes(await _checks(sm), batches * size)
            chunks = [outcomes[i : i + size] for i in range(0, len(outcomes), size)]
            async with sm() as s, s.begin():  # warm the pool and the statement caches
                await write_batch(s, chunks[0][:10])
            walls: list[float] = []
            profiler = cProfile.Profile() if top else None
            cpu0 = _cpu_seconds()
            for chunk in chunks:
                t = time.perf_counter()
                if profiler:
                    profiler.enable()
                async with sm() as s, s.begin():
                    await write_batch(s, chunk)
                if profiler:
                    profiler.disable()
                walls.append(time.perf_counter() - t)
            cpu = _cpu_seconds() - cpu0
            async with sm() as s, s.begin():  # a retried batch stores nothing twice
                await write_batch(s, chunks[0])
            async with sm() as s:
                rows = await s.scalar(select(func.count()).select_from(ProbeResult))
            await engine.dispose()
    if rows != len(outcomes):
        raise SystemExit(f"exactly once broken: {rows} rows for {len(outcomes)} outcomes")
    profile = ""
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
        profile = out.getvalue()
    return {
        "cpu_us": cpu / len(outcomes) * 1e6,
        "wall_ms": [w * 1e3 for w in walls],
        "rows": rows,
        "profile": profile,
    }


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--batches", type=int, default=20, help=f"at most {MAX_BATCHES}")
    p.add_argument("--batch-size", type=int, default=1_000)
    p.add_argument("--db", default=None, help="database URL (default: a temp SQLite file)")
    p.add_argument("--profile", type=int, default=0, metavar="N", help="print the top N (cProfile)")
    args: Any = p.parse_args(argv)
    batches = max(1, min(args.batches, MAX_BATCHES))
    r = asyncio.run(_run(args.db, batches, args.batch_size, args.profile))
    walls = sorted(r["wall_ms"])
    print(
        f"{batches} batches of {args.batch_size}, database {args.db or 'sqlite (temp file)'}\n"
        f"  wall per batch: median {statistics.median(walls):.1f} ms, "
        f"max {walls[-1]:.1f} ms\n"
        f"  CPU of this process: {r['cpu_us']:.1f} µs per outcome\n"
        f"  rows {r['rows']} (= outcomes, after writing the first batch again)"
    )
    if r["profile"]:
        print(r["profile"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
