"""Queries the scheduler needs: the active checks with their unit and service."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Check, Service, Unit


async def active_checks_with_labels(session: AsyncSession) -> Sequence[Row[Check, str, str]]:
    stmt = (
        select(Check, Unit.code, Service.kind)
        .join(Unit, Unit.id == Check.unit_id)
        .join(Service, Service.id == Check.service_id)
        .where(Check.enabled.is_(True), Check.retired_at.is_(None))
        .order_by(Check.id)
    )
    return (await session.execute(stmt)).all()
