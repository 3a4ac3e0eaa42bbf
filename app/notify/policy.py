"""The inventory's ``notifications:`` section: channels, escalation, routes, storm control.

Validated by pydantic like the rest of the inventory (errors name file, line and
field) and stored as one JSON document by the inventory sync, so the monitor
reads it from SQL like everything else.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from app.notify.channels.config import (
    ChannelConfig,
    EmailConfig,
    SmsConfig,
    TelegramConfig,
    ZaloConfig,
)
from app.vocab.words import SERVICE_KINDS

Role = Literal["head", "deputy", "it_focal_point", "on_call", "vendor", "other"]
Scope = Literal["own", "parent", "province"]
Seconds = Annotated[float, Field(ge=0, le=30 * 86_400)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ContactChannels(_Model):
    """How to reach a contact by each address it lists; the address fills the blank.

    ``email`` gets ``to: [contact.email]``, ``telegram`` ``chat_id: contact.telegram``,
    ``zalo`` ``user_id: contact.zalo`` and ``sms`` ``phone: contact.phone``; the
    rest (bot token secret, gateway URL, ...) comes from here.
    """

    email: dict[str, Any] | None = None
    telegram: dict[str, Any] | None = None
    zalo: dict[str, Any] | None = None
    sms: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _valid(self) -> ContactChannels:
        samples = {
            "email": ("to", ["kiem.tra@example.vn"]),
            "telegram": ("chat_id", "1"),
            "zalo": ("user_id", "1"),
            "sms": ("phone", "0912345678"),
        }
        for kind, (field, sample) in samples.items():
            base = getattr(self, kind)
            if base is not None:
                _CHANNEL.validate_python({**base, "type": kind, field: sample})
        return self


class Level(_Model):
    """One escalation step: who is told once the incident is ``after_s`` old (unacknowledged)."""

    after_s: Seconds = 0
    contacts: list[Role] = Field(default_factory=list, description="contact roles to tell")
    scope: Scope = Field(
        default="own",
        description="own: the service's and unit's contacts; parent: the parent unit's; "
        "province: the province's",
    )
    channels: list[str] = Field(default_factory=list, description="names from `channels`")


class Escalation(_Model):
    reminder_every_s: Seconds = Field(default=0, description="0: no reminders")
    levels: list[Level] = Field(min_length=1)

    @field_validator("levels")
    @classmethod
    def _ordered(cls, levels: list[Level]) -> list[Level]:
        times = [lv.after_s for lv in levels]
        if times != sorted(times):
            raise ValueError("levels must be in order of after_s")
        return levels


class Route(_Model):
    """Extra destinations by unit, service kind and severity (empty list: any)."""

    name: str = Field(min_length=1, max_length=60)
    channels: list[str] = Field(min_length=1)
    units: list[str] = Field(default_factory=list)
    service_kinds: list[str] = Field(default_factory=list)
    severities: list[str] = Field(default_factory=list)
    events: list[str] = Field(default_factory=list, description="empty: down, escalation, up")


class Operators(_Model):
    """Who hears about the monitor itself (connectivity notices)."""

    channels: list[str] = Field(default_factory=list)
    contacts: list[Role] = Field(default_factory=list, description="roles of the province")


class Storm(_Model):
    """The monitor is blind when its canaries fail, or when ``share`` of at least
    ``min_checks`` checks fail (unexplained by a failing parent) within ``window_s``."""

    min_checks: int = Field(default=20, ge=1)
    share: float = Field(default=0.5, gt=0, le=1)
    window_s: Seconds = 120


class Flapping(_Model):
    """``flips`` state changes within ``within_s`` make a check flap; it has
    settled when ``within_s`` pass without a flip."""

    flips: int = Field(default=5, ge=2)
    within_s: Seconds = 600


class Reports(_Model):
    """Scheduled report delivery: the period's PDF and XLSX by e-mail (docs/reports.md).

    The province's recipients (``to`` and the province contacts of ``province_contacts``
    roles) get the whole province; with ``unit_heads`` each unit's ``head`` contact with an
    e-mail gets a one-unit report. Sent at ``hour`` (local time) on the 1st of the month
    (``monthly``) and on Mondays (``weekly``), for the period that just ended."""

    monthly: bool = True
    weekly: bool = False
    hour: int = Field(default=7, ge=0, le=23, description="local hour (Asia/Ho_Chi_Minh)")
    to: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=150)]] = Field(
        default_factory=list, description="e-mail addresses of the province's recipients"
    )
    province_contacts: list[Role] = Field(
        default_factory=list, description="roles of the province's contacts (their e-mail)"
    )
    unit_heads: bool = Field(default=True, description="each unit's head gets its own unit")
    lang: Literal["vi", "en"] | None = Field(default=None, description="default: `lang`")


class NotifyPolicyDoc(_Model):
    lang: Literal["vi", "en"] = "vi"
    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    contact_channels: ContactChannels = Field(default_factory=ContactChannels)
    escalation: dict[str, Escalation] = Field(
        default_factory=dict, description="by service kind; `default` for the rest"
    )
    routes: list[Route] = Field(default_factory=list)
    operators: Operators = Field(default_factory=Operators)
    canaries: list[str] = Field(default_factory=list, description="check keys")
    storm: Storm = Field(default_factory=Storm)
    flapping: Flapping = Field(default_factory=Flapping)
    instructions: dict[str, Annotated[str, Field(min_length=1, max_length=1000)]] = Field(
        default_factory=dict,
        description="what to do and whom to call, by service kind (`default` for the rest); "
        "messages print it after the headline (built-in defaults otherwise)",
    )
    hold_s: Seconds = Field(default=0, description="wait this long before paging a new incident")
    release_after_s: Seconds = Field(
        default=120,
        description="a dependant still down this long after its parent recovered "
        "is paged on its own",
    )
    reports: Reports | None = Field(default=None, description="scheduled report delivery")

    @model_validator(mode="after")
    def _names_exist(self) -> NotifyPolicyDoc:
        named = [n for esc in self.escalation.values() for lv in esc.levels for n in lv.channels]
        named += [n for r in self.routes for n in r.channels] + self.operators.channels
        missing = sorted({n for n in named if n not in self.channels})
        if missing:
            raise ValueError(f"unknown channel names: {', '.join(missing)}")
        return self

    @field_validator("instructions")
    @classmethod
    def _known_kinds(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(k for k in value if k != "default" and k not in SERVICE_KINDS)
        if unknown:
            known = ", ".join(["default", *SERVICE_KINDS])
            raise ValueError(f"unknown service kinds: {', '.join(unknown)} (known: {known})")
        return {k: " ".join(v.split()) for k, v in value.items()}

    def escalation_for(self, service_kind: str) -> Escalation | None:
        return self.escalation.get(service_kind) or self.escalation.get("default")


_CHANNEL: TypeAdapter[ChannelConfig] = TypeAdapter(ChannelConfig)
CONTACT_FIELDS: dict[str, tuple[type[BaseModel], str, str]] = {
    "email": (EmailConfig, "email", "to"),
    "telegram": (TelegramConfig, "telegram", "chat_id"),
    "zalo": (ZaloConfig, "zalo", "user_id"),
    "sms": (SmsConfig, "phone", "phone"),
}


def contact_channel(base: dict[str, Any], kind: str, address: str) -> ChannelConfig:
    """The channel reaching one contact address (``kind`` is email/telegram/zalo/sms)."""
    _, _, field = CONTACT_FIELDS[kind]
    value: Any = [address] if field == "to" else address
    return _CHANNEL.validate_python({**base, "type": kind, field: value})


def parse_policy(document: dict[str, Any] | None) -> NotifyPolicyDoc:
    return NotifyPolicyDoc.model_validate(document or {})
