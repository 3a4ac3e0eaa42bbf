"""``/api/v1/status`` and ``/api/v1/availability``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from app.deps import SessionDep
from app.reports import service
from app.reports.schemas import AvailabilityRead, StatusRead
from app.reports.service import ClockName

router = APIRouter(tags=["reports"])


@router.get("/status", response_model=StatusRead)
async def status(session: SessionDep) -> StatusRead:
    """Units by state, enabled checks by state, open incidents."""
    return await service.status(session)


@router.get("/availability", response_model=AvailabilityRead)
async def availability(
    session: SessionDep,
    check: Annotated[str | None, Query(description="check key or id")] = None,
    unit: Annotated[str | None, Query(description="unit code")] = None,
    since: Annotated[
        AwareDatetime | None, Query(description="window start; default 24 h before until")
    ] = None,
    until: Annotated[
        AwareDatetime | None, Query(description="window end; default now, clipped to now")
    ] = None,
    clock: Annotated[
        ClockName, Query(description="24/7, or the unit's service hours (its calendar)")
    ] = "24/7",
) -> AvailabilityRead:
    """Availability computed from flips (DESIGN.md §2), on the 24/7 clock by default.

    Give exactly one of ``check`` or ``unit``. A unit's timeline is the worst
    state of its enabled critical checks at each instant.
    """
    return await service.availability(
        session, check=check, unit=unit, since=since, until=until, clock=clock
    )
