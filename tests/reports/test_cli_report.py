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
    assert book["Tổng hợp"]["A6"].value == "Báo cáo tình hình bảo đảm hoạt động thông suốt"
    header = [c.value for c in book["Đơn vị"][2]]
    unit = dict(zip(header, (c.value for c in book["Đơn vị"][3]), strict=True))
    assert unit["Mã đơn vị"] == "12337"
    assert unit["Phút gián đoạn cả ngày (24/7)"] == pytest.approx(180)
    out = tmp_path / "may.json"
    args = ["report", "--month", "2026-05", "--format", "json", "--db", db_url, "--out", str(out)]
    assert await asyncio.to_thread(main, args) == 0
    body = json.loads(out.read_text(encoding="utf-8"))
    assert body["period"] == "2026-05"
    assert body["rows"][0]["downtime_minutes"] == pytest.approx(180)
    assert body["rows"][0]["incidents"] == 1


@pytest.mark.usefixtures("history")
async def test_a_plain_path_or_the_environment_names_the_database(
    db_url: str, backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "may.pdf"
    if backend == "sqlite":
        db = db_url.removeprefix("sqlite+aiosqlite:///")  # a plain file path, as people type it
        args = ["report", "--month", "2026-05", "--db", db, "--refresh", "--format", "pdf"]
    else:  # the same variable as `thongsuot serve`
        monkeypatch.setenv("THONGSUOT_DATABASE_URL", db_url.replace("+asyncpg", ""))
        args = ["report", "--month", "2026-05", "--refresh", "--format", "pdf"]
    assert await asyncio.to_thread(main, [*args, "--out", str(out)]) == 0
    assert out.read_bytes().startswith(b"%PDF")


def test_a_missing_database_is_one_line_exit_2_and_no_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("THONGSUOT_DATABASE_URL", raising=False)
    assert main(["report", "--month", "2026-05"]) == 2  # the default ./thongsuot.db
    assert main(["report", "--month", "2026-05", "--db", "thongsuot-demo.db"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("lỗi: Không tìm thấy cơ sở dữ liệu thongsuot.db")
    assert err[1].startswith("lỗi: Không tìm thấy cơ sở dữ liệu thongsuot-demo.db")
    assert len(err) == 2 and "Traceback" not in "".join(err)
    assert list(tmp_path.iterdir()) == []  # no empty database left behind, no report


def test_an_unmigrated_database_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    out = tmp_path / "x.xlsx"
    assert main(["report", "--month", "2026-05", "--db", str(path), "--out", str(out)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "chưa được khởi tạo" in line and "thongsuot db upgrade" in line
    assert not out.exists()


@pytest.mark.postgres
def test_an_unreachable_postgresql_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = "postgresql://postgres@127.0.0.1:5432/thongsuot_no_such_database"
    assert main(["report", "--month", "2026-05", "--db", url, "--out", "-"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("lỗi: Không kết nối được cơ sở dữ liệu")


def test_help_shows_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--format {xlsx,pdf,csv,json}" in text
    assert "(default: xlsx)" in text and "(default: 24/7)" in text
    assert "THONGSUOT_DATABASE_URL" in text and "sqlite+aiosqlite:///./thongsuot.db" in text
