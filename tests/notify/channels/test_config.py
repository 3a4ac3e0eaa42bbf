from __future__ import annotations

import io
import re
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from ruamel.yaml import YAML

from app.notify.channels.config import EmailConfig, TelegramConfig, parse_channel_config
from app.notify.channels.factory import (
    AppriseChannel,
    EmailChannel,
    SmsChannel,
    TelegramChannel,
    WebhookChannel,
    ZaloChannel,
    build_channel,
)

DOCS = Path(__file__).parents[3] / "docs" / "notifications.md"


def _docs_inventory() -> str:
    """The first YAML block of docs/notifications.md, so the docs cannot drift."""
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert match is not None
    return match.group(1)


async def test_documented_inventory_builds_every_channel() -> None:
    data = YAML(typ="safe").load(io.StringIO(_docs_inventory()))
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
