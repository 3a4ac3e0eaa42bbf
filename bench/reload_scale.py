"""Inventory reload at national scale: its wall time and how long it stalls the event loop.

Builds an inventory of N commune-level units through a commune template of 6
checks (2,834 units ≈ 17,000 checks), every target on 127.0.0.1 port 9 with an
hour's interval, starts the app with the monitor on a fresh SQLite or PostgreSQL
database, then
times the first sync at start-up and several reloads of the unchanged file, while
a 10 ms ticker records the event loop's worst stall during each reload.

    python bench/reload_scale.py --units 2834
    python bench/reload_scale.py --units 2834 --db postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import migrate
from app.config import Settings
from app.main import create_app

CHECKS = ("backoffice", "gateway", "public", "kiosk", "queue", "wan")
HEAD = """\
version: 1
province:
  code: "33"
  name: Tỉnh Thử Nghiệm
  defaults: {interval: 3600, timeout: 5}
  services:
    - kind: provincial_system
      name: Hệ thống TTHC tỉnh
      checks:
        - {name: backoffice, kind: http, options: {url: "http://127.0.0.1:9/"}}
commune_template:
  services:
    - key: centre
      kind: commune_centre
      name: Trung tâm phục vụ hành chính công {name}
      checks:
"""


def build_inventory(units: int, out: Path) -> int:
    """``units`` synthetic communes of 6 checks each, all on loopback; returns checks."""
    lines = [HEAD]
    lines += [
        f'        - {{name: {n}, kind: http, options: {{url: "http://127.0.0.1:9/{{code}}/{n}"}}}}\n'
        for n in CHECKS
    ]
    lines.append("units:\n")
    lines += [
        f'  - {{code: "{90000 + i}", name: Thử Nghiệm {i}, kind: commune}}\n' for i in range(units)
    ]
    out.write_text("".join(lines), encoding="utf-8")
    return units * len(CHECKS) + 1


async def _stall_during(action: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """(wall seconds of ``action``, worst event-loop stall in seconds meanwhile)."""
    worst = 0.0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal worst
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            worst = max(worst, now - last - 0.01)
            last = now

    task = asyncio.create_task(ticker())
    start = time.perf_counter()
    await action()
    wall = time.perf_counter() - start
    done.set()
    await task
    return wall, worst


async def run(units: int, db: str | None, reloads: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "inventory.yaml"
        checks = build_inventory(units, path)
        url = db or f"sqlite:///{tmp}/reload.db"
        await asyncio.to_thread(migrate.upgrade, url)
        settings = Settings(database_url=url, inventory=path)
        app = create_app(settings)
        start = time.perf_counter()
        async with app.router.lifespan_context(app):
            print(f"{checks:,} checks ({units:,} units), {path.stat().st_size / 1e6:.1f} MB YAML")
            print(f"start-up incl. first sync: {time.perf_counter() - start:.2f} s")
            monitor = app.state.monitor
            walls, stalls = [], []
            for _ in range(reloads):
                wall, stall = await _stall_during(monitor.reload)
                walls.append(wall)
                stalls.append(stall)
            _report(f"unchanged reload x{reloads}", walls, stalls)
            walls, stalls = [], []
            for i in range(reloads):  # new bytes, same checks: parse + diff, nothing written
                with path.open("a", encoding="utf-8") as fh:
                    fh.write(f"# touched {i}\n")
                wall, stall = await _stall_during(monitor.reload)
                walls.append(wall)
                stalls.append(stall)
            _report(f"edited-file reload (a comment) x{reloads}", walls, stalls)


def _report(what: str, walls: list[float], stalls: list[float]) -> None:
    print(
        f"{what}: wall median {statistics.median(walls):.3f} s (max {max(walls):.3f}); "
        f"worst loop stall median {statistics.median(stalls) * 1000:.0f} ms "
        f"(max {max(stalls) * 1000:.0f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--units", type=int, default=2834)
    parser.add_argument("--db", default=None, help="PostgreSQL URL (default: a SQLite file)")
    parser.add_argument("--reloads", type=int, default=5)
    args = parser.parse_args()
    if args.db and args.db.startswith("postgresql"):
        _reset_pg(args.db)
    asyncio.run(run(args.units, args.db, args.reloads))


def _reset_pg(url: str) -> None:
    """A clean schema in the given database (it is the bench's own)."""
    import asyncpg

    async def reset() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        finally:
            await conn.close()

    asyncio.run(reset())


if __name__ == "__main__":
    main()
