"""Every SQL panel runs on a real, migrated PostgreSQL as the read-only role that
deploy/postgres/init/01-readonly.sh creates, and the SLA queries get a scripted day
right once the rollup job has run (they read the rollups, as the reports do)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest

from app import migrate
from app.db import make_engine, make_sessionmaker
from app.reports import rollup
from tests.deploy.tools import DEPLOY
from tests.support.tools import require_tool

PG_ADMIN = os.environ.get("THONGSUOT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
T0 = datetime(2026, 11, 1, tzinfo=UTC)
T1 = T0 + timedelta(hours=10)
H = timedelta(hours=1)
BEFORE = T0 - timedelta(days=3)


def _url(db: str, user: str = "postgres") -> str:
    base = PG_ADMIN.rsplit("/", 1)[0]
    return re.sub(r"//[^@/]+@", f"//{user}@", base) + f"/{db}"


async def _admin(*statements: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        for stmt in statements:
            await conn.execute(stmt)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def database() -> Iterator[tuple[str, str]]:
    """A fresh database with the read-only role made first (as the postgres image
    runs init scripts before the app migrates), then migrated and seeded."""
    require_tool("psql")
    db, role = f"thongsuot_deploy_test_{os.getpid()}", f"grafana_ro_test_{os.getpid()}"
    asyncio.run(
        _admin(
            f'DROP DATABASE IF EXISTS "{db}"',
            f'DROP ROLE IF EXISTS "{role}"',
            f'CREATE DATABASE "{db}"',
        )
    )
    try:
        _run_init_script(db, role)
        migrate.upgrade(_url(db))
        asyncio.run(_seed(_url(db)))
        yield db, role
    finally:
        asyncio.run(
            _admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)', f'DROP ROLE IF EXISTS "{role}"')
        )


def _run_init_script(db: str, role: str) -> None:
    host_port = PG_ADMIN.split("@", 1)[1].split("/", 1)[0]
    host, _, port = host_port.partition(":")
    env = {
        **os.environ,
        "POSTGRES_USER": "postgres",
        "POSTGRES_DB": db,
        "PGHOST": host,
        "PGPORT": port or "5432",
        "GRAFANA_RO_USER": role,
        "GRAFANA_RO_PASSWORD": "not-a-real-secret-0",
    }
    res = subprocess.run(
        ["bash", str(DEPLOY / "postgres" / "init" / "01-readonly.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr


ROLLED_UP_AT = datetime(2026, 11, 3, tzinfo=UTC)  # 07:00 on Tuesday 3 November in Hà Nội


async def _seed(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await _seed_scenario(conn)
    finally:
        await conn.close()
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            await rollup.recompute(session, (BEFORE - timedelta(days=1)).date(), ROLLED_UP_AT)
    finally:
        await engine.dispose()


# unit code -> checks: (key, critical, [(at, old, new)])
SCENARIO: dict[str, list[tuple[str, bool, list[tuple[datetime, str, str]]]]] = {
    # two critical checks overlap: the unit is down from 1 h to 3 h; a non-critical
    # check down all along does not count
    "90001": [
        (
            "a1",
            True,
            [(BEFORE, "unknown", "up"), (T0 + H, "up", "down"), (T0 + 2 * H, "down", "up")],
        ),
        (
            "a2",
            True,
            [(BEFORE, "unknown", "up"), (T0 + 1.5 * H, "up", "down"), (T0 + 3 * H, "down", "up")],
        ),
        ("a3", False, [(BEFORE, "unknown", "down")]),
    ],
    # maintenance 4-5 h is left out; down from 9 h to the end of the period
    "90002": [
        (
            "b1",
            True,
            [
                (BEFORE, "unknown", "up"),
                (T0 + 4 * H, "up", "maintenance"),
                (T0 + 5 * H, "maintenance", "up"),
                (T0 + 9 * H, "up", "down"),
            ],
        ),
    ],
    # first known at 2 h: unknown before that
    "90003": [("c1", True, [(T0 + 2 * H, "unknown", "up")])],
    # degraded all along counts as available
    "90004": [("d1", True, [(BEFORE, "unknown", "degraded")])],
    # the unit's state is the worst by app.vocab.states.SEVERITY
    # (down > unknown > maintenance > degraded > up): one check unknown until 5 h
    # makes the unit unknown then, although the other is up ...
    "90005": [
        ("e1", True, [(BEFORE, "unknown", "up")]),
        ("e2", True, [(T0 + 5 * H, "unknown", "degraded")]),
    ],
    # ... and maintenance 1-2 h outranks the other check's degraded
    "90006": [
        ("f1", True, [(BEFORE, "unknown", "degraded")]),
        (
            "f2",
            True,
            [
                (BEFORE, "unknown", "up"),
                (T0 + H, "up", "maintenance"),
                (T0 + 2 * H, "maintenance", "up"),
            ],
        ),
    ],
}
INCIDENTS = [("a1", T0 + H, T0 + 2 * H), ("a2", T0 + 1.5 * H, T0 + 3 * H), ("b1", T0 + 9 * H, None)]


async def _seed_scenario(conn: asyncpg.Connection) -> None:
    checks: dict[str, tuple[int, int]] = {}
    for code, items in SCENARIO.items():
        unit_id = await conn.fetchval(
            "INSERT INTO unit (code, name, kind, settings) VALUES ($1, $2, 'commune', '{}')"
            " RETURNING id",
            code,
            f"Xã {code}",
        )
        service_id = await conn.fetchval(
            "INSERT INTO service (key, unit_id, kind, name, contacts)"
            " VALUES ($1, $2, 'commune_centre', 'TTPVHCC', '[]') RETURNING id",
            f"svc.{code}",
            unit_id,
        )
        for key, critical, flips in items:
            check_id = await conn.fetchval(
                'INSERT INTO "check" (key, service_id, unit_id, name, kind, target, config,'
                " config_hash, interval_s, timeout_s, failure_threshold, recovery_threshold,"
                " critical, enabled, state, streak_count)"
                " VALUES ($1, $2, $3, $4, 'http', 'http://127.0.0.1/', '{}', 'x', 30, 5, 2, 1,"
                " $5, true, $6, 0) RETURNING id",
                key,
                service_id,
                unit_id,
                f"Kiểm tra {key}",
                critical,
                flips[-1][2],
            )
            checks[key] = (check_id, unit_id)
            for i, (at, old, new) in enumerate(flips):
                await conn.execute(
                    "INSERT INTO flip (uid, check_id, at, old_state, new_state, reason,"
                    " created_at) VALUES ($1, $2, $3, $4, $5, '', $3)",
                    f"{key}-{i}",
                    check_id,
                    at,
                    old,
                    new,
                )
    for key, start, end in INCIDENTS:
        check_id, unit_id = checks[key]
        await conn.execute(
            "INSERT INTO incident (check_id, unit_id, started_at, ended_at, error_kind, message)"
            " VALUES ($1, $2, $3, $4, 'timeout', 'hết thời gian chờ')",
            check_id,
            unit_id,
            start,
            end,
        )


def _sql_targets() -> list[tuple[str, str, str]]:
    found = []
    for lang in ("vi", "en"):
        for path in sorted((DEPLOY / "grafana" / "dashboards" / lang).glob("*.json")):
            dash = json.loads(path.read_text(encoding="utf-8"))
            for panel in dash["panels"]:
                for t in panel["targets"]:
                    if "rawSql" in t:
                        found.append((f"{lang}/{path.name}", panel["title"], t["rawSql"]))
    return found


def grafana_sql(raw: str, unit: str = "90001") -> str:
    """Expand Grafana's PostgreSQL macros the way Grafana does for T0..T1."""
    frm, to = f"'{T0.isoformat()}'", f"'{T1.isoformat()}'"
    raw = re.sub(r"\$__timeFilter\(([^)]+)\)", lambda m: f"{m[1]} BETWEEN {frm} AND {to}", raw)
    raw = raw.replace("$__timeFrom()", frm).replace("$__timeTo()", to)
    raw = raw.replace("$unit", unit)
    assert "$" not in raw, raw
    return raw


async def _fetch(db: str, role: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(_url(db, role))
    try:
        rows: list[asyncpg.Record] = await conn.fetch(query)
        return rows
    finally:
        await conn.close()


def _rows(database: tuple[str, str], title_part: str, lang: str = "en") -> list[dict[str, Any]]:
    raw = next(
        q for name, title, q in _sql_targets() if name.startswith(lang) and title_part in title
    )
    return [dict(r) for r in asyncio.run(_fetch(*database, grafana_sql(raw)))]


def test_every_sql_panel_runs_as_the_read_only_role(database: tuple[str, str]) -> None:
    targets = _sql_targets()
    assert len(targets) == 8  # 4 panels x 2 languages
    for name, title, raw in targets:
        rows = asyncio.run(_fetch(*database, grafana_sql(raw)))
        assert rows, f"{name} / {title}: no rows"


def test_read_only_role_cannot_write(database: tuple[str, str]) -> None:
    with pytest.raises(asyncpg.PostgresError):
        asyncio.run(_fetch(*database, "DELETE FROM flip"))


def test_sla_availability_per_unit(database: tuple[str, str]) -> None:
    """T0..T1 (07:00-17:00 on Sunday 1 November in Hà Nội) reads as that whole local day:
    1,440 minutes on 24/7, none on service hours (a Sunday)."""
    rows = _rows(database, "Availability per unit")
    got = {
        r["Unit code"]: (
            None if r["Availability, 24/7 (%)"] is None else float(r["Availability, 24/7 (%)"]),
            float(r["Down, 24/7 (min)"]),
            float(r["Maintenance (min)"]),
            float(r["Unknown (min)"]),
            r["Availability, service hours (%)"],
            float(r["Down, service hours (min)"]),
        )
        for r in rows
    }
    assert got == {
        "90001": (91.667, 120.0, 0.0, 0.0, None, 0.0),  # down 1 h..3 h of 24 h
        "90002": (65.217, 480.0, 60.0, 0.0, None, 0.0),  # down from 9 h (16:00) to midnight
        "90003": (100.0, 0.0, 0.0, 540.0, None, 0.0),  # unknown from midnight until 2 h
        "90004": (100.0, 0.0, 0.0, 0.0, None, 0.0),  # degraded counts as available
        "90005": (100.0, 0.0, 0.0, 720.0, None, 0.0),  # unknown outranks up, until 5 h
        "90006": (100.0, 0.0, 60.0, 0.0, None, 0.0),  # maintenance outranks degraded
    }
    assert [r["Unit code"] for r in rows] == ["90002", "90001", "90003", "90004", "90005", "90006"]


def test_service_hours_beside_24_7(database: tuple[str, str]) -> None:
    """A working Monday (2 November) holds 7 h 30 of office hours; 90002 is down all of them."""
    raw = next(q for name, title, q in _sql_targets() if name.startswith("en") and "Avail" in title)
    monday = T0 + timedelta(days=1)
    query = grafana_sql(raw).replace(f"'{T0.isoformat()}'", f"'{monday.isoformat()}'")
    rows = {
        r["Unit code"]: r
        for r in asyncio.run(
            _fetch(*database, query.replace(f"'{T1.isoformat()}'", f"'{monday.isoformat()}'"))
        )
    }
    down = rows["90002"]
    assert float(down["Availability, service hours (%)"]) == 0.0
    assert float(down["Down, service hours (min)"]) == 450.0
    assert float(down["Down, 24/7 (min)"]) == 24 * 60
    assert float(rows["90001"]["Availability, service hours (%)"]) == 100.0


def test_vietnamese_headings(database: tuple[str, str]) -> None:
    rows = _rows(database, "Khả dụng theo đơn vị", lang="vi")
    assert rows[0]["Mã đơn vị"] == "90002"
    assert float(rows[0]["Khả dụng cả ngày (%)"]) == 65.217
    assert rows[0]["Khả dụng trong giờ hành chính (%)"] is None


def test_incident_statistics(database: tuple[str, str]) -> None:
    """Counted as the report counts them: unit-level down runs (90001's two overlapping
    check outages are one), MTTR over resolved runs only (90002's open run has none)."""
    rows = {r["Unit code"]: r for r in _rows(database, "Incidents per unit")}
    assert set(rows) == {"90001", "90002"}
    a, b = rows["90001"], rows["90002"]
    assert (a["Incidents, 24/7"], float(a["MTTR, 24/7 (min)"]), float(a["Longest (min)"])) == (
        1,
        120.0,
        120.0,
    )
    assert (a["Open"], a["Incidents, service hours"], a["MTTR, service hours (min)"]) == (
        0,
        0,
        None,
    )
    assert (b["Incidents, 24/7"], b["MTTR, 24/7 (min)"], float(b["Longest (min)"]), b["Open"]) == (
        1,
        None,
        480.0,
        1,
    )


def test_open_incidents_and_flips(database: tuple[str, str]) -> None:
    open_rows = _rows(database, "Open incidents")
    assert [r["Check"] for r in open_rows] == ["Kiểm tra b1"]
    flips = _rows(database, "State changes")
    # unit 90001 in T0..T1: two flips each of a1 and a2; a3's flip is before T0.
    # States read as app.vocab.states' words.
    assert [(r["Check"], r["Old state"], r["New state"]) for r in flips] == [
        ("Kiểm tra a2", "Down", "Up"),
        ("Kiểm tra a1", "Down", "Up"),
        ("Kiểm tra a2", "Up", "Down"),
        ("Kiểm tra a1", "Up", "Down"),
    ]
    vi = _rows(database, "Các lần đổi trạng thái", lang="vi")
    assert [r["Trạng thái mới"] for r in vi] == ["Hoạt động", "Hoạt động", "Gián đoạn", "Gián đoạn"]
