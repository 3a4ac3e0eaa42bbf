"""Availability reports over rollups (docs/design.md §2; docs/reports.md)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounting import availability as arithmetic
from app.accounting.days import day_start, local_day
from app.accounting.period import Period, PeriodName, resolve
from app.catalog.schemas import RulesRead
from app.catalog.service import ClockName
from app.models.base import utcnow
from app.reports import report_repository as repo
from app.reports.exclusions import exclusions
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


def _row(label: Label, spent: dict[str, float], stats: OutageStats) -> ReportRow:
    # unit_code/unit_name: the unit the row belongs to; a unit's (or a province's) own
    return ReportRow(
        key=label.key,
        name=label.name,
        unit_code=label.unit_code,
        unit_name=label.unit_name,
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


def coverage(row: ReportRow) -> float | None:
    """Monitored coverage: measured time / (measured + unknown time) on the row's clock.

    Declared maintenance is left out of both (it is excluded from availability too);
    ``None`` when the period holds no such time (e.g. Tết on service hours).
    """
    measured = row.up_minutes + row.downtime_minutes
    observable = measured + row.unknown_minutes
    return measured / observable if observable > 0 else None


def _with_clocks(row: ReportRow, other: ReportRow | None, sh: bool) -> ReportRow:
    """``row`` (on its clock) with the figures of both clocks and its coverage."""
    always, hours = (other, row) if sh else (row, other)
    return row.model_copy(
        update={
            "availability_24_7": always.availability if always else None,
            "availability_service_hours": hours.availability if hours else None,
            "up_24_7_minutes": always.up_minutes if always else 0.0,
            "up_service_hours_minutes": hours.up_minutes if hours else 0.0,
            "downtime_24_7_minutes": always.downtime_minutes if always else 0.0,
            "downtime_service_hours_minutes": hours.downtime_minutes if hours else 0.0,
            "coverage": coverage(row),
        }
    )


def _ratio(up: float, down: float) -> float | None:
    return up / (up + down) if up + down > 0 else None


def combine(key: str, name: str, province: tuple[str, str], rows: Sequence[ReportRow]) -> ReportRow:
    """Rows added together: minutes and incidents summed, MTTR weighted by restorations."""
    up = sum(r.up_minutes for r in rows)
    down = sum(r.downtime_minutes for r in rows)
    restored = sum(r.restored for r in rows)
    up_always = sum(r.up_24_7_minutes for r in rows)
    up_hours = sum(r.up_service_hours_minutes for r in rows)
    down_always = sum(r.downtime_24_7_minutes for r in rows)
    down_hours = sum(r.downtime_service_hours_minutes for r in rows)
    found = ReportRow(
        key=key,
        name=name,
        unit_code=key or None,  # a province row is the province's own unit
        unit_name=name if key else None,
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
        availability_24_7=_ratio(up_always, down_always),
        availability_service_hours=_ratio(up_hours, down_hours),
        up_24_7_minutes=up_always,
        up_service_hours_minutes=up_hours,
        downtime_24_7_minutes=down_always,
        downtime_service_hours_minutes=down_hours,
    )
    return found.model_copy(update={"coverage": coverage(found)})


def _weighted(rows: Iterable[ReportRow], field: str, restored: int) -> float | None:
    if not restored:
        return None
    return sum((getattr(r, field) or 0.0) * r.restored for r in rows) / restored


def _standing(row: ReportRow) -> int:
    """0 ranked, 1 not enough data (coverage below the minimum), 2 nothing measured."""
    if row.insufficient_data:
        return 1
    return 2 if row.availability is None else 0


def worst_first(rows: Iterable[ReportRow]) -> list[ReportRow]:
    """Lowest availability first, then most downtime; units with too little data after
    them, rows with nothing measured last."""
    return sorted(
        rows,
        key=lambda r: (
            _standing(r),
            r.availability is None,
            r.availability or 0.0,
            -r.downtime_minutes,
            r.key,
        ),
    )


def ranked(rows: Iterable[ReportRow], min_coverage: float) -> list[ReportRow]:
    """Rows flagged below ``min_coverage``, worst first, ranks 1.. for the ranked ones."""
    flagged = [
        r.model_copy(
            update={"insufficient_data": r.coverage is not None and r.coverage < min_coverage}
        )
        for r in rows
    ]
    out = []
    for index, row in enumerate(worst_first(flagged)):
        out.append(row.model_copy(update={"rank": index + 1 if _standing(row) == 0 else None}))
    return out


async def level_rows(
    session: AsyncSession, level: str, period: Period, sh: bool, province: str | None
) -> list[ReportRow]:
    """Rows on the chosen clock, each with both clocks' availability and downtime."""
    labels = await repo.labels(session, level, province)
    spent = await repo.seconds(session, level, period, sh, province)
    other = await repo.seconds(session, level, period, not sh, province)
    stats = await repo.outage_stats(session, level, period, sh, province)
    heads = await repo.heads(session, province)
    rows = []
    for entity_id, values in spent.items():
        label = labels.get(entity_id)
        if label is None:
            continue
        row = _row(label, values, stats.get(entity_id, NO_STATS))
        row.head = heads.get(label.unit_code)
        twin = _row(label, other.get(entity_id, dict.fromkeys(arithmetic.STATES, 0.0)), NO_STATS)
        rows.append(_with_clocks(row, twin, sh))
    return rows


def by_province(unit_rows: Sequence[ReportRow]) -> list[ReportRow]:
    grouped: dict[tuple[str, str], list[ReportRow]] = {}
    for row in unit_rows:
        grouped.setdefault((row.province_code, row.province_name), []).append(row)
    out = []
    for (code, name), rows in grouped.items():
        row = combine(code, name, (code, name), rows)
        row.head = next((r.head for r in rows if r.key == code), None)  # the province's own
        out.append(row)
    return out


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
    min_coverage: float = 0.8,
    with_exclusions: bool = True,
) -> ReportRead:
    """Rows at ``group`` level, worst first (units observed for less than ``min_coverage``
    of the period after the ranked ones), with totals, exclusions and the rules."""
    now = now or utcnow()
    resolved = resolve(period, at, first, to, local_day(now))
    sh = clock == "service_hours"
    level = "unit" if group == "province" else group
    rows = await level_rows(session, level, resolved, sh, province)
    if group == "province":
        rows = by_province(rows)
    province_key = (province or "", "")
    until = await _data_until(session, resolved, now)
    return ReportRead(
        title=TITLE_VI if lang == "vi" else TITLE_EN,
        period=resolved.label,
        first_day=resolved.first,
        last_day=resolved.end - timedelta(days=1),
        clock=clock,
        group=group,
        province=province,
        generated_at=now,
        rows=ranked(rows, min_coverage),
        totals=combine("", "Tổng cộng" if lang == "vi" else "Total", province_key, rows),
        incidents=await incidents(session, resolved, sh, province) if with_incidents else [],
        rules=RulesRead(
            vi="\n".join((arithmetic.RULES_VI, RULES_EXTRA_VI, _coverage_rule(min_coverage, "vi"))),
            en="\n".join((arithmetic.RULES_EN, RULES_EXTRA_EN, _coverage_rule(min_coverage, "en"))),
        ),
        provisional=until is not None,
        data_until=until,
        min_coverage=min_coverage,
        exclusions=await exclusions(session, resolved, province, lang) if with_exclusions else [],
    )


def _coverage_rule(min_coverage: float, lang: str) -> str:
    share = f"{min_coverage * 100:.0f}%"
    if lang == "vi":
        return (
            "11. Độ phủ giám sát = thời gian đo được (hoạt động, suy giảm, gián đoạn) / (thời "
            "gian theo dõi − thời gian bảo trì), trên cách tính đã chọn: phần thời gian hệ thống"
            f' thực sự quan sát được đơn vị. Đơn vị có độ phủ dưới {share} được ghi "chưa đủ dữ'
            ' liệu" và không được xếp hạng (xếp sau các đơn vị khác). Kỳ chưa kết thúc ghi '
            '"số liệu tạm tính" đến thời điểm số liệu được tổng hợp.'
        )
    return (
        "11. Monitored coverage = measured time (up, degraded, down) / (monitored time − "
        "maintenance), on the chosen clock: the share of the period the monitor actually "
        f'observed the unit. Units below {share} are marked "not enough data" and not ranked'
        " (listed after the others). A period not yet over is marked provisional, up to when "
        "its figures were computed."
    )


async def _data_until(session: AsyncSession, period: Period, now: datetime) -> datetime | None:
    """When the figures stop short of the period's end: the instant they run up to."""
    end = day_start(period.end)
    computed = await repo.computed_until(session, period)
    if end <= now and computed is not None and computed >= end:
        return None
    if end <= now and computed is None:
        return None  # nothing was ever computed for it: no data, not provisional data
    return min(computed or now, now)


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
            min_coverage=main.min_coverage,
            with_exclusions=False,
        )
        found[level] = found[level].model_copy(
            update={"period": main.period, "exclusions": main.exclusions}
        )
    return found
