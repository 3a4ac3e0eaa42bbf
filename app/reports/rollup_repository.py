"""SQL of the rollup job: what a recomputation reads and the rows it rewrites."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, delete, false, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounting.availability import StateChange
from app.accounting.days import Carry
from app.models import (
    Check,
    Flip,
    MonitorRun,
    OutageDay,
    RollupDay,
    RollupMonth,
    RollupStale,
)

Keys = Collection[tuple[str, int]]
"""``(level, entity_id)`` pairs a partial recomputation rewrites (``None``: all)."""

SECONDS = (
    "up_s",
    "degraded_s",
    "down_s",
    "maintenance_s",
    "unknown_s",
    "sh_up_s",
    "sh_degraded_s",
    "sh_down_s",
    "sh_maintenance_s",
    "sh_unknown_s",
)


def _scope(model: Any, keys: Keys) -> Any:
    """``model``'s rows of the entities ``keys``."""
    by_level: dict[str, list[int]] = defaultdict(list)
    for level, entity_id in keys:
        by_level[level].append(entity_id)
    return or_(
        false(),
        *(
            and_(model.level == level, model.entity_id.in_(sorted(ids)))
            for level, ids in sorted(by_level.items())
        ),
    )


async def states_before(
    session: AsyncSession, at: datetime, ids: Collection[int] | None = None
) -> dict[int, str]:
    """Each check's state just before ``at`` (checks without an earlier flip are absent);
    of the checks ``ids`` only, if given."""
    last = (
        select(Flip.new_state)
        .where(Flip.check_id == Check.id, Flip.at < at)
        .order_by(Flip.at.desc(), Flip.id.desc())
        .limit(1)
        .correlate(Check)
        .scalar_subquery()
    )
    stmt = select(Check.id, last)
    if ids is not None:
        stmt = stmt.where(Check.id.in_(sorted(ids)))
    rows = (await session.execute(stmt)).all()
    return {check_id: state for check_id, state in rows if state is not None}


async def flips_by_check(
    session: AsyncSession, start: datetime, end: datetime, ids: Collection[int] | None = None
) -> dict[int, list[StateChange]]:
    stmt = (
        select(Flip.check_id, Flip.at, Flip.new_state)
        .where(Flip.at >= start, Flip.at < end)
        .order_by(Flip.check_id, Flip.at, Flip.id)
    )
    if ids is not None:
        stmt = stmt.where(Flip.check_id.in_(sorted(ids)))
    found: dict[int, list[StateChange]] = defaultdict(list)
    for check_id, at, state in (await session.execute(stmt)).all():
        found[check_id].append((at, state))
    return found


async def monitor_runs(
    session: AsyncSession, end: datetime
) -> list[tuple[datetime, datetime, datetime | None]]:
    """``(started_at, last_seen_at, stopped_at)`` of every run that started before ``end``."""
    stmt = select(MonitorRun.started_at, MonitorRun.last_seen_at, MonitorRun.stopped_at).where(
        MonitorRun.started_at < end
    )
    return [(a, b, c) for a, b, c in (await session.execute(stmt)).all()]


def _flag(column: Any) -> Any:
    return func.max(case((column.is_(True), 1), else_=0))


async def carries(
    session: AsyncSession, first_day: date, start: datetime, keys: Keys | None = None
) -> dict[tuple[str, int], Carry]:
    """Stored down runs still under way at ``start`` (the beginning of ``first_day``)."""
    stmt = (
        select(
            OutageDay.level,
            OutageDay.entity_id,
            OutageDay.run_started_at,
            func.sum(OutageDay.s),
            func.sum(OutageDay.sh_s),
            _flag(OutageDay.first),
            _flag(OutageDay.sh_first),
        )
        .where(
            OutageDay.day < first_day,
            OutageDay.run_started_at < start,
            or_(OutageDay.run_ended_at.is_(None), OutageDay.run_ended_at > start),
        )
        .group_by(OutageDay.level, OutageDay.entity_id, OutageDay.run_started_at)
    )
    if keys is not None:
        stmt = stmt.where(_scope(OutageDay, keys))
    return {
        (level, entity): Carry(run_start, float(s or 0), float(sh or 0), bool(f), bool(shf))
        for level, entity, run_start, s, sh, f, shf in (await session.execute(stmt)).all()
    }


async def clear_from(session: AsyncSession, first_day: date, keys: Keys | None = None) -> None:
    for model in (RollupDay, OutageDay):
        stmt = delete(model).where(model.day >= first_day)
        if keys is not None:
            stmt = stmt.where(_scope(model, keys))
        await session.execute(stmt)


async def insert_rows(
    session: AsyncSession, days: Sequence[dict[str, Any]], pieces: Sequence[dict[str, Any]]
) -> None:
    """Core executemany (every row has the same keys): the ORM's bulk INSERT built
    per-row ORM state, and a pass after a burst of flips writes tens of thousands."""
    for model, rows in ((RollupDay, days), (OutageDay, pieces)):
        table: Any = model.__table__
        for offset in range(0, len(rows), 2_000):
            await session.execute(insert(table), list(rows[offset : offset + 2_000]))


async def close_carry(
    session: AsyncSession,
    level: str,
    entity_id: int,
    carry: Carry,
    first_day: date,
    ended_at: datetime | None,
    run_s: float,
    run_sh_s: float,
    *,
    mark_last: bool = True,
) -> None:
    """Rewrite the earlier pieces of a carried run with how it turned out."""
    match = and_(
        OutageDay.level == level,
        OutageDay.entity_id == entity_id,
        OutageDay.run_started_at == carry.run_started_at,
        OutageDay.day < first_day,
    )
    await session.execute(
        update(OutageDay)
        .where(match)
        .values(run_ended_at=ended_at, run_s=run_s, run_sh_s=run_sh_s, last=False)
    )
    if (
        ended_at is not None and run_s == carry.prior_s
    ):  # ended at the start: mark the last old piece
        last_day = select(func.max(OutageDay.day)).where(match).scalar_subquery()
        await session.execute(
            update(OutageDay).where(match, OutageDay.day == last_day).values(last=True)
        )


def _month_of(session: AsyncSession) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.cast(func.date_trunc("month", RollupDay.day), RollupDay.day.type)
    return func.date(RollupDay.day, "start of month")


async def rebuild_months(
    session: AsyncSession, first_month: date, now: datetime, keys: Keys | None = None
) -> None:
    """``rollup_month`` from ``rollup_day`` for ``first_month`` onwards (of ``keys``)."""
    clear = delete(RollupMonth).where(RollupMonth.month >= first_month)
    if keys is not None:
        clear = clear.where(_scope(RollupMonth, keys))
    await session.execute(clear)
    month = _month_of(session).label("month")
    sums = [func.sum(getattr(RollupDay, name)) for name in SECONDS]
    source = (
        select(
            RollupDay.level,
            RollupDay.entity_id,
            month,
            *sums,
            literal(now, RollupMonth.computed_at.type),
        )
        .where(RollupDay.day >= first_month)
        .group_by(RollupDay.level, RollupDay.entity_id, month)
    )
    if keys is not None:
        source = source.where(_scope(RollupDay, keys))
    columns = ["level", "entity_id", "month", *SECONDS, "computed_at"]
    await session.execute(insert(RollupMonth).from_select(columns, source))


async def stale(session: AsyncSession) -> tuple[list[int], date | None]:
    """The queued invalidations' ids and their earliest day (``None``: none queued)."""
    rows = (await session.execute(select(RollupStale.id, RollupStale.first_day))).all()
    return [row_id for row_id, _ in rows], min((day for _, day in rows), default=None)


async def clear_stale(session: AsyncSession, ids: Sequence[int]) -> None:
    """Dequeue the invalidations ``ids`` (a pass recomputed them); later ones stay."""
    for offset in range(0, len(ids), 1_000):
        batch = sorted(ids[offset : offset + 1_000])
        await session.execute(delete(RollupStale).where(RollupStale.id.in_(batch)))


async def stored_keys(
    session: AsyncSession, first_day: date, first_month: date
) -> set[tuple[str, int]]:
    """The entities with rollup rows from ``first_day`` (months from ``first_month``)."""
    found: set[tuple[str, int]] = set()
    for model, column, since in (
        (RollupDay, RollupDay.day, first_day),
        (OutageDay, OutageDay.day, first_day),
        (RollupMonth, RollupMonth.month, first_month),
    ):
        stmt = select(model.level, model.entity_id).where(column >= since).distinct()
        found |= {(level, entity_id) for level, entity_id in (await session.execute(stmt)).all()}
    return found


async def changed_checks(session: AsyncSession, since: datetime, start: datetime) -> set[int]:
    """Checks with a flip recorded since ``since`` and dated from ``start`` on (a late
    one too). Not inventory edits: ``check.updated_at`` moves with every result batch
    (state, streak), so those wait for the next full pass."""
    stmt = select(Flip.check_id).where(Flip.at >= start, Flip.created_at >= since).distinct()
    return set((await session.execute(stmt)).scalars())
