"""Every channel's loopback far end, a notification policy that uses them, and helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.models import Check, OutboxNotification
from app.notify import repository as repo
from tests import factories
from tests.support.http import Reply, ScriptedHTTP
from tests.support.saas import FakeEsms, FakeTelegram, FakeZalo, Webhook
from tests.support.smtp import Mailbox, start_smtp

TG_TOKEN, ZALO_TOKEN, ESMS_KEY, ESMS_SECRET = "123:tg-token", "zalo-oa-token", "ek", "es"
WEBHOOK_KEY = "khoa-webhook-bi-mat"
SECRET_KEY = "khoa-ky-lien-ket-xac-nhan-0123456789"
FOCAL_CHAT, FOCAL_ZALO, FOCAL_MAIL = "-1001", "2468458835296197922", "cntt@xa.gov.vn"
HEAD_PHONE, ONCALL_CHAT = "0912345678", "-1002"


@dataclass
class Far:
    """The far ends: Telegram, Zalo, eSMS, SMTP and two webhooks."""

    telegram: FakeTelegram
    zalo: FakeZalo
    esms: FakeEsms
    mailbox: Mailbox
    ioc: Webhook
    ops: Webhook
    urls: dict[str, str]
    smtp_port: int

    def counts(self) -> dict[str, int]:
        return {
            "telegram": len(self.telegram.delivered),
            "zalo": len(self.zalo.delivered),
            "sms": len(self.esms.delivered),
            "email": len(self.mailbox.messages),
            "ioc": len(self.ioc.received),
            "ops": len(self.ops.received),
        }

    def policy(self, **overrides: Any) -> dict[str, Any]:
        u = self.urls
        doc: dict[str, Any] = {
            "lang": "vi",
            "contact_channels": {
                "telegram": {"bot_token_secret": "TS_TG_TOKEN", "base_url": u["telegram"]},
                "zalo": {"access_token_secret": "TS_ZALO_TOKEN", "base_url": u["zalo"]},
                "email": {},
                "sms": {
                    "url": u["esms"] + FakeEsms.PATH,
                    "body": '{"ApiKey": "{secret:TS_ESMS_KEY}", "SecretKey": '
                    '"{secret:TS_ESMS_SECRET}", "Phone": "{phone}", "Content": "{text}"}',
                    "success_jsonpath": "$.CodeResult",
                    "success_value": "100",
                },
            },
            "channels": {
                "ioc": {"type": "webhook", "url": u["ioc"], "secret": "TS_WEBHOOK_KEY"},
                "ops": {"type": "webhook", "url": u["ops"]},
                "tinh": {
                    "type": "telegram",
                    "chat_id": ONCALL_CHAT,
                    "bot_token_secret": "TS_TG_TOKEN",
                    "base_url": u["telegram"],
                },
            },
            "escalation": {
                "default": {
                    "levels": [
                        {"after_s": 0, "contacts": ["it_focal_point"]},
                        {"after_s": 2, "contacts": ["head"]},
                        {"after_s": 5, "channels": ["tinh"]},
                    ]
                }
            },
            "routes": [{"name": "ioc", "channels": ["ioc"], "events": ["down", "up"]}],
            "operators": {"channels": ["ops"]},
            "hold_s": 0,
            "release_after_s": 60,
        }
        return doc | overrides


COMMUNE_CONTACTS = [
    {
        "name": "Nguyễn Văn Tâm",
        "role": "it_focal_point",
        "telegram": FOCAL_CHAT,
        "zalo": FOCAL_ZALO,
        "email": FOCAL_MAIL,
    },
    {"name": "Trần Thị Hoa", "role": "head", "phone": HEAD_PHONE},
]


@pytest.fixture
async def far(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Far]:
    for name, value in {
        "TS_TG_TOKEN": TG_TOKEN,
        "TS_ZALO_TOKEN": ZALO_TOKEN,
        "TS_ESMS_KEY": ESMS_KEY,
        "TS_ESMS_SECRET": ESMS_SECRET,
        "TS_WEBHOOK_KEY": WEBHOOK_KEY,
    }.items():
        monkeypatch.setenv(name, value)
    telegram = FakeTelegram(TG_TOKEN, {FOCAL_CHAT, ONCALL_CHAT})
    zalo = FakeZalo(ZALO_TOKEN, {FOCAL_ZALO})
    esms = FakeEsms(ESMS_KEY, ESMS_SECRET)
    ioc, ops = Webhook(), Webhook()
    servers = [await ScriptedHTTP(handler=h).start() for h in (telegram, zalo, esms, ioc, ops)]
    smtp = await start_smtp()
    urls = dict(
        zip(("telegram", "zalo", "esms", "ioc", "ops"), (s.origin for s in servers), strict=True)
    )
    yield Far(telegram, zalo, esms, smtp.mailbox, ioc, ops, urls, smtp.port)
    await smtp.close()
    for server in servers:
        await server.close()


@pytest.fixture
async def web() -> AsyncIterator[ScriptedHTTP]:
    """The commune's service: /health answers up until a test says otherwise."""
    server = await ScriptedHTTP().start()
    server.routes["/health"] = Reply(200, "Dịch vụ công")
    yield server
    await server.close()


async def commune(
    sm: async_sessionmaker[AsyncSession],
    web: ScriptedHTTP,
    policy: dict[str, Any],
    **check: Any,
) -> Check:
    """Xã Hoàng Hoa Thám with its contacts, one check of ``web``'s /health every second,
    and ``policy`` stored as the notification policy."""
    async with sm() as s, s.begin():
        unit = await factories.unit(s, "12337", "Xã Hoàng Hoa Thám")
        unit.settings = {"contacts": COMMUNE_CONTACTS}
        row = await factories.http_check(
            s,
            web.url("/health"),
            key="12337.commune_centre.dvc",
            interval_s=1,
            timeout_s=0.5,
            **check,
        )
        await repo.save_policy(s, policy)
    return row


def notify_settings(db_url: str, far: Far, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "flush_interval_s": 0.1,
        "notify_tick_s": 0.2,
        "notify_retry_base_s": 0.3,
        "notify_lease_s": 2.0,
        "secret_key": SECRET_KEY,
        "public_url": "http://thongsuot.test",
        "smtp_host": "127.0.0.1",
        "smtp_port": far.smtp_port,
        "smtp_from": "canhbao@hungyen.gov.vn",
        "spread_first_runs": False,
    }
    return Settings(**(values | extra))


async def outbox(sm: async_sessionmaker[AsyncSession]) -> list[OutboxNotification]:
    async with sm() as s:
        return list(
            (await s.scalars(select(OutboxNotification).order_by(OutboxNotification.id))).all()
        )
