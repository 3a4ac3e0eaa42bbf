"""``/api/v1/status``, ``/api/v1/availability`` and ``/api/v1/reports/availability``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from app.accounting.period import PeriodName
from app.catalog import service
from app.catalog.schemas import AvailabilityRead, StatusRead
from app.catalog.service import ClockName
from app.deps import ApiDatetime, SessionDep, SettingsDep
from app.reports import document, exports, report
from app.reports.report import Group
from app.reports.schemas import ReportRead

router = APIRouter(tags=["reports"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"


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
        ApiDatetime | None, Query(description="window start; default 24 h before until")
    ] = None,
    until: Annotated[
        ApiDatetime | None, Query(description="window end; default now, clipped to now")
    ] = None,
    clock: Annotated[
        ClockName, Query(description="24/7, or the unit's service hours (its calendar)")
    ] = "24/7",
) -> AvailabilityRead:
    """Availability computed from flips (docs/design.md §2), on the 24/7 clock by default.

    Give exactly one of ``check`` or ``unit``. A unit's timeline is the worst
    state of its enabled critical checks at each instant.
    """
    return await service.availability(
        session, check=check, unit=unit, since=since, until=until, clock=clock
    )


@router.get(
    "/reports/availability",
    response_model=ReportRead,
    responses={200: {"content": {"text/csv": {}, XLSX: {}, PDF: {}}}},
)
async def availability_report(
    session: SessionDep,
    settings: SettingsDep,
    period: Annotated[PeriodName | None, Query(description="default month")] = None,
    at: Annotated[
        str | None, Query(description="2026, 2026-Q2, 2026-05, 2026-W19 or 2026-05-04")
    ] = None,
    first: Annotated[
        date | None, Query(alias="from", description="first local day (with `to`)")
    ] = None,
    to: Annotated[date | None, Query(description="last local day, inclusive")] = None,
    clock: Annotated[ClockName, Query()] = "24/7",
    group: Annotated[Group, Query()] = "unit",
    province: Annotated[str | None, Query(description="province code")] = None,
    format: Annotated[Literal["json", "csv", "xlsx", "pdf"], Query()] = "json",
    lang: Annotated[Literal["vi", "en"], Query()] = "vi",
    incidents: Annotated[
        bool, Query(description="list check-level incidents (always in XLSX and PDF)")
    ] = False,
) -> ReportRead | Response:
    """Availability on both clocks, downtime, incidents, MTTR, longest outage, monitored
    coverage, maintenance and unknown minutes per row, worst first (units without enough
    data after the ranked ones), from the rollups; the exclusions and the rules included.
    ``format=xlsx`` and ``pdf`` are the report to sign (docs/reports.md)."""
    if format in ("xlsx", "pdf"):
        doc = await document.build_report(
            session,
            settings,
            period=period,
            at=at,
            first=first,
            to=to,
            clock=clock,
            group=group,
            province=province,
            lang=lang,
        )
        name = f"bao-cao-thong-suot-{doc.report.period}"
        body, media = (
            (document.render_xlsx(doc), XLSX)
            if format == "xlsx"
            else (document.render_pdf(doc), PDF)
        )
        return Response(
            body,
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'},
        )
    found = await report.availability_report(
        session,
        period=period,
        at=at,
        first=first,
        to=to,
        clock=clock,
        group=group,
        province=province,
        with_incidents=incidents,
        lang=lang,
        min_coverage=settings.report_min_coverage,
    )
    if format == "csv":
        name = f"bao-cao-thong-suot-{found.period}"
        return Response(
            exports.to_csv(found, lang),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return found
