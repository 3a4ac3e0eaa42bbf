"""``/api/v1/results``, ``/checks/{key}/results`` and ``/flips``: newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.catalog import results_repository as repository
from app.catalog import service as inventory
from app.catalog.results_schemas import FlipRead, ResultRead
from app.deps import Page, Paging, PagingDep, SessionDep, Window, WindowDep, page_of
from probes.base import Status

router = APIRouter(tags=["results"])


async def _results(
    session: SessionDep,
    check_id: int | None,
    status: Status | None,
    window: Window,
    paging: Paging,
) -> Page[ResultRead]:
    rows = await repository.list_results(
        session,
        check_id=check_id,
        status=status,
        since=window.since,
        until=window.until,
        limit=paging.fetch,
        offset=paging.offset,
    )
    return page_of([ResultRead.from_row(r, key) for r, key in rows], paging)


@router.get("/results", response_model=Page[ResultRead])
async def list_results(
    session: SessionDep,
    paging: PagingDep,
    window: WindowDep,
    check: Annotated[str | None, Query(description="check key or id")] = None,
    status: Annotated[Status | None, Query(description="a probe result's status")] = None,
) -> Page[ResultRead]:
    """Raw results, newest first (drill-down; availability comes from flips)."""
    check_id = None if check is None else (await inventory.get_check(session, check))[0].id
    return await _results(session, check_id, status, window, paging)


@router.get("/checks/{key}/results", response_model=Page[ResultRead])
async def check_results(
    session: SessionDep,
    paging: PagingDep,
    window: WindowDep,
    key: str,
    status: Annotated[Status | None, Query(description="a probe result's status")] = None,
) -> Page[ResultRead]:
    check_id = (await inventory.get_check(session, key))[0].id
    return await _results(session, check_id, status, window, paging)


@router.get("/flips", response_model=Page[FlipRead])
async def list_flips(
    session: SessionDep,
    paging: PagingDep,
    window: WindowDep,
    check: Annotated[str | None, Query(description="check key or id")] = None,
    unit: Annotated[str | None, Query(description="unit code")] = None,
) -> Page[FlipRead]:
    """State changes, newest first."""
    check_id = None if check is None else (await inventory.get_check(session, check))[0].id
    unit_id = None if unit is None else (await inventory.get_unit(session, unit))[0].id
    rows = await repository.list_flips(
        session,
        check_id=check_id,
        unit_id=unit_id,
        since=window.since,
        until=window.until,
        limit=paging.fetch,
        offset=paging.offset,
    )
    return page_of([FlipRead.from_row(f, key, code) for f, key, code in rows], paging)
