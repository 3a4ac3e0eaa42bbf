"""Units, services and checks with their current states; the status summary."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.api.conftest import T0, Inventory, add_incident, make_check, make_service


async def test_units_carry_the_worst_critical_state_and_counts(
    client: httpx.AsyncClient, inventory: Inventory
) -> None:
    response = await client.get("/api/v1/units")
    assert response.status_code == 200
    page = response.json()
    assert page["next_offset"] is None
    units = {u["code"]: u for u in page["items"]}
    assert list(units) == ["12337", "12340", "33"]
    # critical gateway down; the degraded kiosk is not critical; the disabled check is ignored
    assert units["12337"]["state"] == "down"
    assert units["12337"]["checks_by_state"] == {
        "up": 0,
        "degraded": 1,
        "down": 1,
        "maintenance": 0,
        "unknown": 0,
    }
    assert units["12337"]["parent_code"] == "33"
    assert units["33"]["state"] == "up"
    assert units["12340"]["state"] == "unknown"
    assert sum(units["12340"]["checks_by_state"].values()) == 0


async def test_state_ranking_follows_report_severity(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], inventory: Inventory
) -> None:
    async with sm() as s, s.begin():
        ward = await make_service(s, "12340.centre", inventory.empty, "commune_centre")
        s.add_all(
            [
                make_check(
                    "33.system.dns",
                    inventory.province,
                    await make_service(s, "33.portal", inventory.province, "national_portal"),
                    "dns",
                    "degraded",
                ),
                make_check("12340.centre.gw", inventory.empty, ward, "icmp", "unknown"),
                make_check("12340.centre.web", inventory.empty, ward, "http", "up"),
                make_check("12340.centre.kiosk", inventory.empty, ward, "heartbeat", "unknown"),
            ]
        )
    units = {u["code"]: u["state"] for u in (await client.get("/api/v1/units")).json()["items"]}
    # one severity order everywhere (availability.SEVERITY): unknown is worse than up
    assert units == {"33": "degraded", "12337": "down", "12340": "unknown"}
    services = (await client.get("/api/v1/services", params={"unit": "33"})).json()["items"]
    assert [(x["key"], x["state"]) for x in services] == [
        ("33.portal", "degraded"),
        ("33.system", "up"),
    ]


async def test_unit_detail_has_services_and_checks(
    client: httpx.AsyncClient, inventory: Inventory
) -> None:
    body = (await client.get("/api/v1/units/12337")).json()
    assert body["state"] == "down"
    assert [s["key"] for s in body["services"]] == ["12337.centre"]
    assert body["services"][0]["state"] == "down"
    keys = [c["key"] for c in body["checks"]]
    assert keys == ["12337.centre.gw", "12337.centre.kiosk", "12337.centre.off"]
    assert (await client.get("/api/v1/units/00000")).status_code == 404


async def test_a_service_of_non_critical_checks_takes_their_worst_state(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], inventory: Inventory
) -> None:
    """An agent's liveness service has only non-critical checks: its state is theirs,
    while the unit's stays the worst of its critical checks."""
    async with sm() as s, s.begin():
        agents = await make_service(s, "12340.agents", inventory.empty, "commune_centre")
        s.add(make_check("agent.xa", inventory.empty, agents, "heartbeat", "up", critical=False))
    services = (await client.get("/api/v1/services", params={"unit": "12340"})).json()["items"]
    assert [(x["key"], x["state"]) for x in services] == [("12340.agents", "up")]
    body = (await client.get("/api/v1/units/12340")).json()
    assert [(x["key"], x["state"]) for x in body["services"]] == [("12340.agents", "up")]
    assert body["state"] == "unknown"  # no critical check: the unit's rule is unchanged
    async with sm() as s, s.begin():  # a critical check, when there is one, decides alone
        ward = await make_service(s, "12340.centre", inventory.empty, "commune_centre")
        s.add(make_check("12340.centre.web", inventory.empty, ward, "http", "up"))
        s.add(
            make_check(
                "12340.centre.kiosk", inventory.empty, ward, "heartbeat", "down", critical=False
            )
        )
    body = (await client.get("/api/v1/units/12340")).json()
    assert [(x["key"], x["state"]) for x in body["services"]] == [
        ("12340.agents", "up"),
        ("12340.centre", "up"),
    ]
    assert body["state"] == "up"


async def test_units_paging(client: httpx.AsyncClient, inventory: Inventory) -> None:
    first = (await client.get("/api/v1/units", params={"limit": 2})).json()
    assert [u["code"] for u in first["items"]] == ["12337", "12340"]
    assert first["next_offset"] == 2
    second = (await client.get("/api/v1/units", params={"limit": 2, "offset": 2})).json()
    assert [u["code"] for u in second["items"]] == ["33"]
    assert second["next_offset"] is None
    assert (await client.get("/api/v1/units", params={"limit": 1001})).status_code == 422
    assert (await client.get("/api/v1/units", params={"limit": 0})).status_code == 422


async def test_services_filtered(client: httpx.AsyncClient, inventory: Inventory) -> None:
    items = (await client.get("/api/v1/services")).json()["items"]
    assert [(s["key"], s["state"]) for s in items] == [
        ("12337.centre", "down"),
        ("33.system", "up"),
    ]
    kind = (await client.get("/api/v1/services", params={"kind": "provincial_system"})).json()
    assert [s["key"] for s in kind["items"]] == ["33.system"]
    unit = (await client.get("/api/v1/services", params={"unit": "12340"})).json()
    assert unit["items"] == []


async def test_checks_filtered(client: httpx.AsyncClient, inventory: Inventory) -> None:
    async def keys(**params: str) -> list[str]:
        response = await client.get("/api/v1/checks", params=params)
        assert response.status_code == 200
        return [c["key"] for c in response.json()["items"]]

    assert len(await keys()) == 4
    assert await keys(unit="33") == ["33.system.http"]
    assert await keys(service_kind="commune_centre", state="down") == [
        "12337.centre.gw",
        "12337.centre.off",
    ]
    assert await keys(kind="heartbeat") == ["12337.centre.kiosk"]
    assert await keys(unit="12337", kind="http") == []


async def test_check_by_key_or_id(client: httpx.AsyncClient, inventory: Inventory) -> None:
    by_key = (await client.get("/api/v1/checks/12337.centre.gw")).json()
    assert by_key["id"] == inventory.gateway.id
    assert by_key["unit_code"] == "12337"
    assert by_key["service_kind"] == "commune_centre"
    assert by_key["state_since"] == "2026-11-02T08:00:00Z"
    assert "config" not in by_key  # configs may hold credentials
    by_id = (await client.get(f"/api/v1/checks/{inventory.portal.id}")).json()
    assert by_id["key"] == "33.system.http"
    assert (await client.get("/api/v1/checks/nope")).status_code == 404
    assert (await client.get("/api/v1/checks/999999")).json()["error"] == "not_found"


async def test_status_summary(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], inventory: Inventory
) -> None:
    await add_incident(sm, inventory.gateway, T0)
    await add_incident(sm, inventory.portal, T0, ended_at=T0.replace(hour=9))
    body = (await client.get("/api/v1/status")).json()
    assert body["units_by_state"] == {
        "up": 1,
        "degraded": 0,
        "down": 1,
        "maintenance": 0,
        "unknown": 1,
    }
    assert body["checks_by_state"] == {
        "up": 1,
        "degraded": 1,
        "down": 1,
        "maintenance": 0,
        "unknown": 0,
    }
    assert body["open_incidents"] == 1
