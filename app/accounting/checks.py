"""The checks that accounting covers, and the queue of days to recompute.

``live_checks`` reads every enabled, unretired check with what scoping and
calendars need; ``mark_stale`` queues days whose rollups must be recomputed
after a late change (a calendar, a maintenance window, a late result).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.accounting.calendar import inherit
from app.models import Check, RollupStale, Service, Unit

Parent = aliased(Unit)


@dataclass(frozen=True, slots=True)
class CheckInfo:
    """A live check with what scoping and calendars need."""

    id: int
    key: str
    unit_id: int
    service_id: int
    critical: bool
    service_key: str
    unit_code: str
    province_code: str
    calendar: dict[str, Any] | None


async def live_checks(session: AsyncSession) -> list[CheckInfo]:
    stmt = (
        select(
            Check.id,
            Check.key,
            Check.unit_id,
            Check.service_id,
            Check.critical,
            Service.key,
            Unit.code,
            Parent.code,
            Unit.settings,
            Parent.settings,
        )
        .join(Service, Check.service_id == Service.id)
        .join(Unit, Check.unit_id == Unit.id)
        .outerjoin(Parent, Unit.parent_id == Parent.id)
        .where(Check.is_live())
        .order_by(Check.id)
    )
    return [
        CheckInfo(
            i,
            k,
            u,
            s,
            c,
            sk,
            uc,
            pc or uc,
            inherit((ps or {}).get("calendar"), (st or {}).get("calendar")),
        )
        for i, k, u, s, c, sk, uc, pc, st, ps in (await session.execute(stmt)).all()
    ]


def mark_stale(session: AsyncSession, first_day: date, last_day: date, reason: str) -> None:
    session.add(RollupStale(first_day=first_day, last_day=last_day, reason=reason[:200]))
