"""SQL for reading and acknowledging incidents."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import upsert_insert
from app.incidents.rows import IncidentCloseRow, IncidentOpenRow
from app.models import Check, Incident, OutboxNotification, Unit

IncidentRow = tuple[Incident, str, str]


def _stmt() -> Select[Incident, str, str]:
    return (
        select(Incident, Check.key, Unit.code)
        .join(Check, Incident.check_id == Check.id)
        .join(Unit, Incident.unit_id == Unit.id)
    )


async def list_incidents(
    session: AsyncSession,
    *,
    state: str,
    unit_code: str | None,
    check_key: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int,
    suppressed: bool | None = None,
) -> list[IncidentRow]:
    """Incidents overlapping ``[since, until)``, newest start first."""
    stmt = _stmt()
    if suppressed is True:
        stmt = stmt.where(Incident.notify_state == "suppressed")
    elif suppressed is False:
        stmt = stmt.where(Incident.notify_state != "suppressed")
    if state == "open":
        stmt = stmt.where(Incident.ended_at.is_(None))
    elif state == "closed":
        stmt = stmt.where(Incident.ended_at.is_not(None))
    if unit_code is not None:
        stmt = stmt.where(Unit.code == unit_code)
    if check_key is not None:
        stmt = stmt.where(Check.key == check_key)
    if until is not None:
        stmt = stmt.where(Incident.started_at < until)
    if since is not None:
        stmt = stmt.where(Incident.ended_at.is_(None) | (Incident.ended_at > since))
    stmt = stmt.order_by(Incident.started_at.desc(), Incident.id.desc())
    return [
        (i, k, u) for i, k, u in (await session.execute(stmt.limit(limit).offset(offset))).all()
    ]


async def get(session: AsyncSession, incident_id: int) -> IncidentRow | None:
    row = (await session.execute(_stmt().where(Incident.id == incident_id))).first()
    return None if row is None else (row[0], row[1], row[2])


async def acknowledge(session: AsyncSession, incident_id: int, at: datetime, by: str) -> bool:
    """Set the acknowledgement only if the incident is still open and unacknowledged
    (a conditional UPDATE, so two concurrent acks cannot both win)."""
    stmt = (
        update(Incident)
        .where(
            Incident.id == incident_id,
            Incident.ended_at.is_(None),
            Incident.acknowledged_at.is_(None),
        )
        .values(acknowledged_at=at, acknowledged_by=by)
        .execution_options(synchronize_session=False)
    )
    result: Any = await session.execute(stmt)
    return int(result.rowcount) == 1


async def notifications_of(session: AsyncSession, incident_id: int) -> list[OutboxNotification]:
    stmt = (
        select(OutboxNotification)
        .where(OutboxNotification.incident_id == incident_id)
        .order_by(OutboxNotification.id)
    )
    return list((await session.execute(stmt)).scalars())


async def open_incidents(session: AsyncSession, opens: Sequence[IncidentOpenRow]) -> None:
    """Open incidents, once each: a replayed ``(check_id, started_at)`` changes nothing."""
    if opens:
        stmt = upsert_insert(session, Incident).on_conflict_do_nothing(
            index_elements=["check_id", "started_at"]
        )
        await session.execute(stmt, list(opens))


async def close_incidents(session: AsyncSession, closes: Sequence[IncidentCloseRow]) -> None:
    """Close in order: each close ends only the check's incidents that started before it."""
    for close in closes:
        await session.execute(
            update(Incident)
            .where(
                Incident.check_id == close["check_id"],
                Incident.ended_at.is_(None),
                Incident.started_at <= close["ended_at"],
            )
            .values(ended_at=close["ended_at"], closed_by=close["closed_by"])
        )
