"""One module per transport behind the ``Channel`` contract, and the factory."""

from __future__ import annotations

import httpx

from app.notify.channels.apprise_urls import AppriseChannel
from app.notify.channels.base import Channel
from app.notify.channels.config import (
    AppriseConfig,
    ChannelConfig,
    EmailConfig,
    SmsConfig,
    SmtpConfig,
    TelegramConfig,
    WebhookConfig,
    ZaloConfig,
)
from app.notify.channels.sms import SmsChannel
from app.notify.channels.smtp import EmailChannel
from app.notify.channels.telegram import TelegramChannel
from app.notify.channels.webhook import WebhookChannel
from app.notify.channels.zalo import ZaloChannel
from probes.secrets import SecretResolver, env_secret

__all__ = [
    "AppriseChannel",
    "EmailChannel",
    "SmsChannel",
    "TelegramChannel",
    "WebhookChannel",
    "ZaloChannel",
    "build_channel",
]


def build_channel(
    config: ChannelConfig,
    client: httpx.AsyncClient,
    secrets: SecretResolver = env_secret,
    *,
    smtp: SmtpConfig | None = None,
) -> Channel:
    """The channel for one validated config.

    ``client`` is the app's shared ``httpx.AsyncClient`` (owned by the
    lifespan); ``smtp`` is the process-wide relay used by e-mail channels that
    do not name their own. Secrets are resolved at send time, so rotating a
    ``*_FILE`` takes effect without a restart.
    """
    match config:
        case WebhookConfig():
            return WebhookChannel(config, client, secrets)
        case EmailConfig():
            return EmailChannel(config, smtp, secrets)
        case TelegramConfig():
            return TelegramChannel(config, client, secrets)
        case ZaloConfig():
            return ZaloChannel(config, client, secrets)
        case SmsConfig():
            return SmsChannel(config, client, secrets)
        case AppriseConfig():
            return AppriseChannel(config, secrets)
    raise TypeError(f"unknown channel config {type(config).__name__}")  # pragma: no cover
