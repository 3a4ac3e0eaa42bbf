"""The report as a document to sign: its figures at every level, letterhead, signature.

For code that sends or serves reports::

    doc = await build_report(session, settings, period="month", at="2026-11")
    render_xlsx(doc) -> bytes      # the workbook (docs/reports.md)
    render_pdf(doc) -> bytes       # the same content as a PDF, A4 landscape
    render_csv(doc) -> bytes       # the main table
    doc.report                     # the JSON shape (ReportRead) of the main level
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounting.days import local_day
from app.accounting.period import PeriodName
from app.catalog.service import ClockName
from app.config import Settings
from app.models import Unit
from app.models.base import utcnow
from app.reports import report as reports
from app.reports.report import Group
from app.reports.schemas import ReportRead

Lang = Literal["vi", "en"]


@dataclass(frozen=True, slots=True)
class Heading:
    """The letterhead and signature block (settings ``THONGSUOT_REPORT_*``)."""

    issuer_parent: str
    issuer: str
    number: str
    place: str
    signed_on: date
    signer_title: tuple[str, ...]
    signer_name: str
    font_dir: str = "/usr/share/fonts/truetype/dejavu"

    def date_line(self, lang: Lang = "vi") -> str:
        """ "Hưng Yên, ngày 03 tháng 12 năm 2026"."""
        on = self.signed_on
        if lang == "vi":
            where = f"{self.place}, " if self.place else ""
            return f"{where}ngày {on.day:02d} tháng {on.month:02d} năm {on.year}"
        where = f"{self.place}, " if self.place else ""
        return f"{where}{on.strftime('%d %B %Y')}"


def _place(province_name: str | None) -> str:
    name = (province_name or "").strip()
    for prefix in ("Tỉnh ", "tỉnh ", "Thành phố ", "thành phố ", "TP. ", "TP "):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _parent(province_name: str | None) -> str:
    name = (province_name or "").strip()
    if not name:
        return "ỦY BAN NHÂN DÂN"
    if name.lower().startswith(("tỉnh ", "thành phố ")):
        return f"ỦY BAN NHÂN DÂN {name.upper()}"
    return f"ỦY BAN NHÂN DÂN TỈNH {name.upper()}"


def heading_from(settings: Settings, province_name: str | None, on: date) -> Heading:
    """The letterhead from settings; issuer parent and place default to the province's."""
    title = settings.report_signer_title.replace("\\n", "\n")
    return Heading(
        issuer_parent=settings.report_issuer_parent or _parent(province_name),
        issuer=settings.report_issuer,
        number=settings.report_number,
        place=settings.report_place if settings.report_place is not None else _place(province_name),
        signed_on=on,
        signer_title=tuple(line.strip() for line in title.splitlines() if line.strip()),
        signer_name=settings.report_signer_name,
        font_dir=str(settings.report_font_dir),
    )


@dataclass(frozen=True, slots=True)
class ReportDocument:
    """The main report (by unit), the same period at every level, and the letterhead."""

    report: ReportRead
    levels: dict[str, ReportRead]
    heading: Heading
    lang: Lang = "vi"
    province_name: str | None = None

    def with_report(self, report: ReportRead, levels: dict[str, ReportRead]) -> ReportDocument:
        """The same letterhead over other figures (e.g. one unit's own report)."""
        return replace(self, report=report, levels=levels)


async def province_name(session: AsyncSession, province: str | None) -> str | None:
    """The name of ``province`` (a code), else of the only province unit."""
    stmt = select(Unit.name).where(Unit.kind == "province", Unit.retired_at.is_(None))
    if province is not None:
        stmt = select(Unit.name).where(Unit.code == province)
    names = list((await session.execute(stmt.order_by(Unit.code).limit(2))).scalars())
    return names[0] if len(names) == 1 else None


async def build_report(
    session: AsyncSession,
    settings: Settings,
    *,
    period: PeriodName | None = "month",
    at: str | None = None,
    first: date | None = None,
    to: date | None = None,
    clock: ClockName = "24/7",
    group: Group = "unit",
    province: str | None = None,
    lang: Lang = "vi",
    now: datetime | None = None,
) -> ReportDocument:
    """Everything the XLSX and the PDF show, read from the rollups."""
    now = now or utcnow()
    main = await reports.availability_report(
        session,
        period=period,
        at=at,
        first=first,
        to=to,
        clock=clock,
        group=group,
        province=province,
        with_incidents=True,
        lang=lang,
        now=now,
        min_coverage=settings.report_min_coverage,
    )
    levels = await reports.all_levels(session, main, lang)
    name = await province_name(session, province)
    return ReportDocument(
        report=main,
        levels=levels,
        heading=heading_from(settings, name, local_day(now)),
        lang=lang,
        province_name=name,
    )


def render_xlsx(doc: ReportDocument) -> bytes:
    from app.reports.xlsx import workbook

    return workbook(doc)


def render_pdf(doc: ReportDocument) -> bytes:
    from app.reports.pdf import pdf

    return pdf(doc)


def render_csv(doc: ReportDocument) -> bytes:
    from app.reports.exports import to_csv

    return to_csv(doc.report, doc.lang)
