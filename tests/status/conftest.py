"""An app over the scenario province, with the page cache off (ttl 0) unless a test
says otherwise, so each request sees what the test just wrote."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.main import create_app
from app.status.cache import PageCache
from tests.status import scenario

ADMIN = "admin-token-0123456789abcdef"


@pytest.fixture
def shared_down() -> bool:
    return False


@pytest.fixture
async def built(
    sessionmaker: async_sessionmaker[AsyncSession], shared_down: bool
) -> scenario.Built:
    async with sessionmaker() as s, s.begin():
        return await scenario.build(s, shared_down=shared_down)


@pytest.fixture
async def app(db_url: str, built: scenario.Built) -> AsyncIterator[FastAPI]:
    settings = Settings(database_url=db_url, read_requires_token=True, api_token=ADMIN)
    app = create_app(settings, run_monitor=False)
    async with app.router.lifespan_context(app):
        app.state.status_cache = PageCache(ttl_s=0, stale_s=0)
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c
