"""The report workbook: letterhead and summary, a sheet per level, incidents, exclusions,
rules. Every sheet prints on A4 landscape, fitted to the page width, with its heading
rows repeated on each page, frozen panes and an autofilter (docs/reports.md)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from app.reports.document import ReportDocument
from app.reports.schemas import ReportRead, ReportRow
from app.reports.wording import (
    EXCLUSION_COLUMNS,
    INCIDENT_COLUMNS,
    NATION,
    NOT_RESTORED,
    Column,
    clock_words,
    columns,
    exclusion_clock,
    exclusion_kind,
    local,
    moment_text,
    note,
    period_text,
    pick,
    provisional_text,
)

PERCENT = "0.00%"
MINUTES = "#,##0.0"
INTEGER = "0"
DATE = "dd/mm/yyyy"
DATETIME = "dd/mm/yyyy hh:mm"
FORMATS = {"percent": PERCENT, "minutes": MINUTES, "int": INTEGER}

BOLD = Font(bold=True)
GREY = Font(color="808080", italic=True)
HEADER_FILL = PatternFill("solid", fgColor="D9D9D9")
THIN = Side(style="thin", color="808080")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")
CENTRE = Alignment(horizontal="center", vertical="center", wrap_text=True)

SHEETS = {
    "province": ("Tỉnh", "Provinces"),
    "unit": ("Đơn vị", "Units"),
    "service": ("Dịch vụ", "Services"),
    "check": ("Phép kiểm tra", "Checks"),
}
HEADER_ROW = 2  # row 1: the sheet's caption; row 2: column headings; data from row 3


def _style_name(fmt: str | None) -> str:
    return f"ts-{fmt or 'text'}"


def _add_styles(book: Workbook) -> None:
    """Named styles for table cells: a box, the number format (text wraps), or grey."""
    for fmt in (None, PERCENT, MINUTES, INTEGER, DATETIME):
        for grey in (False, True):
            style = NamedStyle(
                name=_style_name(fmt) + ("-grey" if grey else ""),
                border=BOX,
                number_format=fmt or "General",
                alignment=WRAP if fmt is None else Alignment(),
                font=GREY if grey else Font(),
            )
            book.add_named_style(style)


def _print_setup(sheet: Worksheet, title_rows: str | None) -> None:
    """A4 landscape, as wide as the page, page numbers, heading rows on every page."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_margins.left = sheet.page_margins.right = 0.5
    sheet.page_margins.top = sheet.page_margins.bottom = 0.6
    sheet.oddFooter.center.text = "Trang &P/&N"
    if title_rows is not None:
        sheet.print_title_rows = title_rows


def _caption(doc: ReportDocument, part: ReportRead, what: str) -> str:
    lang = doc.lang
    bits = [
        what,
        period_text(part, lang),
        ("Cách tính: " if lang == "vi" else "Clock: ") + clock_words(part.clock, lang),
    ]
    marker = provisional_text(part, lang)
    if marker:
        bits.append(marker)
    return " — ".join(bits)


def _table(
    sheet: Worksheet,
    caption: str,
    headings: Sequence[tuple[str, float]],
    rows: Sequence[Sequence[Any]],
    formats: Sequence[str | None],
    freeze_col: int = 1,
    greyed: Sequence[bool] = (),
) -> None:
    """Caption, headings, rows; widths, formats, frozen panes, autofilter, print setup.

    Cells take named styles (one per format, greyed or not): setting a border and a
    format cell by cell costs openpyxl a style hash each, minutes for a country."""
    sheet.append([caption])
    sheet.cell(1, 1).font = Font(bold=True, size=12)
    sheet.append([text for text, _ in headings])
    for index, (_, width) in enumerate(headings, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
        cell = sheet.cell(HEADER_ROW, index)
        cell.font, cell.fill, cell.alignment, cell.border = BOLD, HEADER_FILL, CENTRE, BOX
    sheet.row_dimensions[HEADER_ROW].height = 45
    # (Worksheet.max_row scans every cell: rows are counted here instead)
    names = [_style_name(fmt) for fmt in formats]
    for number, values in enumerate(rows, start=HEADER_ROW + 1):
        sheet.append(list(values))
        grey = "-grey" if greyed and greyed[number - HEADER_ROW - 1] else ""
        for index, name in enumerate(names, start=1):
            sheet.cell(number, index).style = name + grey
    last = get_column_letter(len(headings))
    sheet.freeze_panes = f"{get_column_letter(freeze_col + 1)}{HEADER_ROW + 1}"
    sheet.auto_filter.ref = f"A{HEADER_ROW}:{last}{HEADER_ROW + max(len(rows), 1)}"
    _print_setup(sheet, f"1:{HEADER_ROW}")


def _level_sheet(book: Workbook, doc: ReportDocument, level: str, part: ReportRead) -> None:
    lang = doc.lang
    cols = columns(level, lang)
    sheet = book.create_sheet(pick(SHEETS[level], lang))
    formats = [FORMATS.get(c.kind) for c in cols]
    _table(
        sheet,
        _caption(doc, part, pick(SHEETS[level], lang)),
        [(c.heading(lang), c.width) for c in cols],
        [[_cell(c, r) for c in cols] for r in part.rows],
        formats,
        freeze_col=3,
        greyed=[r.insufficient_data or r.availability is None for r in part.rows],
    )
    # the totals row sits below the autofilter's range, so sorting never moves it
    sheet.append([_cell(c, part.totals) if c.vi != "Hạng" else None for c in cols])
    total_row = HEADER_ROW + 1 + len(part.rows)
    for index, fmt in enumerate(formats, start=1):
        cell = sheet.cell(total_row, index)
        cell.font, cell.border = BOLD, BOX
        if fmt is not None:
            cell.number_format = fmt
    sheet.cell(total_row, 2).value = None
    sheet.cell(total_row, 3).value = part.totals.name


def _cell(column: Column, row: ReportRow) -> Any:
    value = column.value(row)
    if column.kind == "minutes" and isinstance(value, float):
        return round(value, 2)
    if column.kind == "percent" and isinstance(value, float):
        return round(value, 6)
    return value


def _incidents(book: Workbook, doc: ReportDocument) -> None:
    lang = doc.lang
    report = doc.report
    title = "Sự cố" if lang == "vi" else "Incidents"
    rows = [
        [
            r.check,
            r.check_name,
            r.unit_code,
            r.unit_name,
            local(r.started_at),
            local(r.ended_at) if r.ended_at else pick(NOT_RESTORED, lang),
            round(r.counted_minutes, 2),
        ]
        for r in report.incidents
    ]
    _table(
        book.create_sheet(title),
        _caption(doc, report, title),
        [(pick((vi, en), lang), width) for vi, en, width in INCIDENT_COLUMNS],
        rows,
        [None, None, None, None, DATETIME, DATETIME, MINUTES],
    )


def _exclusions(book: Workbook, doc: ReportDocument) -> None:
    lang = doc.lang
    report = doc.report
    title = "Loại trừ" if lang == "vi" else "Exclusions"
    rows = [
        [
            exclusion_kind(r, lang),
            local(r.first),
            local(r.end),
            r.scope,
            r.reason,
            exclusion_clock(r, lang),
        ]
        for r in report.exclusions
    ]
    _table(
        book.create_sheet(title),
        _caption(doc, report, title),
        [(pick((vi, en), lang), width) for vi, en, width in EXCLUSION_COLUMNS],
        rows,
        [None, DATETIME, DATETIME, None, None, None],
    )


def _rules(book: Workbook, doc: ReportDocument) -> None:
    lang = doc.lang
    sheet = book.create_sheet("Quy tắc" if lang == "vi" else "Rules")
    sheet.column_dimensions["A"].width = 150
    lines = (doc.report.rules.vi if lang == "vi" else doc.report.rules.en).splitlines()
    for number, rule in enumerate(lines, start=1):
        sheet.append([rule])
        sheet.cell(number, 1).alignment = WRAP
    sheet.cell(1, 1).font = BOLD
    _print_setup(sheet, None)


def _summary(sheet: Worksheet, doc: ReportDocument) -> None:
    """Letterhead, title, period, the province-wide figures and the signature block."""
    lang = doc.lang
    vi = lang == "vi"
    head = doc.heading
    report = doc.report
    totals = report.totals
    for letter, width in zip("ABCDEFGH", (34, 16, 4, 4, 34, 16, 4, 4), strict=True):
        sheet.column_dimensions[letter].width = width

    def put(row: int, col: int, value: Any, font: Font | None = None, span: int = 2) -> None:
        cell = sheet.cell(row, col, value)
        cell.alignment = CENTRE
        if font is not None:
            cell.font = font
        sheet.merge_cells(start_row=row, start_column=col, end_row=row, end_column=col + span - 1)

    put(1, 1, head.issuer_parent)
    put(2, 1, head.issuer, BOLD)
    put(3, 1, f"Số: {head.number}" if vi else f"No.: {head.number}")
    put(1, 5, NATION[0], BOLD, 4)
    put(2, 5, NATION[1], Font(bold=True, underline="single"), 4)
    put(3, 5, head.date_line(lang), Font(italic=True), 4)
    put(5, 1, "BÁO CÁO" if vi else "REPORT", Font(bold=True, size=14), 8)
    put(6, 1, report.title, Font(bold=True, size=12), 8)
    lines: list[tuple[str, Any, str | None]] = [
        ("Kỳ báo cáo" if vi else "Period", period_text(report, lang), None),
        ("Cách tính" if vi else "Clock", clock_words(report.clock, lang), None),
        ("Lập lúc" if vi else "Generated", moment_text(report.generated_at), None),
    ]
    marker = provisional_text(report, lang)
    if marker:
        lines.append(("Lưu ý" if vi else "Note", marker, None))
    ranked = sum(1 for r in report.rows if r.rank is not None)
    flagged = sum(1 for r in report.rows if r.insufficient_data)
    lines += [
        ("Số đơn vị" if vi else "Units", len(report.rows), INTEGER),
        ("Được xếp hạng" if vi else "Ranked", ranked, INTEGER),
        (
            f"{pick(('Chưa đủ dữ liệu', 'Not enough data'), lang)} "
            f"({'độ phủ dưới' if vi else 'coverage below'} {report.min_coverage:.0%})",
            flagged,
            INTEGER,
        ),
    ]
    for column in columns("unit", lang)[5:-1]:
        lines.append((column.heading(lang), _cell(column, totals), FORMATS.get(column.kind)))
    row = 8
    for label, value, fmt in lines:
        sheet.cell(row, 1, label).font = BOLD
        cell = sheet.cell(row, 2, value)
        if fmt is not None:
            cell.number_format = fmt
        if label in ("Lưu ý", "Note"):
            cell.font = Font(bold=True, color="C00000")
        row += 1
    row += 1
    for line in head.signer_title:
        put(row, 5, line, BOLD, 4)
        row += 1
    put(row, 5, "(Ký, ghi rõ họ tên)" if vi else "(signature)", Font(italic=True), 4)
    row += 5
    put(row, 5, head.signer_name, BOLD, 4)
    _print_setup(sheet, None)


def workbook(doc: ReportDocument) -> bytes:
    """The XLSX bytes of ``doc``."""
    from app.reports.exports import no_formulas

    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "Tổng hợp" if doc.lang == "vi" else "Summary"
    _add_styles(book)
    _summary(summary, doc)
    for level, part in (doc.levels or {doc.report.group: doc.report}).items():
        _level_sheet(book, doc, level, part)
    _incidents(book, doc)
    _exclusions(book, doc)
    _rules(book, doc)
    no_formulas(book)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


__all__ = ["DATE", "DATETIME", "MINUTES", "PERCENT", "note", "workbook"]
