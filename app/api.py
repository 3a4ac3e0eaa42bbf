"""The HTTP surface: ``/api/v1/...`` plus ``/healthz`` and ``/readyz``."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app import __version__
from app.agents.router import router as agents_router
from app.auth.service import bootstrap_lifespan
from app.catalog.results_router import router as results_router
from app.catalog.router import router as catalog_router
from app.deps import require_read, require_read_token
from app.errors import ERROR_RESPONSES
from app.incidents.router import link_router as ack_link_router
from app.incidents.router import page_router as incident_page_router
from app.incidents.router import router as incidents_router
from app.inventory.router import router as inventory_router
from app.maintenance.router import router as maintenance_router
from app.monitor.agent_api import router as agent_protocol_router
from app.monitor.push import router as push_router
from app.reports.router import router as reports_router
from app.status.router import router as status_router

READY_TIMEOUT_S = 3.0

v1 = APIRouter(prefix="/api/v1", dependencies=[Depends(require_read)], responses=ERROR_RESPONSES)
for _router in (
    catalog_router,
    inventory_router,
    incidents_router,
    reports_router,
    maintenance_router,
    agents_router,
):
    v1.include_router(_router)
# raw results and flips are never public (docs/security.md)
v1.include_router(results_router, dependencies=[Depends(require_read_token)])

api_router = APIRouter(lifespan=bootstrap_lifespan)
api_router.include_router(v1)
# Pages (media type text/html) answer their input errors in JSON all the same: the
# error responses name application/json explicitly there.
_PAGE = {"text/html": {"schema": {"type": "string"}}}
_JSON = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
_PAGE_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {k: v for k, v in spec.items() if k != "model"} | {"content": _JSON}
    for code, spec in ERROR_RESPONSES.items()
}
# public by design, like the push endpoint
api_router.include_router(status_router, responses=_PAGE_ERRORS)
# devices authenticate by the path token
api_router.include_router(push_router, responses=ERROR_RESPONSES)
# remote agents authenticate by their own bearer token (docs/agents.md)
api_router.include_router(agent_protocol_router, responses=ERROR_RESPONSES)
# the signed link is its own authentication; its refusals are pages
api_router.include_router(
    ack_link_router,
    responses={
        **_PAGE_ERRORS,
        403: {"description": "the link was tampered with (a page)", "content": _PAGE},
        404: {"description": "no such incident (a page)", "content": _PAGE | _JSON},
        410: {"description": "the link has expired (a page)", "content": _PAGE},
    },
)
# the incident page for people: a signed link (or a read token); refusals are pages
api_router.include_router(
    incident_page_router,
    responses={
        **_PAGE_ERRORS,
        403: {"description": "no or a wrong signature (a page)", "content": _PAGE},
        404: {"description": "no such incident (a page)", "content": _PAGE | _JSON},
        410: {"description": "the short link has expired (a page)", "content": _PAGE},
    },
)


@api_router.get("/healthz", tags=["health"])
async def healthz() -> dict[str, Any]:
    """The process is alive (touches nothing else)."""
    return {"status": "ok", "version": __version__}


async def _database_ok(request: Request) -> bool:
    async def ping() -> None:
        async with request.app.state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(ping(), READY_TIMEOUT_S)
    except Exception:  # any failure to answer means "not ready"; the body says which part
        return False
    return True


def _writes(monitor: Any) -> dict[str, Any] | None:
    """The result writer's health: failing once writes have failed (none written
    since) for longer than ``THONGSUOT_READY_MAX_WRITE_FAILURE_S``."""
    pipeline = getattr(monitor, "pipeline", None)
    if pipeline is None:
        return None
    failing_s = pipeline.write_failing_for()
    limit_s = monitor.settings.ready_max_write_failure_s
    body: dict[str, Any] = {"status": "failing" if failing_s > limit_s else "ok"}
    if failing_s:
        error = pipeline.stats.last_error.partition(":")[0]  # the type, not the text
        body |= {"failing_s": round(failing_s, 1), "limit_s": limit_s, "error": error}
        body["reason"] = (
            f"ghi kết quả lỗi liên tục {failing_s:.0f} s (giới hạn {limit_s:g} s) / "
            f"result writes failing for {failing_s:.0f} s (limit {limit_s:g} s): {error}"
        )
    return body


@api_router.get("/readyz", tags=["health"])
async def readyz(request: Request) -> JSONResponse:
    """Ready when the database answers ``SELECT 1`` and, if a monitor runs in
    this process, the monitor says it is ready and its result writes have not
    been failing for longer than ``THONGSUOT_READY_MAX_WRITE_FAILURE_S``;
    otherwise 503, the body naming the part that is not."""
    database = await _database_ok(request)
    monitor = getattr(request.app.state, "monitor", None)
    monitor_ready = None if monitor is None else bool(getattr(monitor, "ready", False))
    writes = None if monitor is None else _writes(monitor)
    writes_ok = writes is None or writes["status"] == "ok"
    ready = database and monitor_ready is not False and writes_ok
    body: dict[str, Any] = {
        "status": "ready" if ready else "not_ready",
        "database": "ok" if database else "unreachable",
        "monitor": None if monitor is None else ("ready" if monitor_ready else "not_ready"),
    }
    if writes is not None:
        body["writes"] = writes
    return JSONResponse(body, status_code=200 if ready else 503)
