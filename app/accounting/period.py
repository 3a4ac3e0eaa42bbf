"""Report periods: whole local days in Asia/Ho_Chi_Minh, ``[first, end)``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from app.errors import Unprocessable

PeriodName = Literal["day", "week", "month", "quarter", "year"]
_AT = re.compile(r"^(\d{4})(?:-(Q[1-4]|W\d{2}|\d{2})(?:-(\d{2}))?)?$")


@dataclass(frozen=True, slots=True)
class Period:
    first: date
    end: date  # exclusive
    label: str

    def months(self) -> tuple[list[date], list[tuple[date, date]]]:
        """Whole months inside, and the day ranges left over at either edge."""
        month = self.first if self.first.day == 1 else _next_month(self.first)
        whole = []
        while _next_month(month) <= self.end:
            whole.append(month)
            month = _next_month(month)
        if not whole:
            return [], [(self.first, self.end)]
        edges = [(self.first, whole[0]), (_next_month(whole[-1]), self.end)]
        return whole, [(a, b) for a, b in edges if a < b]


def _next_month(on: date) -> date:
    return date(on.year + on.month // 12, on.month % 12 + 1, 1)


def _bad(text: str) -> Unprocessable:
    return Unprocessable(
        f"Kỳ báo cáo {text!r} không hợp lệ; ví dụ: 2026, 2026-Q2, 2026-05, 2026-W19, 2026-05-04 "
        "(invalid period)."
    )


# Reports cover days in this range; outside it a period's end (or its UTC bounds)
# would step past what datetime can hold.
EARLIEST_DAY = date(1970, 1, 1)
LATEST_DAY = date(9000, 1, 1)


def resolve(
    period: PeriodName | None, at: str | None, first: date | None, to: date | None, today: date
) -> Period:
    """``period`` + ``at`` (default: the one holding ``today``), or ``from``/``to`` inclusive;
    422 for a period outside [1970-01-01, 9000-01-01)."""
    try:
        found = _resolve(period, at, first, to, today)
    except (ValueError, OverflowError):  # a step past year 9999
        found = None
    if found is None or found.first < EARLIEST_DAY or found.end > LATEST_DAY:
        raise Unprocessable(
            f"Kỳ báo cáo phải nằm trong [{EARLIEST_DAY}, {LATEST_DAY}) "
            f"(the period must lie within [{EARLIEST_DAY}, {LATEST_DAY}))."
        )
    return found


def _resolve(
    period: PeriodName | None, at: str | None, first: date | None, to: date | None, today: date
) -> Period:
    if first is not None or to is not None:
        if first is None or to is None or to < first:
            raise Unprocessable(
                "Cần cả `from` và `to`, với `from` ≤ `to` (both from and to, from ≤ to)."
            )
        return Period(first, to + timedelta(days=1), f"{first.isoformat()}..{to.isoformat()}")
    name = period or "month"
    anchor = _anchor(at, today)
    if name == "day":
        return Period(anchor, anchor + timedelta(days=1), anchor.isoformat())
    if name == "week":
        monday = anchor - timedelta(days=anchor.weekday())
        iso = monday.isocalendar()
        return Period(monday, monday + timedelta(days=7), f"{iso.year}-W{iso.week:02d}")
    if name == "month":
        start = anchor.replace(day=1)
        return Period(start, _next_month(start), start.strftime("%Y-%m"))
    if name == "quarter":
        start = date(anchor.year, (anchor.month - 1) // 3 * 3 + 1, 1)
        end = _next_month(_next_month(_next_month(start)))
        return Period(start, end, f"{start.year}-Q{(start.month - 1) // 3 + 1}")
    return Period(date(anchor.year, 1, 1), date(anchor.year + 1, 1, 1), str(anchor.year))


def _anchor(at: str | None, today: date) -> date:
    if at is None:
        return today
    match = _AT.match(at.strip())
    if match is None:
        raise _bad(at)
    year, middle, day = match.groups()
    try:
        if middle is None:
            return date(int(year), 1, 1)
        if middle.startswith("Q"):
            return date(int(year), (int(middle[1]) - 1) * 3 + 1, 1)
        if middle.startswith("W"):
            return date.fromisocalendar(int(year), int(middle[1:]), 1)
        return date(int(year), int(middle), int(day or 1))
    except ValueError:
        raise _bad(at) from None
