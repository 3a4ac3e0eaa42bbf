"""What the outcome journal costs: CPU per outcome through the result pipeline,
with the journal (append + fsync every 50 ms, before an outcome is accepted) and
without it (outcomes only in memory until the batch write).

N synthetic outcomes (200 checks, a realistic mix of up/down with flips) are put
into a ResultPipeline at a steady rate, written to a migrated database (a temp
SQLite file, or ``--db postgresql://...``), and the CPU of this process (all
threads: the journal's fsync runs in a worker thread) is divided by N. Each mode
runs ``--rounds`` times, alternating, on a fresh database and data directory.

    .venv/bin/python -m bench.journal_cost                       # 20,000 outcomes, 5,000/s
    .venv/bin/python -m bench.journal_cost --outcomes 50000 --rate 10000
    .venv/bin/python -m bench.journal_cost --db postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
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

from bench.run_checks import _cpu_seconds, bench_database  # noqa: E402

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from app.monitor.evaluator import Outcome

CHECKS = 200


async def _checks(sm: async_sessionmaker[AsyncSession]) -> list[tuple[int, int]]:
    from app.models import Check, Service, Unit

    ids = []
    async with sm() as s, s.begin():
        for i in range(CHECKS):
            unit = Unit(code=str(20000 + i), name=f"Xã {i}", kind="commune", settings={})
            s.add(unit)
            await s.flush()
            svc = Service(
                key=f"{unit.code}.commune_centre", unit_id=unit.id, kind="commune_centre",
                name=f"TTPVHCC {i}", contacts=[],
            )  # fmt: skip
            s.add(svc)
            await s.flush()
            check = Check(
                key=f"{unit.code}.centre.web", service_id=svc.id, unit_id=unit.id, name="web",
                kind="http", target="http://127.0.0.1:9/", config={"url": "http://127.0.0.1:9/"},
                config_hash="x", interval_s=30, timeout_s=2.0, failure_threshold=2,
                recovery_threshold=1,
            )  # fmt: skip
            s.add(check)
            await s.flush()
            ids.append((check.id, unit.id))
    return ids


def _outcomes(checks: list[tuple[int, int]], n: int) -> list[Outcome]:
    from app.monitor.evaluator import CheckState, apply_result
    from probes import ErrorKind, ProbeResult

    rng = random.Random(7)
    states = [CheckState(c, u) for c, u in checks]
    up = ProbeResult.up(0.042)
    down = ProbeResult.down(ErrorKind.CONNECT, "connection refused")
    t0 = datetime.now(UTC) - timedelta(days=1)
    out = []
    for i in range(n):
        cs = states[i % len(states)]
        result = down if rng.random() < 0.05 else up
        out.append(apply_result(cs, result, t0 + timedelta(milliseconds=100 * i)))
    return out


def _counting_journal(directory: Path) -> Any:
    """A Journal that counts its appends (one append is one write + fsync)."""
    from app.monitor.journal import Journal

    class CountingJournal(Journal):
        appends = 0

        async def append(self, outcomes: Sequence[Outcome]) -> bool:
            self.appends += 1
            return await super().append(outcomes)

    return CountingJournal(directory)


async def _run(journal: bool, n: int, rate: int, db: str | None) -> dict[str, float]:
    from app.db import make_engine, make_sessionmaker
    from app.monitor.pipeline import ResultPipeline

    with tempfile.TemporaryDirectory(prefix="journal-cost-") as tmp:
        async with bench_database(db, Path(tmp)) as url:
            engine = make_engine(url)
            sm = make_sessionmaker(engine)
            outcomes = _outcomes(await _checks(sm), n)
            jr = _counting_journal(Path(tmp) / "journal") if journal else None
            pipe = ResultPipeline(sm, journal=jr, flush_interval=1.0)
            pipe.start()
            chunk = max(1, rate // 100)  # every 10 ms
            cpu0, wall0 = _cpu_seconds(), time.perf_counter()
            for i in range(0, n, chunk):
                for outcome in outcomes[i : i + chunk]:
                    pipe.put(outcome)
                await asyncio.sleep(0.01)
            await pipe.stop()
            cpu, wall = _cpu_seconds() - cpu0, time.perf_counter() - wall0
            await engine.dispose()
            assert pipe.stats.results_written == n, pipe.stats
    fsyncs = jr.appends if jr is not None else 0
    return {"cpu_us": cpu / n * 1e6, "wall_s": wall, "fsyncs": fsyncs}


async def _main(n: int, rate: int, rounds: int, db: str | None) -> None:
    runs: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    for _ in range(rounds):
        for journal in (False, True):
            runs[journal].append(await _run(journal, n, rate, db))
    print(f"{n} outcomes at {rate}/s, {rounds} rounds, database {db or 'sqlite (temp file)'}")
    for journal, label in ((False, "without journal"), (True, "with journal   ")):
        cpu = [r["cpu_us"] for r in runs[journal]]
        fsyncs = runs[journal][-1]["fsyncs"]
        print(
            f"  {label}: CPU {statistics.median(cpu):7.1f} µs/outcome "
            f"(runs: {', '.join(f'{c:.1f}' for c in cpu)}), fsyncs {fsyncs:.0f}"
        )
    extra = statistics.median(r["cpu_us"] for r in runs[True]) - statistics.median(
        r["cpu_us"] for r in runs[False]
    )
    print(f"  journal cost: {extra:+.1f} µs CPU per outcome (median difference)")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--outcomes", type=int, default=20_000)
    p.add_argument("--rate", type=int, default=5_000, help="outcomes per second")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--db", default=None, help="database URL (default: a temp SQLite file)")
    args: Any = p.parse_args(argv)
    asyncio.run(_main(args.outcomes, args.rate, args.rounds, args.db))
    return 0


if __name__ == "__main__":
    sys.exit(main())
