"""Storm control on the demo farm: the provincial system and its 104 communes fail
together → one incident notification (plus the parent's escalation), 104 suppressed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.demo.farm import start_farm
from app.demo.inventory import PROVINCE_CHECK_KEY, demo_inventory_data, dump_yaml
from app.demo.script import FarmScript
from app.demo.units import demo_units
from app.main import create_app
from app.models import Incident
from app.monitor.runtime import Monitor
from tests.notify.conftest import FOCAL_CHAT, Far, notify_settings, outbox
from tests.support.wait import until


def _policy(far: Far) -> dict[str, Any]:
    u = far.urls
    return {
        "channels": {
            "tinh": {"type": "webhook", "url": u["ioc"]},
            "lanh-dao": {"type": "webhook", "url": u["ops"]},
            "xa": {
                "type": "telegram",
                "chat_id": FOCAL_CHAT,
                "bot_token_secret": "TS_TG_TOKEN",
                "base_url": u["telegram"],
            },
        },
        "escalation": {
            "provincial_system": {
                "levels": [
                    {"after_s": 0, "channels": ["tinh"]},
                    {"after_s": 2, "channels": ["lanh-dao"]},
                ],
            },
            "default": {"levels": [{"after_s": 0, "channels": ["xa"]}]},
        },
        "hold_s": 0.5,
    }


async def _api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, run_monitor=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://thongsuot.test") as c:
            yield c


async def _incidents(sm: async_sessionmaker[AsyncSession]) -> list[Incident]:
    async with sm() as s:
        return list((await s.scalars(select(Incident))).all())


@pytest.mark.slow
async def test_provincial_outage_pages_once_and_suppresses_104_dependants(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], far: Far, tmp_path: Path
) -> None:
    codes = [u.code for u in demo_units(104)]
    farm = await start_farm(FarmScript())
    for name in ["province", *codes]:
        farm.set_up(name)
    data = demo_inventory_data(farm.url(), 104, 1, timeout_s=0.5, failure_threshold=2)
    data["notifications"] = _policy(far)
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(dump_yaml(data), encoding="utf-8")
    settings = notify_settings(db_url, far, inventory=inventory, batch_size=500)
    monitor = Monitor(settings, sessionmaker)
    try:
        await monitor.start()
        assert len(monitor.checks) == 105
        await asyncio.sleep(1.5)
        for name in ["province", *codes]:
            farm.set_down(name)

        async def settled() -> bool:
            incidents = await _incidents(sessionmaker)
            suppressed = [i for i in incidents if i.notify_state == "suppressed"]
            return len(suppressed) == 104 and len(far.ops.received) == 1

        await until(settled, 12)  # that no commune is paged later: test_planner.py
    finally:
        await monitor.stop()
        await farm.close()
    assert far.ioc.events() == ["down"] and far.ops.events() == ["escalation"]
    assert far.telegram.delivered == []  # no commune paged
    assert {r.event for r in await outbox(sessionmaker)} == {"down", "escalation"}
    incidents = await _incidents(sessionmaker)
    [parent] = [i for i in incidents if i.notify_state == "paged"]
    assert far.ioc.received[0].json()["check"]["key"] == PROVINCE_CHECK_KEY
    async for api in _api(settings):
        page = (
            await api.get("/api/v1/incidents", params={"suppressed": "true", "limit": 200})
        ).json()
        loud = (await api.get("/api/v1/incidents", params={"suppressed": "false"})).json()
    assert len(page["items"]) == 104
    assert {(i["parent_incident_id"], i["suppressed_reason"]) for i in page["items"]} == {
        (parent.id, "parent")
    }
    assert [i["id"] for i in loud["items"]] == [parent.id]
