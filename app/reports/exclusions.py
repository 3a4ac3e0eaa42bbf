"""What a report left out of the counted time, and why (docs/reports.md, "Exclusions").

Calendar days (public holidays and Tết, declared days off, swapped working days)
change only the service-hours clock; maintenance windows are excluded on both
clocks. Each row names who it applies to: the whole province, or the units concerned.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounting.calendar import Calendar, DayKind, OfficeHours, inherit
from app.accounting.days import day_start, days
from app.accounting.period import Period
from app.maintenance import repository as maintenance_repository
from app.maintenance.windows import Window
from app.models import Unit
from app.reports.report_repository import Label, Parent, labels
from app.reports.report_repository import _in_province as in_province
from app.reports.schemas import ExclusionRow

MAX_NAMED_UNITS = 5
"""A row concerning more units than this names the first ones and counts the rest."""

_SCOPES = {
    "vi": {"check": "Phép kiểm tra", "service": "Dịch vụ", "unit": "Đơn vị", "province": "Tỉnh"},
    "en": {"check": "Check", "service": "Service", "unit": "Unit", "province": "Province"},
}


@dataclass(frozen=True, slots=True)
class _UnitCalendar:
    code: str
    name: str
    kind: str
    calendar: dict[str, Any] | None


async def _unit_calendars(session: AsyncSession, province: str | None) -> list[_UnitCalendar]:
    stmt = (
        select(Unit.code, Unit.name, Unit.kind, Unit.settings, Parent.settings)
        .outerjoin(Parent, Unit.parent_id == Parent.id)
        .where(in_province(province), Unit.retired_at.is_(None))
        .order_by(Unit.code)
    )
    found = []
    for code, name, kind, own, parent in (await session.execute(stmt)).all():
        calendar = (own or {}).get("calendar")
        if kind != "province":
            calendar = inherit((parent or {}).get("calendar"), calendar)
        found.append(_UnitCalendar(code, name, kind, calendar))
    return found


def _day_reason(kind: DayKind, name: str | None, declared: bool, lang: str) -> str:
    vi = lang == "vi"
    if kind == DayKind.HOLIDAY:
        return name or ("Ngày lễ" if vi else "Public holiday")
    if kind == DayKind.DAY_OFF:
        return "Ngày nghỉ do đơn vị khai báo" if vi else "Day off declared for the unit"
    if declared:
        return (
            "Ngày làm bù do đơn vị khai báo (tính như ngày làm việc)"
            if vi
            else "Swapped working day declared for the unit (counted as a working day)"
        )
    return (
        "Ngày làm bù theo lịch nghỉ của Nhà nước (tính như ngày làm việc)"
        if vi
        else "Swapped working day of the national calendar (counted as a working day)"
    )


def _who(names: Sequence[str], total: int, lang: str) -> str:
    vi = lang == "vi"
    if len(names) == total:
        return "Tất cả đơn vị" if vi else "Every unit"
    shown = ", ".join(names[:MAX_NAMED_UNITS])
    rest = len(names) - MAX_NAMED_UNITS
    if rest > 0:
        shown += f" và {rest} đơn vị khác" if vi else f" and {rest} more units"
    return shown


def calendar_rows(
    units: Sequence[_UnitCalendar], period: Period, lang: str = "vi"
) -> list[ExclusionRow]:
    """Holidays, declared days off and swapped working days inside the period.

    Units sharing a calendar are looked at once (a country has few distinct ones)."""
    language: Literal["vi", "en_US"] = "vi" if lang == "vi" else "en_US"
    by_calendar: dict[str, list[_UnitCalendar]] = defaultdict(list)
    for unit in units:
        by_calendar[json.dumps(unit.calendar, sort_keys=True, default=str)].append(unit)
    grouped: dict[tuple[Any, ...], list[str]] = defaultdict(list)
    for members in by_calendar.values():
        raw = members[0].calendar
        calendar = Calendar(OfficeHours.model_validate(raw) if raw else None, language=language)
        declared = {str(d) for d in calendar.hours.working_days}
        for on in days(period.first, period.end):
            day = calendar.day(on)
            if day.kind == DayKind.WORKING:
                continue
            reason = _day_reason(day.kind, day.name, str(on) in declared, lang)
            grouped[(on, str(day.kind), reason)] += [unit.name for unit in members]
    rows = []
    for (on, kind, reason), names in sorted(grouped.items()):
        rows.append(
            ExclusionRow(
                kind=kind,
                first=day_start(on),
                end=day_start(on + timedelta(days=1)),
                scope=_who(sorted(names), len(units), lang),
                reason=reason,
                clock="service_hours",
            )
        )
    return rows


async def _names(session: AsyncSession, province: str | None) -> dict[str, dict[str, Label]]:
    """Level (check, service, unit) → its labels by key, inside ``province``."""
    return {
        level: {label.key: label for label in (await labels(session, level, province)).values()}
        for level in ("check", "service", "unit")
    }


async def maintenance_rows(
    session: AsyncSession, period: Period, province: str | None, lang: str = "vi"
) -> list[ExclusionRow]:
    """Occurrences of the maintenance windows (not withdrawn) inside the period, clipped,
    named by their targets; a window whose target lies outside ``province`` is left out."""
    start, end = day_start(period.first), day_start(period.end)
    windows = await maintenance_repository.overlapping(session, start, end)
    names = await _names(session, province) if windows else {}
    rows = []
    for window in windows:
        scope = _scope(window.scope, window.target, names, province, lang)
        if scope is None:
            continue
        spans = Window(
            window.starts_at, window.ends_at, frozenset(), window.rrule, window.timezone
        ).occurrences(start, end)
        for lo, hi in spans:
            rows.append(
                ExclusionRow(
                    kind="maintenance",
                    first=max(lo, start).astimezone(UTC),
                    end=min(hi, end).astimezone(UTC),
                    scope=scope,
                    reason=window.reason,
                    clock="both",
                )
            )
    return sorted(rows, key=lambda r: (r.first, r.scope))


def _scope(
    scope: str,
    target: str | None,
    names: Mapping[str, Mapping[str, Label]],
    province: str | None,
    lang: str,
) -> str | None:
    word = _SCOPES["vi" if lang == "vi" else "en"].get(scope, scope)
    if target is None:
        return word
    level = "unit" if scope == "province" else scope
    label = names.get(level, {}).get(target)
    if label is None:
        return None if province is not None else f"{word} {target}"
    where = "" if scope in ("unit", "province") else f" ({label.unit_name})"
    return f"{word} {label.name}{where}"


async def exclusions(
    session: AsyncSession, period: Period, province: str | None, lang: str = "vi"
) -> list[ExclusionRow]:
    """Calendar days first (by date), then maintenance occurrences (by start)."""
    units = await _unit_calendars(session, province)
    found = calendar_rows(units, period, lang)
    return found + await maintenance_rows(session, period, province, lang)
