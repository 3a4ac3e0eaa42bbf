"""The report to sign (issue 12, part 1): XLSX layout and print setup read back with
openpyxl, the PDF rendered page by page with pdftoppm and read with pdftotext, the
heads, monitored coverage, provisional periods and exclusions, on both databases.

The world is the hand-computed scenario of test_report_scenarios (commune 12337, May
2026) in the province of Hưng Yên (code 33, as examples/hung-yen.yaml), plus four more
of its communes, up all May but for one short office-hours outage each, and a ward,
11953 Phố Hiến, watched only for the last 30 minutes of May: 5 measured minutes... of
44,640, so "chưa đủ dữ liệu" and not ranked. Names and codes are the real 2025 ones
(examples/hung-yen.yaml); the people are made up.

test_pdf_pages_are_whole_and_say_everything renders docs/img/report-page-1.png, the
page the README shows, when it is missing or THONGSUOT_README_IMAGES=1.
"""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
from datetime import UTC, date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.models import Service, Unit
from app.reports import rollup
from app.reports.document import build_report, render_pdf, render_xlsx
from tests.api.conftest import (  # noqa: F401  (fixtures)
    add_flips,
    app,
    client,
    make_check,
    make_service,
    read_requires_token,
    settings,
    sm,
)
from tests.reports.test_report_scenarios import NOW, local, world  # noqa: F401  (fixture)
from tests.support.tools import require_tool

MAY = {"period": "month", "at": "2026-05"}
LETTERHEAD = Settings(
    report_issuer="SỞ KHOA HỌC VÀ CÔNG NGHỆ",
    report_place="Hưng Yên",
    report_number="  /BC-SKHCN",
    report_signer_title="KT. GIÁM ĐỐC\\nPHÓ GIÁM ĐỐC",
    report_signer_name="Nguyễn Văn An",
)


# Four more communes of Hưng Yên (examples/hung-yen.yaml): head, and one outage in
# office hours (day of May, hour, minutes), so each is ranked after 12337.
NEIGHBOURS = (
    ("12364", "Xã Tiên Lữ", {"name": "Đỗ Minh Tuấn"}, (7, 9, 25)),
    ("12361", "Xã Tiên Hoa", {"name": "Vũ Thị Hạnh"}, (14, 14, 40)),
    ("12391", "Xã Quang Hưng", {"name": "Nguyễn Đức Thắng"}, (21, 10, 15)),
    ("12406", "Xã Đoàn Đào", {"name": "Bùi Văn Long"}, (26, 15, 55)),
)


@pytest.fixture
async def towns(
    world: None,  # noqa: F811
    sm: async_sessionmaker[AsyncSession],  # noqa: F811
) -> None:
    """Heads from contacts, and a ward observed for only 30 minutes of May."""
    async with sm() as s, s.begin():
        commune = (await s.execute(select(Unit).where(Unit.code == "12337"))).scalar_one()
        commune.settings = {
            **commune.settings,
            "contacts": [
                {"name": "Trần Thị Bình", "role": "head", "title": "Chủ tịch UBND xã"},
                {"name": "Lê Văn Kỹ", "role": "it_focal_point"},
            ],
        }
        province = (await s.execute(select(Unit).where(Unit.code == "33"))).scalar_one()
        province.name = "Hưng Yên"
        ward = Unit(code="11953", name="Phường Phố Hiến", kind="ward", parent_id=province.id)
        s.add(ward)
        await s.flush()
        centre = await make_service(s, "11953.centre", ward, "commune_centre")
        centre.contacts = [{"name": "Phạm Văn Cường", "role": "head"}]
        check = make_check("11953.centre.gw", ward, centre, "icmp", "up")
        s.add(check)
        others = []
        for code, name, head, outage in NEIGHBOURS:
            commune = Unit(code=code, name=name, kind="commune", parent_id=province.id)
            commune.settings = {"contacts": [{**head, "role": "head", "title": "Chủ tịch UBND xã"}]}
            s.add(commune)
            await s.flush()
            service = await make_service(s, f"{code}.centre", commune, "commune_centre")
            other = make_check(f"{code}.centre.gw", commune, service, "icmp", "up")
            s.add(other)
            others.append((other, outage))
    await add_flips(sm, check, (local(2026, 5, 31, 23, 30), "up"))
    for other, (day, hour, minutes) in others:
        down = local(2026, 5, day, hour)
        await add_flips(
            sm,
            other,
            (local(2026, 5, 1), "up"),
            (down, "down"),
            (down + timedelta(minutes=minutes), "up"),
        )
    async with sm() as s, s.begin():
        await rollup.recompute(s, date(2026, 5, 1), NOW.astimezone(UTC))


async def _xlsx(client: httpx.AsyncClient, **params: Any) -> Any:  # noqa: F811
    response = await client.get("/api/v1/reports/availability", params=params)
    assert response.status_code == 200, response.text
    return load_workbook(io.BytesIO(response.content))


def _header(sheet: Any) -> list[Any]:
    return [c.value for c in sheet[2]]


def _rows(sheet: Any) -> list[dict[str, Any]]:
    header = _header(sheet)
    return [
        dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(min_row=3)
    ]


@pytest.mark.usefixtures("towns")
async def test_xlsx_layout_and_print_setup(client: httpx.AsyncClient) -> None:  # noqa: F811
    book = await _xlsx(client, **MAY, format="xlsx")
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
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []  # no formulas
    for sheet in book.worksheets:
        setup = sheet.page_setup
        assert (setup.orientation, setup.paperSize) == ("landscape", 9), sheet.title  # A4
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, sheet.title
        assert (setup.fitToWidth, setup.fitToHeight) == (1, 0), sheet.title
        assert sheet.oddFooter.center.text == "Trang &P/&N"
    for name in ("Tỉnh", "Đơn vị", "Dịch vụ", "Phép kiểm tra", "Sự cố", "Loại trừ"):
        sheet = book[name]
        assert sheet.print_title_rows == "$1:$2", name
        assert sheet.freeze_panes is not None and sheet.freeze_panes.endswith("3"), name
        assert sheet.auto_filter.ref is not None and sheet.auto_filter.ref.startswith("A2:")
        widths = [sheet.column_dimensions[c.column_letter].width for c in sheet[2]]
        assert all(w and w >= 6 for w in widths), (name, widths)
    units = book["Đơn vị"]
    rows = {r["Mã đơn vị"]: (r, units.cell(3 + i, 1)) for i, r in enumerate(_rows(units))}
    commune, _ = rows["12337"]
    assert commune["Đơn vị"] == "Xã Hoàng Hoa Thám"  # filled (it was empty)
    assert commune["Người đứng đầu"] == "Trần Thị Bình (Chủ tịch UBND xã)"
    assert commune["Hạng"] == 1
    assert commune["Tỷ lệ khả dụng cả ngày (24/7)"] == pytest.approx(44100 / 44460, abs=1e-6)
    assert commune["Tỷ lệ khả dụng trong giờ hành chính"] == pytest.approx(9150 / 9270, abs=1e-6)
    assert commune["Phút gián đoạn trong giờ hành chính"] == pytest.approx(120)
    assert commune["Độ phủ giám sát"] == pytest.approx(44460 / 44520, abs=1e-6)
    header = _header(units)
    formats = {h: units.cell(3, i + 1).number_format for i, h in enumerate(header)}
    assert formats["Tỷ lệ khả dụng cả ngày (24/7)"] == "0.00%"
    assert formats["Độ phủ giám sát"] == "0.00%"
    assert formats["Phút gián đoạn cả ngày (24/7)"] == "#,##0.0"
    ward, _ = rows["11953"]
    assert ward["Hạng"] is None and ward["Ghi chú"] == "Chưa đủ dữ liệu"
    assert ward["Người đứng đầu"] == "Phạm Văn Cường"  # from its service's contacts
    assert ward["Độ phủ giám sát"] == pytest.approx(30 / 44640, abs=1e-6)
    assert list(rows)[-2:] == ["11953", None]  # flagged after the ranked; totals last
    province = _rows(book["Tỉnh"])[0]
    assert (province["Mã tỉnh"], province["Tỉnh"]) == ("33", "Hưng Yên")
    incidents = book["Sự cố"]
    assert incidents.cell(3, 5).is_date and incidents.cell(3, 5).number_format == "dd/mm/yyyy hh:mm"
    summary = book["Tổng hợp"]
    texts = [c.value for row in summary.iter_rows() for c in row if isinstance(c.value, str)]
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in texts
    assert "Độc lập – Tự do – Hạnh phúc" in texts
    assert "Kỳ báo cáo" in texts and "Cách tính" in texts
    assert "cả ngày (24/7)" in texts
    assert "tháng 05/2026 (từ 01/05/2026 đến 31/05/2026)" in texts
    assert not any("tạm tính" in t for t in texts)  # May is over and computed


@pytest.mark.usefixtures("towns")
async def test_exclusions_sheet_lists_holidays_swapped_days_and_maintenance(
    client: httpx.AsyncClient,  # noqa: F811
) -> None:
    book = await _xlsx(client, **MAY, format="xlsx")
    rows = _rows(book["Loại trừ"])
    kinds = [(r["Loại"], r["Từ"].strftime("%d/%m/%Y"), r["Áp dụng cho"]) for r in rows]
    assert ("Ngày lễ, Tết", "01/05/2026", "Tất cả đơn vị") in kinds
    assert ("Ngày làm bù", "09/05/2026", "Xã Hoàng Hoa Thám") in kinds
    (maintenance,) = [r for r in rows if r["Loại"] == "Bảo trì"]
    assert maintenance["Lý do"] == "Nâng cấp đường truyền"
    assert maintenance["Áp dụng cho"] == "Đơn vị Xã Hoàng Hoa Thám"
    assert maintenance["Từ"].strftime("%H:%M %d/%m/%Y") == "08:00 12/05/2026"
    assert maintenance["Đến"].strftime("%H:%M") == "10:00"
    assert maintenance["Ảnh hưởng cách tính"] == "Cả hai cách tính"
    holiday = next(r for r in rows if r["Loại"] == "Ngày lễ, Tết")
    assert holiday["Lý do"]  # the holiday's name
    assert holiday["Ảnh hưởng cách tính"] == "Chỉ giờ hành chính"


@pytest.mark.usefixtures("towns")
async def test_service_hours_sheet_counts_incidents_on_its_clock(
    client: httpx.AsyncClient,  # noqa: F811
) -> None:
    """Issue 12: "Số sự cố 0" next to an MTTR of night incidents. The May 1 outage
    (00:00-01:00, a holiday) has no office-hours time: no incident, not in the MTTR."""
    book = await _xlsx(client, **MAY, format="xlsx", clock="service_hours")
    assert "trong giờ hành chính" in book["Đơn vị"]["A1"].value
    commune = next(r for r in _rows(book["Đơn vị"]) if r["Mã đơn vị"] == "12337")
    assert commune["Số sự cố"] == 2
    assert commune["Thời gian khắc phục TB (phút)"] == pytest.approx((180 + 60) / 2)
    assert commune["Gián đoạn dài nhất (phút)"] == pytest.approx(60)
    day = await client.get(
        "/api/v1/reports/availability",
        params={"period": "day", "at": "2026-05-01", "clock": "service_hours"},
    )
    row = next(r for r in day.json()["rows"] if r["key"] == "12337")
    assert (row["incidents"], row["restored"], row["mttr_minutes"]) == (0, 0, None)


@pytest.mark.usefixtures("towns")
async def test_a_period_not_over_is_provisional(client: httpx.AsyncClient) -> None:  # noqa: F811
    """June 2026 was computed up to 00:30 on June 1 (the scenario's now)."""
    body = (await client.get("/api/v1/reports/availability", params={"at": "2026-06"})).json()
    assert body["provisional"] is True
    assert body["data_until"].startswith("2026-05-31T17:30")
    book = await _xlsx(client, at="2026-06", format="xlsx")
    texts = [c.value for row in book["Tổng hợp"].iter_rows() for c in row]
    assert "Số liệu tạm tính đến 00:30 01/06/2026" in texts
    assert "tháng 06/2026 (từ 01/06/2026 đến 00:30 01/06/2026)" in texts
    assert "Số liệu tạm tính đến 00:30 01/06/2026" in book["Đơn vị"]["A1"].value
    may = (await client.get("/api/v1/reports/availability", params=MAY)).json()
    assert (may["provisional"], may["data_until"]) == (False, None)


def _pdf_pages(body: bytes, tmp_path: Path) -> tuple[list[Path], str]:
    pdftoppm = require_tool("pdftoppm")
    pdftotext = require_tool("pdftotext")
    source = tmp_path / "report.pdf"
    source.write_bytes(body)
    subprocess.run([pdftoppm, "-r", "50", "-png", str(source), str(tmp_path / "page")], check=True)
    text = subprocess.run(
        [pdftotext, "-layout", str(source), "-"], check=True, capture_output=True, text=True
    ).stdout
    return sorted(tmp_path.glob("page-*.png")), text


def _border_is_white(path: Path, share: float = 0.025) -> bool:
    image = Image.open(path).convert("L")
    width, height = image.size
    dx, dy = max(1, int(width * share)), max(1, int(height * share))
    for box in (
        (0, 0, width, dy),
        (0, height - dy, width, height),
        (0, 0, dx, height),
        (width - dx, 0, width, height),
    ):
        low, _ = image.crop(box).getextrema()
        assert isinstance(low, (int, float))  # one band: grey
        if low < 250:
            return False
    return True


@pytest.mark.usefixtures("towns")
async def test_pdf_pages_are_whole_and_say_everything(
    sm: async_sessionmaker[AsyncSession],  # noqa: F811
    tmp_path: Path,
) -> None:
    async with sm() as s:
        doc = await build_report(s, LETTERHEAD, at="2026-05", now=NOW.astimezone(UTC))
    await asyncio.to_thread(_check_pdf, render_pdf(doc), tmp_path)


def _check_pdf(body: bytes, tmp_path: Path) -> None:
    pages, text = _pdf_pages(body, tmp_path)
    raw = [require_tool("pdftotext"), "-raw", str(tmp_path / "report.pdf"), "-"]
    flat = " ".join(subprocess.run(raw, check=True, capture_output=True, text=True).stdout.split())
    assert len(pages) >= 2
    for page in pages:
        image = Image.open(page)
        assert image.width > image.height  # A4 landscape: 842 x 595 pt at 50 dpi
        assert abs(image.width / image.height - 297 / 210) < 0.01
        assert _border_is_white(page), f"{page.name}: something reaches the page edge"
    for needed in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập – Tự do – Hạnh phúc",
        "SỞ KHOA HỌC VÀ CÔNG NGHỆ",
        "Hưng Yên, ngày 01 tháng 06 năm 2026",
        "Cách tính: cả ngày (24/7)",
        "Xã Hoàng Hoa Thám",
        "Trần Thị Bình",
        "Phường Phố Hiến",
        "ỦY BAN NHÂN DÂN TỈNH HƯNG YÊN",
        "Xã Đoàn Đào",
        "Nâng cấp đường truyền",
        "KT. GIÁM ĐỐC",
        "PHÓ GIÁM ĐỐC",
        "Nguyễn Văn An",
        f"Trang 1/{len(pages)}",
        f"Trang {len(pages)}/{len(pages)}",
    ):
        assert needed in text, needed
    # A note wraps inside its cell: read it with the lines joined.
    assert "11953 Phường Phố Hiến" in flat and "Chưa đủ dữ liệu" in flat
    assert "12337" in text and "11953" in text
    fonts = subprocess.run(
        [require_tool("pdffonts"), str(tmp_path / "report.pdf")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    dejavu = [line.split() for line in fonts.splitlines()[2:] if "DejaVuSerif" in line]
    assert dejavu and all(cols[-5] == "yes" for cols in dejavu)  # embedded
    # (ReportLab lists Helvetica, the base-14 default, among the resources; no text uses it)
    readme = Path(__file__).resolve().parents[2] / "docs" / "img" / "report-page-1.png"
    # The README's picture is made by this test: when missing, or asked for.
    if not readme.exists() or os.environ.get("THONGSUOT_README_IMAGES") == "1":
        subprocess.run(
            [
                *(require_tool("pdftoppm"), "-r", "80", "-png", "-f", "1", "-l", "1"),
                *("-singlefile", str(tmp_path / "report.pdf"), str(readme.with_suffix(""))),
            ],
            check=True,
        )


@pytest.mark.usefixtures("towns")
async def test_pdf_through_the_api(client: httpx.AsyncClient) -> None:  # noqa: F811
    response = await client.get("/api/v1/reports/availability", params=MAY | {"format": "pdf"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert 'filename="bao-cao-thong-suot-2026-05.pdf"' in response.headers["content-disposition"]
    assert response.content.startswith(b"%PDF")


@pytest.mark.usefixtures("towns")
async def test_render_functions_for_other_callers(
    sm: async_sessionmaker[AsyncSession],  # noqa: F811
) -> None:
    """build_report → render_xlsx/render_pdf: what scheduled delivery attaches."""
    async with sm() as s:
        doc = await build_report(s, LETTERHEAD, at="2026-05", clock="service_hours")
    book = load_workbook(io.BytesIO(render_xlsx(doc)))
    assert book["Tổng hợp"]["A2"].value == "SỞ KHOA HỌC VÀ CÔNG NGHỆ"
    assert doc.heading.signer_title == ("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC")
    assert render_pdf(doc).startswith(b"%PDF")
    async with sm() as s:
        heads = (await s.execute(select(Service.contacts))).scalars().all()
    assert any(heads)


@pytest.mark.usefixtures("towns")
async def test_unit_and_province_rows_carry_their_own_code_and_name(
    client: httpx.AsyncClient,  # noqa: F811
) -> None:
    """Issue 12: "Mã đơn vị" and "Đơn vị" were empty on the unit and province sheets."""
    for group, code, name in (
        ("unit", "12337", "Xã Hoàng Hoa Thám"),
        ("province", "33", "Hưng Yên"),
    ):
        body = (
            await client.get("/api/v1/reports/availability", params=MAY | {"group": group})
        ).json()
        row = next(r for r in body["rows"] if r["key"] == code)
        assert (row["unit_code"], row["unit_name"]) == (code, name), group
