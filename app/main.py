"""``create_app()`` and the lifespan that owns every resource (docs/design.md §6.7)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.types import ASGIApp, Receive, Scope, Send

from app import __version__
from app.config import Settings, get_settings
from app.db import make_engine, make_sessionmaker
from app.errors import install_handlers
from app.status import openapi_docs

if TYPE_CHECKING:
    from app.inventory.loader import Parsed

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None, *, run_monitor: bool = True, inventory: Parsed | None = None
) -> FastAPI:
    """Build the ASGI app. With ``run_monitor`` the lifespan also starts the
    scheduler and the result pipeline (the embedded, single-process mode);
    ``inventory``: the inventory file as ``serve`` already parsed it, which the
    monitor's first sync takes instead of parsing the same bytes again."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal inventory
        engine = make_engine(settings.database_url)
        app.state.settings = settings
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        app.state.monitor = None
        try:
            if run_monitor and settings.role in ("all", "scheduler"):
                from app.monitor.runtime import Monitor

                app.state.monitor = Monitor(settings, app.state.sessionmaker, parsed=inventory)
                await app.state.monitor.start()
                _reload_on_sighup(app.state.monitor)
            inventory = None  # taken once; not kept for the life of the app
            yield
        finally:
            if app.state.monitor is not None:
                await app.state.monitor.stop()
            await engine.dispose()

    app = FastAPI(
        title="thongsuot",
        version=__version__,
        description="Giám sát bảo đảm hoạt động thông suốt của TTHC và dịch vụ công trực tuyến.",
        lifespan=lifespan,
        docs_url=None,  # /docs is served offline by app.status.openapi_docs
        redoc_url=None,  # ReDoc would load its script from a CDN
        # every request body is capped (413); the push endpoint caps lower
        max_body_size=settings.max_body_bytes,
    )
    app.add_middleware(RefuseNul)
    install_handlers(app)
    _include_routers(app)
    openapi_docs.install(app)
    _declare_public_reads(app, settings)
    return app


def _declare_public_reads(app: FastAPI, settings: Settings) -> None:
    """In the OpenAPI document, a token is optional (``security: [{}, bearer]``) where
    reads are public: every ``/api/v1`` read unless ``read_requires_token``, except
    what always needs one (results, flips) and writes."""
    if settings.read_requires_token:
        return
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        for route in iter_route_contexts(app.routes):  # routes as included, with deps
            if not isinstance(route.original_route, APIRoute) or _needs_token(route.dependant):
                continue
            for method in route.methods or ():
                operation = schema["paths"].get(route.path_format, {}).get(method.lower(), {})
                if operation.get("security") and {} not in operation["security"]:
                    operation["security"] = [{}, *operation["security"]]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _needs_token(dependant: Dependant) -> bool:
    from app.deps import require_read_token, require_write

    return any(
        dep.call in (require_read_token, require_write) or _needs_token(dep)
        for dep in dependant.dependencies
    )


class RefuseNul:
    """422 for a NUL character in the path or the query string, before any router sees
    it: PostgreSQL text cannot hold one, and no identifier or filter of ours has one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _has_nul(scope):
            response = JSONResponse(
                {
                    "error": "unprocessable",
                    "detail": "ký tự NUL không được phép trong đường dẫn hay tham số "
                    "(NUL is not allowed in the path or the query)",
                },
                status_code=422,
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _has_nul(scope: Scope) -> bool:
    query: bytes = scope.get("query_string", b"")
    return "\x00" in scope.get("path", "") or b"\x00" in query or b"%00" in query


def _reload_on_sighup(monitor: Any) -> None:
    """``kill -HUP`` re-reads the inventory; a bad file is logged, the old one stays."""
    loop = asyncio.get_running_loop()

    async def reload() -> None:
        try:
            log.info("inventory reloaded: %s", await monitor.reload())
        except Exception as exc:
            log.error("inventory reload failed, keeping the running checks: %s", exc)

    def handler() -> None:
        task = loop.create_task(reload())
        _background.add(task)
        task.add_done_callback(_background.discard)

    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGHUP, handler)


_background: set[asyncio.Task[None]] = set()


def _include_routers(app: FastAPI) -> None:
    from app.api import api_router
    from app.monitor.metrics_router import router as metrics_router

    app.include_router(api_router)
    app.include_router(metrics_router)
