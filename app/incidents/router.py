"""``/api/v1/incidents``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query

from app.deps import (
    Page,
    PagingDep,
    Reader,
    RowId,
    SessionDep,
    WindowDep,
    WriteToken,
    page_of,
)
from app.incidents import service
from app.incidents.ack_page import link_router as link_router  # app/api.py mounts it
from app.incidents.page import page_router as page_router  # app/api.py mounts it
from app.incidents.schemas import IncidentAck, IncidentRead, IncidentState
from app.incidents.updates import router as updates_router

router = APIRouter(prefix="/incidents", tags=["incidents"])


@router.get("", response_model=Page[IncidentRead])
async def list_incidents(
    session: SessionDep,
    paging: PagingDep,
    window: WindowDep,
    state: IncidentState = "all",
    unit: Annotated[str | None, Query(description="unit code")] = None,
    check: Annotated[str | None, Query(description="check key")] = None,
    suppressed: Annotated[
        bool | None,
        Query(
            description="true: only incidents suppressed by a parent, "
            "flapping or the monitor's connectivity; false: only the others"
        ),
    ] = None,
) -> Page[IncidentRead]:
    """Incidents overlapping the window, newest first."""
    items = await service.list_incidents(
        session,
        state=state,
        unit_code=unit,
        check_key=check,
        since=window.since,
        until=window.until,
        limit=paging.fetch,
        offset=paging.offset,
        suppressed=suppressed,
    )
    return page_of(items, paging)


@router.get("/{incident_id}", response_model=IncidentRead)
async def get_incident(session: SessionDep, reader: Reader, incident_id: RowId) -> IncidentRead:
    """The incident and whom it notified, when, through what, with what outcome.

    The notifications (recipients, delivery errors) need a read token; an
    anonymous reader gets ``notifications: null``."""
    return await service.incident_detail(
        session, incident_id, with_notifications=reader is not None
    )


@router.post("/{incident_id}/ack", response_model=IncidentRead)
async def acknowledge(
    session: SessionDep,
    token: WriteToken,
    incident_id: RowId,
    body: Annotated[IncidentAck | None, Body()] = None,
) -> IncidentRead:
    """Acknowledge an open incident (write token); 409 when closed or already acknowledged."""
    by = body.by if body is not None and body.by else token.name
    return await service.acknowledge(session, incident_id, by)


router.include_router(updates_router)  # GET/POST /incidents/{id}/updates
