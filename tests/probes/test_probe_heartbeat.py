"""Heartbeat rhythm decisions: fixed periods and office-hours cron."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from probes.base import ErrorKind, Status
from probes.heartbeat import HeartbeatConfig, evaluate_heartbeat, probe_heartbeat
from tests.probes.conftest import MakeCtx

VN = ZoneInfo("Asia/Ho_Chi_Minh")
OFFICE = HeartbeatConfig(cron="*/5 7-17 * * 1-5", grace_s=120)
CREATED = datetime(2026, 5, 4, 0, 0, tzinfo=UTC)  # a Monday


def vn(day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, 5, day, hour, minute, tzinfo=VN)


@pytest.mark.parametrize(
    ("last", "now", "expected"),
    [
        (vn(8, 16, 55), vn(8, 17, 1), Status.UP),  # due 17:00, grace until 17:02
        (vn(8, 16, 55), vn(8, 17, 3), Status.DOWN),
        (vn(8, 17, 55), vn(9, 12, 0), Status.UP),  # Friday evening → Saturday: nothing due
        (vn(8, 17, 55), vn(11, 7, 1), Status.UP),  # Monday 07:00 + grace
        (vn(8, 17, 55), vn(11, 7, 3), Status.DOWN),
    ],
)
def test_office_hours_cron(last: datetime, now: datetime, expected: Status) -> None:
    result = evaluate_heartbeat(OFFICE, last, "up", "", now, CREATED)
    assert result.status is expected
    if expected is Status.DOWN:
        assert result.error_kind is ErrorKind.MISSED_HEARTBEAT
        assert "17:55" in result.message or "16:55" in result.message


def test_period_and_never_beaten() -> None:
    config = HeartbeatConfig(period_s=60, grace_s=30)
    t0 = datetime(2026, 5, 4, 3, 0, tzinfo=UTC)
    assert evaluate_heartbeat(config, t0, "up", "", t0 + timedelta(seconds=89), CREATED).status is (
        Status.UP
    )
    late = evaluate_heartbeat(config, t0, "up", "", t0 + timedelta(seconds=91), CREATED)
    assert (late.error_kind, late.details["deadline_at"]) == (
        ErrorKind.MISSED_HEARTBEAT,
        (t0 + timedelta(seconds=90)).isoformat(),
    )
    never = evaluate_heartbeat(config, None, None, "", CREATED + timedelta(minutes=2), CREATED)
    assert never.error_kind is ErrorKind.MISSED_HEARTBEAT
    assert "no beat since" in never.message


def test_device_reports_down() -> None:
    config = HeartbeatConfig(period_s=60)
    t0 = datetime(2026, 5, 4, 3, 0, tzinfo=UTC)
    result = evaluate_heartbeat(config, t0, "fail", "máy xếp hàng hết giấy", t0, CREATED)
    assert (result.status, result.error_kind, result.message) == (
        Status.DOWN,
        ErrorKind.REPORTED_DOWN,
        "máy xếp hàng hết giấy",
    )
    # silence after a failure report is a missed heartbeat: the newer fact wins
    later = evaluate_heartbeat(config, t0, "fail", "x", t0 + timedelta(hours=1), CREATED)
    assert later.error_kind is ErrorKind.MISSED_HEARTBEAT


async def test_probe_reads_ctx_extra(make_ctx: MakeCtx) -> None:
    now = datetime(2026, 5, 4, 3, 0, tzinfo=UTC)
    extra = {
        "last_beat_at": "2026-05-04T02:59:00+00:00",
        "last_beat_status": "up",
        "created_at": CREATED,
    }
    ctx = make_ctx(clock=lambda: now, extra=extra)
    assert (await probe_heartbeat(HeartbeatConfig(period_s=60), ctx)).status is Status.UP
    ctx = make_ctx(clock=lambda: now + timedelta(minutes=5), extra=extra)
    result = await probe_heartbeat(HeartbeatConfig(period_s=60), ctx)
    assert result.error_kind is ErrorKind.MISSED_HEARTBEAT


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "exactly one"),
        ({"period_s": 60, "cron": "* * * * *"}, "exactly one"),
        ({"cron": "*/5 25 * * *"}, "cron"),
        ({"period_s": 60, "timezone": "Asia/Hanoi_Nowhere"}, "time zone"),
    ],
)
def test_config_errors(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        HeartbeatConfig.model_validate(raw)
