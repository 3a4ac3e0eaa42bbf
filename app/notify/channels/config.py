"""Channel configurations as they appear in the inventory YAML.

Secrets (bot tokens, OA access tokens, SMTP passwords, HMAC keys, API keys
inside SMS bodies, apprise URLs that embed tokens) are never written here:
fields ending in ``_secret`` name an environment variable ``NAME`` (or
``NAME_FILE``) that is read at send time, so the database only ever holds the
name.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

SECRET_NAME = r"^[A-Z][A-Z0-9_]*$"
SecretName = Annotated[str, Field(pattern=SECRET_NAME, description="env var NAME or NAME_FILE")]
Timeout = Annotated[float, Field(gt=0, le=120)]


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError("must be an http:// or https:// URL")
    return value


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="", description="label shown in logs and the API")


class WebhookConfig(_Config):
    """POST the JSON payload (docs/notifications.md) to ``url``, signed when ``secret`` is set."""

    type: Literal["webhook"] = "webhook"
    url: str
    secret: SecretName | None = Field(default=None, description="HMAC-SHA256 key")
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_s: Timeout = 10.0

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value)


class SmtpConfig(BaseModel):
    """An SMTP relay; ``security`` is plain, STARTTLS upgrade, or implicit TLS (465)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str
    port: int = Field(default=25, ge=1, le=65535)
    from_addr: str
    security: Literal["none", "starttls", "tls"] = "none"
    username: str | None = None
    password_secret: SecretName | None = None
    ca_file: str | None = Field(default=None, description="private CA bundle to trust")
    timeout_s: Timeout = 15.0

    @model_validator(mode="after")
    def _auth_pairs(self) -> SmtpConfig:
        if (self.username is None) != (self.password_secret is None):
            raise ValueError("username and password_secret go together")
        return self


class EmailConfig(_Config):
    """Multipart text + HTML mail; ``smtp`` overrides the process-wide relay."""

    type: Literal["email"] = "email"
    to: list[str] = Field(min_length=1)
    smtp: SmtpConfig | None = None

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for addr in value:
            if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+", addr):
                raise ValueError(f"not an e-mail address: {addr!r}")
        return value


class TelegramConfig(_Config):
    """Bot API ``sendMessage`` to one chat (user, group or ``@channel``)."""

    type: Literal["telegram"] = "telegram"
    chat_id: str
    bot_token_secret: SecretName
    message_thread_id: int | None = None
    base_url: str = "https://api.telegram.org"
    timeout_s: Timeout = 10.0

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value)

    @field_validator("chat_id", mode="before")
    @classmethod
    def _chat(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value


class ZaloConfig(_Config):
    """Zalo Official Account customer-service message (API v3) to one follower."""

    type: Literal["zalo"] = "zalo"
    user_id: str
    access_token_secret: SecretName
    base_url: str = "https://openapi.zalo.me"
    retry_on_errors: list[int] = Field(
        default_factory=list, description="Zalo `error` codes to treat as transient"
    )
    timeout_s: Timeout = 10.0

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value)

    @field_validator("user_id", mode="before")
    @classmethod
    def _uid(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value


class SmsConfig(_Config):
    """A generic HTTP SMS gateway.

    ``url``, ``headers`` and ``body`` may hold the placeholders ``{phone}``,
    ``{text}`` and ``{secret:NAME}``; values are escaped for ``body_format``
    (JSON string, form field) and URL-quoted in ``url``. Success needs a status
    in ``success_status`` and, when set, ``success_jsonpath`` to equal
    ``success_value`` and ``success_regex`` to match the body.
    """

    type: Literal["sms"] = "sms"
    phone: str = Field(pattern=r"^\+?[0-9]{8,15}$")
    url: str
    method: Literal["GET", "POST"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    body_format: Literal["json", "form", "raw"] = "json"
    success_status: list[int] = Field(default_factory=lambda: [200, 201, 202])
    success_jsonpath: str | None = None
    success_value: str | None = None
    success_regex: str | None = None
    ascii_fold: bool = Field(default=True, description="fold Vietnamese to GSM-7 ASCII")
    max_segments: int = Field(default=1, ge=1, le=6)
    timeout_s: Timeout = 10.0

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value)

    @model_validator(mode="after")
    def _success_rule(self) -> SmsConfig:
        if (self.success_jsonpath is None) != (self.success_value is None):
            raise ValueError("success_jsonpath and success_value go together")
        if self.success_jsonpath is not None:
            from jsonpath_ng.ext.parser import parse  # validate now, not at 3 a.m.

            parse(self.success_jsonpath)
        if self.success_regex is not None:
            re.compile(self.success_regex)
        return self


class AppriseConfig(_Config):
    """Any service apprise knows (Slack, Teams, Discord, ...): a URL or a secret holding it."""

    type: Literal["apprise"] = "apprise"
    url: str | None = None
    url_secret: SecretName | None = None
    timeout_s: Timeout = 15.0

    @model_validator(mode="after")
    def _one_url(self) -> AppriseConfig:
        if (self.url is None) == (self.url_secret is None):
            raise ValueError("give exactly one of url or url_secret")
        return self


ChannelConfig = Annotated[
    WebhookConfig | EmailConfig | TelegramConfig | ZaloConfig | SmsConfig | AppriseConfig,
    Field(discriminator="type"),
]

channel_config_adapter: TypeAdapter[ChannelConfig] = TypeAdapter(ChannelConfig)


def parse_channel_config(data: object) -> ChannelConfig:
    """Validate one inventory entry; raises ``pydantic.ValidationError`` naming the field."""
    return channel_config_adapter.validate_python(data)
