"""The monitor's own path is cut (every target unreachable at once): one connectivity
notice to the operators, no commune paged, and the period is ``unknown``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounting.availability import availability, state_durations
from app.models import Flip, Incident
from app.monitor.runtime import Monitor
from app.notify import repository as repo
from tests import factories
from tests.notify.conftest import Far, notify_settings, outbox
from tests.support.http import Reply, ScriptedHTTP
from tests.support.wait import until

CANARY = "33.provincial_wan.gateway"


@pytest.mark.slow
async def test_cut_path_is_unknown_with_one_connectivity_notice(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], far: Far
) -> None:
    targets, gateway = await ScriptedHTTP().start(), await ScriptedHTTP().start()
    gateway.routes["/"] = Reply(200, "ok")
    async with sessionmaker() as s, s.begin():
        await factories.unit(s, "33", "Tỉnh Hưng Yên", kind="province")
        await factories.http_check(
            s, gateway.url("/"), key=CANARY, unit_code="33", interval_s=1, timeout_s=0.5
        )
        for n in range(20):
            targets.routes[f"/u{n}"] = Reply(200, "Dịch vụ công")
            await factories.http_check(
                s,
                targets.url(f"/u{n}"),
                key=f"{12000 + n}.centre.dvc",
                unit_code=str(12000 + n),
                interval_s=1,
                timeout_s=0.5,
            )
        policy = far.policy(canaries=[CANARY], storm={"min_checks": 20, "share": 0.5})
        await repo.save_policy(s, policy)
    monitor = Monitor(notify_settings(db_url, far), sessionmaker)
    await monitor.start()
    try:
        await until(lambda: all(cs.state == "up" for cs in monitor.states.values()), 5)
        cut = datetime.now(UTC)
        await targets.close()
        await gateway.close()
        await until(lambda: len(far.ops.received) == 1, 6)
        await asyncio.sleep(3.0)
        end = datetime.now(UTC)
    finally:
        await monitor.stop()
    assert far.ops.events() == ["monitor_connectivity"]
    notice = far.ops.received[0].json()
    assert notice["unit"]["name"] == "Tỉnh Hưng Yên" and CANARY in notice["error"]["message"]
    assert "mất kết nối" in notice["text"]
    assert far.ioc.received == [] and far.telegram.delivered == []  # no commune paged
    assert {r.event for r in await outbox(sessionmaker)} == {"monitor_connectivity"}
    async with sessionmaker() as s:
        flips = list((await s.scalars(select(Flip).order_by(Flip.at))).all())
        incidents = list((await s.scalars(select(Incident))).all())
    target_ids = {cs.check_id for cs in monitor.states.values()} - {
        cid for cid, rc in monitor.checks.items() if rc.key == CANARY
    }
    for check_id in target_ids:
        mine = [f for f in flips if f.check_id == check_id]
        assert [(f.old_state, f.new_state) for f in mine] == [("unknown", "up"), ("up", "unknown")]
        durations = state_durations(
            "up", [(f.at, f.new_state) for f in mine if f.at >= cut], cut, end
        )
        assert durations["down"] == 0 and durations["unknown"] > 2.0
        assert availability(durations) is None or availability(durations) == 1.0
    assert all(i.check_id not in target_ids or i.notify_state != "paged" for i in incidents)


@pytest.mark.slow
async def test_connectivity_back_sends_one_restored_notice(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], far: Far
) -> None:
    """The path is black-holed (every probe times out), then comes back."""
    web = await ScriptedHTTP().start()
    paths = ["/gw", *(f"/u{n}" for n in range(20))]
    for path in paths:
        web.routes[path] = Reply(200, "Dịch vụ công")
    async with sessionmaker() as s, s.begin():
        await factories.unit(s, "33", "Tỉnh Hưng Yên", kind="province")
        await factories.http_check(
            s, web.url("/gw"), key=CANARY, unit_code="33", interval_s=1, timeout_s=0.4
        )
        for n in range(20):
            code = str(12000 + n)
            await factories.http_check(
                s,
                web.url(f"/u{n}"),
                key=f"{code}.centre.dvc",
                unit_code=code,
                interval_s=1,
                timeout_s=0.4,
            )
        policy = far.policy(canaries=[CANARY], storm={"min_checks": 20, "share": 0.5})
        await repo.save_policy(s, policy)
    monitor = Monitor(notify_settings(db_url, far), sessionmaker)
    await monitor.start()
    try:
        await until(lambda: all(cs.state == "up" for cs in monitor.states.values()), 5)
        for path in paths:
            web.routes[path] = Reply(200, "Dịch vụ công", delay=1.0)  # longer than the timeout
        await until(lambda: len(far.ops.received) == 1, 6)
        assert monitor.notifier is not None and monitor.notifier.guard.blind
        await asyncio.sleep(1.0)
        for path in paths:
            web.routes[path] = Reply(200, "Dịch vụ công")
        await until(lambda: len(far.ops.received) == 2, 6)
        await until(lambda: all(cs.state == "up" for cs in monitor.states.values()), 5)
        await asyncio.sleep(1.5)  # nothing more comes
    finally:
        await monitor.stop()
        await web.close()
    assert far.ops.events() == ["monitor_connectivity", "monitor_connectivity"]
    lost, back = (r.json() for r in far.ops.received)
    assert lost["incident"]["state"] == "open" and back["incident"]["state"] == "resolved"
    assert back["subject"].startswith("[GIÁM SÁT ĐÃ KẾT NỐI LẠI]")
    assert "đã kết nối lại" in back["text"] and "mất kết nối" not in back["text"]
    assert back["incident"]["started_at"] == lost["incident"]["started_at"]
    assert 1.0 <= back["incident"]["duration_s"] <= 10
    assert far.ioc.received == [] and far.telegram.delivered == []  # no commune paged
    rows = await outbox(sessionmaker)
    assert [(r.event, r.payload["incident_state"], r.status) for r in rows] == [
        ("monitor_connectivity", "open", "delivered"),
        ("monitor_connectivity", "resolved", "delivered"),
    ]
