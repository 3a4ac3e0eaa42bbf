"""Raw results and flips: newest first, paged, time-filtered."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.api.conftest import AUTH, T0, Inventory, add_flips, add_results


@pytest.fixture
def client(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Raw results and flips are never public: every request here carries a token."""
    client.headers.update(AUTH)
    return client


S = timedelta(seconds=1)


async def test_results_newest_first_and_paged(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], inventory: Inventory
) -> None:
    await add_results(sm, inventory.gateway, T0, 5, 30)
    await add_results(sm, inventory.portal, T0, 2, 30)
    page = (
        await client.get("/api/v1/results", params={"check": "12337.centre.gw", "limit": 3})
    ).json()
    assert [r["message"] for r in page["items"]] == ["r4", "r3", "r2"]
    assert page["next_offset"] == 3
    assert page["items"][0]["at"] == "2026-11-02T08:02:00Z"
    assert page["items"][0]["check_key"] == "12337.centre.gw"
    rest = (
        await client.get(
            "/api/v1/results", params={"check": "12337.centre.gw", "limit": 3, "offset": 3}
        )
    ).json()
    assert [r["message"] for r in rest["items"]] == ["r1", "r0"]
    assert rest["next_offset"] is None
    everything = (await client.get("/api/v1/results")).json()["items"]
    assert len(everything) == 7


async def test_results_time_window_and_status(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], inventory: Inventory
) -> None:
    await add_results(sm, inventory.gateway, T0, 5, 30)  # 08:00:00 .. 08:02:00
    await add_results(sm, inventory.gateway, T0 + 10 * S, 2, 30, status="down")
    params = {"since": "2026-11-02T08:00:30Z", "until": "2026-11-02T15:01:30+07:00"}
    items = (await client.get("/api/v1/checks/12337.centre.gw/results", params=params)).json()
    # since is inclusive, until exclusive: 08:00:30, 08:00:40 (down), 08:01:00
    assert [(r["at"], r["status"]) for r in items["items"]] == [
        ("2026-11-02T08:01:00Z", "up"),
        ("2026-11-02T08:00:40Z", "down"),
        ("2026-11-02T08:00:30Z", "up"),
    ]
    down = (
        await client.get("/api/v1/checks/12337.centre.gw/results", params={"status": "down"})
    ).json()
    assert [r["at"] for r in down["items"]] == ["2026-11-02T08:00:40Z", "2026-11-02T08:00:10Z"]


async def test_results_bad_inputs(client: httpx.AsyncClient, inventory: Inventory) -> None:
    assert (await client.get("/api/v1/checks/nope/results")).status_code == 404
    assert (await client.get("/api/v1/results", params={"check": "nope"})).status_code == 404
    naive = await client.get("/api/v1/results", params={"since": "2026-11-02T08:00:00"})
    assert naive.status_code == 422
    backwards = {"since": "2026-11-02T09:00:00Z", "until": "2026-11-02T08:00:00Z"}
    assert (await client.get("/api/v1/results", params=backwards)).status_code == 422


async def test_flips_filtered_by_check_unit_and_time(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], inventory: Inventory
) -> None:
    minute = timedelta(minutes=1)
    await add_flips(sm, inventory.gateway, (T0, "up"), (T0 + 5 * minute, "down"))
    await add_flips(sm, inventory.portal, (T0 + 2 * minute, "up"))
    everything = (await client.get("/api/v1/flips")).json()["items"]
    assert [(f["check_key"], f["new_state"]) for f in everything] == [
        ("12337.centre.gw", "down"),
        ("33.system.http", "up"),
        ("12337.centre.gw", "up"),
    ]
    assert everything[0]["old_state"] == "up"
    assert everything[0]["unit_code"] == "12337"
    unit = (await client.get("/api/v1/flips", params={"unit": "33"})).json()["items"]
    assert [f["check_key"] for f in unit] == ["33.system.http"]
    check = (await client.get("/api/v1/flips", params={"check": "12337.centre.gw"})).json()
    assert len(check["items"]) == 2
    window = {"since": "2026-11-02T08:01:00Z", "until": "2026-11-02T08:05:00Z"}
    assert [
        f["at"] for f in (await client.get("/api/v1/flips", params=window)).json()["items"]
    ] == ["2026-11-02T08:02:00Z"]
    assert (await client.get("/api/v1/flips", params={"unit": "nope"})).status_code == 404
