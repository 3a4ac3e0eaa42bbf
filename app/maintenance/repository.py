"""SQL of maintenance windows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import MaintenanceWindow


async def overlapping(
    session: AsyncSession, start: datetime, end: datetime, *, include_deleted: bool = False
) -> list[MaintenanceWindow]:
    """Windows with an occurrence that may overlap ``[start, end)``."""
    stmt = select(MaintenanceWindow).where(
        MaintenanceWindow.starts_at < end,
        or_(MaintenanceWindow.last_ends_at.is_(None), MaintenanceWindow.last_ends_at > start),
    )
    if not include_deleted:
        stmt = stmt.where(MaintenanceWindow.deleted_at.is_(None))
    return list((await session.execute(stmt.order_by(MaintenanceWindow.id))).scalars())


async def list_windows(
    session: AsyncSession, *, active_after: datetime | None, limit: int, offset: int
) -> list[MaintenanceWindow]:
    stmt = select(MaintenanceWindow).where(MaintenanceWindow.deleted_at.is_(None))
    if active_after is not None:
        stmt = stmt.where(
            or_(
                MaintenanceWindow.last_ends_at.is_(None),
                MaintenanceWindow.last_ends_at > active_after,
            )
        )
    stmt = stmt.order_by(MaintenanceWindow.starts_at, MaintenanceWindow.id)
    return list((await session.execute(stmt.limit(limit).offset(offset))).scalars())


async def get(session: AsyncSession, window_id: int) -> MaintenanceWindow | None:
    return await session.get(MaintenanceWindow, window_id)


async def by_keys(session: AsyncSession) -> dict[str, MaintenanceWindow]:
    """Windows declared in the inventory, by key (deleted ones included)."""
    stmt = select(MaintenanceWindow).where(MaintenanceWindow.key.is_not(None))
    return {w.key: w for w in (await session.execute(stmt)).scalars() if w.key is not None}


def add(session: AsyncSession, window: MaintenanceWindow) -> None:
    session.add(window)
