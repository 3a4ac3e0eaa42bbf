"""Heartbeats: /api/v1/push/{token} records beats; missed beats become results."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.service import hash_token
from app.config import Settings
from app.main import create_app
from app.models import Flip, ProbeResult
from app.monitor.push import RateLimiter
from tests import factories

ADMIN = "admin-token-0123456789abcdef"
KEY = "12337.centre.kiosk"


@pytest.fixture
async def client(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    async with sessionmaker() as s, s.begin():
        await factories.check(
            s,
            "heartbeat",
            {"period_s": 1, "grace_s": 0.5},
            key=KEY,
            interval_s=1,
            timeout_s=0.5,
            push_token_hash=hash_token("kiosk-secret-12337"),
        )
    app = create_app(Settings(database_url=db_url, api_token=ADMIN, flush_interval_s=0.1))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            c.app = app  # type: ignore[attr-defined]
            yield c


async def _results(sm: async_sessionmaker[AsyncSession]) -> list[ProbeResult]:
    async with sm() as s:
        return list((await s.execute(select(ProbeResult).order_by(ProbeResult.at))).scalars())


@pytest.mark.slow
async def test_beats_are_results_and_missed_beats_go_down(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    monitor = client.app.state.monitor  # type: ignore[attr-defined]
    resp = await client.get("/api/v1/push/kiosk-secret-12337", params={"msg": "Máy lấy số OK"})
    assert resp.status_code == 200
    assert resp.json() == {"ok": True, "state": "up"}
    deadline = asyncio.get_running_loop().time() + 6
    while monitor.states[monitor._tokens[hash_token("kiosk-secret-12337")]].state != "down":
        assert asyncio.get_running_loop().time() < deadline, "missed beat never went down"
        await asyncio.sleep(0.1)
    await monitor.pipeline.flush()
    results = await _results(sessionmaker)
    assert results[0].status == "up"
    assert results[0].message == "Máy lấy số OK"
    assert results[0].details["source"] == "push"
    assert {r.error_kind for r in results[1:]} == {"missed_heartbeat"}


async def test_device_reported_down(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    for _ in range(2):
        resp = await client.post(
            "/api/v1/push/kiosk-secret-12337",
            json={"status": "down", "message": "Máy in hết giấy"},
        )
        assert resp.status_code == 200
    assert resp.json()["state"] == "down"
    await client.app.state.monitor.pipeline.flush()  # type: ignore[attr-defined]
    async with sessionmaker() as s:
        flip = (await s.execute(select(Flip).where(Flip.new_state == "down"))).scalar_one()
    assert flip.error_kind == "reported_down"
    assert flip.reason == "Máy in hết giấy"


async def test_unknown_token_is_a_bare_404(client: httpx.AsyncClient) -> None:
    resp = await client.post("/api/v1/push/not-a-token")
    assert resp.status_code == 404
    assert resp.json() == {"error": "not_found", "detail": "Not Found"}


async def test_bad_status_is_422(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/v1/push/kiosk-secret-12337", params={"status": "maybe"})
    assert resp.status_code == 422


async def test_pushes_are_rate_limited_per_token(client: httpx.AsyncClient) -> None:
    codes = [(await client.get("/api/v1/push/kiosk-secret-12337")).status_code for _ in range(8)]
    assert codes.count(200) >= 5
    assert 429 in codes


def test_rate_limiter_refills() -> None:
    limiter = RateLimiter(rate=1.0, burst=2.0)
    assert [limiter.allow("t", now=0.0) for _ in range(3)] == [0.0, 0.0, pytest.approx(1.0)]
    assert limiter.allow("t", now=1.5) == 0.0
    assert limiter.allow("other", now=1.5) == 0.0


async def test_rotating_the_token(client: httpx.AsyncClient) -> None:
    assert (await client.post(f"/api/v1/checks/{KEY}/push-token")).status_code == 401
    resp = await client.post(
        f"/api/v1/checks/{KEY}/push-token", headers={"Authorization": f"Bearer {ADMIN}"}
    )
    assert resp.status_code == 200
    body = resp.json()
    assert body["url"].endswith(f"/api/v1/push/{body['token']}")
    assert (await client.get(f"/api/v1/push/{body['token']}")).status_code == 200
    assert (await client.get("/api/v1/push/kiosk-secret-12337")).status_code == 404
