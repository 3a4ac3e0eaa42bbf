"""Hand-computed scenarios, end to end: flips, monitor runs and maintenance in the DB,
rollups computed by the job, figures read back through ``/api/v1/reports/availability``.

One commune check (critical), local time Asia/Ho_Chi_Minh (UTC+7), with a swapped
working Saturday declared in its calendar. The timeline (local):

- up from 2026-01-01 00:00; the monitor runs from then;
- 2026-02-17 (Tết) 09:00–10:00 down;
- 2026-04-30 (holiday) 23:00 → 2026-05-01 (holiday) 01:00 down: across a month boundary;
- 2026-05-05 (Tue) 11:00–14:00 down: across the lunch break;
- 2026-05-09 (Sat, declared working) 08:00–09:00 down;
- 2026-05-12 (Tue) 08:30–09:30 down inside maintenance 08:00–10:00 declared late (API);
- 2026-05-20 (Wed) 10:00–11:00 the monitor was not running (monitor_run gap);
- 2026-05-31 (Sun) 23:00 down, still open at now = 2026-06-01 00:30.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import MonitorRun, Unit
from app.reports import rollup
from tests.api.conftest import (  # noqa: F401  (fixtures)
    AUTH,
    add_flips,
    app,
    client,
    make_check,
    make_service,
    make_unit,
    read_requires_token,
    settings,
    sm,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 6, 1, 0, 30, tzinfo=VN)


def local(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, sec, tzinfo=VN)


async def _world(maker: async_sessionmaker[AsyncSession]) -> Any:
    async with maker() as s, s.begin():
        province = await make_unit(s, "33", "province")
        commune = Unit(
            code="12337",
            name="Xã Hoàng Hoa Thám",
            kind="commune",
            parent_id=province.id,
            settings={"calendar": {"working_days": ["2026-05-09"]}},
        )
        s.add(commune)
        await s.flush()
        centre = await make_service(s, "12337.centre", commune, "commune_centre")
        check = make_check("12337.centre.gw", commune, centre, "icmp", "up")
        s.add(check)
        s.add_all(
            [
                MonitorRun(
                    uid=uuid.uuid4().hex,
                    started_at=local(2026, 1, 1),
                    last_seen_at=local(2026, 5, 20, 9, 59, 50),
                    stopped_at=local(2026, 5, 20, 10),
                ),
                MonitorRun(
                    uid=uuid.uuid4().hex,
                    started_at=local(2026, 5, 20, 11),
                    last_seen_at=NOW,
                    stopped_at=None,
                ),
            ]
        )
    down_up = [
        (local(2026, 2, 17, 9), local(2026, 2, 17, 10)),
        (local(2026, 4, 30, 23), local(2026, 5, 1, 1)),
        (local(2026, 5, 5, 11), local(2026, 5, 5, 14)),
        (local(2026, 5, 9, 8), local(2026, 5, 9, 9)),
        (local(2026, 5, 12, 8, 30), local(2026, 5, 12, 9, 30)),
    ]
    changes = [(local(2026, 1, 1), "up")]
    for down, up in down_up:
        changes += [(down, "down"), (up, "up")]
    changes.append((local(2026, 5, 31, 23), "down"))
    await add_flips(maker, check, *changes)
    return check


@pytest.fixture
async def world(
    sm: async_sessionmaker[AsyncSession],  # noqa: F811
    client: httpx.AsyncClient,  # noqa: F811
) -> None:
    await _world(sm)
    async with sm() as s, s.begin():
        await rollup.recompute(s, date(2026, 1, 1), NOW.astimezone(UTC))
    declared = await client.post(
        "/api/v1/maintenance",
        headers=AUTH,
        json={
            "scope": "unit",
            "target": "12337",
            "starts_at": local(2026, 5, 12, 8).isoformat(),
            "ends_at": local(2026, 5, 12, 10).isoformat(),
            "reason": "Nâng cấp đường truyền",
        },
    )
    assert declared.status_code == 201, declared.text
    async with sm() as s, s.begin():  # the job's tick picks the late declaration up
        report = await rollup.tick(s, NOW.astimezone(UTC))
    assert report.first_day == date(2026, 5, 12)


async def _report(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:  # noqa: F811
    response = await client.get("/api/v1/reports/availability", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _only(body: dict[str, Any]) -> dict[str, Any]:
    assert len(body["rows"]) == 1
    row: dict[str, Any] = body["rows"][0]
    return row


@pytest.mark.usefixtures("world")
async def test_lunch_break_outage(client: httpx.AsyncClient) -> None:  # noqa: F811
    always = _only(await _report(client, period="day", at="2026-05-05", group="check"))
    assert always["downtime_minutes"] == pytest.approx(180)
    assert always["availability"] == pytest.approx(1260 / 1440)
    assert always["mttr_minutes"] == pytest.approx(180)
    hours = _only(
        await _report(client, period="day", at="2026-05-05", group="check", clock="service_hours")
    )
    assert hours["counted_minutes"] == pytest.approx(450)
    assert hours["downtime_minutes"] == pytest.approx(60)  # 11:00–11:30 and 13:30–14:00
    assert hours["longest_outage_minutes"] == pytest.approx(60)
    assert hours["mttr_counted_minutes"] == pytest.approx(60)
    assert hours["availability"] == pytest.approx(390 / 450)
    assert hours["incidents"] == 1


@pytest.mark.usefixtures("world")
async def test_tet_outage_counts_only_on_24_7(client: httpx.AsyncClient) -> None:  # noqa: F811
    always = _only(await _report(client, period="day", at="2026-02-17", group="unit"))
    assert (always["downtime_minutes"], always["incidents"]) == (pytest.approx(60), 1)
    hours = _only(
        await _report(client, period="day", at="2026-02-17", group="unit", clock="service_hours")
    )
    assert hours["counted_minutes"] == 0
    assert hours["availability"] is None
    assert (hours["downtime_minutes"], hours["incidents"]) == (0, 0)


@pytest.mark.usefixtures("world")
async def test_outage_inside_late_maintenance_is_excluded(
    client: httpx.AsyncClient,  # noqa: F811
) -> None:
    row = _only(await _report(client, period="day", at="2026-05-12", group="service"))
    assert row["maintenance_minutes"] == pytest.approx(120)
    assert (row["downtime_minutes"], row["incidents"]) == (0, 0)
    assert row["availability"] == 1


@pytest.mark.usefixtures("world")
async def test_swapped_saturday_counts_on_service_hours(
    client: httpx.AsyncClient,  # noqa: F811
) -> None:
    hours = _only(
        await _report(client, period="day", at="2026-05-09", group="unit", clock="service_hours")
    )
    assert hours["counted_minutes"] == pytest.approx(450)
    assert hours["downtime_minutes"] == pytest.approx(60)
    assert hours["incidents"] == 1


@pytest.mark.usefixtures("world")
async def test_monitor_down_for_an_hour_is_unknown(client: httpx.AsyncClient) -> None:  # noqa: F811
    for clock in ("24/7", "service_hours"):
        row = _only(
            await _report(client, period="day", at="2026-05-20", group="check", clock=clock)
        )
        assert row["unknown_minutes"] == pytest.approx(60)
        assert row["downtime_minutes"] == 0
        assert row["availability"] == 1


@pytest.mark.usefixtures("world")
async def test_across_the_month_boundary(client: httpx.AsyncClient) -> None:  # noqa: F811
    april = _only(await _report(client, period="month", at="2026-04", group="unit"))
    assert april["downtime_minutes"] == pytest.approx(60)
    assert (april["incidents"], april["restored"], april["mttr_minutes"]) == (1, 0, None)
    day = _only(await _report(client, period="day", at="2026-05-01", group="unit"))
    assert day["incidents"] == 1  # under way when the day began
    assert day["mttr_minutes"] == pytest.approx(120)  # from 23:00 the day before


@pytest.mark.usefixtures("world")
async def test_may_totals_and_the_open_outage(client: httpx.AsyncClient) -> None:  # noqa: F811
    body = await _report(client, period="month", at="2026-05", group="unit", incidents="true")
    row = _only(body)
    # down: 60 (May 1) + 180 + 60 (Sat) + 60 (May 31, open); maintenance 120; unknown 60
    assert row["downtime_minutes"] == pytest.approx(360)
    assert row["maintenance_minutes"] == pytest.approx(120)
    assert row["unknown_minutes"] == pytest.approx(60)
    assert row["availability"] == pytest.approx(44100 / 44460)
    assert (row["incidents"], row["restored"]) == (4, 3)
    assert row["mttr_minutes"] == pytest.approx((120 + 180 + 60) / 3)
    assert row["longest_outage_minutes"] == pytest.approx(180)
    assert body["incidents"][-1]["ended_at"] is None  # still open at the report's end
    assert "Quy tắc" in body["rules"]["vi"]
    hours = _only(
        await _report(client, period="month", at="2026-05", group="unit", clock="service_hours")
    )
    assert hours["counted_minutes"] == pytest.approx(21 * 450)
    assert hours["downtime_minutes"] == pytest.approx(120)
    # the May 1 01:00 restoration ended a night outage (a holiday): no incident on
    # service hours, so not in its MTTR either (count and MTTR on the same clock)
    assert (hours["incidents"], hours["restored"]) == (2, 2)
    assert hours["mttr_minutes"] == pytest.approx((180 + 60) / 2)
    assert hours["mttr_counted_minutes"] == pytest.approx(60)
    assert hours["availability"] == pytest.approx(9150 / 9270)
    june = _only(await _report(client, period="day", at="2026-06-01", group="check"))
    assert june["downtime_minutes"] == pytest.approx(30)  # up to now
    assert (june["incidents"], june["restored"]) == (1, 0)
