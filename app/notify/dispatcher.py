"""The outbox sender: claim due rows, send outside any transaction, record outcomes.

A row is claimed with a conditional UPDATE on ``claimed_until`` (rowcount 1 =
ours), so several senders — threads, processes or replicas on one database —
never send the same row. A transient failure is retried with exponential
backoff (at least the far end's ``retry_after``) up to ``max_attempts``; a
permanent one is recorded and shown through the API. A sender killed mid-send
leaves its claim to expire after ``lease_s``; the ``X-Thongsuot-Delivery`` id
lets a receiver drop that rare duplicate.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.incidents.links import ack_url, short_ack_url, view_url
from app.incidents.recipients import person_words
from app.models import OutboxNotification
from app.notify import repository as repo
from app.notify.channels.base import DeliveryOutcome, Notification
from app.notify.channels.config import EmailConfig, SmtpConfig, parse_channel_config
from app.notify.channels.factory import build_channel
from app.notify.channels.smtp import EmailChannel
from app.notify.messages.instructions import instructions_for
from app.notify.messages.render import render
from app.notify.reports import EVENT as REPORT_EVENT
from app.notify.reports import AttachmentSource, ReportJob, report_mail
from app.vocab.lang import Lang
from probes.secrets import SecretResolver, env_secret

log = logging.getLogger(__name__)

NO_ACK_EVENTS = frozenset({"up", "test", "monitor_connectivity"})
FIRST_ALERTED_EVENTS = frozenset({"escalation", "reminder"})


def _no_instructions() -> Mapping[str, str]:
    return {}


def alerted_words(labels: list[str], lang: Lang) -> str:
    """Names and roles, once each ("Nguyễn Văn A (Người đứng đầu), Trần B (Cán bộ CNTT)");
    named channels (a group chat) by their name. Never an address."""
    out = list(dict.fromkeys(person_words(label, lang) for label in labels))
    return ", ".join(out[:3]) + (" …" if len(out) > 3 else "")


@dataclass(frozen=True, slots=True)
class DispatchSettings:
    public_url: str
    secret_key: str | None = None
    ack_ttl_s: int = 7 * 86_400
    lease_s: float = 120.0
    retry_base_s: float = 30.0
    retry_max_s: float = 3_600.0
    max_attempts: int = 12
    concurrency: int = 20
    batch: int = 200


class Dispatcher:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        client: httpx.AsyncClient,
        settings: DispatchSettings,
        *,
        smtp: SmtpConfig | None = None,
        secrets: SecretResolver = env_secret,
        reports: AttachmentSource | None = None,
        instructions: Callable[[], Mapping[str, str]] = _no_instructions,
    ) -> None:
        self._instructions = instructions
        self._sm = sessionmaker
        self._client = client
        self.settings = settings
        self._smtp = smtp
        self._secrets = secrets
        self._reports = reports
        self._sem = asyncio.Semaphore(settings.concurrency)
        self.sent = 0
        self.failed = 0

    async def run_once(self, now: datetime | None = None) -> int:
        """Send every due row this sender can claim; return how many it tried."""
        now = now or datetime.now(UTC)
        rows = await self._claim(now)
        if rows:
            await asyncio.gather(*(self._deliver(row) for row in rows))
        return len(rows)

    async def _claim(self, now: datetime) -> list[OutboxNotification]:
        async with self._sm() as session, session.begin():
            candidates = await repo.due(session, now, self.settings.batch)
            return [
                row
                for row in candidates
                if await repo.claim(session, row.id, now, self.settings.lease_s)
            ]

    async def _deliver(self, row: OutboxNotification) -> None:
        async with self._sem:
            outcome = await self._send(row)
        values = self._result_values(row, outcome, datetime.now(UTC))
        async with self._sm() as session, session.begin():
            await repo.record(session, row.id, values)
        if outcome.ok:
            self.sent += 1
        else:
            self.failed += 1
            log.warning("notification %s to %s: %s", row.id, row.recipient, outcome.detail)

    async def _send(self, row: OutboxNotification) -> DeliveryOutcome:
        if row.event == REPORT_EVENT:
            return await self._send_report(row)
        try:
            config = parse_channel_config(row.channel_config)
            note = await self._with_first_alerted(self.notification(row, datetime.now(UTC)), row)
            channel = build_channel(config, self._client, self._secrets, smtp=self._smtp)
            return await channel.send(note, render(note))
        except Exception as exc:  # a bug or a stored config that no longer validates
            log.exception("notification %s could not be sent", row.id)
            return DeliveryOutcome.failed(f"{type(exc).__name__}: {exc}")

    async def _send_report(self, row: OutboxNotification) -> DeliveryOutcome:
        """A scheduled report: its files rendered now, sent by e-mail (the only channel
        that carries files)."""
        if self._reports is None:  # a sender without the renderer leaves it to one with it
            return DeliveryOutcome.transient("report delivery: no report renderer in this process")
        try:
            config = parse_channel_config(row.channel_config)
            if not isinstance(config, EmailConfig):
                return DeliveryOutcome.failed(f"reports go by e-mail, not {config.type}")
            job = ReportJob.from_row(row.payload, row.lang)
            files = await self._reports(job)
        except Exception as exc:  # the database is away, or a bug: retried, then recorded
            log.exception("report %s could not be rendered", row.id)
            return DeliveryOutcome.transient(f"report: {type(exc).__name__}: {exc}")
        channel = EmailChannel(config, self._smtp, self._secrets)
        return await channel.send_mail(report_mail(job, datetime.now(UTC), files))

    def notification(self, row: OutboxNotification, now: datetime) -> Notification:
        """The message of one outbox row, as of ``now``."""
        p: dict[str, Any] = row.payload
        incident_id = p.get("incident_id")
        duration = p.get("duration_s")
        base = self.settings.public_url.rstrip("/")
        api = f"{base}/api/v1/incidents/{incident_id}" if incident_id is not None else None
        key = self.settings.secret_key
        page = (
            view_url(base, key, incident_id)
            if key is not None and incident_id is not None
            else None
        )
        lang: Lang = "en" if row.lang == "en" else "vi"
        return Notification(
            event=row.event,  # type: ignore[arg-type]
            unit_code=p["unit_code"],
            unit_name=p["unit_name"],
            service_kind=p["service_kind"],
            service_name=p["service_name"],
            check_key=p["check_key"],
            check_name=p["check_name"],
            probe_kind=p["probe_kind"],
            started_at=datetime.fromisoformat(p["started_at"]),
            now=datetime.fromisoformat(p["ended_at"]) if p.get("ended_at") else now,
            error_kind=p.get("error_kind"),
            message=p.get("message") or "",
            duration=timedelta(seconds=duration) if duration is not None else None,
            incident_id=incident_id,
            incident_state=p.get("incident_state", "open"),
            severity=p.get("severity", "critical"),
            dashboard_url=page,
            api_url=api,
            ack_url=self._ack(row, incident_id, now),
            lang=lang,
            delivery_id=f"thongsuot-{row.id}",
            unit_kind=p.get("unit_kind") or "",
            instructions=instructions_for(p["service_kind"], lang, self._instructions()),
            short_ack_url=self._short_ack(row, incident_id),
        )

    async def _with_first_alerted(
        self, note: Notification, row: OutboxNotification
    ) -> Notification:
        """Escalations and reminders name whom the first notice went to, and when."""
        if row.event not in FIRST_ALERTED_EVENTS or row.incident_id is None:
            return note
        async with self._sm() as session:
            labels, at = await repo.first_alerted(session, row.incident_id)
        if not labels or at is None:
            return note
        at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
        decided = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
        return replace(
            note,
            first_alerted=alerted_words(labels, note.lang),
            first_alerted_at=at,
            unanswered_for=decided - at,
        )

    def _short_ack(self, row: OutboxNotification, incident_id: int | None) -> str | None:
        key = self.settings.secret_key
        if key is None or incident_id is None or row.event in NO_ACK_EVENTS:
            return None
        return short_ack_url(self.settings.public_url, key, row.id)

    def _ack(self, row: OutboxNotification, incident_id: int | None, now: datetime) -> str | None:
        key = self.settings.secret_key
        if key is None or incident_id is None or row.event in NO_ACK_EVENTS:
            return None
        expires = int(now.timestamp()) + self.settings.ack_ttl_s
        return ack_url(self.settings.public_url, key, incident_id, expires, row.recipient)

    def _result_values(
        self, row: OutboxNotification, outcome: DeliveryOutcome, now: datetime
    ) -> dict[str, Any]:
        values: dict[str, Any] = {
            "last_error": "" if outcome.ok else outcome.detail[:500],
            "status_code": outcome.status_code,
            "claimed_until": now,
        }
        if outcome.ok:
            return values | {"status": "delivered", "sent_at": now}
        attempts = row.attempts + 1
        if outcome.permanent or attempts >= self.settings.max_attempts:
            return values | {"status": "failed"}
        delay = min(self.settings.retry_base_s * 2 ** (attempts - 1), self.settings.retry_max_s)
        delay = max(delay, outcome.retry_after or 0.0)
        return values | {"next_attempt_at": now + timedelta(seconds=delay)}
