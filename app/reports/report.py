"""Availability reports over rollups (docs/design.md §2; docs/reports.md)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounting import availability as arithmetic
from app.accounting.days import local_day
from app.accounting.period import Period, PeriodName, resolve
from app.catalog.schemas import RulesRead
from app.catalog.service import ClockName
from app.models.base import utcnow
from app.reports import report_repository as repo
from app.reports.report_repository import Label, OutageStats
from app.reports.schemas import IncidentRow, ReportRead, ReportRow

Group = Literal["check", "service", "unit", "province"]
TITLE_VI = "Báo cáo tình hình bảo đảm hoạt động thông suốt"
TITLE_EN = "Report on keeping services running without interruption"
RULES_EXTRA_VI = (
    "10. Số liệu lấy từ bảng tổng hợp theo ngày (giờ Việt Nam) và theo tháng; mỗi ngày được"
    " tính lại khi có khai báo bảo trì hoặc thay đổi lịch muộn. Dòng cấp tỉnh là tổng của "
    "các đơn vị trong tỉnh (cộng thời gian, cộng số sự cố)."
)
RULES_EXTRA_EN = (
    "10. Figures come from daily (Vietnam time) and monthly rollups; a day is recomputed "
    "when maintenance or a calendar change is declared late. A province row is the sum of "
    "its units (times added, incidents added)."
)
NO_STATS = OutageStats(0, 0.0, 0, 0.0, 0.0)


def _row(label: Label, level: str, spent: dict[str, float], stats: OutageStats) -> ReportRow:
    own_unit = level != "unit"
    return ReportRow(
        key=label.key,
        name=label.name,
        unit_code=label.unit_code if own_unit else None,
        unit_name=label.unit_name if own_unit else None,
        province_code=label.province_code,
        province_name=label.province_name,
        availability=arithmetic.availability(spent),
        counted_minutes=sum(spent.values()) / 60,
        up_minutes=(spent[arithmetic.UP] + spent[arithmetic.DEGRADED]) / 60,
        downtime_minutes=spent[arithmetic.DOWN] / 60,
        maintenance_minutes=spent[arithmetic.MAINTENANCE] / 60,
        unknown_minutes=spent[arithmetic.UNKNOWN] / 60,
        incidents=stats.incidents,
        mttr_minutes=stats.restore_s / stats.restored / 60 if stats.restored else None,
        mttr_counted_minutes=stats.restore_clock_s / stats.restored / 60
        if stats.restored
        else None,
        longest_outage_minutes=stats.longest_s / 60,
        restored=stats.restored,
    )


def combine(key: str, name: str, province: tuple[str, str], rows: Sequence[ReportRow]) -> ReportRow:
    """Rows added together: minutes and incidents summed, MTTR weighted by restorations."""
    up = sum(r.up_minutes for r in rows)
    down = sum(r.downtime_minutes for r in rows)
    restored = sum(r.restored for r in rows)
    return ReportRow(
        key=key,
        name=name,
        province_code=province[0],
        province_name=province[1],
        availability=up / (up + down) if up + down > 0 else None,
        counted_minutes=sum(r.counted_minutes for r in rows),
        up_minutes=up,
        downtime_minutes=down,
        maintenance_minutes=sum(r.maintenance_minutes for r in rows),
        unknown_minutes=sum(r.unknown_minutes for r in rows),
        incidents=sum(r.incidents for r in rows),
        mttr_minutes=_weighted(rows, "mttr_minutes", restored),
        mttr_counted_minutes=_weighted(rows, "mttr_counted_minutes", restored),
        longest_outage_minutes=max((r.longest_outage_minutes for r in rows), default=0.0),
        restored=restored,
    )


def _weighted(rows: Iterable[ReportRow], field: str, restored: int) -> float | None:
    if not restored:
        return None
    return sum((getattr(r, field) or 0.0) * r.restored for r in rows) / restored


def worst_first(rows: Iterable[ReportRow]) -> list[ReportRow]:
    """Lowest availability first, then most downtime; rows with nothing measured last."""
    return sorted(
        rows,
        key=lambda r: (r.availability is None, r.availability or 0.0, -r.downtime_minutes, r.key),
    )


async def level_rows(
    session: AsyncSession, level: str, period: Period, sh: bool, province: str | None
) -> list[ReportRow]:
    labels = await repo.labels(session, level, province)
    spent = await repo.seconds(session, level, period, sh, province)
    stats = await repo.outage_stats(session, level, period, sh, province)
    return [
        _row(labels[entity_id], level, values, stats.get(entity_id, NO_STATS))
        for entity_id, values in spent.items()
        if entity_id in labels
    ]


def by_province(unit_rows: Sequence[ReportRow]) -> list[ReportRow]:
    grouped: dict[tuple[str, str], list[ReportRow]] = {}
    for row in unit_rows:
        grouped.setdefault((row.province_code, row.province_name), []).append(row)
    return [combine(code, name, (code, name), rows) for (code, name), rows in grouped.items()]


async def incidents(
    session: AsyncSession, period: Period, sh: bool, province: str | None
) -> list[IncidentRow]:
    labels = await repo.labels(session, "check", province)
    return [
        IncidentRow(
            check=labels[run.entity_id].key,
            check_name=labels[run.entity_id].name,
            unit_code=labels[run.entity_id].unit_code,
            unit_name=labels[run.entity_id].unit_name,
            started_at=run.started_at,
            ended_at=run.ended_at,
            counted_minutes=run.counted_s / 60,
        )
        for run in await repo.check_runs(session, period, sh, province)
        if run.entity_id in labels
    ]


async def availability_report(
    session: AsyncSession,
    *,
    period: PeriodName | None = None,
    at: str | None = None,
    first: date | None = None,
    to: date | None = None,
    clock: ClockName = "24/7",
    group: Group = "unit",
    province: str | None = None,
    with_incidents: bool = True,
    lang: Literal["vi", "en"] = "vi",
    now: datetime | None = None,
) -> ReportRead:
    """Rows at ``group`` level, worst first, with totals and the accounting rules."""
    now = now or utcnow()
    resolved = resolve(period, at, first, to, local_day(now))
    sh = clock == "service_hours"
    level = "unit" if group == "province" else group
    rows = await level_rows(session, level, resolved, sh, province)
    if group == "province":
        rows = by_province(rows)
    province_key = (province or "", "")
    return ReportRead(
        title=TITLE_VI if lang == "vi" else TITLE_EN,
        period=resolved.label,
        first_day=resolved.first,
        last_day=resolved.end - timedelta(days=1),
        clock=clock,
        group=group,
        province=province,
        generated_at=now,
        rows=worst_first(rows),
        totals=combine("", "Tổng cộng" if lang == "vi" else "Total", province_key, rows),
        incidents=await incidents(session, resolved, sh, province) if with_incidents else [],
        rules=RulesRead(
            vi=arithmetic.RULES_VI + "\n" + RULES_EXTRA_VI,
            en=arithmetic.RULES_EN + "\n" + RULES_EXTRA_EN,
        ),
    )


LEVELS: tuple[Group, ...] = ("province", "unit", "service", "check")


async def all_levels(
    session: AsyncSession, main: ReportRead, lang: Literal["vi", "en"] = "vi"
) -> dict[str, ReportRead]:
    """The same period, clock and province at every level (for the XLSX workbook)."""
    found: dict[str, ReportRead] = {}
    for level in LEVELS:
        if level == main.group:
            found[level] = main
            continue
        found[level] = await availability_report(
            session,
            first=main.first_day,
            to=main.last_day,
            clock="service_hours" if main.clock == "service_hours" else "24/7",
            group=level,
            province=main.province,
            with_incidents=False,
            lang=lang,
            now=main.generated_at,
        )
        found[level] = found[level].model_copy(update={"period": main.period})
    return found
