"""``/api/v1/maintenance`` end to end: who and why, validation, live state, rollups."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.maintenance.service import active_check_ids
from app.models import MaintenanceWindow, RollupStale
from app.reports import rollup
from tests.api.conftest import (  # noqa: F401  (fixtures)
    AUTH,
    Inventory,
    add_flips,
    app,
    client,
    inventory,
    read_requires_token,
    settings,
    sm,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def _window(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    body = {
        "scope": "unit",
        "target": "12337",
        "starts_at": (now - timedelta(minutes=10)).isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat(),
        "reason": "Thay thiết bị mạng",
    }
    return body | overrides


async def test_declare_needs_a_write_token(
    client: httpx.AsyncClient,  # noqa: F811
    inventory: Inventory,  # noqa: F811
) -> None:
    response = await client.post("/api/v1/maintenance", json=_window())
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"target": "99999"}, "no such unit"),
        ({"scope": "check", "target": None}, "needs a target"),
        ({"rrule": "FREQ=SOMETIMES"}, "invalid rrule"),
        ({"rrule": "FREQ=SECONDLY"}, "finer than a minute"),
        ({"rrule": "FREQ=DAILY;COUNT=1000000"}, "COUNT"),
        ({"ends_at": "2026-01-01T00:00:00+07:00"}, "after starts_at"),
    ],
)
async def test_bad_declarations_are_422(
    client: httpx.AsyncClient,  # noqa: F811
    inventory: Inventory,  # noqa: F811
    overrides: dict[str, Any],
    fragment: str,
) -> None:
    response = await client.post("/api/v1/maintenance", headers=AUTH, json=_window(**overrides))
    assert response.status_code == 422, response.text
    assert fragment in response.json()["detail"]


async def test_declared_window_shows_as_maintenance_then_is_withdrawn(
    client: httpx.AsyncClient,  # noqa: F811
    inventory: Inventory,  # noqa: F811
    sm: async_sessionmaker[AsyncSession],  # noqa: F811
) -> None:
    created = await client.post("/api/v1/maintenance", headers=AUTH, json=_window())
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["created_by"], body["reason"], body["source"]) == (
        "bootstrap",
        "Thay thiết bị mạng",
        "api",
    )
    async with sm() as s:
        assert await active_check_ids(s) == {inventory.gateway.id, inventory.kiosk.id}
        stale = (await s.execute(select(RollupStale))).scalars().all()
        assert [row.first_day for row in stale] == [datetime.now(UTC).astimezone(VN).date()]
    gw = (await client.get(f"/api/v1/checks/{inventory.portal.key}")).json()
    assert gw["state"] == "up"  # the province's check is outside the unit's window
    listed = (await client.get("/api/v1/checks", params={"unit": "12337"})).json()["items"]
    assert {c["key"]: c["state"] for c in listed}["12337.centre.gw"] == "maintenance"
    unit = (await client.get("/api/v1/units/12337")).json()
    assert unit["state"] == "maintenance"  # was down
    one = (await client.get("/api/v1/checks/12337.centre.gw")).json()
    assert one["state"] == "maintenance"
    by_state = await client.get("/api/v1/checks", params={"state": "maintenance"})
    assert {c["key"] for c in by_state.json()["items"]} == {
        inventory.gateway.key,
        inventory.kiosk.key,
    }
    stored_down = await client.get("/api/v1/checks", params={"state": "down", "unit": "12337"})
    shown_down = {c["key"] for c in stored_down.json()["items"]}
    assert inventory.gateway.key not in shown_down  # shown as maintenance, not as down
    assert len((await client.get("/api/v1/maintenance")).json()["items"]) == 1
    gone = await client.delete(f"/api/v1/maintenance/{body['id']}", headers=AUTH)
    assert gone.status_code == 204
    assert (await client.get(f"/api/v1/maintenance/{body['id']}")).status_code == 404
    assert (await client.get("/api/v1/units/12337")).json()["state"] == "down"
    async with sm() as s:
        kept = (await s.execute(select(MaintenanceWindow))).scalar_one()
        assert (kept.deleted_by, kept.deleted_at is not None) == ("bootstrap", True)


async def test_recurring_window_in_the_rollups(
    client: httpx.AsyncClient,  # noqa: F811
    inventory: Inventory,  # noqa: F811
    sm: async_sessionmaker[AsyncSession],  # noqa: F811
) -> None:
    """Every Sunday 22:00–23:00 over the province: five Sundays in May 2026 = 300 min."""
    await add_flips(sm, inventory.portal, (datetime(2026, 4, 1, tzinfo=VN), "up"))
    sunday = datetime(2026, 5, 3, 22, tzinfo=VN)
    response = await client.post(
        "/api/v1/maintenance",
        headers=AUTH,
        json=_window(
            scope="province",
            target=None,
            starts_at=sunday.isoformat(),
            ends_at=(sunday + timedelta(hours=1)).isoformat(),
            rrule="FREQ=WEEKLY;BYDAY=SU",
        ),
    )
    assert response.status_code == 201, response.text
    async with sm() as s, s.begin():
        await rollup.recompute(s, date(2026, 5, 1), datetime(2026, 6, 1, tzinfo=VN))
    report = await client.get(
        "/api/v1/reports/availability",
        params={"period": "month", "at": "2026-05", "group": "check"},
    )
    rows = {r["key"]: r for r in report.json()["rows"]}
    assert rows["33.system.http"]["maintenance_minutes"] == pytest.approx(300)
    assert rows["33.system.http"]["up_minutes"] == pytest.approx(31 * 1440 - 300)
