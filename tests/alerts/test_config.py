from __future__ import annotations

import io

import httpx
import pytest
from pydantic import ValidationError
from ruamel.yaml import YAML

from app.alerts.channels import (
    AppriseChannel,
    EmailChannel,
    SmsChannel,
    TelegramChannel,
    WebhookChannel,
    ZaloChannel,
    build_channel,
)
from app.alerts.schemas import EmailConfig, TelegramConfig, parse_channel_config

# The same snippet docs/notifications.md shows.
INVENTORY = """
channels:
  - type: webhook
    name: he-thong-dieu-hanh
    url: https://ioc.hungyen.gov.vn/hooks/thongsuot
    secret: THONGSUOT_WEBHOOK_KEY
  - type: email
    to: [truc.ban@hungyen.gov.vn]
  - type: telegram
    chat_id: -1001234567890
    bot_token_secret: TELEGRAM_BOT_TOKEN
  - type: zalo
    user_id: 2468458835296197922
    access_token_secret: ZALO_OA_ACCESS_TOKEN
  - type: sms
    phone: "0912345678"
    url: https://rest.esms.vn/MainService.svc/json/SendMultipleMessage_V4_post_json/
    body: '{"ApiKey": "{secret:ESMS_API_KEY}", "Phone": "{phone}", "Content": "{text}"}'
    success_jsonpath: $.CodeResult
    success_value: "100"
  - type: apprise
    url_secret: SLACK_APPRISE_URL
"""


async def test_inventory_snippet_builds_every_channel() -> None:
    data = YAML(typ="safe").load(io.StringIO(INVENTORY))
    configs = [parse_channel_config(entry) for entry in data["channels"]]
    async with httpx.AsyncClient() as client:
        channels = [build_channel(c, client) for c in configs]
    kinds = [type(c) for c in channels]
    assert kinds == [
        WebhookChannel,
        EmailChannel,
        TelegramChannel,
        ZaloChannel,
        SmsChannel,
        AppriseChannel,
    ]
    telegram = configs[2]
    assert isinstance(telegram, TelegramConfig)
    assert telegram.chat_id == "-1001234567890"
    assert telegram.base_url == "https://api.telegram.org"


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"type": "pager"}, "type"),
        ({"type": "webhook", "url": "ftp://x"}, "url"),
        ({"type": "webhook", "url": "https://x", "secret": "lowercase-value"}, "secret"),
        ({"type": "telegram", "chat_id": 1, "bot_token_secret": "T", "token": "123:abc"}, "token"),
        ({"type": "email", "to": []}, "to"),
        ({"type": "email", "to": ["not-an-address"]}, "to"),
        ({"type": "apprise"}, "url"),
        ({"type": "apprise", "url": "json://x", "url_secret": "U"}, "url"),
        (
            {
                "type": "email",
                "to": ["a@b.vn"],
                "smtp": {"host": "h", "from_addr": "a@b.vn", "username": "u"},
            },
            "password_secret",
        ),
    ],
)
def test_bad_entries_name_the_field(entry: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        parse_channel_config(entry)


def test_secrets_are_names_never_values() -> None:
    config = parse_channel_config(
        {
            "type": "email",
            "to": ["a@b.vn"],
            "smtp": {
                "host": "smtp.hungyen.gov.vn",
                "port": 587,
                "from_addr": "a@b.vn",
                "security": "starttls",
                "username": "a@b.vn",
                "password_secret": "SMTP_PW",
            },
        }
    )
    assert isinstance(config, EmailConfig) and config.smtp is not None
    dumped = config.model_dump_json()
    assert "SMTP_PW" in dumped and 'password":' not in dumped
