"""Availability from flips on the 24/7 clock, checked against hand-computed numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.api.conftest import T0, Inventory, add_flips, make_check

M = timedelta(minutes=1)
H = timedelta(hours=1)


async def _get(client: httpx.AsyncClient, **params: Any) -> httpx.Response:
    return await client.get("/api/v1/availability", params=params)


def _iso(at: datetime) -> str:
    return at.isoformat()


async def test_check_down_15_of_60_minutes_is_075(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], inventory: Inventory
) -> None:
    gw = inventory.gateway
    await add_flips(sm, gw, (T0 - H, "up"), (T0 + 10 * M, "down"), (T0 + 25 * M, "up"))
    response = await _get(client, check=gw.key, since=_iso(T0), until=_iso(T0 + H))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["availability"] == pytest.approx(0.75)
    assert body["up_seconds"] == pytest.approx(45 * 60)
    assert body["down_seconds"] == pytest.approx(15 * 60)
    assert body["unknown_seconds"] == 0
    assert body["downtime_minutes"] == pytest.approx(15)
    assert body["incidents"] == 1
    assert body["longest_outage_seconds"] == pytest.approx(900)
    assert body["since"] == "2026-11-02T08:00:00Z"
    assert body["until"] == "2026-11-02T09:00:00Z"
    assert "Tỷ lệ khả dụng" in body["rules"]["vi"]
    assert "Availability" in body["rules"]["en"]


async def test_unknown_before_the_first_flip_is_excluded(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], inventory: Inventory
) -> None:
    gw = inventory.gateway
    await add_flips(sm, gw, (T0 + 20 * M, "up"), (T0 + 35 * M, "down"), (T0 + 50 * M, "degraded"))
    body = (await _get(client, check=gw.key, since=_iso(T0), until=_iso(T0 + H))).json()
    assert body["unknown_seconds"] == pytest.approx(20 * 60)
    assert body["up_seconds"] == pytest.approx(25 * 60)  # 15 min up + 10 min degraded
    assert body["degraded_seconds"] == pytest.approx(10 * 60)
    assert body["down_seconds"] == pytest.approx(15 * 60)
    assert body["availability"] == pytest.approx(25 / 40)


async def test_state_at_since_comes_from_the_last_earlier_flip(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], inventory: Inventory
) -> None:
    gw = inventory.gateway
    await add_flips(sm, gw, (T0 - 2 * H, "up"), (T0 - 30 * M, "down"), (T0 + 30 * M, "up"))
    body = (await _get(client, check=gw.key, since=_iso(T0), until=_iso(T0 + H))).json()
    assert body["down_seconds"] == pytest.approx(30 * 60)
    assert body["availability"] == pytest.approx(0.5)
    assert body["incidents"] == 1
    assert body["longest_outage_seconds"] == pytest.approx(30 * 60)


async def test_only_unknown_time_gives_null_availability(
    client: httpx.AsyncClient, inventory: Inventory
) -> None:
    body = (
        await _get(client, check=inventory.gateway.key, since=_iso(T0), until=_iso(T0 + H))
    ).json()
    assert body["availability"] is None
    assert body["unknown_seconds"] == pytest.approx(3600)


async def test_a_future_until_is_clipped_to_now(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], inventory: Inventory
) -> None:
    now = datetime.now(UTC)
    await add_flips(sm, inventory.gateway, (now - 3 * H, "up"))
    body = (
        await _get(client, check=inventory.gateway.key, since=_iso(now - H), until=_iso(now + H))
    ).json()
    until = datetime.fromisoformat(body["until"].replace("Z", "+00:00"))
    assert now <= until < now + timedelta(seconds=30)
    assert 3600 <= body["up_seconds"] < 3630
    assert body["availability"] == 1.0


async def test_unit_is_the_worst_of_its_critical_checks(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], inventory: Inventory
) -> None:
    async with sm() as s, s.begin():
        web = make_check("12337.centre.web", inventory.commune, inventory.centre, "http", "up")
        s.add(web)
    await add_flips(
        sm, inventory.gateway, (T0 - H, "up"), (T0 + 10 * M, "down"), (T0 + 20 * M, "up")
    )
    await add_flips(sm, web, (T0 - H, "up"), (T0 + 15 * M, "down"), (T0 + 30 * M, "up"))
    # neither a non-critical nor a disabled check counts for the unit
    await add_flips(sm, inventory.kiosk, (T0 - H, "up"), (T0 + 40 * M, "down"))
    await add_flips(sm, inventory.disabled, (T0 - H, "up"), (T0 + 45 * M, "down"))
    body = (await _get(client, unit="12337", since=_iso(T0), until=_iso(T0 + H))).json()
    assert body["unit"] == "12337"
    assert body["down_seconds"] == pytest.approx(20 * 60)  # 08:10-08:30, merged
    assert body["availability"] == pytest.approx(40 / 60)
    assert body["incidents"] == 1
    assert body["longest_outage_seconds"] == pytest.approx(20 * 60)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"check": "12337.centre.gw", "unit": "12337"},
        {"check": "12337.centre.gw", "since": "2026-11-02T08:00:00"},  # naive
        {
            "check": "12337.centre.gw",
            "since": "2026-11-02T09:00:00Z",
            "until": "2026-11-02T08:00:00Z",
        },
    ],
)
async def test_bad_parameters_are_422(
    client: httpx.AsyncClient, inventory: Inventory, params: dict[str, str]
) -> None:
    assert (await _get(client, **params)).status_code == 422


async def test_unknown_check_or_unit_is_404(
    client: httpx.AsyncClient, inventory: Inventory
) -> None:
    assert (await _get(client, check="nope")).status_code == 404
    assert (await _get(client, unit="99999")).status_code == 404


async def test_service_hours_clock_counts_only_office_hours(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], inventory: Inventory
) -> None:
    # T0 is Monday 15:00 in Hà Nội; default office hours end at 17:00 (10:00 UTC).
    gw = inventory.gateway
    await add_flips(sm, gw, (T0 - H, "up"), (T0 + 90 * M, "down"), (T0 + 150 * M, "up"))
    window = {"check": gw.key, "since": _iso(T0), "until": _iso(T0 + 3 * H)}
    always = (await _get(client, **window)).json()
    assert always["availability"] == pytest.approx(2 / 3)
    office = (await _get(client, **window, clock="service_hours")).json()
    assert office["clock"] == "service_hours"
    assert office["unit"] == "12337"
    assert office["down_seconds"] == pytest.approx(30 * 60)
    assert office["up_seconds"] == pytest.approx(90 * 60)
    assert office["availability"] == pytest.approx(0.75)
    assert (await _get(client, **window, clock="office")).status_code == 422
