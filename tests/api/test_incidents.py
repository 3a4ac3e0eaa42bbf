"""Incidents: listing by state, unit, check and time; acknowledgement rules."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import Incident
from tests.api.conftest import AUTH, T0, Inventory, add_incident

H = timedelta(hours=1)


async def test_list_by_state_unit_check_and_window(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], inventory: Inventory
) -> None:
    open_id = await add_incident(sm, inventory.gateway, T0 + 2 * H)
    closed_id = await add_incident(sm, inventory.portal, T0, ended_at=T0 + H)

    async def ids(**params: str) -> list[int]:
        response = await client.get("/api/v1/incidents", params=params)
        assert response.status_code == 200, response.text
        return [i["id"] for i in response.json()["items"]]

    assert await ids() == [open_id, closed_id]  # newest start first
    assert await ids(state="open") == [open_id]
    assert await ids(state="closed") == [closed_id]
    assert await ids(unit="33") == [closed_id]
    assert await ids(check="12337.centre.gw") == [open_id]
    # overlap with [since, until): the closed one ended at 09:00
    assert await ids(since="2026-11-02T09:00:00Z") == [open_id]
    assert await ids(since="2026-11-02T08:59:00Z", until="2026-11-02T10:00:00Z") == [closed_id]
    assert (await client.get("/api/v1/incidents", params={"state": "bogus"})).status_code == 422


async def test_get_one(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], inventory: Inventory
) -> None:
    closed_id = await add_incident(sm, inventory.portal, T0, ended_at=T0 + H)
    body = (await client.get(f"/api/v1/incidents/{closed_id}")).json()
    assert body["open"] is False
    assert body["duration_s"] == 3600
    assert body["started_at"] == "2026-11-02T08:00:00Z"
    assert body["check_key"] == "33.system.http"
    assert body["message"] == "hết thời gian chờ"
    assert (await client.get("/api/v1/incidents/424242")).status_code == 404


async def test_ack_once_then_409(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], inventory: Inventory
) -> None:
    incident_id = await add_incident(sm, inventory.gateway, T0)
    url = f"/api/v1/incidents/{incident_id}/ack"
    first = await client.post(url, headers=AUTH, json={"by": "Nguyễn Văn An"})
    assert first.status_code == 200, first.text
    assert first.json()["acknowledged_by"] == "Nguyễn Văn An"
    assert first.json()["acknowledged_at"] is not None
    async with sm() as s:  # committed by the request's session
        stored = await s.get_one(Incident, incident_id)
        assert stored.acknowledged_by == "Nguyễn Văn An"
    again = await client.post(url, headers=AUTH)
    assert again.status_code == 409
    assert again.json()["error"] == "conflict"


async def test_ack_closed_is_409_and_missing_is_404(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], inventory: Inventory
) -> None:
    closed_id = await add_incident(sm, inventory.portal, T0, ended_at=T0 + H)
    response = await client.post(f"/api/v1/incidents/{closed_id}/ack", headers=AUTH)
    assert response.status_code == 409
    async with sm() as s:
        assert (await s.get_one(Incident, closed_id)).acknowledged_at is None
    assert (await client.post("/api/v1/incidents/424242/ack", headers=AUTH)).status_code == 404
