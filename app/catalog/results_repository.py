"""Read-side SQL for raw results and flips, newest first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.models import Check, Flip, ProbeResult, Unit


def _within(
    column: InstrumentedAttribute[datetime], since: datetime | None, until: datetime | None
) -> list[ColumnElement[bool]]:
    """``since <= column < until`` with either end open."""
    clauses: list[ColumnElement[bool]] = []
    if since is not None:
        clauses.append(column >= since)
    if until is not None:
        clauses.append(column < until)
    return clauses


async def list_results(
    session: AsyncSession,
    *,
    check_id: int | None,
    status: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int,
) -> list[tuple[ProbeResult, str]]:
    stmt = select(ProbeResult, Check.key).join(Check, ProbeResult.check_id == Check.id)
    if check_id is not None:
        stmt = stmt.where(ProbeResult.check_id == check_id)
    if status is not None:
        stmt = stmt.where(ProbeResult.status == status)
    stmt = stmt.where(*_within(ProbeResult.at, since, until))
    stmt = stmt.order_by(ProbeResult.at.desc(), ProbeResult.id.desc()).limit(limit).offset(offset)
    return [(r, k) for r, k in (await session.execute(stmt)).all()]


async def list_flips(
    session: AsyncSession,
    *,
    check_id: int | None,
    unit_id: int | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int,
) -> list[tuple[Flip, str, str]]:
    stmt = (
        select(Flip, Check.key, Unit.code)
        .join(Check, Flip.check_id == Check.id)
        .join(Unit, Check.unit_id == Unit.id)
    )
    if check_id is not None:
        stmt = stmt.where(Flip.check_id == check_id)
    if unit_id is not None:
        stmt = stmt.where(Check.unit_id == unit_id)
    stmt = stmt.where(*_within(Flip.at, since, until))
    stmt = stmt.order_by(Flip.at.desc(), Flip.id.desc()).limit(limit).offset(offset)
    return [(f, k, u) for f, k, u in (await session.execute(stmt)).all()]
