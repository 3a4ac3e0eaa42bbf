"""Scheduled report delivery: when a report is due, who gets it, its outbox rows, its mail.

Like healthchecks' ``sendreports``: at ``reports.hour`` (local time) on the 1st of the
month (and on Mondays when ``weekly``), the period that just ended is queued once per
recipient in the outbox (table ``notification``, ``event = "report"``). The dedupe key
``report:<kind>:<period>:<scope>:<address>`` is unique, so a replayed decision — a
restarted notifier, a second replica — inserts nothing, and the dispatcher's claim
(a conditional UPDATE) sends each row once, retried and recorded like any notice.

The rows hold only what to send (period, unit, language), not the files: the PDF and
the XLSX are rendered when the row is sent, by an :class:`AttachmentSource` the monitor
injects (``app.reports.delivery``; this layer may not import the reports). A province
report is a few hundred kB and every retry would store it again, while re-rendering
from the rollups costs milliseconds and picks up a late recomputation (maintenance
declared after the fact) instead of freezing stale figures.

Which period is due is a pure function of ``now`` and the last period queued
(:func:`due_period`): only the latest finished period is ever sent, so a monitor that
was down for two months sends last month's report once, not a burst of old ones.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounting.days import ZONE
from app.models import OutboxNotification, Unit
from app.notify import repository as repo
from app.notify.channels.base import Attachment, Mail
from app.notify.policy import NotifyPolicyDoc, Reports, contact_channel
from app.vocab.lang import Lang

PeriodKind = Literal["month", "week"]
EVENT = "report"
PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"


@dataclass(frozen=True, slots=True)
class ReportPeriod:
    """A finished period: ``label`` as the reports API takes it (``2026-11``, ``2026-W47``)."""

    kind: PeriodKind
    label: str
    first: date
    last: date  # inclusive


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _previous_month(start: date) -> date:
    return (start - timedelta(days=1)).replace(day=1)


def latest_finished(now: datetime, kind: PeriodKind, hour: int) -> ReportPeriod:
    """The latest period whose report time (``hour`` local on the day after it) has come."""
    local = now.astimezone(ZONE)
    today = local.date()
    if kind == "month":
        start = _month_start(today)
        if local < datetime.combine(start, time(hour), ZONE):
            start = _previous_month(start)
        first = _previous_month(start)
        return ReportPeriod("month", first.strftime("%Y-%m"), first, start - timedelta(days=1))
    monday = today - timedelta(days=today.weekday())
    if local < datetime.combine(monday, time(hour), ZONE):
        monday -= timedelta(days=7)
    first = monday - timedelta(days=7)
    iso = first.isocalendar()
    return ReportPeriod("week", f"{iso.year}-W{iso.week:02d}", first, monday - timedelta(days=1))


FIRST_GRACE: dict[PeriodKind, timedelta] = {"month": timedelta(days=7), "week": timedelta(days=1)}
"""With nothing sent yet (a new installation), a report whose time passed longer ago than
this is not sent: deliveries start with the next report time."""


def report_time(period: ReportPeriod, hour: int) -> datetime:
    """When ``period``'s report is due: ``hour`` local on the day after it."""
    return datetime.combine(period.last + timedelta(days=1), time(hour), ZONE)


def due_period(
    now: datetime, kind: PeriodKind, hour: int, last_sent: str | None
) -> ReportPeriod | None:
    """The period to queue now, or ``None`` when the latest finished one was queued already
    (or, with nothing sent yet, its report time passed more than :data:`FIRST_GRACE` ago).

    Labels of one kind sort as text in time order (``2026-09`` < ``2026-10``,
    ``2026-W09`` < ``2026-W10``)."""
    period = latest_finished(now, kind, hour)
    if last_sent is None:
        return period if now - report_time(period, hour) <= FIRST_GRACE[kind] else None
    return period if period.label > last_sent else None


# recipients and outbox rows ------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ReportJob:
    """One report mail: the period, whose report (``unit_code`` None: the province), to whom."""

    kind: PeriodKind
    label: str
    first: date
    last: date
    unit_code: str | None
    unit_name: str
    recipient_name: str
    lang: Lang

    def payload(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "label": self.label,
            "first": self.first.isoformat(),
            "last": self.last.isoformat(),
            "unit_code": self.unit_code,
            "unit_name": self.unit_name,
            "recipient_name": self.recipient_name,
        }

    @classmethod
    def from_row(cls, payload: dict[str, Any], lang: str) -> ReportJob:
        kind: PeriodKind = "week" if payload["kind"] == "week" else "month"
        return cls(
            kind=kind,
            label=str(payload["label"]),
            first=date.fromisoformat(payload["first"]),
            last=date.fromisoformat(payload["last"]),
            unit_code=payload.get("unit_code"),
            unit_name=str(payload.get("unit_name") or ""),
            recipient_name=str(payload.get("recipient_name") or ""),
            lang="en" if lang == "en" else "vi",
        )


def dedupe_key(period: ReportPeriod, scope: str, address: str) -> str:
    return f"report:{period.kind}:{period.label}:{scope}:{address.lower()}"[:200]


def _emails(contacts: list[dict[str, Any]], roles: list[str]) -> list[tuple[str, str]]:
    return [
        (str(c.get("name") or ""), str(c["email"]))
        for c in contacts
        if c.get("role") in roles and c.get("email")
    ]


def _contacts(unit: Unit) -> list[dict[str, Any]]:
    found = (unit.settings or {}).get("contacts") or []
    return [c for c in found if isinstance(c, dict)]


async def last_queued(session: AsyncSession, kind: PeriodKind) -> str | None:
    """The latest period of ``kind`` already in the outbox (from the dedupe keys)."""
    stmt = select(func.max(OutboxNotification.dedupe_key)).where(
        OutboxNotification.event == EVENT,
        OutboxNotification.dedupe_key.like(f"report:{kind}:%"),
    )
    key: str | None = (await session.execute(stmt)).scalar_one_or_none()
    return key.split(":")[2] if key else None


def recipients(reports: Reports, units: list[Unit]) -> list[tuple[str | None, str, str, str]]:
    """``(unit code or None for the province, unit name, person, address)`` per mail."""
    province = next((u for u in units if u.kind == "province"), None)
    out: list[tuple[str | None, str, str, str]] = []
    province_name = province.name if province is not None else ""
    named = _emails(_contacts(province), list(reports.province_contacts)) if province else []
    for person, address in [("", a) for a in reports.to] + named:
        out.append((None, province_name, person, address))
    if reports.unit_heads:
        for unit in units:
            if unit.kind == "province":
                continue
            for person, address in _emails(_contacts(unit), ["head"]):
                out.append((unit.code, unit.name, person, address))
    return out


def _kinds(reports: Reports) -> list[PeriodKind]:
    kinds: list[PeriodKind] = []
    if reports.monthly:
        kinds.append("month")
    if reports.weekly:
        kinds.append("week")
    return kinds


async def queue_reports(
    session: AsyncSession,
    policy: NotifyPolicyDoc,
    now: datetime,
    done: dict[PeriodKind, str] | None = None,
) -> int:
    """Queue the reports that are due (one row per recipient); return how many were offered.

    Call inside a transaction. Two replicas deciding at once insert each row once (the
    dedupe key is unique). ``done`` (kept by the caller between ticks) remembers the
    latest period known to be queued, so a tick reads the outbox only when a new period
    has finished, not every few seconds for the rest of the month."""
    reports = policy.reports
    if reports is None:
        return 0
    done = {} if done is None else done
    queued = 0
    for kind in _kinds(reports):
        if done.get(kind) == latest_finished(now, kind, reports.hour).label:
            continue
        period = due_period(now, kind, reports.hour, await last_queued(session, kind))
        if period is not None:
            queued += await repo.enqueue(session, await report_rows(session, policy, period, now))
        done[kind] = latest_finished(now, kind, reports.hour).label
    return queued


async def report_rows(
    session: AsyncSession, policy: NotifyPolicyDoc, period: ReportPeriod, now: datetime
) -> list[dict[str, Any]]:
    """The outbox rows of ``period``'s report: one per recipient and unit."""
    reports = policy.reports or Reports()
    units = list((await session.execute(select(Unit).where(Unit.retired_at.is_(None)))).scalars())
    lang: Lang = reports.lang or policy.lang
    base = policy.contact_channels.email or {}
    rows: dict[str, dict[str, Any]] = {}
    for code, unit_name, person, address in recipients(reports, units):
        key = dedupe_key(period, code or "province", address)
        job = ReportJob(
            period.kind, period.label, period.first, period.last, code, unit_name, person, lang
        )
        rows.setdefault(
            key,
            {
                "dedupe_key": key,
                "incident_id": None,
                "event": EVENT,
                "level": 0,
                "route": f"report:{period.kind}",
                "recipient": address[:200],
                "channel_type": "email",
                "channel_config": contact_channel(base, "email", address).model_dump(mode="json"),
                "lang": lang,
                "payload": job.payload(),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "claimed_until": now,
                "last_error": "",
                "created_at": now,
            },
        )
    return list(rows.values())


# the mail ------------------------------------------------------------------------------
class AttachmentSource(Protocol):
    """Renders a job's files (PDF, XLSX) from the database at send time."""

    async def __call__(self, job: ReportJob) -> list[Attachment]: ...


def _dmy(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def period_words(job: ReportJob) -> str:
    """``tháng 11/2026`` / ``tuần 47/2026 (16/11/2026 – 22/11/2026)``; English alike."""
    vi = job.lang == "vi"
    if job.kind == "month":
        return f"{'tháng' if vi else 'month'} {job.first.strftime('%m/%Y')}"
    week = job.first.isocalendar()
    span = f"{_dmy(job.first)} – {_dmy(job.last)}"
    return f"{'tuần' if vi else 'week'} {week.week:02d}/{week.year} ({span})"


def file_stem(job: ReportJob) -> str:
    """The attachments' name without extension, in the mail's language (diacritics kept)."""
    stem = "Báo cáo thông suốt" if job.lang == "vi" else "Continuity report"
    name = f"{stem} {job.label}"
    return f"{name} - {job.unit_name}" if job.unit_name else name


def report_mail(job: ReportJob, now: datetime, attachments: list[Attachment]) -> Mail:
    """Subject and body (text + HTML) of one report mail, Vietnamese unless ``lang`` is en."""
    vi = job.lang == "vi"
    when = period_words(job)
    who = job.unit_name or ("toàn tỉnh" if vi else "the province")
    if vi:
        subject = f"[THÔNG SUỐT] Báo cáo {when} – {who}"
        lines = [
            f"Kính gửi {job.recipient_name or 'Quý cơ quan'},",
            "",
            f"Hệ thống giám sát thông suốt gửi kèm báo cáo tình hình bảo đảm hoạt động "
            f"thông suốt {when} của {who}: tệp PDF để in và ký, tệp XLSX để tra cứu số liệu.",
            f"Số liệu tính từ ngày {_dmy(job.first)} đến hết ngày {_dmy(job.last)} (giờ Việt Nam).",
            "",
            "Thư này được gửi tự động; vui lòng không trả lời thư này.",
        ]
    else:
        subject = f"[THONGSUOT] Report for {when} – {who}"
        lines = [
            f"Dear {job.recipient_name or 'colleague'},",
            "",
            f"Attached is the service continuity report for {when} of {who}: a PDF to print "
            "and sign, and an XLSX with the figures.",
            f"Figures cover {_dmy(job.first)} to the end of {_dmy(job.last)} (Vietnam time).",
            "",
            "This message was sent automatically; please do not reply.",
        ]
    text = "\n".join(lines) + "\n"
    body = "".join(f"<p>{html.escape(line)}</p>" if line else "" for line in lines)
    page = (
        f'<!doctype html><html lang="{job.lang}"><meta charset="utf-8"><body>{body}</body></html>'
    )
    return Mail(subject, text, page, now, EVENT, tuple(attachments))


__all__ = [
    "CSV",
    "PDF",
    "XLSX",
    "AttachmentSource",
    "ReportJob",
    "ReportPeriod",
    "due_period",
    "latest_finished",
    "queue_reports",
    "report_mail",
]
