"""Test notifications (``event="test"``) through the stored policy's channels.

Operators run ``thongsuot notify-test`` after configuring a channel to see that
each destination really delivers. The test is sent at once, not through the
outbox: the point is to see each outcome now, and a test is never retried.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import AppError
from app.incidents.recipients import parse_label, recipient_words
from app.models import Service, Unit
from app.notify import repository as repo
from app.notify.channels.base import DeliveryOutcome, Notification
from app.notify.channels.config import SmtpConfig
from app.notify.channels.factory import build_channel
from app.notify.messages.render import render
from app.notify.policy import NotifyPolicyDoc, Role, parse_policy
from app.notify.routing import Recipient, contact_recipients, unique
from app.vocab.lang import Lang
from probes.secrets import SecretResolver, env_secret

Verdict = Literal["ok", "transient", "permanent"]
TEST_WORDS = {
    "vi": ("Kiểm tra kênh thông báo", "Tin nhắn thử nghiệm"),
    "en": ("Notification channel test", "Test message"),
}


class NotifyTestError(AppError):
    """The test cannot be sent as asked (no policy, unknown channel or unit, nobody to tell)."""

    status_code = 422
    code = "notify_test"


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    label: str
    channel_type: str
    outcome: DeliveryOutcome

    @property
    def verdict(self) -> Verdict:
        if self.outcome.ok:
            return "ok"
        return "permanent" if self.outcome.permanent else "transient"


@dataclass(frozen=True, slots=True)
class Audience:
    """Who gets the test, and the unit the message names."""

    recipients: list[Recipient]
    unit_code: str
    unit_name: str
    unit_kind: str = ""
    role: str = ""
    """The role the recipients are registered under (``--contact``); empty for channels."""


async def stored_policy(session: AsyncSession) -> NotifyPolicyDoc:
    document = await repo.load_policy(session)
    if document is None:
        raise NotifyTestError(
            "chưa có chính sách thông báo trong cơ sở dữ liệu (mục notifications: của "
            "inventory, nạp bằng serve/reload) / no notification policy stored yet"
        )
    try:
        return parse_policy(document)
    except ValueError as exc:
        raise NotifyTestError(f"chính sách thông báo không hợp lệ / invalid policy: {exc}") from exc


async def resolve_target(
    session: AsyncSession,
    policy: NotifyPolicyDoc,
    *,
    channel: str | None = None,
    role: Role | None = None,
    unit_code: str | None = None,
) -> Audience:
    """``channel``: that named channel; ``role`` and ``unit_code``: that unit's contacts
    of that role; neither: every named channel of the policy."""
    if (role is None) != (unit_code is None):
        raise NotifyTestError("--contact và --unit đi cùng nhau / --contact needs --unit")
    if channel is not None and role is not None:
        raise NotifyTestError("chọn --channel hoặc --contact / --channel or --contact, not both")
    if role is not None and unit_code is not None:
        return await _contact_target(session, policy, role, unit_code)
    names = [channel] if channel is not None else sorted(policy.channels)
    missing = [n for n in names if n not in policy.channels]
    if missing or not names:
        known = ", ".join(sorted(policy.channels)) or "-"
        raise NotifyTestError(f"không có kênh / no channel {missing or ''} (có / known: {known})")
    province = await repo.province_unit(session)
    return Audience(
        [Recipient(f"test:channel:{n}", n, policy.channels[n]) for n in names],
        province.code if province is not None else "-",
        province.name if province is not None else "-",
    )


async def _contact_target(
    session: AsyncSession, policy: NotifyPolicyDoc, role: Role, unit_code: str
) -> Audience:
    unit = (await session.execute(select(Unit).where(Unit.code == unit_code))).scalar_one_or_none()
    if unit is None:
        raise NotifyTestError(f"không có đơn vị mã / no unit with code {unit_code}")
    services = await session.execute(select(Service.contacts).where(Service.unit_id == unit.id))
    contacts = repo._contacts(unit) + [
        c for found in services.scalars() for c in (found or []) if isinstance(c, dict)
    ]
    recipients = unique(contact_recipients(policy, contacts, [role], "test"))
    if not recipients:
        raise NotifyTestError(
            f"{unit.name} không có người liên hệ vai trò {role} với địa chỉ dùng được "
            f"(contact_channels) / no reachable {role} contact"
        )
    return Audience(recipients, unit.code, unit.name, unit.kind, role)


def make_test_note(target: Audience, lang: Lang, now: datetime, n: int) -> Notification:
    service, check = TEST_WORDS[lang]
    return Notification(
        event="test",  # type: ignore[arg-type]
        unit_code=target.unit_code,
        unit_name=target.unit_name,
        service_kind="monitor",
        service_name=service,
        check_key="notify-test",
        check_name=check,
        probe_kind="test",
        started_at=now,
        now=now,
        severity="info",
        lang=lang,
        delivery_id=f"thongsuot-test-{int(now.timestamp())}-{n}",
        unit_kind=target.unit_kind,
        recipient_role=target.role,
    )


async def send_test(
    target: Audience,
    lang: Lang,
    client: httpx.AsyncClient,
    *,
    smtp: SmtpConfig | None = None,
    secrets: SecretResolver = env_secret,
) -> list[DeliveryReport]:
    """Send one test message to every recipient at once; outcomes in recipient order."""
    now = datetime.now(UTC)

    async def one(n: int, r: Recipient) -> DeliveryReport:
        note = make_test_note(target, lang, now, n)
        try:
            channel = build_channel(r.config, client, secrets, smtp=smtp)
            outcome = await channel.send(note, render(note))
        except Exception as exc:  # a bug must still show as this recipient's outcome
            outcome = DeliveryOutcome.failed(f"{type(exc).__name__}: {exc}")
        return DeliveryReport(r.label, r.config.type, outcome)

    return list(await asyncio.gather(*(one(n, r) for n, r in enumerate(target.recipients))))


VERDICT_WORDS: dict[Verdict, tuple[str, str]] = {
    "ok": ("đã gửi", "delivered"),
    "transient": ("lỗi tạm thời, thử lại sau", "transient failure, try again later"),
    "permanent": ("lỗi cố định, cần sửa cấu hình", "permanent failure, fix the configuration"),
}


def format_delivery(d: DeliveryReport, lang: Lang) -> str:
    vi, en = VERDICT_WORDS[d.verdict]
    words = vi if lang == "vi" else en
    detail = f" – {d.outcome.detail}" if d.outcome.detail else ""
    if parse_label(d.label) is not None:  # a person: name, role and channel in words
        return f"{d.verdict:<9}  {recipient_words(d.label, d.channel_type, lang)}: {words}{detail}"
    return f"{d.verdict:<9}  {d.label} ({d.channel_type}): {words}{detail}"


def format_summary(deliveries: list[DeliveryReport], lang: Lang) -> str:
    ok = sum(d.outcome.ok for d in deliveries)
    if lang == "vi":
        return f"Đã gửi {ok}/{len(deliveries)} tin thử nghiệm."
    return f"Delivered {ok} of {len(deliveries)} test messages."
