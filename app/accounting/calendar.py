"""Service hours: a unit's office hours, Vietnamese public holidays and declared days.

A unit's ``calendar:`` key in the inventory is an :class:`OfficeHours`. A report
builds one :class:`Calendar` per unit (which dates are working days, and when)
and counts time on its :class:`ServiceHoursClock`. Days are cached, so a year's
window costs 365 small lookups.

Which hours a date gets, first match wins:

1. a date in ``days_off`` (declared by the operator): closed;
2. a date in ``working_days`` (declared swapped working day): ``swapped_day_hours``;
3. a public holiday from the ``holidays`` library (Tết and Hùng Kings' day are
   lunar dates; official compensatory days are included): closed;
4. a swapped working day the ``holidays`` library knows of: ``swapped_day_hours``;
5. otherwise the hours of its weekday.

Steps 3 and 4 apply only while ``public_holidays`` is true.
"""

from __future__ import annotations

import enum
import functools
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "DEFAULT_HOURS",
    "Calendar",
    "Day",
    "DayKind",
    "OfficeHours",
    "ServiceHoursClock",
    "service_hours",
]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEFAULT_HOURS: tuple[str, ...] = ("07:30-11:30", "13:30-17:00")
_RANGE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-(([01]\d|2[0-3]):([0-5]\d)|24:00)$")

Minutes = tuple[int, int]  # [start, end) in minutes after local midnight; end may be 1440


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def parse_ranges(ranges: tuple[str, ...]) -> tuple[Minutes, ...]:
    """``("07:30-11:30", ...)`` → minutes; refuses malformed, empty or overlapping ranges."""
    parsed = []
    for text in ranges:
        if not _RANGE.match(text):
            raise ValueError(f"time range {text!r} is not HH:MM-HH:MM (24:00 may end a day)")
        start, end = (_minutes(part) for part in text.split("-"))
        if start >= end:
            raise ValueError(f"time range {text!r} ends before it starts")
        parsed.append((start, end))
    parsed.sort()
    for (_, end), (start, _) in itertools.pairwise(parsed):
        if start < end:
            raise ValueError(f"time ranges {list(ranges)} overlap")
    return tuple(parsed)


def _valid_ranges(ranges: tuple[str, ...] | None) -> tuple[str, ...] | None:
    if ranges is not None:
        parse_ranges(ranges)
    return ranges


def _valid_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None
    return name


Ranges = Annotated[tuple[str, ...] | None, AfterValidator(_valid_ranges)]


class OfficeHours(BaseModel):
    """A unit's office hours: the inventory's ``calendar:`` key.

    A weekday left out keeps the default (Monday–Friday 07:30–11:30 and
    13:30–17:00, weekend closed); ``[]`` closes it. Listing all seven days is a
    full weekly map. ``swapped_day_hours`` (default: the unit's Monday hours) apply
    on swapped working days, e.g. a Saturday worked in exchange for a day off.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: Annotated[str, AfterValidator(_valid_zone)] = "Asia/Ho_Chi_Minh"
    monday: Ranges = None
    tuesday: Ranges = None
    wednesday: Ranges = None
    thursday: Ranges = None
    friday: Ranges = None
    saturday: Ranges = None
    sunday: Ranges = None
    swapped_day_hours: Ranges = None
    public_holidays: bool = Field(default=True, description="close on Vietnamese public holidays")
    days_off: tuple[date, ...] = Field(default=(), description="declared extra days off")
    working_days: tuple[date, ...] = Field(default=(), description="declared swapped working days")

    @model_validator(mode="after")
    def _days_are_either_off_or_working(self) -> OfficeHours:
        both = sorted(set(self.days_off) & set(self.working_days))
        if both:
            raise ValueError(f"dates both off and working: {', '.join(map(str, both))}")
        return self

    def weekly(self) -> tuple[tuple[Minutes, ...], ...]:
        """Monday-first hours of the seven weekdays, defaults filled in."""
        days = []
        for index, name in enumerate(WEEKDAYS):
            given: tuple[str, ...] | None = getattr(self, name)
            default = DEFAULT_HOURS if index < 5 else ()
            days.append(parse_ranges(default if given is None else given))
        return tuple(days)

    def swapped(self) -> tuple[Minutes, ...]:
        given = self.swapped_day_hours
        return self.weekly()[0] if given is None else parse_ranges(given)


class DayKind(enum.StrEnum):
    """Why a date has the hours it has."""

    WORKING = "working"  # its weekday's hours (possibly none: a weekend)
    HOLIDAY = "holiday"  # public holiday from the holidays library
    DAY_OFF = "day_off"  # declared by the operator
    SWAPPED_WORKING = "swapped_working"  # a working day in exchange for a day off


@dataclass(frozen=True, slots=True)
class Day:
    """One local date of a calendar; ``hours`` in minutes after local midnight."""

    local_date: date
    kind: DayKind
    hours: tuple[Minutes, ...]
    name: str | None = None  # holiday name, in the calendar's language

    @property
    def open_seconds(self) -> int:
        return sum(end - start for start, end in self.hours) * 60


@functools.lru_cache(maxsize=64)
def _national_holidays(year: int, language: str) -> Mapping[date, str]:
    found = holidays.country_holidays("VN", years=year, language=language)
    return {day: str(name) for day, name in found.items()}


@functools.lru_cache(maxsize=64)
def _library_working_days(year: int) -> frozenset[date]:
    """Swapped working days in ``year`` (the library lists them only inside day-off labels).

    ``special_public_holidays`` maps a year to ``(to_month, to_day, from_month,
    from_day[, from_year])`` entries: the day off and the working day it swaps.
    """
    from holidays.countries.vietnam import VietnamStaticHolidays

    specials: Mapping[int, Any] = getattr(VietnamStaticHolidays, "special_public_holidays", {})
    found = set()
    for holiday_year in (year, year + 1):  # Dec 27 can be worked for Jan 2
        entries = specials.get(holiday_year, ())
        entries = (entries,) if entries and isinstance(entries[0], int) else entries
        for entry in entries:
            if len(entry) >= 4 and all(isinstance(part, int) for part in entry):
                from_year = entry[4] if len(entry) > 4 else holiday_year
                found.add(date(from_year, entry[2], entry[3]))
    return frozenset(day for day in found if day.year == year)


class Calendar:
    """Which local dates of one unit are working days, and their hours (cached)."""

    def __init__(
        self, hours: OfficeHours | None = None, *, language: Literal["vi", "en_US"] = "vi"
    ):
        self.hours = hours or OfficeHours()
        self.zone = ZoneInfo(self.hours.timezone)
        self.language = language
        self._weekly = self.hours.weekly()
        self._swapped = self.hours.swapped()
        self._days_off = frozenset(self.hours.days_off)
        self._working_days = frozenset(self.hours.working_days)
        self._cache: dict[date, Day] = {}

    def day(self, on: date) -> Day:
        """The hours of local date ``on`` and why."""
        found = self._cache.get(on)
        if found is None:
            found = self._cache[on] = self._resolve(on)
        return found

    def _resolve(self, on: date) -> Day:
        if on in self._days_off:
            return Day(on, DayKind.DAY_OFF, ())
        if on in self._working_days:
            return Day(on, DayKind.SWAPPED_WORKING, self._swapped)
        if self.hours.public_holidays:
            name = _national_holidays(on.year, self.language).get(on)
            if name is not None:
                return Day(on, DayKind.HOLIDAY, (), name)
            if on in _library_working_days(on.year):
                return Day(on, DayKind.SWAPPED_WORKING, self._swapped)
        return Day(on, DayKind.WORKING, self._weekly[on.weekday()])

    def clock(self) -> ServiceHoursClock:
        return ServiceHoursClock(self)


class ServiceHoursClock:
    """The service-hours :class:`~app.accounting.availability.Clock` of one calendar."""

    def __init__(self, calendar: Calendar | None = None):
        self.calendar = calendar or Calendar()
        self._utc: dict[date, tuple[tuple[datetime, datetime], ...]] = {}

    def _day_segments(self, on: date) -> tuple[tuple[datetime, datetime], ...]:
        found = self._utc.get(on)
        if found is None:
            midnight = datetime.combine(on, time(), tzinfo=self.calendar.zone)
            found = self._utc[on] = tuple(
                (_utc_at(midnight, start), _utc_at(midnight, end))
                for start, end in self.calendar.day(on).hours
            )
        return found

    def segments(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Open periods inside ``[start, end)`` in UTC: sorted, disjoint, touching ones merged."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        out: list[tuple[datetime, datetime]] = []
        if start >= end:
            return out
        zone = self.calendar.zone
        on, last = start.astimezone(zone).date(), end.astimezone(zone).date()
        while on <= last:
            for seg_start, seg_end in self._day_segments(on):
                lo, hi = max(seg_start, start), min(seg_end, end)
                if lo < hi:
                    if out and out[-1][1] == lo:
                        lo = out.pop()[0]
                    out.append((lo, hi))
            on += timedelta(days=1)
        return out


def _utc_at(midnight: datetime, minutes: int) -> datetime:
    # Aware + timedelta is wall-clock arithmetic; the offset is resolved on conversion,
    # so this stays right in zones with DST changes (Vietnam has none since 1975).
    return (midnight + timedelta(minutes=minutes)).astimezone(UTC)


def service_hours(calendar: OfficeHours | Mapping[str, Any] | None = None) -> ServiceHoursClock:
    """The service-hours clock of a unit's ``calendar:`` setting (``None`` = the default)."""
    if calendar is None or isinstance(calendar, OfficeHours):
        return ServiceHoursClock(Calendar(calendar))
    return ServiceHoursClock(Calendar(OfficeHours.model_validate(calendar)))


def inherit(
    province: Mapping[str, Any] | None, unit: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """A unit's calendar with the province's declared ``days_off``/``working_days`` added.

    The unit's own keys win; a date the unit declares working is not off, and the
    other way round.
    """
    if not province or not (province.get("days_off") or province.get("working_days")):
        return None if unit is None else dict(unit)
    merged = dict(unit or {})
    own_off = {str(d) for d in merged.get("days_off", ())}
    own_working = {str(d) for d in merged.get("working_days", ())}
    off = own_off | ({str(d) for d in province.get("days_off", ())} - own_working)
    working = own_working | ({str(d) for d in province.get("working_days", ())} - own_off)
    merged["days_off"], merged["working_days"] = sorted(off), sorted(working)
    return merged


def stale_from(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, today: date
) -> date | None:
    """The first past day whose service hours a calendar change alters; ``None`` if none.

    Declared days (days off, working days) change the days they name. Weekly hours
    and other settings apply from today: history is not rewritten by them.
    """
    if (old or None) == (new or None):
        return None

    def declared(calendar: Mapping[str, Any] | None) -> set[str]:
        calendar = calendar or {}
        return {f"o{d}" for d in calendar.get("days_off", ())} | {
            f"w{d}" for d in calendar.get("working_days", ())
        }

    changed = {date.fromisoformat(str(d)[1:]) for d in declared(old) ^ declared(new)}
    return min([today, *changed])
