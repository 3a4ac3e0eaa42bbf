"""What the XLSX and PDF reports say: columns, headings, dates, the letterhead.

Both renderings take their columns and words from here, so the workbook and the
signed PDF read the same. State words come from :mod:`app.vocab.states`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from app.reports.schemas import ExclusionRow, ReportRead, ReportRow
from app.vocab.states import State, state_minutes, state_word

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
Lang = Literal["vi", "en"]
Kind = Literal["text", "int", "minutes", "percent"]

NATION = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập – Tự do – Hạnh phúc")
INSUFFICIENT = ("Chưa đủ dữ liệu", "Not enough data")
NOTHING = ("Không có số liệu", "No data")
NOT_RESTORED = ("Chưa khắc phục", "Not restored")
_DOWN = state_word(State.DOWN, "vi")


def pick(pair: tuple[str, str], lang: Lang) -> str:
    return pair[0] if lang == "vi" else pair[1]


def clock_words(clock: str, lang: Lang) -> str:
    """ "Cách tính: cả ngày (24/7)" / "Cách tính: trong giờ hành chính"."""
    if lang == "vi":
        return "cả ngày (24/7)" if clock != "service_hours" else "trong giờ hành chính"
    return "around the clock (24/7)" if clock != "service_hours" else "office hours"


def day_text(on: date) -> str:
    return on.strftime("%d/%m/%Y")


def local(at: datetime) -> datetime:
    """``at`` in Vietnam time without a zone (spreadsheets have none)."""
    return at.astimezone(ZONE).replace(tzinfo=None)


def moment_text(at: datetime) -> str:
    """``HH:MM dd/mm/yyyy`` in Vietnam time."""
    return at.astimezone(ZONE).strftime("%H:%M %d/%m/%Y")


def provisional_text(report: ReportRead, lang: Lang) -> str | None:
    """ "Số liệu tạm tính đến 15:20 03/12/2026" for a period not over; ``None`` otherwise."""
    if not report.provisional or report.data_until is None:
        return None
    when = moment_text(report.data_until)
    return f"Số liệu tạm tính đến {when}" if lang == "vi" else f"Provisional figures up to {when}"


def period_text(report: ReportRead, lang: Lang) -> str:
    """ "tháng 12/2026 (từ 01/12/2026 đến 31/12/2026)"; a provisional period ends at its data."""
    first = day_text(report.first_day)
    last = day_text(report.last_day)
    if report.provisional and report.data_until is not None:
        last = moment_text(report.data_until)
    name = _period_name(report.period, lang)
    if lang == "vi":
        return f"{name} (từ {first} đến {last})"
    return f"{name} (from {first} to {last})"


def _period_name(label: str, lang: Lang) -> str:
    vi = lang == "vi"
    parts = label.split("-")
    if ".." in label:
        return "Kỳ tùy chọn" if vi else "Custom period"
    if len(parts) == 2 and parts[1].isdigit():
        return f"{'tháng' if vi else 'month'} {parts[1]}/{parts[0]}"
    if len(parts) == 2 and parts[1].startswith("Q"):
        return f"{'quý' if vi else 'quarter'} {parts[1][1:]}/{parts[0]}"
    if len(parts) == 2 and parts[1].startswith("W"):
        return f"{'tuần' if vi else 'week'} {parts[1][1:]}/{parts[0]}"
    if len(parts) == 3:
        return f"{'ngày' if vi else 'day'} {parts[2]}/{parts[1]}/{parts[0]}"
    return f"{'năm' if vi else 'year'} {label}"


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a level's table: its heading, width (characters) and cell."""

    vi: str
    en: str
    width: float
    kind: Kind
    value: Callable[[ReportRow], Any]

    def heading(self, lang: Lang) -> str:
        return self.vi if lang == "vi" else self.en


def note(row: ReportRow, lang: Lang) -> str:
    if row.insufficient_data:
        return pick(INSUFFICIENT, lang)
    if row.availability is None:
        return pick(NOTHING, lang)
    return ""


_NAMES: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "province": (("Mã tỉnh", "Province code"), ("Tỉnh", "Province")),
    "unit": (("Mã đơn vị", "Unit code"), ("Đơn vị", "Unit")),
    "service": (("Mã dịch vụ", "Service key"), ("Dịch vụ", "Service")),
    "check": (("Mã phép kiểm tra", "Check key"), ("Phép kiểm tra", "Check")),
}


def columns(level: str, lang: Lang = "vi") -> list[Column]:
    """The columns of a level's sheet (and PDF table), left to right."""
    (code_vi, code_en), (name_vi, name_en) = _NAMES[level]
    cols = [
        Column("Hạng", "Rank", 6, "int", lambda r: r.rank),
        Column(code_vi, code_en, 14 if level in ("unit", "province") else 26, "text", _key),
        Column(name_vi, name_en, 30, "text", lambda r: r.name),
    ]
    if level in ("service", "check"):
        cols += [
            Column("Mã đơn vị", "Unit code", 10, "text", lambda r: r.unit_code),
            Column("Đơn vị", "Unit", 24, "text", lambda r: r.unit_name),
        ]
    if level == "unit":
        cols.append(Column("Tỉnh", "Province", 16, "text", lambda r: r.province_name))
    if level in ("unit", "province"):
        cols.append(Column("Người đứng đầu", "Head", 22, "text", lambda r: r.head))
    down_vi = f"Phút {_DOWN.lower()}"
    cols += [
        Column(
            "Tỷ lệ khả dụng cả ngày (24/7)",
            "Availability 24/7",
            13,
            "percent",
            lambda r: r.availability_24_7,
        ),
        Column(
            "Tỷ lệ khả dụng trong giờ hành chính",
            "Availability, office hours",
            14,
            "percent",
            lambda r: r.availability_service_hours,
        ),
        Column(
            f"{down_vi} cả ngày (24/7)",
            "Downtime 24/7 (min)",
            12,
            "minutes",
            lambda r: r.downtime_24_7_minutes,
        ),
        Column(
            f"{down_vi} trong giờ hành chính",
            "Downtime, office hours (min)",
            13,
            "minutes",
            lambda r: r.downtime_service_hours_minutes,
        ),
        Column("Số sự cố", "Incidents", 8, "int", lambda r: r.incidents),
        Column(
            "Thời gian khắc phục TB (phút)", "MTTR (min)", 12, "minutes", lambda r: r.mttr_minutes
        ),
        Column(
            f"{_DOWN} dài nhất (phút)",
            "Longest outage (min)",
            12,
            "minutes",
            lambda r: r.longest_outage_minutes,
        ),
        Column("Độ phủ giám sát", "Monitored coverage", 11, "percent", lambda r: r.coverage),
        Column(
            "Thời gian theo dõi (phút)",
            "Monitored time (min)",
            12,
            "minutes",
            lambda r: r.counted_minutes,
        ),
        Column(
            state_minutes(State.MAINTENANCE, "vi"),
            state_minutes(State.MAINTENANCE, "en"),
            11,
            "minutes",
            lambda r: r.maintenance_minutes,
        ),
        Column(
            state_minutes(State.UNKNOWN, "vi"),
            state_minutes(State.UNKNOWN, "en"),
            13,
            "minutes",
            lambda r: r.unknown_minutes,
        ),
        Column("Ghi chú", "Note", 18, "text", lambda r: note(r, lang)),
    ]
    return cols


def _key(row: ReportRow) -> str | None:
    return row.key or None


PDF_LEVEL_COLUMNS = (
    "Hạng",
    "Mã đơn vị",
    "Mã tỉnh",
    "Đơn vị",
    "Tỉnh",
    "Người đứng đầu",
    "Tỷ lệ khả dụng cả ngày (24/7)",
    "Tỷ lệ khả dụng trong giờ hành chính",
    f"Phút {_DOWN.lower()} trong giờ hành chính",
    "Số sự cố",
    "Thời gian khắc phục TB (phút)",
    f"{_DOWN} dài nhất (phút)",
    "Độ phủ giám sát",
    "Ghi chú",
)
"""The columns the PDF keeps (a landscape A4 page holds about a dozen)."""


def pdf_columns(level: str, lang: Lang) -> list[Column]:
    """The PDF's subset of :func:`columns` (English uses the same positions)."""
    everything = columns(level, lang)
    vi_names = [c.vi for c in columns(level, "vi")]
    return [c for c, vi in zip(everything, vi_names, strict=True) if vi in PDF_LEVEL_COLUMNS]


EXCLUSION_COLUMNS: tuple[tuple[str, str, float], ...] = (
    ("Loại", "Kind", 22),
    ("Từ", "From", 17),
    ("Đến", "To", 17),
    ("Áp dụng cho", "Applies to", 40),
    ("Lý do", "Reason", 50),
    ("Ảnh hưởng cách tính", "Clock affected", 24),
)
EXCLUSION_KINDS = {
    "holiday": ("Ngày lễ, Tết", "Public holiday"),
    "day_off": ("Ngày nghỉ khai báo", "Declared day off"),
    "swapped_working": ("Ngày làm bù", "Swapped working day"),
    "maintenance": (state_word(State.MAINTENANCE, "vi"), state_word(State.MAINTENANCE, "en")),
}


def exclusion_clock(row: ExclusionRow, lang: Lang) -> str:
    if row.clock == "service_hours":
        return "Chỉ giờ hành chính" if lang == "vi" else "Office hours only"
    return "Cả hai cách tính" if lang == "vi" else "Both clocks"


def exclusion_kind(row: ExclusionRow, lang: Lang) -> str:
    return pick(EXCLUSION_KINDS.get(row.kind, (row.kind, row.kind)), lang)


def is_whole_days(row: ExclusionRow) -> bool:
    start, end = local(row.first), local(row.end)
    return start.hour == start.minute == 0 and end.hour == end.minute == 0


INCIDENT_COLUMNS: tuple[tuple[str, str, float], ...] = (
    ("Phép kiểm tra", "Check", 28),
    ("Tên", "Name", 30),
    ("Mã đơn vị", "Unit code", 10),
    ("Đơn vị", "Unit", 26),
    ("Bắt đầu", "Started", 17),
    ("Kết thúc", "Ended", 17),
    (f"Thời gian {_DOWN.lower()} trong kỳ (phút)", "Downtime in the period (min)", 14),
)
