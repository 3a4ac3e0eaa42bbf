"""Heartbeat (push) checks: the pure decision whether an expected beat was missed.

The app receives the beats (``/push/{token}``) and hands the latest one to the
probe through ``ctx.extra``: ``last_beat_at``, ``last_beat_status``,
``last_beat_message`` and ``created_at`` (datetimes, or ISO-8601 strings).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import Field, field_validator, model_validator

from probes.base import ErrorKind, ProbeConfig, ProbeContext, ProbeResult
from probes.registry import register

ERROR_KINDS: frozenset[ErrorKind] = frozenset({ErrorKind.MISSED_HEARTBEAT, ErrorKind.REPORTED_DOWN})
DOWN_STATUSES = frozenset({"down", "fail", "failure", "error"})


class HeartbeatConfig(ProbeConfig):
    """Either a fixed ``period_s`` or a ``cron`` rhythm in ``timezone``; plus ``grace_s``."""

    period_s: float | None = Field(default=None, gt=0)
    cron: str | None = Field(default=None, description="e.g. '*/5 7-17 * * 1-5'")
    timezone: str = "Asia/Ho_Chi_Minh"
    grace_s: float = Field(default=60, ge=0)
    token_secret: str | None = Field(
        default=None,
        description="environment variable (or NAME_FILE) holding the device's push token",
    )

    @field_validator("cron")
    @classmethod
    def _check_cron(cls, value: str | None) -> str | None:
        if value is not None and not croniter.is_valid(value):
            raise ValueError(f"not a valid cron expression: {value!r}")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _one_rhythm(self) -> HeartbeatConfig:
        if (self.period_s is None) == (self.cron is None):
            raise ValueError("give exactly one of period_s or cron")
        return self

    def next_expected(self, after: datetime) -> datetime:
        """When the first beat after ``after`` is due (aware, UTC)."""
        if self.period_s is not None:
            return after + timedelta(seconds=self.period_s)
        local = after.astimezone(ZoneInfo(self.timezone))
        due: datetime = croniter(self.cron, local).get_next(datetime)
        return due.astimezone(UTC)


def evaluate_heartbeat(
    config: HeartbeatConfig,
    last_beat_at: datetime | None,
    last_beat_status: str | None,
    last_beat_message: str,
    now: datetime,
    created_at: datetime,
) -> ProbeResult:
    """up; down ``missed_heartbeat`` once the beat due after the last one (or after
    ``created_at``) is ``grace_s`` late; down ``reported_down`` when the device said so."""
    since = last_beat_at or created_at
    due = config.next_expected(since)
    deadline = due + timedelta(seconds=config.grace_s)
    details: dict[str, Any] = {
        "last_beat_at": last_beat_at.isoformat() if last_beat_at else None,
        "expected_at": due.isoformat(),
        "deadline_at": deadline.isoformat(),
    }
    if now > deadline:
        local = ZoneInfo(config.timezone)
        last = since.astimezone(local).strftime("%d/%m/%Y %H:%M")
        what = "last beat" if last_beat_at else "no beat since the check was created"
        return ProbeResult.down(
            ErrorKind.MISSED_HEARTBEAT,
            f"{what} at {last}; one was due by {deadline.astimezone(local):%d/%m/%Y %H:%M}",
            **details,
        )
    if last_beat_status is not None and last_beat_status.lower() in DOWN_STATUSES:
        return ProbeResult.down(
            ErrorKind.REPORTED_DOWN,
            last_beat_message or f"device reported {last_beat_status}",
            **details,
        )
    return ProbeResult.up(0.0, last_beat_message or "heartbeat on time", **details)


@register("heartbeat", HeartbeatConfig, "Devices push beats; missed or failing beats are down")
async def probe_heartbeat(config: HeartbeatConfig, ctx: ProbeContext) -> ProbeResult:
    now = ctx.clock()
    extra = ctx.extra
    return evaluate_heartbeat(
        config,
        _as_datetime(extra.get("last_beat_at")),
        extra.get("last_beat_status"),
        str(extra.get("last_beat_message") or ""),
        now,
        _as_datetime(extra.get("created_at")) or now,
    )


def _as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return _aware(value) if value else None
    return _aware(datetime.fromisoformat(str(value)))


def _aware(value: datetime) -> datetime:
    """Naive datetimes from the database are UTC (docs/design.md §6.13)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
