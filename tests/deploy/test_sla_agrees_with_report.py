"""The SLA dashboard and the monthly XLSX agree (issue 12.3): a known November in
PostgreSQL — outages across the lunch break, a month boundary and a declared day off,
maintenance, the monitor's own downtime, overlapping critical checks, a unit first seen
mid-month, an outage still open — the rollup job, then per unit the availability, down
minutes, incidents and MTTR of the SLA panels (run as the read-only Grafana role over
Grafana's "this month" range) against the workbook read back with openpyxl, on both
clocks."""

from __future__ import annotations

import asyncio
import io
import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import migrate
from app.config import Settings
from app.db import make_engine, make_sessionmaker
from app.models import MaintenanceWindow, MonitorRun, Unit
from app.reports import rollup
from app.reports.document import build_report, render_xlsx
from app.vocab.states import State, state_word
from tests.api.conftest import add_flips, make_check, make_service
from tests.deploy.test_dashboard_sql import _admin, _fetch, _run_init_script, _url
from tests.deploy.tools import DEPLOY
from tests.support.tools import require_tool

VN = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 12, 1, 7, 0, tzinfo=VN)
# Grafana's "this month" (now/M .. now/M) in the dashboards' time zone, Asia/Ho_Chi_Minh
GRAFANA_FROM = datetime(2026, 11, 1, tzinfo=VN).astimezone(UTC)
GRAFANA_TO = datetime(2026, 12, 1, tzinfo=VN).astimezone(UTC) - timedelta(milliseconds=1)


def local(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=VN)


async def _month(sm: async_sessionmaker[AsyncSession]) -> None:
    async with sm() as s, s.begin():
        province = Unit(code="33", name="Tỉnh Hưng Yên", kind="province", settings={})
        s.add(province)
        await s.flush()
        checks = {}
        for code, name, settings in (
            ("20001", "Xã Hoàng Hoa Thám", {"calendar": {"days_off": ["2026-11-20"]}}),
            ("20002", "Phường Hiến Nam", {}),
            ("20003", "Xã Tân Hưng", {}),
            ("20004", "Xã Mới Lập", {}),
        ):
            unit = Unit(code=code, name=name, kind="commune", parent_id=province.id)
            unit.settings = settings
            s.add(unit)
            await s.flush()
            centre = await make_service(s, f"{code}.centre", unit, "commune_centre")
            for suffix, critical in (("a", True), ("b", True), ("c", False)):
                check = make_check(f"{code}.centre.{suffix}", unit, centre, "http", "up")
                check.critical = critical
                s.add(check)
                checks[check.key] = check
        s.add_all(
            [
                MonitorRun(
                    uid=uuid.uuid4().hex,
                    started_at=local(10, 25),
                    last_seen_at=local(11, 18, 9, 59),
                    stopped_at=local(11, 18, 10),
                ),
                MonitorRun(
                    uid=uuid.uuid4().hex,
                    started_at=local(11, 18, 11),
                    last_seen_at=NOW,
                    stopped_at=None,
                ),
                MaintenanceWindow(
                    key="nang-cap-20002",
                    source="api",
                    scope="unit",
                    target="20002",
                    starts_at=local(11, 12, 8),
                    ends_at=local(11, 12, 10),
                    last_ends_at=local(11, 12, 10),
                    reason="Nâng cấp đường truyền",
                ),
            ]
        )
    up = (local(10, 25), "up")
    flips: dict[str, list[tuple[datetime, str]]] = {
        # across the lunch break; on a declared day off (24/7 only); degraded a morning
        "20001.centre.a": [
            up,
            (local(11, 3, 11), "down"),
            (local(11, 3, 14), "up"),
            (local(11, 10, 8), "degraded"),
            (local(11, 10, 12), "up"),
            (local(11, 20, 9), "down"),
            (local(11, 20, 10), "up"),
        ],
        "20001.centre.b": [up],
        "20001.centre.c": [up],
        # across the month's start; inside maintenance; open at the end of the month
        "20002.centre.a": [
            up,
            (local(10, 31, 23), "down"),
            (local(11, 1, 1), "up"),
            (local(11, 12, 8, 30), "down"),
            (local(11, 12, 9, 30), "up"),
            (local(11, 30, 23), "down"),
        ],
        "20002.centre.b": [up],
        "20002.centre.c": [up],
        # two critical checks overlapping (one unit outage 14:00-17:00); the monitor's own
        # stop on the 18th overlaps a down check; a non-critical check down all month
        "20003.centre.a": [up, (local(11, 16, 14), "down"), (local(11, 16, 16), "up")],
        "20003.centre.b": [
            up,
            (local(11, 16, 15), "down"),
            (local(11, 16, 17), "up"),
            (local(11, 18, 9, 30), "down"),
            (local(11, 18, 12), "up"),
        ],
        "20003.centre.c": [up, (local(11, 1), "down")],
        # first seen on the 5th
        "20004.centre.a": [(local(11, 5, 8, 15), "up")],
        "20004.centre.b": [(local(11, 5, 8, 15), "up")],
        "20004.centre.c": [(local(11, 5, 8, 15), "up")],
    }
    for key, changes in flips.items():
        await add_flips(sm, checks[key], *changes)
    async with sm() as s, s.begin():
        await rollup.recompute(s, date(2026, 10, 25), NOW.astimezone(UTC))


@pytest.fixture(scope="module")
def month_db() -> Iterator[tuple[str, str, dict[str, bytes]]]:
    """A migrated database holding the month, the read-only role, and the XLSX per clock."""
    require_tool("psql")
    db, role = f"thongsuot_agree_{os.getpid()}", f"grafana_ro_agree_{os.getpid()}"
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
        books = asyncio.run(_fill_and_report(_url(db)))
        yield db, role, books
    finally:
        asyncio.run(
            _admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)', f'DROP ROLE IF EXISTS "{role}"')
        )


async def _fill_and_report(url: str) -> dict[str, bytes]:
    engine = make_engine(url)
    try:
        sm = make_sessionmaker(engine)
        await _month(sm)
        books = {}
        async with sm() as session:
            for clock in ("24/7", "service_hours"):
                doc = await build_report(
                    session, Settings(), period="month", at="2026-11", clock=clock, now=NOW
                )
                books[clock] = render_xlsx(doc)  # the workbook the province receives
        return books
    finally:
        await engine.dispose()


CLOCK_WORDS = {"24/7": "cả ngày", "service_hours": "trong giờ hành chính"}
DOWN = state_word(State.DOWN, "vi").lower()


def _column(header: list[str], *parts: str) -> int:
    """The one column whose heading holds every part (case-insensitive)."""
    found = [i for i, h in enumerate(header) if all(p.lower() in h.lower() for p in parts)]
    assert len(found) == 1, (parts, header)
    return found[0]


def _xlsx_units(book: bytes, clock: str) -> dict[str, dict[str, Any]]:
    """The unit sheet read back by its headings: unit code -> availability (%), down,
    maintenance and unknown minutes on ``clock``, and the incident figures of the
    workbook (made on ``clock``)."""
    sheet = load_workbook(io.BytesIO(book))["Đơn vị"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    at = next(i for i, r in enumerate(rows) if "Mã đơn vị" in r)
    header = [str(h or "") for h in rows[at]]
    words = CLOCK_WORDS[clock]
    cols = {
        "code": header.index("Mã đơn vị"),
        "availability": _column(header, "khả dụng", words),
        "down": _column(header, DOWN, words),
        "incidents": _column(header, "số sự cố"),
        "mttr": _column(header, "khắc phục"),
        "maintenance": _column(header, "bảo trì"),
        "unknown": _column(header, "không xác định"),
    }
    percent = "%" in header[cols["availability"]]  # a number format shows a fraction as %
    found = {}
    for row in rows[at + 1 :]:
        code = row[cols["code"]]
        if not code:
            continue  # the totals row
        values = {name: row[i] for name, i in cols.items()}
        share = values["availability"]
        if share is not None and not percent:
            values["availability"] = float(share) * 100
        found[str(code)] = values
    return found


def _panel_sql(title_part: str) -> str:
    dash = json.loads((DEPLOY / "grafana" / "dashboards" / "en" / "sla.json").read_text("utf-8"))
    raw: str = next(
        t["rawSql"] for p in dash["panels"] if title_part in p["title"] for t in p["targets"]
    )
    frm = f"'{GRAFANA_FROM.isoformat()}'"
    to = f"'{GRAFANA_TO.isoformat(timespec='milliseconds')}'"
    return raw.replace("$__timeFrom()", frm).replace("$__timeTo()", to)


def _dashboard(db: str, role: str, title_part: str) -> dict[str, dict[str, Any]]:
    rows = asyncio.run(_fetch(db, role, _panel_sql(title_part)))
    return {r["Unit code"]: dict(r) for r in rows}


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


CLOCKS = {"24/7": "24/7", "service_hours": "service hours"}


@pytest.mark.parametrize("clock", list(CLOCKS))
def test_availability_and_down_minutes_agree(
    month_db: tuple[str, str, dict[str, bytes]], clock: str
) -> None:
    db, role, books = month_db
    sheet = _xlsx_units(books[clock], clock)
    panel = _dashboard(db, role, "Availability per unit")
    assert set(sheet) == set(panel) == {"20001", "20002", "20003", "20004"}
    words = CLOCKS[clock]
    for code, row in sheet.items():
        got = panel[code]
        availability = _num(got[f"Availability, {words} (%)"])
        assert availability == pytest.approx(row["availability"], abs=1e-3), code
        down = _num(got[f"Down, {words} (min)"])
        assert down == pytest.approx(row["down"], abs=0.06), code
        if clock == "24/7":
            assert _num(got["Maintenance (min)"]) == pytest.approx(row["maintenance"], abs=0.06)
            assert _num(got["Unknown (min)"]) == pytest.approx(row["unknown"], abs=0.06)


@pytest.mark.parametrize("clock", list(CLOCKS))
def test_incidents_and_mttr_agree(month_db: tuple[str, str, dict[str, bytes]], clock: str) -> None:
    db, role, books = month_db
    sheet = _xlsx_units(books[clock], clock)
    panel = _dashboard(db, role, "Incidents per unit")
    words = CLOCKS[clock]
    for code, row in sheet.items():
        got = panel.get(code, {})
        assert int(got.get(f"Incidents, {words}", 0)) == row["incidents"], code
        mttr = _num(got.get(f"MTTR, {words} (min)"))
        assert mttr == pytest.approx(row["mttr"], abs=0.06), code


def test_the_month_is_not_trivial(month_db: tuple[str, str, dict[str, bytes]]) -> None:
    """The rules the scenario exercises show in the workbook: the clocks differ (lunch
    break, a declared day off), maintenance and the monitor's stop are left out, the
    overlap of two critical checks is one outage, the open outage has no repair time."""
    _, _, books = month_db
    full = _xlsx_units(books["24/7"], "24/7")
    office = _xlsx_units(books["service_hours"], "service_hours")
    assert full["20001"]["down"] == pytest.approx(4 * 60)  # 11:00-14:00 + the day off
    assert office["20001"]["down"] == pytest.approx(60)  # only office time, not the day off
    assert full["20002"]["maintenance"] == pytest.approx(120)
    assert (full["20002"]["incidents"], full["20002"]["mttr"]) == (2, pytest.approx(120))
    # 14:00-17:00 (one outage of two checks) + 09:30-10:00 and 11:00-12:00 around the stop
    assert (full["20003"]["down"], full["20003"]["incidents"]) == (pytest.approx(270), 3)
    assert full["20003"]["unknown"] == pytest.approx(60)  # the monitor's stop
    assert full["20004"]["unknown"] > 4 * 24 * 60
