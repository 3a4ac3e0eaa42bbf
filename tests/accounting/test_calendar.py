"""Service hours: office hours, Vietnamese holidays, declared days off and swapped days."""

from __future__ import annotations

import time as timer
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from app.accounting.availability import clock_seconds
from app.accounting.calendar import (
    Calendar,
    DayKind,
    OfficeHours,
    ServiceHoursClock,
    service_hours,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
HOUR = 3600.0
WORKDAY = 7.5 * HOUR


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=HCM)


def day_seconds(clock: ServiceHoursClock, on: date) -> float:
    start = local(on.year, on.month, on.day)
    return clock_seconds(clock, start, start + timedelta(days=1))


class TestDefaultHours:
    def test_a_tuesday_has_two_sessions_in_utc(self) -> None:
        got = service_hours().segments(local(2026, 5, 5), local(2026, 5, 6))
        assert got == [
            (datetime(2026, 5, 5, 0, 30, tzinfo=UTC), datetime(2026, 5, 5, 4, 30, tzinfo=UTC)),
            (datetime(2026, 5, 5, 6, 30, tzinfo=UTC), datetime(2026, 5, 5, 10, 0, tzinfo=UTC)),
        ]

    def test_an_ordinary_week_is_five_days_of_seven_and_a_half_hours(self) -> None:
        assert clock_seconds(service_hours(), local(2026, 5, 4), local(2026, 5, 11)) == 37.5 * HOUR

    def test_segments_are_clipped_to_the_window(self) -> None:
        got = service_hours().segments(local(2026, 5, 5, 10), local(2026, 5, 5, 14))
        assert got == [(local(2026, 5, 5, 10), local(2026, 5, 5, 11, 30)),
                       (local(2026, 5, 5, 13, 30), local(2026, 5, 5, 14))]  # fmt: skip

    def test_empty_window(self) -> None:
        assert service_hours().segments(local(2026, 5, 5, 9), local(2026, 5, 5, 9)) == []

    def test_the_whole_of_2026(self) -> None:
        # 261 weekdays; 13 of them are holidays (1/1, Tết 16-20/2, Giỗ Tổ observed 27/4,
        # 30/4, 1/5, the swapped 31/8, 1/9, 2/9, 24/11); plus Saturday 22/8 worked for 31/8.
        clock = service_hours()
        began = timer.perf_counter()
        got = clock_seconds(clock, local(2026, 1, 1), local(2027, 1, 1))
        assert got == (261 - 13 + 1) * WORKDAY
        assert timer.perf_counter() - began < 1.0


class TestHolidays:
    def test_tet_2026_is_closed(self) -> None:
        cal = Calendar()
        for day in range(16, 21):  # Mon 16/2 (Giao thừa) to Fri 20/2 (Mùng bốn)
            got = cal.day(date(2026, 2, day))
            assert (got.kind, got.hours) == (DayKind.HOLIDAY, ()), day
        assert cal.day(date(2026, 2, 17)).name == "Tết Nguyên Đán"
        assert clock_seconds(service_hours(), local(2026, 2, 14), local(2026, 2, 23)) == 0
        assert day_seconds(service_hours(), date(2026, 2, 13)) == WORKDAY

    def test_hung_kings_day_2026_is_closed(self) -> None:
        # 10/3 lunar falls on Sunday 26/4/2026; Monday 27/4 is the day off in lieu.
        cal = Calendar(OfficeHours(sunday=("07:30-11:30",)))
        assert cal.day(date(2026, 4, 26)).kind is DayKind.HOLIDAY
        assert cal.day(date(2026, 4, 26)).name == "Ngày Giỗ Tổ Hùng Vương"
        assert cal.day(date(2026, 4, 27)).kind is DayKind.HOLIDAY
        assert day_seconds(cal.clock(), date(2026, 4, 26)) == 0
        assert day_seconds(cal.clock(), date(2026, 4, 27)) == 0
        assert day_seconds(cal.clock(), date(2026, 4, 28)) == WORKDAY

    def test_names_in_english(self) -> None:
        cal = Calendar(language="en_US")
        assert cal.day(date(2026, 2, 17)).name == "Lunar New Year"

    def test_swapped_working_saturday_known_to_the_library(self) -> None:
        # 31/8/2026 (Monday) off in exchange for Saturday 22/8/2026.
        cal = Calendar()
        assert cal.day(date(2026, 8, 31)).kind is DayKind.HOLIDAY
        assert cal.day(date(2026, 8, 22)).kind is DayKind.SWAPPED_WORKING
        assert day_seconds(cal.clock(), date(2026, 8, 22)) == WORKDAY
        assert day_seconds(cal.clock(), date(2025, 4, 26)) == WORKDAY  # for Friday 2/5/2025
        assert day_seconds(cal.clock(), date(2026, 8, 29)) == 0  # an ordinary Saturday

    def test_holidays_can_be_switched_off(self) -> None:
        clock = service_hours({"public_holidays": False})
        assert day_seconds(clock, date(2026, 2, 17)) == WORKDAY
        assert day_seconds(clock, date(2026, 8, 22)) == 0


class TestUnitOverrides:
    def test_saturday_mornings(self) -> None:
        clock = service_hours({"saturday": ["07:30-11:30"]})
        assert day_seconds(clock, date(2026, 5, 9)) == 4 * HOUR
        assert day_seconds(clock, date(2026, 5, 8)) == WORKDAY
        assert day_seconds(clock, date(2026, 5, 10)) == 0

    def test_full_weekly_map(self) -> None:
        week = {d: ["08:00-12:00"] for d in ("monday", "tuesday", "wednesday", "thursday")}
        week |= {"friday": [], "saturday": ["08:00-10:00", "14:00-15:00"], "sunday": []}
        clock = service_hours(week)
        assert clock_seconds(clock, local(2026, 5, 4), local(2026, 5, 11)) == (16 + 3) * HOUR

    def test_declared_day_off(self) -> None:
        cal = Calendar(OfficeHours(days_off=(date(2026, 5, 5),)))
        assert cal.day(date(2026, 5, 5)).kind is DayKind.DAY_OFF
        assert day_seconds(cal.clock(), date(2026, 5, 5)) == 0

    def test_declared_working_saturday_gets_weekday_hours(self) -> None:
        clock = service_hours({"working_days": ["2026-05-09"], "saturday": ["07:30-09:00"]})
        assert clock.calendar.day(date(2026, 5, 9)).kind is DayKind.SWAPPED_WORKING
        assert day_seconds(clock, date(2026, 5, 9)) == WORKDAY
        assert day_seconds(clock, date(2026, 5, 16)) == 1.5 * HOUR

    def test_swapped_day_hours_follow_monday_or_their_own_setting(self) -> None:
        monday = service_hours({"working_days": ["2026-05-09"], "monday": ["08:00-16:00"]})
        assert day_seconds(monday, date(2026, 5, 9)) == 8 * HOUR
        own = service_hours({"working_days": ["2026-05-09"], "swapped_day_hours": ["08:00-09:00"]})
        assert day_seconds(own, date(2026, 5, 9)) == HOUR

    def test_declared_working_day_beats_a_holiday(self) -> None:
        clock = service_hours({"working_days": ["2026-02-17"]})
        assert day_seconds(clock, date(2026, 2, 17)) == WORKDAY

    def test_round_the_clock_days_merge_across_midnight(self) -> None:
        clock = service_hours({"saturday": ["00:00-24:00"], "sunday": ["00:00-24:00"]})
        got = clock.segments(local(2026, 5, 9), local(2026, 5, 11))
        assert got == [(local(2026, 5, 9).astimezone(UTC), local(2026, 5, 11).astimezone(UTC))]

    def test_other_time_zone_with_daylight_saving(self) -> None:
        # Europe/Berlin springs forward on Sunday 29/3/2026: that day has 23 hours.
        clock = service_hours({"timezone": "Europe/Berlin", "sunday": ["00:00-24:00"]})
        berlin = ZoneInfo("Europe/Berlin")
        start = datetime(2026, 3, 29, tzinfo=berlin)
        assert clock_seconds(clock, start, datetime(2026, 3, 30, tzinfo=berlin)) == 23 * HOUR

    def test_round_trips_through_json(self) -> None:
        hours = OfficeHours(saturday=("07:30-11:30",), days_off=(date(2026, 5, 5),))
        assert OfficeHours.model_validate(hours.model_dump(mode="json")) == hours


class TestValidation:
    @pytest.mark.parametrize(
        ("given", "message"),
        [
            ({"monday": ["7:30-11:30"]}, "not HH:MM-HH:MM"),
            ({"monday": ["11:30-07:30"]}, "ends before it starts"),
            ({"monday": ["07:30-11:30", "11:00-12:00"]}, "overlap"),
            ({"funday": ["07:30-11:30"]}, "Extra inputs"),
            ({"timezone": "Asia/Hanoi_Nowhere"}, "unknown time zone"),
            ({"days_off": ["2026-05-05"], "working_days": ["2026-05-05"]}, "both off and working"),
        ],
    )
    def test_bad_settings_are_refused(self, given: dict[str, object], message: str) -> None:
        with pytest.raises(ValidationError, match=message):
            OfficeHours.model_validate(given)


def test_days_are_cached() -> None:
    cal = Calendar()
    assert cal.day(date(2026, 5, 5)) is cal.day(date(2026, 5, 5))
