"""An open incident is reminded, with reminder wording on the webhook and on Telegram, and
a killed and restarted monitor sends none of them twice. When reminders are due, and that
acknowledgement stops them, is tested on a fixed clock in test_planner.py."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.incidents.service import acknowledge
from app.models import Incident, OutboxNotification
from app.monitor.runtime import Monitor
from tests.notify.conftest import (
    FOCAL_CHAT,
    Far,
    commune,
    notify_settings,
    outbox,
)
from tests.support.http import Reply, ScriptedHTTP
from tests.support.wait import until

EVERY = 1.0  # reminder_every_s


def _policy(far: Far) -> dict[str, Any]:
    escalation = {
        "reminder_every_s": EVERY,
        "levels": [{"after_s": 0, "contacts": ["it_focal_point"], "channels": ["ops"]}],
    }
    return far.policy(escalation={"default": escalation}, routes=[])


def _reminders(far: Far) -> list[dict[str, Any]]:
    return [r.json() for r in far.ops.received if r.json()["event"] == "reminder"]


async def _reminder_rows(sm: async_sessionmaker[AsyncSession]) -> list[OutboxNotification]:
    return [r for r in await outbox(sm) if r.event == "reminder"]


async def _all_sent(sm: async_sessionmaker[AsyncSession]) -> bool:
    return all(r.status == "delivered" for r in await outbox(sm))


def _seq(row: OutboxNotification) -> int:
    return int(row.dedupe_key.split(":")[3])


@pytest.mark.slow
async def test_reminders_are_worded_and_never_sent_twice_across_a_restart(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], web: ScriptedHTTP, far: Far
) -> None:
    await commune(sessionmaker, web, _policy(far))
    settings = notify_settings(db_url, far)
    web.routes["/health"] = Reply(503, "bảo trì")
    first = Monitor(settings, sessionmaker)
    await first.start()
    try:
        await until(lambda: len(_reminders(far)) == 2, 8)
        await until(lambda: _all_sent(sessionmaker), 2)  # killed after the outcome is saved
    finally:
        assert first.notifier is not None
        await first.notifier.abort()  # killed: no drain, no goodbye
        await first.stop()
    second = Monitor(settings, sessionmaker)
    await second.start()
    try:
        await until(lambda: len(_reminders(far)) >= 3, 5)
        async with sessionmaker() as s, s.begin():  # no more reminders: all can be delivered
            [incident] = (await s.scalars(select(Incident))).all()
            await acknowledge(s, incident.id, "Nguyễn Văn Tâm")
        await until(lambda: _all_sent(sessionmaker), 2)
    finally:
        await second.stop()
    told = len(_reminders(far))
    # wording: the reminder tag and headline, on the webhook and on Telegram
    for hook in _reminders(far):
        assert hook["subject"].startswith("[NHẮC LẠI]") and "vẫn gián đoạn từ" in hook["text"]
        assert "Nhắc lại:" not in hook["text"] and hook["incident"]["state"] == "open"
    chats = [m for m in far.telegram.delivered if m["chat_id"] == FOCAL_CHAT]
    assert sum("[NHẮC LẠI]" in m["text"] for m in chats) == told
    assert sum("[GIÁN ĐOẠN]" in m["text"] for m in chats) == 1
    rows = await _reminder_rows(sessionmaker)
    ops_rows = [r for r in rows if r.route.endswith(":channel:ops")]
    seqs = [_seq(r) for r in ops_rows]
    assert seqs == sorted(set(seqs)) and len(seqs) == told >= 3  # none twice
    # nothing sent twice: one delivery per row, every delivery id once
    ids = [r.headers["x-thongsuot-delivery"] for r in far.ops.received]
    assert (
        len(ids)
        == len(set(ids))
        == len([r for r in await outbox(sessionmaker) if r.route.endswith(":channel:ops")])
    )
    assert all(r.status == "delivered" and r.attempts == 1 for r in rows)
