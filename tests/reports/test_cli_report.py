"""``thongsuot report --month ... --format xlsx|csv|json`` against a real database."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cli import main
from tests import factories
from tests.api.conftest import add_flips

VN = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
async def history(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as s, s.begin():
        check = await factories.check(s, "tcp", {"host": "127.0.0.1"}, key="12337.centre.tcp")
    await add_flips(
        sessionmaker,
        check,
        (datetime(2026, 4, 1, tzinfo=VN), "up"),
        (datetime(2026, 5, 5, 11, tzinfo=VN), "down"),
        (datetime(2026, 5, 5, 14, tzinfo=VN), "up"),
    )


@pytest.mark.usefixtures("history")
async def test_monthly_report_files(db_url: str, tmp_path: Path) -> None:
    xlsx = tmp_path / "may.xlsx"
    args = ["report", "--month", "2026-05", "--db", db_url, "--refresh", "--out", str(xlsx)]
    assert await asyncio.to_thread(main, args) == 0
    book = load_workbook(xlsx)
    assert book["Tổng hợp"]["A1"].value == "Báo cáo tình hình bảo đảm hoạt động thông suốt"
    unit = [c.value for c in book["Đơn vị"][2]]
    assert unit[0] == "12337" and unit[7] == pytest.approx(180)
    out = tmp_path / "may.json"
    args = ["report", "--month", "2026-05", "--format", "json", "--db", db_url, "--out", str(out)]
    assert await asyncio.to_thread(main, args) == 0
    body = json.loads(out.read_text(encoding="utf-8"))
    assert body["period"] == "2026-05"
    assert body["rows"][0]["downtime_minutes"] == pytest.approx(180)
    assert body["rows"][0]["incidents"] == 1
