"""A check inside a declared maintenance window is not alerted on; after it, it is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.maintenance import service as maintenance
from app.maintenance.schemas import MaintenanceCreate
from app.models import Incident
from app.monitor.runtime import Monitor
from tests.notify.conftest import Far, commune, notify_settings
from tests.support.http import Reply, ScriptedHTTP
from tests.support.wait import until


async def _incident(sm: async_sessionmaker[AsyncSession]) -> Incident | None:
    async with sm() as s:
        return (await s.scalars(select(Incident))).first()


@pytest.mark.slow
async def test_no_page_inside_a_window_and_a_page_after_it(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], web: ScriptedHTTP, far: Far
) -> None:
    web.routes["/health"] = Reply(503, "đang bảo trì")
    check = await commune(sessionmaker, web, far.policy())
    now = datetime.now(UTC)
    async with sessionmaker() as s, s.begin():
        await maintenance.create(
            s,
            MaintenanceCreate(
                scope="check",
                target=check.key,
                starts_at=now - timedelta(minutes=1),
                ends_at=now + timedelta(seconds=5),
                reason="nâng cấp máy chủ",
            ),
            "tester",
        )
    monitor = Monitor(notify_settings(db_url, far), sessionmaker)
    await monitor.start()
    try:

        async def suppressed() -> bool:
            inc = await _incident(sessionmaker)
            return inc is not None and inc.suppressed_reason == "maintenance"

        await until(suppressed, 5)
        assert sum(far.counts().values()) == 0, "paged during a declared maintenance window"
        # the window ends with the target still down: now it pages, once per route
        await until(lambda: far.counts()["ioc"] == 1, 10)
    finally:
        await monitor.stop()
    inc = await _incident(sessionmaker)
    assert inc is not None and inc.notify_state == "paged"
