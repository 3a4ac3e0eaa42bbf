"""CSV and XLSX renderings of an availability report (Vietnamese headings by default)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font

from app.reports.schemas import IncidentRow, ReportRead, ReportRow
from app.vocab.states import State, state_minutes, state_word

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
Lang = Literal["vi", "en"]

_DOWN = state_word(State.DOWN, "vi")  # state words come from app.vocab.states
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("key", "Mã", "Key"),
    ("name", "Tên", "Name"),
    ("unit_code", "Mã đơn vị", "Unit code"),
    ("unit_name", "Đơn vị", "Unit"),
    ("province_name", "Tỉnh", "Province"),
    ("availability_pct", "Tỷ lệ khả dụng (%)", "Availability (%)"),
    ("counted_minutes", "Thời gian tính (phút)", "Counted time (min)"),
    ("downtime_minutes", f"Thời gian {_DOWN.lower()} (phút)", "Downtime (min)"),
    ("incidents", "Số sự cố", "Incidents"),
    ("mttr_minutes", "Thời gian khắc phục TB (phút)", "MTTR (min)"),
    ("longest_outage_minutes", f"{_DOWN} dài nhất (phút)", "Longest outage (min)"),
    *(
        (f"{state}_minutes", state_minutes(state, "vi"), state_minutes(state, "en"))
        for state in (State.MAINTENANCE, State.UNKNOWN)
    ),
)
INCIDENT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Phép kiểm tra", "Check"),
    ("Tên", "Name"),
    ("Mã đơn vị", "Unit code"),
    ("Đơn vị", "Unit"),
    ("Bắt đầu", "Started"),
    ("Kết thúc", "Ended"),
    ("Thời gian tính (phút)", "Counted (min)"),
)
SHEETS = {
    "province": ("Tỉnh", "Provinces"),
    "unit": ("Đơn vị", "Units"),
    "service": ("Dịch vụ", "Services"),
    "check": ("Phép kiểm tra", "Checks"),
}
NOT_RESTORED = ("Chưa khắc phục", "Not restored")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a text cell as a formula (OWASP CSV injection)."""


def csv_safe(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading ``'``; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _no_formulas(book: Workbook) -> None:
    """Every text cell stays text: openpyxl would store a str starting with ``=`` as a formula."""
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"


def _pick(pair: tuple[str, str], lang: Lang) -> str:
    return pair[0] if lang == "vi" else pair[1]


def headings(lang: Lang = "vi") -> list[str]:
    return [vi if lang == "vi" else en for _, vi, en in COLUMNS]


def _value(row: ReportRow, name: str) -> Any:
    if name == "availability_pct":
        return None if row.availability is None else round(row.availability * 100, 4)
    value = getattr(row, name)
    return round(value, 2) if isinstance(value, float) else value


def _cells(row: ReportRow) -> list[Any]:
    return [_value(row, name) for name, _, _ in COLUMNS]


def _local(at: datetime | None) -> str:
    return "" if at is None else at.astimezone(ZONE).strftime("%Y-%m-%d %H:%M")


def _incident_cells(row: IncidentRow, lang: Lang) -> list[Any]:
    ended = _local(row.ended_at) if row.ended_at else _pick(NOT_RESTORED, lang)
    return [
        row.check,
        row.check_name,
        row.unit_code,
        row.unit_name,
        _local(row.started_at),
        ended,
        round(row.counted_minutes, 2),
    ]


def to_csv(report: ReportRead, lang: Lang = "vi") -> bytes:
    """UTF-8 with a BOM (so Excel shows Vietnamese), one row per report row, then totals."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headings(lang))
    for row in report.rows:
        writer.writerow([csv_safe(v) for v in _cells(row)])
    writer.writerow([csv_safe(v) for v in _cells(report.totals)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _sheet(book: Workbook, title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Any:
    sheet = book.create_sheet(title)
    sheet.append(list(header))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(list(row))
    sheet.freeze_panes = "A2"
    return sheet


def to_xlsx(
    report: ReportRead, levels: dict[str, ReportRead] | None = None, lang: Lang = "vi"
) -> bytes:
    """A summary sheet, one sheet per level (``levels``, else the report's own), incidents."""
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "Tổng hợp" if lang == "vi" else "Summary"
    for line in _summary_lines(report, lang):
        summary.append(line)
    summary["A1"].font = Font(bold=True, size=14)
    for level, part in (levels or {report.group: report}).items():
        sheet = _sheet(
            book, _pick(SHEETS[level], lang), headings(lang), [_cells(r) for r in part.rows]
        )
        sheet.append(_cells(part.totals))
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
    _sheet(
        book,
        "Sự cố" if lang == "vi" else "Incidents",
        [_pick(pair, lang) for pair in INCIDENT_COLUMNS],
        [_incident_cells(r, lang) for r in report.incidents],
    )
    rules = book.create_sheet("Quy tắc" if lang == "vi" else "Rules")
    for rule in (report.rules.vi if lang == "vi" else report.rules.en).splitlines():
        rules.append([rule])
    _no_formulas(book)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _summary_lines(report: ReportRead, lang: Lang) -> list[list[Any]]:
    vi = lang == "vi"
    totals = report.totals
    clock = {"24/7": "24/7", "service_hours": "Giờ phục vụ" if vi else "Service hours"}
    return [
        [report.title],
        ["Kỳ báo cáo" if vi else "Period", report.period],
        ["Từ ngày" if vi else "From", report.first_day.isoformat()],
        ["Đến ngày" if vi else "To", report.last_day.isoformat()],
        ["Đồng hồ" if vi else "Clock", clock.get(report.clock, report.clock)],
        ["Lập lúc" if vi else "Generated", _local(report.generated_at)],
        [],
        headings(lang),
        _cells(totals),
    ]
