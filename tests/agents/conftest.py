"""The app with its monitor running on an inventory with two agents; an in-process
client (httpx ASGI transport); helpers to enrol agents and talk the agent protocol."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.main import create_app
from app.models import Check
from tests.agents.inventory_text import AGENTS_TEXT

TOKEN = "bootstrap-token-for-tests-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def inventory_text() -> str:
    return AGENTS_TEXT


@pytest.fixture
def settings(db_url: str, tmp_path: Path, inventory_text: str) -> Settings:
    path = tmp_path / "inventory.yaml"
    path.write_text(inventory_text, encoding="utf-8")
    return Settings(
        database_url=db_url,
        api_token=TOKEN,
        inventory=path,
        flush_interval_s=0.05,
        notify_enabled=False,
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings, run_monitor=True)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://thongsuot.test") as c:
        yield c


@pytest.fixture
def sm(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    return maker


async def enrol(client: httpx.AsyncClient, name: str) -> str:
    answer = await client.post("/api/v1/agents", json={"name": name}, headers=AUTH)
    assert answer.status_code == 201, answer.text
    token: str = answer.json()["token"]
    return token


def agent_headers(token: str, skew: float = 0.0) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "X-Thongsuot-Agent-Time": f"{time.time() - skew:.3f}",
        "User-Agent": "thongsuot-agent/0.test",
    }


async def check_ids(sm: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sm() as s:
        return {k: i for k, i in (await s.execute(select(Check.key, Check.id))).all()}


def result(check_id: int, status: str = "up", at: float | None = None, **kw: Any) -> dict[str, Any]:
    return {
        "uid": uuid.uuid4().hex,
        "check_id": check_id,
        "slot": kw.pop("slot", None),
        "at": time.time() if at is None else at,
        "status": status,
        "latency_ms": 12.5,
        "error_kind": "connect" if status == "down" else None,
        "message": "" if status != "down" else "connection refused",
        "details": {},
        **kw,
    }


async def push(
    client: httpx.AsyncClient,
    token: str,
    results: list[dict[str, Any]],
    *,
    key: str | None = None,
    skew: float = 0.0,
) -> httpx.Response:
    headers = agent_headers(token, skew) | {"Idempotency-Key": key or uuid.uuid4().hex}
    return await client.post("/api/v1/agent/results", json={"results": results}, headers=headers)
