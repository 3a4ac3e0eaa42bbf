"""Operators' updates on an incident: ``GET``/``POST /api/v1/incidents/{id}/updates``.

Stages follow Atlassian Statuspage and Uptime Kuma: investigating, identified,
monitoring, resolved. The message is what people read on the status pages, in
Vietnamese ("Đang khắc phục, dự kiến 10:30"). Posting an update never changes
the incident itself: the incident closes when its check recovers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.deps import Reader, RowId, SessionDep, WriteToken
from app.errors import NotFound
from app.models import Incident, IncidentUpdate
from app.models.base import utcnow

Stage = Literal["investigating", "identified", "monitoring", "resolved"]
STAGES: tuple[Stage, ...] = ("investigating", "identified", "monitoring", "resolved")

router = APIRouter(tags=["incidents"])


class UpdateCreate(BaseModel):
    stage: Stage = Field(description="investigating, identified, monitoring or resolved")
    message: str = Field(
        min_length=1,
        max_length=2000,
        pattern="^[^\x00]*$",
        description="what people read, in Vietnamese: 'Đang khắc phục, dự kiến 10:30'",
    )
    by: str | None = Field(
        default=None, max_length=200, pattern="^[^\x00]*$", description="defaults to the token name"
    )


class UpdateRead(BaseModel):
    id: int
    incident_id: int
    stage: Stage
    message: str
    created_by: str
    created_at: datetime


def _read(row: IncidentUpdate) -> UpdateRead:
    return UpdateRead.model_validate(row, from_attributes=True)


async def _require_incident(session: AsyncSession, incident_id: int) -> None:
    if await session.get(Incident, incident_id) is None:
        raise NotFound(f"Không có sự cố số {incident_id}.")


async def updates_of(
    session: AsyncSession, incident_ids: Sequence[int]
) -> dict[int, list[IncidentUpdate]]:
    """Each incident's updates, oldest first (one query for any number of incidents)."""
    found: dict[int, list[IncidentUpdate]] = {i: [] for i in incident_ids}
    if not incident_ids:
        return found
    stmt = (
        select(IncidentUpdate)
        .where(IncidentUpdate.incident_id.in_(list(incident_ids)))
        .order_by(IncidentUpdate.created_at, IncidentUpdate.id)
    )
    for row in (await session.execute(stmt)).scalars():
        found[row.incident_id].append(row)
    return found


async def add_update(
    session: AsyncSession, incident_id: int, data: UpdateCreate, by: str, at: datetime | None = None
) -> UpdateRead:
    """Store one update (404 when the incident does not exist)."""
    await _require_incident(session, incident_id)
    row = IncidentUpdate(
        incident_id=incident_id,
        stage=data.stage,
        message=data.message.strip(),
        created_by=by,
        created_at=at or utcnow(),
    )
    session.add(row)
    await session.flush()
    return _read(row)


@router.get("/{incident_id}/updates", response_model=list[UpdateRead])
async def list_updates(session: SessionDep, reader: Reader, incident_id: RowId) -> list[UpdateRead]:
    """The incident's updates, oldest first."""
    await _require_incident(session, incident_id)
    return [_read(r) for r in (await updates_of(session, [incident_id]))[incident_id]]


@router.post("/{incident_id}/updates", response_model=UpdateRead, status_code=201)
async def post_update(
    session: SessionDep,
    token: WriteToken,
    incident_id: RowId,
    body: Annotated[UpdateCreate, Body()],
) -> UpdateRead:
    """Post an update (write token); /status and /status/{unit} show it once their
    short page cache (10 s) renews."""
    return await add_update(session, incident_id, body, body.by or token.name)
