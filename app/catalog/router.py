"""``/api/v1/units``, ``/services`` and ``/checks``: what is monitored and its state now."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.catalog import service
from app.catalog.schemas import CheckRead, ServiceRead, UnitDetail, UnitRead
from app.deps import Page, PagingDep, Reader, SessionDep, page_of
from app.vocab.states import State

router = APIRouter(tags=["catalog"])


@router.get("/units", response_model=Page[UnitRead])
async def list_units(session: SessionDep, paging: PagingDep) -> Page[UnitRead]:
    """Units with their current state (worst of their enabled critical checks)."""
    return page_of(await service.list_units(session, paging.fetch, paging.offset), paging)


@router.get("/units/{code}", response_model=UnitDetail)
async def get_unit(session: SessionDep, reader: Reader, code: str) -> UnitDetail:
    """One unit with its services and checks (check targets only with a read token)."""
    return await service.unit_detail(session, code, show_targets=reader is not None)


@router.get("/services", response_model=Page[ServiceRead])
async def list_services(
    session: SessionDep,
    paging: PagingDep,
    unit: Annotated[str | None, Query(description="unit code")] = None,
    kind: Annotated[str | None, Query(description="service kind")] = None,
) -> Page[ServiceRead]:
    items = await service.list_services(
        session, unit_code=unit, kind=kind, limit=paging.fetch, offset=paging.offset
    )
    return page_of(items, paging)


@router.get("/checks", response_model=Page[CheckRead])
async def list_checks(
    session: SessionDep,
    reader: Reader,
    paging: PagingDep,
    unit: Annotated[str | None, Query(description="unit code")] = None,
    service_kind: Annotated[str | None, Query()] = None,
    kind: Annotated[str | None, Query(description="probe kind")] = None,
    state: Annotated[
        State | None, Query(description="shown state (maintenance inside a window)")
    ] = None,
) -> Page[CheckRead]:
    items = await service.list_checks(
        session,
        unit_code=unit,
        service_kind=service_kind,
        probe_kind=kind,
        state=state,
        limit=paging.fetch,
        offset=paging.offset,
        show_targets=reader is not None,
    )
    return page_of(items, paging)


@router.get("/checks/{key_or_id}", response_model=CheckRead)
async def get_check(session: SessionDep, reader: Reader, key_or_id: str) -> CheckRead:
    """One check by key, or by numeric id (its target only with a read token)."""
    return await service.check_detail(session, key_or_id, show_target=reader is not None)
