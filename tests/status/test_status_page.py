"""The public /status page: Vietnamese by default, English on request, no token needed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.main import create_app
from app.models import Incident
from tests import factories


@pytest.fixture
async def client(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    async with sessionmaker() as s, s.begin():
        down = await factories.http_check(
            s, "http://127.0.0.1:9/a", key="12337.centre.dvc", unit_code="12337"
        )
        down.state = "down"
        ok = await factories.http_check(
            s, "http://127.0.0.1:9/b", key="12364.centre.dvc", unit_code="12364"
        )
        ok.state = "up"
        odd = await factories.unit(s, "12361", "Xã <b>Tiên Hoa</b>")
        await s.flush()
        s.add(
            Incident(
                check_id=down.id,
                unit_id=down.unit_id,
                started_at=datetime.now(UTC) - timedelta(minutes=75),
                error_kind="timeout",
                message="Máy chủ không phản hồi",
            )
        )
        assert odd.id
    settings = Settings(
        database_url=db_url, read_requires_token=True, api_token="admin-token-0123456789abcdef"
    )
    app = create_app(settings, run_monitor=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            yield c


async def test_status_page_in_vietnamese(client: httpx.AsyncClient) -> None:
    resp = await client.get("/status")
    assert resp.status_code == 200  # public even though API reads need a token
    assert resp.headers["content-type"].startswith("text/html")
    html = resp.text
    assert "Tình hình hoạt động dịch vụ công: Gián đoạn" in html
    assert "Hoàng Hoa Thám" in html and "Máy chủ không phản hồi" in html
    assert "1 giờ 15 phút" in html  # how long the incident has lasted
    assert "Quá thời gian chờ phản hồi (Máy chủ không phản hồi)" in html  # kind in words
    assert "Hoạt động (1)" in html  # the healthy units, headed by the vocab word for up
    assert "&lt;b&gt;Tiên Hoa&lt;/b&gt;" in html and "<b>Tiên Hoa" not in html
    assert (await client.get("/api/v1/units")).status_code == 401


async def test_status_page_in_english(client: httpx.AsyncClient) -> None:
    html = (await client.get("/status", params={"lang": "en"})).text
    assert "Public service status: Down" in html  # app.vocab.states words
    assert "Ongoing incidents" in html
    assert "1 hour 15 minutes" in html
