"""CSV of an availability report (Vietnamese headings by default), formula-safe cells;
the workbook is app.reports.xlsx, kept reachable here as :func:`to_xlsx`."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from openpyxl import Workbook

from app.accounting.days import local_day
from app.reports.schemas import ReportRead, ReportRow
from app.vocab.states import State, state_minutes, state_word

if TYPE_CHECKING:
    from app.reports.document import Heading

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
    ("counted_minutes", "Thời gian theo dõi (phút)", "Monitored time (min)"),
    ("downtime_minutes", f"Thời gian {_DOWN.lower()} (phút)", "Downtime (min)"),
    ("incidents", "Số sự cố", "Incidents"),
    ("mttr_minutes", "Thời gian khắc phục TB (phút)", "MTTR (min)"),
    ("longest_outage_minutes", f"{_DOWN} dài nhất (phút)", "Longest outage (min)"),
    *(
        (f"{state}_minutes", state_minutes(state, "vi"), state_minutes(state, "en"))
        for state in (State.MAINTENANCE, State.UNKNOWN)
    ),
    ("coverage_pct", "Độ phủ giám sát (%)", "Monitored coverage (%)"),
    ("head", "Người đứng đầu", "Head"),
    ("note", "Ghi chú", "Note"),
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a text cell as a formula (OWASP CSV injection)."""


def csv_safe(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading ``'``; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def no_formulas(book: Workbook) -> None:
    """Every text cell stays text: openpyxl would store a str starting with ``=`` as a formula."""
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"


def headings(lang: Lang = "vi") -> list[str]:
    return [vi if lang == "vi" else en for _, vi, en in COLUMNS]


def _value(row: ReportRow, name: str, lang: Lang = "vi") -> Any:
    if name == "availability_pct":
        return None if row.availability is None else round(row.availability * 100, 4)
    if name == "coverage_pct":
        return None if row.coverage is None else round(row.coverage * 100, 2)
    if name == "note":
        return (
            ("Chưa đủ dữ liệu" if lang == "vi" else "Not enough data")
            if row.insufficient_data
            else ""
        )
    value = getattr(row, name)
    return round(value, 2) if isinstance(value, float) else value


def _cells(row: ReportRow, lang: Lang = "vi") -> list[Any]:
    return [_value(row, name, lang) for name, _, _ in COLUMNS]


def to_csv(report: ReportRead, lang: Lang = "vi") -> bytes:
    """UTF-8 with a BOM (so Excel shows Vietnamese), one row per report row, then totals."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headings(lang))
    for row in report.rows:
        writer.writerow([csv_safe(v) for v in _cells(row, lang)])
    writer.writerow([csv_safe(v) for v in _cells(report.totals, lang)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(
    report: ReportRead,
    levels: dict[str, ReportRead] | None = None,
    lang: Lang = "vi",
    heading: Heading | None = None,
) -> bytes:
    """The workbook (app.reports.xlsx); ``heading`` defaults to the settings' letterhead."""
    from app.config import Settings
    from app.reports.document import ReportDocument, heading_from, render_xlsx

    if heading is None:
        heading = heading_from(Settings(), None, local_day(report.generated_at))
    return render_xlsx(ReportDocument(report, levels or {report.group: report}, heading, lang))
