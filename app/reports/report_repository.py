"""SQL of availability reports: sums over rollups, never over raw results or flips."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.accounting.availability import STATES
from app.accounting.days import day_start
from app.accounting.period import Period
from app.models import Check, OutageDay, RollupDay, RollupMonth, Service, Unit

Parent = aliased(Unit)


@dataclass(frozen=True, slots=True)
class Label:
    """Who a row is about: the entity and the unit and province it belongs to."""

    id: int
    key: str
    name: str
    unit_code: str
    unit_name: str
    province_code: str
    province_name: str
    service_key: str | None = None


def _in_province(province: str | None) -> Any:
    if province is None:
        return True
    return or_(Unit.code == province, Parent.code == province)


def _scope(level: str, province: str | None) -> Any:
    """Ids of the ``level`` entities inside ``province`` (a subquery)."""
    model: Any = {"check": Check, "service": Service, "unit": Unit}[level]
    stmt = select(model.id)
    if model is not Unit:
        stmt = stmt.join(Unit, model.unit_id == Unit.id)
    return stmt.outerjoin(Parent, Unit.parent_id == Parent.id).where(_in_province(province))


def _columns(model: Any, sh: bool) -> list[Any]:
    prefix = "sh_" if sh else ""
    return [func.sum(getattr(model, f"{prefix}{state}_s")) for state in STATES]


async def seconds(
    session: AsyncSession, level: str, period: Period, sh: bool, province: str | None
) -> dict[int, dict[str, float]]:
    """Seconds per state per entity over the period, from whole months plus edge days."""
    whole, edges = period.months()
    statements: list[Select[Any]] = []
    if whole:
        statements.append(
            select(RollupMonth.entity_id, *_columns(RollupMonth, sh))
            .where(RollupMonth.level == level, RollupMonth.month.in_(whole))
            .group_by(RollupMonth.entity_id)
        )
    for first, end in edges:
        statements.append(
            select(RollupDay.entity_id, *_columns(RollupDay, sh))
            .where(RollupDay.level == level, RollupDay.day >= first, RollupDay.day < end)
            .group_by(RollupDay.entity_id)
        )
    totals: dict[int, dict[str, float]] = defaultdict(lambda: dict.fromkeys(STATES, 0.0))
    for stmt in statements:
        if province is not None:
            stmt = stmt.where(stmt.selected_columns[0].in_(_scope(level, province)))
        for entity_id, *values in (await session.execute(stmt)).all():
            for state, value in zip(STATES, values, strict=True):
                totals[entity_id][state] += float(value or 0.0)
    return dict(totals)


@dataclass(frozen=True, slots=True)
class OutageStats:
    """Incident figures of one entity over a period (docs/reports.md has the SQL's logic)."""

    incidents: int
    longest_s: float
    restored: int
    restore_s: float
    restore_clock_s: float


async def outage_stats(
    session: AsyncSession, level: str, period: Period, sh: bool, province: str | None
) -> dict[int, OutageStats]:
    ps, pe = day_start(period.first), day_start(period.end)
    o = OutageDay
    piece = o.sh_s if sh else o.s
    whole_run = o.run_sh_s if sh else o.run_s
    first = o.sh_first if sh else o.first
    before = o.run_started_at < ps
    inside = and_(o.run_started_at >= ps, o.run_ended_at.is_not(None), o.run_ended_at <= pe)
    crossing_end = and_(o.run_started_at >= ps, or_(o.run_ended_at.is_(None), o.run_ended_at > pe))
    # restored incidents are those counted on this clock (rule 6): on service hours a
    # run that lay wholly outside office hours is not an incident, so not in the MTTR
    ended = and_(o.last.is_(True), o.run_ended_at > ps, o.run_ended_at <= pe, whole_run > 0)
    stmt = (
        select(
            o.entity_id,
            func.sum(case((and_(~before, first.is_(True)), 1), else_=0)),
            func.max(case((and_(before, piece > 0), 1), else_=0)),
            func.max(case((inside, whole_run), else_=0.0)),
            func.sum(case((before, piece), else_=0.0)),
            func.sum(case((crossing_end, piece), else_=0.0)),
            func.sum(case((ended, 1), else_=0)),
            func.sum(case((ended, o.run_s), else_=0.0)),
            func.sum(case((ended, whole_run), else_=0.0)),
        )
        .where(o.level == level, o.day >= period.first, o.day < period.end)
        .group_by(o.entity_id)
    )
    if province is not None:
        stmt = stmt.where(o.entity_id.in_(_scope(level, province)))
    return {
        entity: OutageStats(
            incidents=int(new or 0) + int(under_way or 0),
            longest_s=max(float(a or 0), float(b or 0), float(c or 0)),
            restored=int(restored or 0),
            restore_s=float(wall or 0),
            restore_clock_s=float(counted or 0),
        )
        for entity, new, under_way, a, b, c, restored, wall, counted in (
            await session.execute(stmt)
        ).all()
    }


async def labels(session: AsyncSession, level: str, province: str | None) -> dict[int, Label]:
    stmt: Any
    if level == "unit":
        stmt = select(
            Unit.id, Unit.code, Unit.name, Unit.code, Unit.name, Parent.code, Parent.name, Unit.kind
        )
    else:
        model: Any = Check if level == "check" else Service
        stmt = select(
            model.id,
            model.key,
            model.name,
            Unit.code,
            Unit.name,
            Parent.code,
            Parent.name,
            Unit.kind,
        )
        stmt = stmt.join(Unit, model.unit_id == Unit.id)
    stmt = stmt.outerjoin(Parent, Unit.parent_id == Parent.id).where(_in_province(province))
    if level == "check":
        stmt = stmt.add_columns(Service.key).join(Service, Check.service_id == Service.id)
    found = {}
    for row in (await session.execute(stmt)).all():
        own = row[7] == "province" or row[5] is None
        found[row[0]] = Label(
            id=row[0],
            key=row[1],
            name=row[2],
            unit_code=row[3],
            unit_name=row[4],
            province_code=row[3] if own else row[5],
            province_name=row[4] if own else row[6],
            service_key=row[8] if level == "check" else None,
        )
    return found


@dataclass(frozen=True, slots=True)
class RunRow:
    entity_id: int
    started_at: datetime
    ended_at: datetime | None
    counted_s: float


async def check_runs(
    session: AsyncSession, period: Period, sh: bool, province: str | None
) -> list[RunRow]:
    """Down runs of checks with counted time inside the period, oldest first."""
    o = OutageDay
    piece = o.sh_s if sh else o.s
    stmt = (
        select(
            o.entity_id, o.run_started_at, func.max(o.run_ended_at), func.sum(piece), func.count()
        )
        .where(o.level == "check", o.day >= period.first, o.day < period.end)
        .group_by(o.entity_id, o.run_started_at)
        .having(func.sum(piece) > 0)
        .order_by(o.run_started_at, o.entity_id)
    )
    if province is not None:
        stmt = stmt.where(o.entity_id.in_(_scope("check", province)))
    rows = (await session.execute(stmt)).all()
    return [RunRow(e, s, end, float(c)) for e, s, end, c, _ in rows]


async def heads(session: AsyncSession, province: str | None) -> dict[str, str]:
    """Unit code → the names (and titles) of its contacts with role ``head``, joined by ", ".

    A unit's own contacts (``unit.settings["contacts"]``) come first; a unit that
    names none takes the heads named on its services' contacts.
    """
    found: dict[str, list[str]] = {}
    units = select(Unit.code, Unit.settings).outerjoin(Parent, Unit.parent_id == Parent.id)
    for code, settings in (await session.execute(units.where(_in_province(province)))).all():
        found[code] = _head_names((settings or {}).get("contacts"))
    services = (
        select(Unit.code, Service.contacts)
        .join(Unit, Service.unit_id == Unit.id)
        .outerjoin(Parent, Unit.parent_id == Parent.id)
        .where(_in_province(province), Service.retired_at.is_(None))
        .order_by(Service.key)
    )
    extra: dict[str, list[str]] = defaultdict(list)
    for code, contacts in (await session.execute(services)).all():
        extra[code] += _head_names(contacts)
    for code, names in extra.items():
        if not found.get(code):
            found[code] = names
    return {code: ", ".join(dict.fromkeys(names)) for code, names in found.items() if names}


def _head_names(contacts: Any) -> list[str]:
    if not isinstance(contacts, list):
        return []
    return [
        f"{c['name']} ({c['title']})" if c.get("title") else str(c["name"])
        for c in contacts
        if isinstance(c, dict) and c.get("role") == "head" and c.get("name")
    ]


async def computed_until(session: AsyncSession, period: Period) -> datetime | None:
    """When the rollups of the period's last computed day were computed: how far all
    its figures reach — the earliest unit row's, since a rollup pass between full ones
    rewrites only the entities that changed (app/monitor/housekeeping.py). Two index
    lookups on (level, day), not a scan of the period."""
    r = RollupDay
    in_period = (r.level == "unit", r.day >= period.first, r.day < period.end)
    last = (await session.execute(select(func.max(r.day)).where(*in_period))).scalar()
    if last is None:
        return None
    stmt = select(func.min(r.computed_at)).where(r.level == "unit", r.day == last)
    found: datetime | None = (await session.execute(stmt)).scalar_one_or_none()
    return found
