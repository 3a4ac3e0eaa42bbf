"""``create_app()`` and the lifespan that owns every resource (STYLE.md convention 7)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import __version__
from app.config import Settings, get_settings
from app.db import make_engine, make_sessionmaker
from app.errors import install_handlers

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, run_monitor: bool = True) -> FastAPI:
    """Build the ASGI app. With ``run_monitor`` the lifespan also starts the
    scheduler and the result pipeline (the embedded, single-process mode)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        app.state.settings = settings
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        app.state.monitor = None
        try:
            if run_monitor and settings.role in ("all", "scheduler"):
                from app.runtime import Monitor

                app.state.monitor = Monitor(settings, app.state.sessionmaker)
                await app.state.monitor.start()
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
    )
    install_handlers(app)
    _include_routers(app)
    return app


def _include_routers(app: FastAPI) -> None:
    from app.api import api_router
    from app.metrics.router import router as metrics_router

    app.include_router(api_router)
    app.include_router(metrics_router)
