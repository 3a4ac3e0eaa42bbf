"""Incident views and acknowledgement."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, NotFound
from app.incidents import repository
from app.incidents.repository import IncidentRow
from app.incidents.schemas import IncidentRead, IncidentState, NotificationRead
from app.models.base import utcnow


def to_read(row: IncidentRow) -> IncidentRead:
    incident, check_key, unit_code = row
    ended = incident.ended_at
    return IncidentRead(
        id=incident.id,
        check_key=check_key,
        unit_code=unit_code,
        started_at=incident.started_at,
        ended_at=ended,
        open=ended is None,
        duration_s=None if ended is None else (ended - incident.started_at).total_seconds(),
        error_kind=incident.error_kind,
        message=incident.message,
        acknowledged_at=incident.acknowledged_at,
        acknowledged_by=incident.acknowledged_by,
        notify_state=incident.notify_state,
        suppressed=incident.notify_state == "suppressed",
        suppressed_reason=incident.suppressed_reason,
        parent_incident_id=incident.parent_incident_id,
        escalation_level=incident.escalation_level,
        closed_by=incident.closed_by,
    )


async def incident_detail(
    session: AsyncSession, incident_id: int, *, with_notifications: bool = True
) -> IncidentRead:
    """The incident with every notification it caused (404 if absent); without
    ``with_notifications`` (an anonymous reader) ``notifications`` stays null."""
    read = to_read(await get_incident(session, incident_id))
    if not with_notifications:
        return read
    rows = await repository.notifications_of(session, incident_id)
    read.notifications = [NotificationRead.model_validate(r, from_attributes=True) for r in rows]
    return read


async def list_incidents(
    session: AsyncSession,
    *,
    state: IncidentState,
    unit_code: str | None,
    check_key: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int,
    suppressed: bool | None = None,
) -> list[IncidentRead]:
    rows = await repository.list_incidents(
        session,
        state=state,
        suppressed=suppressed,
        unit_code=unit_code,
        check_key=check_key,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    return [to_read(row) for row in rows]


async def get_incident(session: AsyncSession, incident_id: int) -> IncidentRow:
    """The incident or :class:`NotFound` (404)."""
    row = await repository.get(session, incident_id)
    if row is None:
        raise NotFound(f"Không có sự cố số {incident_id}.")
    return row


async def acknowledge(session: AsyncSession, incident_id: int, by: str) -> IncidentRead:
    """Acknowledge an open incident once; 404 if absent, 409 if closed or already acknowledged."""
    incident, check_key, unit_code = await get_incident(session, incident_id)
    if incident.ended_at is not None:
        raise Conflict(f"Sự cố số {incident_id} đã kết thúc, không thể xác nhận.")
    if not await repository.acknowledge(session, incident_id, utcnow(), by):
        raise Conflict(f"Sự cố số {incident_id} đã được xác nhận trước đó.")
    await session.refresh(incident)  # the UPDATE bypassed the identity map
    return to_read((incident, check_key, unit_code))
