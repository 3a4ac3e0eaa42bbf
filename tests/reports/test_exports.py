"""CSV (UTF-8 with BOM) and XLSX exports of the May 2026 scenario report."""

from __future__ import annotations

import csv
import io

import httpx
import pytest
from openpyxl import load_workbook

from app.reports.exports import headings
from tests.api.conftest import (  # noqa: F401  (fixtures)
    app,
    client,
    read_requires_token,
    settings,
    sm,
)
from tests.reports.test_report_scenarios import world  # noqa: F401  (fixture)

MAY = {"period": "month", "at": "2026-05"}


@pytest.mark.usefixtures("world")
async def test_csv_has_a_bom_vietnamese_headings_and_totals(
    client: httpx.AsyncClient,  # noqa: F811
) -> None:
    response = await client.get("/api/v1/reports/availability", params=MAY | {"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == headings("vi")
    assert rows[0][5] == "Tỷ lệ khả dụng (%)"
    unit, total = rows[1], rows[2]
    assert unit[0] == "12337"
    assert float(unit[7]) == pytest.approx(360)  # downtime minutes
    assert total[1] == "Tổng cộng"
    assert int(total[8]) == 4


@pytest.mark.usefixtures("world")
async def test_xlsx_has_a_sheet_per_level_incidents_and_totals(
    client: httpx.AsyncClient,  # noqa: F811
) -> None:
    response = await client.get("/api/v1/reports/availability", params=MAY | {"format": "xlsx"})
    assert response.status_code == 200, response.text
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == [
        "Tổng hợp",
        "Tỉnh",
        "Đơn vị",
        "Dịch vụ",
        "Phép kiểm tra",
        "Sự cố",
        "Loại trừ",
        "Quy tắc",
    ]
    summary = book["Tổng hợp"]
    assert summary["A6"].value == "Báo cáo tình hình bảo đảm hoạt động thông suốt"
    units = book["Đơn vị"]
    header = [c.value for c in units[2]]
    assert header[:3] == ["Hạng", "Mã đơn vị", "Đơn vị"]
    totals = dict(zip(header, (c.value for c in units[units.max_row]), strict=True))
    assert totals["Đơn vị"] == "Tổng cộng"
    assert totals["Phút gián đoạn cả ngày (24/7)"] == pytest.approx(360)
    assert totals["Số sự cố"] == 4
    assert totals["Tỷ lệ khả dụng cả ngày (24/7)"] == pytest.approx(44100 / 44460, abs=1e-6)
    sheet = book["Tỉnh"]
    province = dict(zip((c.value for c in sheet[2]), (c.value for c in sheet[3]), strict=True))
    assert (province["Mã tỉnh"], province["Số sự cố"]) == ("33", 4)
    incidents = list(book["Sự cố"].iter_rows(min_row=2, values_only=True))
    assert incidents[0][:2] == ("Phép kiểm tra", "Tên")
    # Apr 30 23:00 (under way on May 1), May 5, May 9 and May 31; May 12 was maintenance
    assert [row[4].strftime("%d/%m/%Y %H:%M") for row in incidents[1:]] == [
        "30/04/2026 23:00",
        "05/05/2026 11:00",
        "09/05/2026 08:00",
        "31/05/2026 23:00",
    ]
    assert incidents[2][5].strftime("%H:%M") == "14:00"
    assert incidents[1][6] == pytest.approx(60)  # only the May part is counted
    assert incidents[-1][5] == "Chưa khắc phục"


@pytest.mark.usefixtures("world")
async def test_english_export(client: httpx.AsyncClient) -> None:  # noqa: F811
    response = await client.get(
        "/api/v1/reports/availability", params=MAY | {"format": "xlsx", "lang": "en"}
    )
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames[0] == "Summary"
    assert book["Summary"]["A6"].value.startswith("Report on")
    assert book.sheetnames[-2:] == ["Exclusions", "Rules"]
