"""A loopback target goes down: every channel's far end hears once; ack stops escalation;
recovery is told once; a killed and restarted monitor sends nothing twice, loses nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.main import create_app
from app.monitor.runtime import Monitor
from app.notify.channels.webhook import verify_signature
from tests.notify.conftest import (
    FOCAL_CHAT,
    WEBHOOK_KEY,
    Far,
    commune,
    notify_settings,
    outbox,
)
from tests.support.http import Reply, ScriptedHTTP
from tests.support.wait import until


async def _api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API as a token holder sees it (notifications are never public)."""
    token = "e2e-reader-token-0123456789"
    app = create_app(settings.model_copy(update={"api_token": SecretStr(token)}), run_monitor=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        auth = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://thongsuot.test", headers=auth
        ) as c:
            yield c


@pytest.mark.slow
async def test_down_escalate_ack_recover(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], web: ScriptedHTTP, far: Far
) -> None:
    await commune(sessionmaker, web, far.policy())
    settings = notify_settings(db_url, far)
    monitor = Monitor(settings, sessionmaker)
    await monitor.start()
    try:
        await asyncio.sleep(1.2)
        web.routes["/health"] = Reply(503, "bảo trì")
        down = {"telegram": 1, "zalo": 1, "sms": 0, "email": 1, "ioc": 1, "ops": 0}
        await until(lambda: far.counts() == down, 8)
        # level 1 (the head, by SMS) two seconds after paging
        await until(lambda: far.counts()["sms"] == 1, 5)
        [sms] = far.esms.delivered
        assert sms["Phone"] == "0912345678" and sms["Content"].startswith("[CHUYEN CAP]")
        # acknowledge through the signed link in the webhook
        [hook] = far.ioc.received
        assert verify_signature(
            WEBHOOK_KEY.encode(), hook.body, hook.headers["x-thongsuot-signature"]
        )
        link = hook.json()["links"]["ack"]
        parts = urlsplit(link)
        async for api in _api(settings):
            forged = await api.get(parts.path + "?" + parts.query.replace("sig=", "sig=0"))
            assert forged.status_code == 403
            page = await api.get(parts.path + "?" + parts.query)  # opening it changes nothing
            assert page.status_code == 200 and "Xác nhận tiếp nhận xử lý" in page.text
            signed = {name: values[0] for name, values in parse_qs(parts.query).items()}
            answer = await api.post(parts.path + "/confirm", data=signed)  # the button
            assert answer.status_code == 200 and "Đã xác nhận" in answer.text
        web.routes["/health"] = Reply(200, "Dịch vụ công")
        told = {"telegram": 2, "zalo": 2, "sms": 2, "email": 2, "ioc": 2, "ops": 0}
        await until(lambda: far.counts() == told, 6)  # one recovery notice each
    finally:
        await monitor.stop()
    # content: Vietnamese, the unit, the failure, the ack link; recovery after
    first, last = far.telegram.delivered[0], far.telegram.delivered[-1]
    assert first["chat_id"] == FOCAL_CHAT and "[GIÁN ĐOẠN]" in first["text"]
    assert "TTPVHCC xã Hoàng Hoa Thám" in first["text"] and "mã trạng thái lỗi" in first["text"]
    assert "/incidents/1?sig=" in first["text"]  # the incident page, not raw JSON
    assert "/ack?" in first["text"] and "[KHÔI PHỤC]" in last["text"]
    assert far.zalo.delivered[0]["message"]["text"].startswith("[GIÁN ĐOẠN]")
    mail = far.mailbox.messages[0]
    assert mail["To"] == "cntt@xa.gov.vn" and "GIÁN ĐOẠN" in str(mail["Subject"])
    assert far.ioc.events() == ["down", "up"]
    rows = await outbox(sessionmaker)
    assert [r.status for r in rows] == ["delivered"] * len(rows) and len(rows) == 10
    async for api in _api(settings):
        [item] = (await api.get("/api/v1/incidents")).json()["items"]
        detail = (await api.get(f"/api/v1/incidents/{item['id']}")).json()
    assert detail["acknowledged_by"].endswith("(liên kết)") and detail["escalation_level"] == 1
    assert {(n["event"], n["channel_type"], n["status"]) for n in detail["notifications"]} >= {
        ("down", "telegram", "delivered"),
        ("escalation", "sms", "delivered"),
        ("up", "email", "delivered"),
    }


@pytest.mark.slow
async def _saved_but_the_webhook(sm: async_sessionmaker[AsyncSession]) -> bool:
    """Every outcome but the (failing) webhook's is recorded."""
    rows = await outbox(sm)
    return bool(rows) and all(r.status == "delivered" for r in rows if r.channel_type != "webhook")


async def test_kill_and_restart_sends_nothing_twice_and_loses_nothing(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], web: ScriptedHTTP, far: Far
) -> None:
    await commune(sessionmaker, web, far.policy())
    settings = notify_settings(db_url, far)
    far.ioc.status = 503  # the provincial webhook is down: its notice stays in the outbox
    first = Monitor(settings, sessionmaker)
    await first.start()
    try:
        web.routes["/health"] = Reply(503, "bảo trì")
        await until(lambda: far.counts()["telegram"] == 1 and far.counts()["email"] == 1, 8)
        await until(lambda: _saved_but_the_webhook(sessionmaker), 2)  # killed after the outcomes
    finally:
        assert first.notifier is not None
        await first.notifier.abort()  # killed: no drain, no goodbye
        await first.stop()
    pending = [r for r in await outbox(sessionmaker) if r.status == "pending"]
    assert [r.channel_type for r in pending if r.event == "down"] == ["webhook"]
    far.ioc.status = 200
    second = Monitor(settings, sessionmaker)
    await second.start()
    try:
        await until(lambda: far.counts()["ioc"] == 1 and far.counts()["sms"] == 1, 8)
        await asyncio.sleep(1.0)
    finally:
        await second.stop()
    assert far.counts() == {"telegram": 1, "zalo": 1, "sms": 1, "email": 1, "ioc": 1, "ops": 0}
    rows = await outbox(sessionmaker)
    assert len(rows) == 5 and all(r.status == "delivered" for r in rows)
