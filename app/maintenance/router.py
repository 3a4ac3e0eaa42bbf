"""``/api/v1/maintenance``: declare (write token), list, read and withdraw windows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from app.deps import Page, PagingDep, SessionDep, WriteToken, page_of
from app.maintenance import service
from app.maintenance.schemas import MaintenanceCreate, MaintenanceRead

router = APIRouter(tags=["maintenance"])


@router.post("/maintenance", response_model=MaintenanceRead, status_code=status.HTTP_201_CREATED)
async def create(
    session: SessionDep, token: WriteToken, data: MaintenanceCreate
) -> MaintenanceRead:
    """Declare a window; the token's name is recorded as who declared it."""
    return await service.create(session, data, token.name)


@router.get("/maintenance", response_model=Page[MaintenanceRead])
async def list_windows(
    session: SessionDep,
    paging: PagingDep,
    current: Annotated[bool, Query(description="only windows not yet over")] = False,
) -> Page[MaintenanceRead]:
    items = await service.list_windows(
        session, current=current, limit=paging.fetch, offset=paging.offset
    )
    return page_of(items, paging)


@router.get("/maintenance/{window_id}", response_model=MaintenanceRead)
async def get(session: SessionDep, window_id: int) -> MaintenanceRead:
    return MaintenanceRead.model_validate(await service.get(session, window_id))


@router.delete("/maintenance/{window_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete(session: SessionDep, token: WriteToken, window_id: int) -> None:
    """Withdraw a window; it is kept for the record and past days are recomputed."""
    await service.delete(session, window_id, token.name)
