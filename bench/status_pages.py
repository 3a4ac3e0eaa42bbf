"""Status page bench (issue 11.1): the public pages at national scale.

Fills a database of its own (a fresh SQLite file, or a PostgreSQL database that is
created and dropped) with 3,400 units (a national unit, 34 provinces, 3,365
communes), 2 services and 5 critical checks per unit, 90 days of daily rollups per
unit and service, 60 open incidents (some suppressed under a provincial one) and 20
maintenance windows, then times requests in process (httpx ASGITransport, the
app as served, page cache on):

- cold: an empty cache (the snapshot of 17,000 checks and the page are built);
- unit, snapshot warm: the unit's page built from a cached snapshot;
- warm: served from the page cache (every request within its 10 s).

Median of ``--runs`` each. Times are wall clock on this machine; run it twice.

    .venv/bin/python -m bench.status_pages                       # SQLite
    .venv/bin/python -m bench.status_pages --db postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
from sqlalchemy import insert, update

from app import migrate
from app.config import Settings
from app.db import make_engine, make_sessionmaker
from app.main import create_app
from app.models import Check, Incident, MaintenanceWindow, RollupDay, Service, Unit
from app.status.cache import PageCache
from app.vocab.fmt import DISPLAY_TZ

PG_NAME = "thongsuot_bench_status"
PROVINCES = 34
CHECKS = ("http", "tcp", "heartbeat", "icmp", "dns")


async def fill(url: str, units: int, days: int) -> dict[str, int]:
    rng = random.Random(11)
    now = datetime.now(UTC)
    engine = make_engine(url)
    sm = make_sessionmaker(engine)
    counts: dict[str, int] = {}
    async with sm() as s, s.begin():
        s.add(
            Unit(id=1, code="VN", name="Dịch vụ dùng chung quốc gia", kind="national", settings={})
        )
        rows: list[dict[str, Any]] = []
        for p in range(PROVINCES):
            rows.append(
                {
                    "id": 2 + p,
                    "code": f"{p + 1:02d}",
                    "name": f"Tỉnh số {p + 1}",
                    "kind": "province",
                    "parent_id": None,
                    "settings": {},
                }
            )
        communes = units - 1 - PROVINCES
        for c in range(communes):
            rows.append(
                {
                    "id": 2 + PROVINCES + c,
                    "code": f"{10000 + c}",
                    "name": rng.choice(
                        [
                            "Hoàng Hoa Thám",
                            "Bắc Thái Ninh",
                            "Bình Định",
                            "Đông Anh",
                            "Dương Kinh",
                            "Tân Hưng",
                            "Ấp Bắc",
                        ]
                    )
                    + f" {c}",
                    "kind": rng.choice(["commune", "commune", "ward"]),
                    "parent_id": 2 + c % PROVINCES,
                    "settings": {"address": f"Số {c} đường Lê Lợi", "hotline": "0221 3861 234"},
                }
            )
        await s.execute(insert(Unit), rows)
        unit_ids = [1] + [r["id"] for r in rows]
        services: list[dict[str, Any]] = []
        checks: list[dict[str, Any]] = []
        for u in unit_ids:
            kind = (
                "national_portal"
                if u == 1
                else "provincial_system"
                if u <= 1 + PROVINCES
                else "commune_centre"
            )
            for n in range(2):
                sid = len(services) + 1
                services.append(
                    {
                        "id": sid,
                        "key": f"{u}.s{n}",
                        "unit_id": u,
                        "kind": kind,
                        "name": f"Dịch vụ {n} của đơn vị {u}",
                        "contacts": [],
                    }
                )
            for i, probe in enumerate(CHECKS):
                key = f"{u}.s{i % 2}.{probe}"
                checks.append(
                    {
                        "id": len(checks) + 1,
                        "key": key,
                        "service_id": services[-2 + i % 2]["id"],
                        "unit_id": u,
                        "name": f"Kiểm tra {probe}",
                        "kind": probe,
                        "target": "https://example.vn/",
                        "config": {},
                        "config_hash": hashlib.sha256(key.encode()).hexdigest(),
                        "interval_s": 60,
                        "timeout_s": 5.0,
                        "state": "up",
                        "state_since": now - timedelta(days=3),
                    }
                )
        await s.execute(insert(Service), services)
        for i in range(0, len(checks), 5000):
            await s.execute(insert(Check), checks[i : i + 5000])
        counts.update(units=len(unit_ids), services=len(services), checks=len(checks))
    async with (
        sm() as s,
        s.begin(),
    ):  # 60 open incidents: 3 provinces down, 40 suppressed under them
        down = rng.sample([x for x in checks if x["unit_id"] > 1 + PROVINCES], 57)
        parents = [x for x in checks if x["unit_id"] in (2, 3, 4) and x["kind"] == "http"]
        incidents: list[dict[str, Any]] = []
        for chk in parents + down:
            incidents.append(
                {
                    "id": len(incidents) + 1,
                    "check_id": chk["id"],
                    "unit_id": chk["unit_id"],
                    "started_at": now - timedelta(minutes=rng.randint(5, 600)),
                    "error_kind": rng.choice(["timeout", "connect", "http_status"]),
                    "message": "ReadError",
                    "notify_state": "paged",
                }
            )
        for row in incidents[3:43]:
            row.update(
                notify_state="suppressed",
                suppressed_reason="parent",
                parent_incident_id=1 + row["id"] % 3,
            )
        await s.execute(insert(Incident), incidents)
        for chk in parents + down:
            await s.execute(update(Check).where(Check.id == chk["id"]).values(state="down"))
        windows = [
            {
                "scope": "unit",
                "target": f"{10000 + i * 7}",
                "reason": "Nâng cấp đường truyền",
                "starts_at": now + timedelta(hours=i * 5 - 2),
                "ends_at": now + timedelta(hours=i * 5),
                "last_ends_at": now + timedelta(hours=i * 5),
                "timezone": "Asia/Ho_Chi_Minh",
                "source": "api",
                "created_by": "bench",
            }
            for i in range(20)
        ]
        await s.execute(insert(MaintenanceWindow), windows)
        counts.update(incidents=len(incidents), maintenance=len(windows))
    today = now.astimezone(DISPLAY_TZ).date()
    rollups = 0
    entities = [("unit", u) for u in unit_ids] + [("service", v["id"]) for v in services]
    batch: list[dict[str, Any]] = []
    for level, entity in entities:
        for back in range(1, days + 1):
            down_s = 840.0 if rng.random() < 0.03 else 0.0
            batch.append(
                {
                    "level": level,
                    "entity_id": entity,
                    "day": today - timedelta(days=back),
                    "up_s": 86_400.0 - down_s,
                    "down_s": down_s,
                    "sh_up_s": 28_800.0 - down_s,
                    "sh_down_s": down_s,
                }
            )
            if len(batch) >= 20_000:
                async with sm() as s, s.begin():
                    await s.execute(insert(RollupDay), batch)
                rollups += len(batch)
                batch = []
    if batch:
        async with sm() as s, s.begin():
            await s.execute(insert(RollupDay), batch)
        rollups += len(batch)
    counts["rollup_days"] = rollups
    await engine.dispose()
    return counts


async def _time(client: httpx.AsyncClient, path: str) -> float:
    t0 = time.perf_counter()
    resp = await client.get(path)
    elapsed = time.perf_counter() - t0
    assert resp.status_code == 200, (path, resp.status_code, resp.text[:300])
    return elapsed * 1000


async def measure(url: str, runs: int) -> dict[str, float]:
    app = create_app(Settings(database_url=url), run_monitor=False)
    found: dict[str, list[float]] = {}

    def note(name: str, ms: float) -> None:
        found.setdefault(name, []).append(ms)

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as c:
            await c.get("/status")  # imports, DUCET, first connections
            for i in range(runs):
                unit = f"/status/{10007 + i}"
                app.state.status_cache = PageCache()
                note("home, cold (first build)", await _time(c, "/status"))
                note("home, cached", await _time(c, "/status"))
                note("unit, page cold, snapshot cached", await _time(c, unit))
                note("unit, cached", await _time(c, unit))
                note("search, page cold", await _time(c, f"/status?q=hoang+hoa+{i}"))
                note("badge", await _time(c, f"/status/{10008 + i}/badge.svg"))
                note("feed.atom, page cold", await _time(c, "/status/feed.atom"))
                app.state.status_cache = PageCache()
                note("unit, cold (snapshot + page)", await _time(c, unit))
                # past its 10 s: served stale at once while one rebuild runs behind it
                app.state.status_cache.ttl_s = 0.0
                note("home, stale served", await _time(c, "/status"))
                note("unit, stale served", await _time(c, unit))
                for _ in range(200):  # let the background rebuilds finish
                    await asyncio.sleep(0.01)
            size = len((await c.get("/status")).content)
    result = {k: statistics.median(v) for k, v in found.items()}
    result["home page bytes"] = size
    return result


async def _pg(admin: str, *statements: str) -> None:
    conn = await asyncpg.connect(admin)
    try:
        for stmt in statements:
            await conn.execute(stmt)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite", help="sqlite, or a PostgreSQL admin URL")
    parser.add_argument("--units", type=int, default=3_400)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if args.db == "sqlite":
        path = Path(tempfile.mkdtemp(prefix="bench-status-")) / "status.db"
        sync_url, url = f"sqlite:///{path}", f"sqlite+aiosqlite:///{path}"
    else:
        asyncio.run(
            _pg(
                args.db,
                f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)',
                f'CREATE DATABASE "{PG_NAME}"',
            )
        )
        sync_url = args.db.rsplit("/", 1)[0] + "/" + PG_NAME
        url = sync_url.replace("postgresql://", "postgresql+asyncpg://")
    try:
        migrate.upgrade(sync_url)
        t0 = time.perf_counter()
        counts = asyncio.run(fill(url, args.units, args.days))
        print(f"filled in {time.perf_counter() - t0:.1f} s: {counts}")
        for name, value in asyncio.run(measure(url, args.runs)).items():
            unit = "" if "bytes" in name else " ms"
            print(f"{name:>24}: {value:8.1f}{unit}")
    finally:
        if args.db != "sqlite":
            asyncio.run(_pg(args.db, f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
