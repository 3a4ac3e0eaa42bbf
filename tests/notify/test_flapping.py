"""A target that alternates up/down faster than the flapping rule: one "flapping" notice
and no per-flip alerts; once it settles (still down), it is paged once."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import Flip, Incident
from app.monitor.runtime import Monitor
from tests.notify.conftest import (
    FOCAL_CHAT,
    Far,
    commune,
    notify_settings,
    outbox,
)
from tests.support.http import Reply, Request, ScriptedHTTP
from tests.support.wait import until

WITHIN = 3.5  # flapping.within_s: 4 flips within it make a check flap
UP, DOWN = Reply(200, "Dịch vụ công"), Reply(503, "lỗi máy chủ")


def alternating(web: ScriptedHTTP) -> None:
    """/health answers up, down, up, ... (until the route is replaced)."""

    def answer(request: Request) -> Reply:
        return UP if web.hits("/health") % 2 else DOWN  # this request is already counted

    web.routes["/health"] = answer


def _policy(far: Far) -> dict[str, Any]:
    return far.policy(
        escalation={"default": {"levels": [{"after_s": 0, "contacts": ["it_focal_point"]}]}},
        routes=[{"name": "ioc", "channels": ["ioc"], "events": ["down", "up", "flapping"]}],
        flapping={"flips": 4, "within_s": WITHIN},
        hold_s=2.5,  # longer than one down probe of the alternation
    )


async def _flips(sm: async_sessionmaker[AsyncSession]) -> list[Flip]:
    async with sm() as s:
        return list((await s.scalars(select(Flip).order_by(Flip.at))).all())


@pytest.mark.slow
async def test_flapping_target_gets_one_notice_then_one_page_once_settled(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], web: ScriptedHTTP, far: Far
) -> None:
    alternating(web)
    await commune(sessionmaker, web, _policy(far), failure_threshold=1)  # each down: a flip
    monitor = Monitor(notify_settings(db_url, far), sessionmaker)
    await monitor.start()
    try:
        await until(lambda: far.ioc.events() == ["flapping"], 8)
        web.routes["/health"] = DOWN  # settles, down
        await until(lambda: far.ioc.events() == ["flapping", "down"], WITHIN + 4)
    finally:
        await monitor.stop()
    flips = await _flips(sessionmaker)
    assert len(flips) >= 4 and sum(f.new_state == "down" for f in flips) >= 2
    assert far.ioc.events() == ["flapping", "down"]  # no per-flip alerts, one page after
    chats = [m["text"] for m in far.telegram.delivered if m["chat_id"] == FOCAL_CHAT]
    assert [t.split("]")[0] for t in chats] == ["<b>[CHẬP CHỜN", "<b>[GIÁN ĐOẠN"]
    assert "hoạt động chập chờn" in chats[0] and "xã Hoàng Hoa Thám" in chats[0]
    rows = await outbox(sessionmaker)
    assert sorted((r.event, r.channel_type) for r in rows) == sorted(
        (event, kind)
        for event in ("flapping", "down")
        for kind in ("email", "telegram", "zalo", "webhook")
    )
    page = min(r.created_at for r in rows if r.event == "down")
    last_flip = max(f.at for f in flips)
    assert last_flip < page  # paged after the last flip (exactly when: test_planner.py)
    async with sessionmaker() as s:
        incidents = list((await s.scalars(select(Incident).order_by(Incident.id))).all())
    *during, last = incidents
    assert len(during) >= 1 and all(i.notify_state == "done" for i in during)
    assert last.ended_at is None and last.notify_state == "paged"
