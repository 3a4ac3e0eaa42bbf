"""Maintenance and calendars in the inventory YAML: validated at load time with
file:line errors, synced into SQL, late changes marking days for recomputation."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounting.calendar import inherit, stale_from
from app.errors import ConfigError
from app.inventory.loader import flatten, parse_inventory
from app.inventory.service import sync_inventory
from app.maintenance.service import active_check_ids
from app.models import MaintenanceWindow, RollupStale

NOW = datetime(2026, 5, 20, 3, tzinfo=UTC)
BASE = """\
version: 1
province:
  code: "33"
  name: Hưng Yên
  calendar: {days_off: ["2026-05-18"]}
  services:
    - kind: provincial_system
      name: HTTT tỉnh
      checks:
        - {name: backoffice, kind: http, options: {url: "http://127.0.0.1:8/"}}
units:
  - {code: "12337", name: Hoàng Hoa Thám, kind: commune, CALENDAR}
maintenance:
"""
WINDOW = """\
  - key: sunday-backup
    scope: service
    target: 33.provincial_system
    starts_at: "2026-05-17T22:00:00+07:00"
    ends_at: "2026-05-17T23:00:00+07:00"
    rrule: FREQ=WEEKLY;BYDAY=SU
    reason: Sao lưu hằng tuần
"""


def _text(calendar: str = 'calendar: {saturday: ["07:30-11:30"]}', windows: str = WINDOW) -> str:
    return BASE.replace("CALENDAR", calendar) + (windows or "  []\n")


@pytest.mark.parametrize(
    ("calendar", "fragment"),
    [
        ('calendar: {office_hours: {mon-fri: ["07:30-11:30"]}}', "office_hours"),
        ('calendar: {monday: ["11:30-07:30"]}', "ends before it starts"),
        ('calendar: {days_off: ["2026-05-18"], working_days: ["2026-05-18"]}', "both off"),
    ],
)
def test_an_invalid_calendar_is_refused_with_its_line(calendar: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_inventory(_text(calendar), "tinh.yaml")
    message = str(caught.value)
    assert "tinh.yaml:12:" in message and "calendar" in message and fragment in message


def test_an_invalid_window_is_refused_with_its_line() -> None:
    bad = WINDOW.replace("FREQ=WEEKLY;BYDAY=SU", "FREQ=SOMETIMES")
    with pytest.raises(ConfigError) as caught:
        parse_inventory(_text(windows=bad), "tinh.yaml")
    assert "tinh.yaml:14:" in str(caught.value)
    assert "RRULE" in str(caught.value)


async def test_windows_sync_and_late_changes_mark_days_stale(session: AsyncSession) -> None:
    await sync_inventory(session, flatten(parse_inventory(_text())), NOW)
    row = (await session.execute(select(MaintenanceWindow))).scalar_one()
    assert (row.key, row.source, row.created_by, row.last_ends_at) == (
        "sunday-backup",
        "yaml",
        "inventory",
        None,
    )
    stale = (await session.execute(select(RollupStale.first_day))).scalars().all()
    assert date(2026, 5, 17) in stale  # declared for a past Sunday
    sunday_night = datetime(2026, 5, 24, 15, 30, tzinfo=UTC)  # 22:30 local
    assert len(await active_check_ids(session, sunday_night)) == 1
    await sync_inventory(session, flatten(parse_inventory(_text(windows=""))), NOW)
    await session.refresh(row)
    assert (row.deleted_by, row.deleted_at) == ("inventory", NOW)
    assert await active_check_ids(session, sunday_night) == set()


async def test_a_calendar_change_marks_the_declared_day_stale(session: AsyncSession) -> None:
    await sync_inventory(session, flatten(parse_inventory(_text())), NOW)
    await session.execute(delete(RollupStale))
    changed = _text('calendar: {saturday: ["07:30-11:30"], days_off: ["2026-05-04"]}')
    await sync_inventory(session, flatten(parse_inventory(changed)), NOW)
    stale = (await session.execute(select(RollupStale.first_day))).scalars().all()
    assert stale == [date(2026, 5, 4)]


def test_the_province_declares_days_for_every_unit() -> None:
    province = {"days_off": ["2026-05-18", "2026-05-19"], "working_days": ["2026-05-23"]}
    unit = {"saturday": ["07:30-11:30"], "working_days": ["2026-05-19"]}
    merged = inherit(province, unit)
    assert merged == {
        "saturday": ["07:30-11:30"],
        "days_off": ["2026-05-18"],
        "working_days": ["2026-05-19", "2026-05-23"],
    }
    assert inherit(None, unit) == unit
    assert inherit({}, None) is None


def test_what_a_calendar_change_invalidates() -> None:
    today = date(2026, 5, 20)
    assert stale_from({"saturday": []}, {"saturday": []}, today) is None
    assert stale_from(None, {"saturday": ["07:30-11:30"]}, today) == today
    assert stale_from(None, {"days_off": ["2026-05-01"]}, today) == date(2026, 5, 1)
    assert stale_from({"working_days": ["2026-04-04"]}, {}, today) == date(2026, 4, 4)
