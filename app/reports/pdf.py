"""The report as a PDF to sign and attach: A4 landscape, fonts embedded, "Trang 1/3".

Rendered with ReportLab (pure Python, no system libraries) in DejaVu Serif from
Debian's ``fonts-dejavu-core`` (``THONGSUOT_REPORT_FONT_DIR``); the italic comes
from ``fonts-dejavu-extra`` when installed, else the regular face is used. ReportLab
does no text shaping, so every text is NFC-normalised: Vietnamese then uses only
precomposed letters, which DejaVu has.

Content: letterhead (Quốc hiệu, tiêu ngữ, issuer, number, place and date), title,
period and clock, the provisional marker, province-wide figures, the unit and
province tables (units without enough data after the ranked ones, greyed), the
exclusions, the signature block; then the rules and the incidents as appendices. The
per-service and per-check tables are in the XLSX sent with it.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from app.errors import ConfigError
from app.reports.document import ReportDocument
from app.reports.schemas import ReportRead, ReportRow
from app.reports.wording import (
    NATION,
    NOT_RESTORED,
    Column,
    Lang,
    clock_words,
    exclusion_clock,
    exclusion_kind,
    is_whole_days,
    moment_text,
    pdf_columns,
    period_text,
    pick,
    provisional_text,
)

PAGE = landscape(A4)
PDF_WIDTHS = {"Hạng": 7, "Mã đơn vị": 9, "Mã tỉnh": 9, "Tỉnh": 13, "Số sự cố": 8, "Ghi chú": 15}
"""Relative widths on paper where they differ from the workbook's."""
MARGIN = 14 * mm
FACES = {
    "Report": "DejaVuSerif.ttf",
    "Report-Bold": "DejaVuSerif-Bold.ttf",
    "Report-Italic": "DejaVuSerif-Italic.ttf",
}


def _fonts(font_dir: str) -> None:
    """Register the faces once; a missing regular or bold face is a clear error."""
    if "Report" in pdfmetrics.getRegisteredFontNames():
        return
    folder = Path(font_dir)
    for name, file in FACES.items():
        path = folder / file
        if not path.is_file():
            if name == "Report-Italic":
                path = folder / FACES["Report"]
            else:
                raise ConfigError(
                    [
                        f"Không tìm thấy phông chữ {path} (cài gói fonts-dejavu-core hoặc đặt "
                        f"THONGSUOT_REPORT_FONT_DIR) / font {path} not found"
                    ]
                )
        pdfmetrics.registerFont(TTFont(name, str(path)))
    pdfmetrics.registerFontFamily(
        "Report", normal="Report", bold="Report-Bold", italic="Report-Italic"
    )


def _style(size: float = 9, *, bold: bool = False, italic: bool = False, **kw: Any) -> Any:
    font = "Report-Bold" if bold else "Report-Italic" if italic else "Report"
    return ParagraphStyle(
        f"s{size}{bold}{italic}{sorted(kw.items())}",
        fontName=font,
        fontSize=size,
        leading=size * 1.25,
        **kw,
    )


def _p(text: Any, style: Any) -> Paragraph:
    """A paragraph of plain text: NFC, XML-escaped (names may hold ``<`` or ``&``)."""
    clean = unicodedata.normalize("NFC", "" if text is None else str(text))
    text = escape(clean).replace("\n", "<br/>").replace("  ", "&nbsp; ")
    return Paragraph(text, style)


def _number(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "percent":
        return f"{value * 100:.2f}%".replace(".", ",")
    if kind == "minutes":
        return f"{value:,.1f}".replace(",", " ").replace(".", ",")
    return str(value)


class _NumberedCanvas(Canvas):
    """Draws "Trang n/N" once the page count is known (pages are kept until save)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initialFontName", "Report")  # no unembedded Helvetica
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []
        self.words = "Trang"

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()  # type: ignore[attr-defined]  # ReportLab's own reset

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self.setFont("Report", 8)
            self.drawCentredString(
                PAGE[0] / 2, 7 * mm, f"{self.words} {self.getPageNumber()}/{total}"
            )
            super().showPage()
        super().save()


def _level_table(part: ReportRead, level: str, lang: Lang, width: float) -> Table:
    """Text columns are paragraphs (they wrap); figures are plain strings set right by
    the table style, which keeps a national table (3,321 rows) quick to lay out."""
    cols = pdf_columns(level, lang)
    head_style = _style(7, bold=True, alignment=TA_CENTER)
    text, grey_text = _style(7.5), _style(7.5, textColor=colors.grey)
    data: list[list[Any]] = [[_p(c.heading(lang), head_style) for c in cols]]
    commands: list[Any] = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#D9D9D9")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2),
        ("FONTNAME", (0, 1), (-1, -1), "Report"),
        ("FONTSIZE", (0, 1), (-1, -1), 7.5),
        ("FONTNAME", (0, -1), (-1, -1), "Report-Bold"),
    ]
    for index, column in enumerate(cols):
        if column.kind != "text":
            commands.append(("ALIGN", (index, 1), (index, -1), "RIGHT"))
    for number, row in enumerate(part.rows, start=1):
        grey = row.insufficient_data or row.availability is None
        data.append(_cells(cols, row, grey_text if grey else text))
        if grey:
            commands.append(("TEXTCOLOR", (0, number), (-1, number), colors.grey))
    data.append(_cells(cols, part.totals, _style(7.5, bold=True)))
    weights = [PDF_WIDTHS.get(c.vi, c.width) for c in cols]
    widths = [width * w / sum(weights) for w in weights]
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle(commands))
    return table


def _cells(cols: Sequence[Column], row: ReportRow, text: Any) -> list[Any]:
    out: list[Any] = []
    for column in cols:
        value = column.value(row)
        if column.kind == "text":
            out.append(_p(value, text) if value else "")
        else:
            out.append(_number(value, column.kind))
    return out


def _simple_table(rows: Sequence[Sequence[str]], weights: Sequence[float], width: float) -> Table:
    head = _style(7.5, bold=True, alignment=TA_CENTER)
    body = _style(7.5)
    data = [[_p(v, head) for v in rows[0]]] + [[_p(v, body) for v in r] for r in rows[1:]]
    table = Table(data, colWidths=[width * w / sum(weights) for w in weights], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#D9D9D9")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _letterhead(doc: ReportDocument, width: float) -> list[Any]:
    head = doc.heading
    lang = doc.lang
    centre = _style(11, alignment=TA_CENTER)
    centre_bold = _style(11, bold=True, alignment=TA_CENTER)
    left = [
        _p(head.issuer_parent, centre),
        _p(head.issuer, centre_bold),
        _p("———", centre),
        _p(("Số: " if lang == "vi" else "No.: ") + head.number, centre),
    ]
    right = [
        _p(NATION[0], centre_bold),
        _p(NATION[1], _style(12, bold=True, alignment=TA_CENTER)),
        _p("———————————", centre),
        _p(head.date_line(lang), _style(11, italic=True, alignment=TA_CENTER)),
    ]
    table = Table([[left, right]], colWidths=[width * 0.42, width * 0.58])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return [table, Spacer(1, 6 * mm)]


def _title(doc: ReportDocument) -> list[Any]:
    lang = doc.lang
    report = doc.report
    out: list[Any] = [
        _p("BÁO CÁO" if lang == "vi" else "REPORT", _style(14, bold=True, alignment=TA_CENTER)),
        _p(_subtitle(report.title), _style(12, bold=True, alignment=TA_CENTER)),
        Spacer(1, 3 * mm),
        _p(
            ("Kỳ báo cáo: " if lang == "vi" else "Period: ") + period_text(report, lang),
            _style(10, alignment=TA_CENTER),
        ),
        _p(
            ("Cách tính: " if lang == "vi" else "Clock: ") + clock_words(report.clock, lang),
            _style(10, alignment=TA_CENTER),
        ),
    ]
    marker = provisional_text(report, lang)
    if marker:
        out.append(_p(marker, _style(10, bold=True, alignment=TA_CENTER, textColor="#C00000")))
    out.append(Spacer(1, 4 * mm))
    return out


def _subtitle(title: str) -> str:
    """ "Tình hình bảo đảm ..." under "BÁO CÁO" (the title without its first word)."""
    if title.startswith("Báo cáo "):
        rest = title[len("Báo cáo ") :]
        return rest[:1].upper() + rest[1:]
    return title


def _summary(doc: ReportDocument) -> list[Any]:
    lang = doc.lang
    vi = lang == "vi"
    report = doc.report
    totals = report.totals
    ranked = sum(1 for r in report.rows if r.rank is not None)
    flagged = sum(1 for r in report.rows if r.insufficient_data)
    body = _style(10, alignment=TA_LEFT)
    lines = [
        (
            f"Số đơn vị: {len(report.rows)}; được xếp hạng: {ranked}; chưa đủ dữ liệu (độ phủ "
            f"giám sát dưới {report.min_coverage:.0%}): {flagged}."
            if vi
            else f"Units: {len(report.rows)}; ranked: {ranked}; not enough data (coverage "
            f"below {report.min_coverage:.0%}): {flagged}."
        ),
        (
            f"Toàn bộ: tỷ lệ khả dụng cả ngày (24/7) {_number(totals.availability_24_7, 'percent')}"
            f", trong giờ hành chính {_number(totals.availability_service_hours, 'percent')}; "
            f"{totals.incidents} sự cố; độ phủ giám sát {_number(totals.coverage, 'percent')}."
            if vi
            else f"Overall: availability 24/7 {_number(totals.availability_24_7, 'percent')}, "
            f"office hours {_number(totals.availability_service_hours, 'percent')}; "
            f"{totals.incidents} incidents; coverage {_number(totals.coverage, 'percent')}."
        ),
    ]
    return [_p(line, body) for line in lines] + [Spacer(1, 3 * mm)]


def _section(text: str) -> list[Any]:
    return [
        CondPageBreak(30 * mm),
        Spacer(1, 4 * mm),
        _p(text, _style(11, bold=True)),
        Spacer(1, 2 * mm),
    ]


def _exclusions(doc: ReportDocument, width: float) -> list[Any]:
    lang = doc.lang
    vi = lang == "vi"
    rows = [
        ["Loại", "Thời gian", "Áp dụng cho", "Lý do", "Ảnh hưởng cách tính"]
        if vi
        else ["Kind", "When", "Applies to", "Reason", "Clock affected"]
    ]
    for r in doc.report.exclusions:
        if is_whole_days(r):
            when = moment_text(r.first)[6:]
        else:
            when = f"{moment_text(r.first)} – {moment_text(r.end)}"
        rows.append([exclusion_kind(r, lang), when, r.scope, r.reason, exclusion_clock(r, lang)])
    if len(rows) == 1:
        return [_p("Không có." if vi else "None.", _style(10))]
    return [_simple_table(rows, (14, 22, 34, 44, 16), width)]


def _signature(doc: ReportDocument, width: float) -> list[Any]:
    head = doc.heading
    centre_bold = _style(11, bold=True, alignment=TA_CENTER)
    right: list[Any] = [_p(line, centre_bold) for line in head.signer_title]
    right.append(
        _p("(Ký, ghi rõ họ tên)" if doc.lang == "vi" else "(signature)", _style(9, italic=True))
    )
    right += [Spacer(1, 22 * mm), _p(head.signer_name, centre_bold)]
    table = Table([["", right]], colWidths=[width * 0.55, width * 0.45])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return [Spacer(1, 6 * mm), KeepTogether([table])]


def _appendices(doc: ReportDocument, width: float) -> list[Any]:
    lang = doc.lang
    vi = lang == "vi"
    report = doc.report
    out: list[Any] = [PageBreak(), _p("PHỤ LỤC" if vi else "APPENDICES", _style(12, bold=True))]
    out += _section("1. Quy tắc tính" if vi else "1. How the figures are counted")
    for line in (report.rules.vi if vi else report.rules.en).splitlines():
        out.append(_p(line, _style(9, spaceAfter=2)))
    out += _section("2. Danh sách sự cố" if vi else "2. Incidents")
    rows = [
        ["Phép kiểm tra", "Đơn vị", "Bắt đầu", "Kết thúc", "Thời gian tính (phút)"]
        if vi
        else ["Check", "Unit", "Started", "Ended", "Counted (min)"]
    ]
    for r in report.incidents:
        rows.append(
            [
                f"{r.check_name} ({r.check})",
                f"{r.unit_name} ({r.unit_code})",
                moment_text(r.started_at),
                moment_text(r.ended_at) if r.ended_at else pick(NOT_RESTORED, lang),
                _number(r.counted_minutes, "minutes"),
            ]
        )
    if len(rows) == 1:
        out.append(_p("Không có." if vi else "None.", _style(10)))
    else:
        out.append(_simple_table(rows, (40, 30, 15, 15, 12), width))
    return out


def pdf(doc: ReportDocument) -> bytes:
    """The PDF bytes of ``doc``."""
    _fonts(doc.heading.font_dir)
    lang = doc.lang
    vi = lang == "vi"
    buffer = io.BytesIO()
    template = SimpleDocTemplate(
        buffer,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=doc.report.title,
        author=doc.heading.issuer,
        lang=lang,
    )
    width = PAGE[0] - 2 * MARGIN
    story: list[Any] = [*_letterhead(doc, width), *_title(doc), *_summary(doc)]
    unit = doc.levels.get("unit", doc.report if doc.report.group == "unit" else None)
    if unit is not None:
        story += _section(
            "I. Kết quả theo đơn vị (xếp từ thấp nhất)" if vi else "I. Units (worst first)"
        )
        story.append(_level_table(unit, "unit", lang, width))
    province = doc.levels.get("province")
    if province is not None:
        story += _section("II. Tổng hợp theo tỉnh" if vi else "II. By province")
        story.append(_level_table(province, "province", lang, width))
    story += _section(
        "III. Thời gian được loại trừ (ngày nghỉ, ngày làm bù, bảo trì)"
        if vi
        else "III. Excluded time (days off, swapped working days, maintenance)"
    )
    story += _exclusions(doc, width)
    story.append(Spacer(1, 2 * mm))
    story.append(
        _p(
            "Chi tiết theo dịch vụ và theo phép kiểm tra: xem tệp XLSX gửi kèm."
            if vi
            else "Per service and per check: see the XLSX sent with this report.",
            _style(9, italic=True),
        )
    )
    story += _signature(doc, width)
    story += _appendices(doc, width)

    def canvas(*args: Any, **kwargs: Any) -> _NumberedCanvas:
        found = _NumberedCanvas(*args, **kwargs)
        found.words = "Trang" if vi else "Page"
        return found

    template.build(story, canvasmaker=canvas)
    return buffer.getvalue()
