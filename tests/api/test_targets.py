"""Who sees check targets (docs/security.md): token holders, without credentials;
anonymous readers of public endpoints see null."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import Check
from tests.api.conftest import AUTH, T0, Inventory, add_incident


async def test_an_old_target_with_credentials_is_redacted_in_the_api(
    client: httpx.AsyncClient,
    app: FastAPI,
    sm: async_sessionmaker[AsyncSession],
    inventory: Inventory,
) -> None:
    async with sm() as s, s.begin():
        check = await s.get(Check, inventory.portal.id)
        assert check is not None
        check.target = "https://canbo:mat-khau@dvc.hungyen.gov.vn/hoso"
    shown = (await client.get(f"/api/v1/checks/{inventory.portal.key}", headers=AUTH)).json()
    assert shown["target"] == "https://***@dvc.hungyen.gov.vn/hoso"
    anonymous = (await client.get(f"/api/v1/checks/{inventory.portal.key}")).json()
    assert anonymous["target"] is None
    unit = (await client.get("/api/v1/units/33")).json()
    assert {c["target"] for c in unit["checks"]} == {None}
    listed = (await client.get("/api/v1/checks", headers=AUTH)).text
    assert "mat-khau" not in listed


async def test_notifications_and_raw_data_need_a_token(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], inventory: Inventory
) -> None:
    incident_id = await add_incident(sm, inventory.gateway, T0)
    anonymous = (await client.get(f"/api/v1/incidents/{incident_id}")).json()
    assert anonymous["notifications"] is None
    holder = (await client.get(f"/api/v1/incidents/{incident_id}", headers=AUTH)).json()
    assert holder["notifications"] == []
    for path in ("/api/v1/results", "/api/v1/flips", "/api/v1/checks/12337.centre.gw/results"):
        response = await client.get(path)
        assert response.status_code == 401, path
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert (await client.get(path, headers=AUTH)).status_code == 200, path
    # what stays public: the status summary, units and their states
    for path in ("/api/v1/status", "/api/v1/units", "/api/v1/units/12337", "/status"):
        assert (await client.get(path)).status_code == 200, path
