"""Bearer tokens: hashed storage, scopes, revocation, and the 401s."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth import service
from app.config import Settings
from app.models import ApiToken
from tests.api.conftest import AUTH, T0, TOKEN, Inventory, add_incident

pytestmark = pytest.mark.usefixtures("inventory")


async def test_token_is_stored_hashed_and_verifies(sm: async_sessionmaker[AsyncSession]) -> None:
    async with sm() as s, s.begin():
        plaintext = await service.create_token(s, "ops", scope="read")
    async with sm() as s, s.begin():
        row = (await s.execute(select(ApiToken).where(ApiToken.name == "ops"))).scalar_one()
        assert row.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
        assert plaintext not in row.token_hash
        assert row.last_used_at is None
        verified = await service.verify(s, plaintext)
        assert verified is not None and verified.name == "ops" and verified.last_used_at
        assert await service.verify(s, plaintext + "x") is None
        await service.revoke(s, "ops")
        assert await service.verify(s, plaintext) is None


async def test_bootstrap_token_is_upserted_at_start(sm: async_sessionmaker[AsyncSession]) -> None:
    async with sm() as s:
        row = (await s.execute(select(ApiToken).where(ApiToken.name == "bootstrap"))).scalar_one()
    assert row.token_hash == service.hash_token(TOKEN)
    assert row.scope == "write"
    async with sm() as s, s.begin():  # a new secret replaces the old hash
        new = Settings(database_url="sqlite://", api_token="another-secret-value-123456")
        await service.ensure_bootstrap_token(s, new)
    async with sm() as s:
        rows = (await s.execute(select(ApiToken))).scalars().all()
    assert [r.token_hash for r in rows] == [service.hash_token("another-secret-value-123456")]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token"}, {"Authorization": "Basic dXNlcjpwYXNz"}],
)
async def test_write_without_a_valid_token_is_401(
    client: httpx.AsyncClient,
    sm: async_sessionmaker[AsyncSession],
    inventory: Inventory,
    headers: dict[str, str],
) -> None:
    incident_id = await add_incident(sm, inventory.gateway, T0)
    response = await client.post(f"/api/v1/incidents/{incident_id}/ack", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"] == "unauthorized"


async def test_write_with_the_bootstrap_token_succeeds(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], inventory: Inventory
) -> None:
    incident_id = await add_incident(sm, inventory.gateway, T0)
    response = await client.post(f"/api/v1/incidents/{incident_id}/ack", headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.json()["acknowledged_by"] == "bootstrap"


async def test_read_scope_and_revoked_tokens_cannot_write(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], inventory: Inventory
) -> None:
    async with sm() as s, s.begin():
        reader = await service.create_token(s, "reader", scope="read")
        writer = await service.create_token(s, "writer")
        await service.revoke(s, "writer")
    incident_id = await add_incident(sm, inventory.gateway, T0)
    for plaintext in (reader, writer):
        response = await client.post(
            f"/api/v1/incidents/{incident_id}/ack", headers={"Authorization": f"Bearer {plaintext}"}
        )
        assert response.status_code == 401


async def test_reads_are_open_by_default(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/units")).status_code == 200


@pytest.mark.parametrize("read_requires_token", [True])
async def test_reads_need_a_token_when_configured(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession]
) -> None:
    async with sm() as s, s.begin():
        reader = await service.create_token(s, "reader", scope="read")
    assert (await client.get("/api/v1/units")).status_code == 401
    bad = await client.get("/api/v1/status", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    good = await client.get("/api/v1/units", headers={"Authorization": f"Bearer {reader}"})
    assert good.status_code == 200
    assert (await client.get("/api/v1/status", headers=AUTH)).status_code == 200
    assert (await client.get("/healthz")).status_code == 200  # health stays open


async def test_the_request_session_commits_on_success_and_rolls_back_on_error(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], inventory: Inventory
) -> None:
    async def last_used() -> object:
        async with sm() as s:
            stmt = select(ApiToken.last_used_at).where(ApiToken.name == "bootstrap")
            return (await s.execute(stmt)).scalar_one()

    closed = await add_incident(sm, inventory.portal, T0, ended_at=T0.replace(hour=9))
    failed = await client.post(f"/api/v1/incidents/{closed}/ack", headers=AUTH)
    assert failed.status_code == 409
    assert await last_used() is None  # the token's touch went with the rollback
    open_ = await add_incident(sm, inventory.gateway, T0)
    assert (await client.post(f"/api/v1/incidents/{open_}/ack", headers=AUTH)).status_code == 200
    assert await last_used() is not None
