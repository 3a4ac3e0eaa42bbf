"""Occurrences of one-off and recurring windows, and which checks are in one now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.maintenance.windows import Window, active_maintenance, last_end, parse_rrule

VN = ZoneInfo("Asia/Ho_Chi_Minh")
SUNDAY_22 = datetime(2026, 5, 3, 22, 0, tzinfo=VN)  # the first Sunday of May 2026


def test_one_off_window_overlaps_only_its_span() -> None:
    start = datetime(2026, 5, 12, 1, tzinfo=UTC)
    window = Window(start, start + timedelta(hours=2), frozenset({1}))
    assert window.occurrences(start - timedelta(days=1), start) == []
    assert window.occurrences(start + timedelta(hours=1), start + timedelta(days=1)) == [
        (start, start + timedelta(hours=2))
    ]


def test_weekly_rule_recurs_in_local_time() -> None:
    window = Window(
        SUNDAY_22, SUNDAY_22 + timedelta(hours=1), frozenset({1}), rrule="FREQ=WEEKLY;BYDAY=SU"
    )
    may = window.occurrences(datetime(2026, 5, 1, tzinfo=VN), datetime(2026, 6, 1, tzinfo=VN))
    assert [a.astimezone(VN).day for a, _ in may] == [3, 10, 17, 24, 31]
    assert all(a.astimezone(VN).hour == 22 and b - a == timedelta(hours=1) for a, b in may)


def test_an_occurrence_under_way_at_the_start_is_found() -> None:
    window = Window(SUNDAY_22, SUNDAY_22 + timedelta(hours=3), frozenset({1}), rrule="FREQ=DAILY")
    inside = datetime(2026, 5, 5, 0, 30, tzinfo=VN)  # 22:00 on the 4th + 3 h reaches 01:00
    assert window.occurrences(inside, inside + timedelta(minutes=1))
    assert active_maintenance([window], inside) == {1}
    assert active_maintenance([window], inside + timedelta(hours=1)) == set()


def test_active_maintenance_unions_covered_checks() -> None:
    now = datetime(2026, 5, 12, 2, tzinfo=UTC)
    windows = [
        Window(now - timedelta(hours=1), now + timedelta(hours=1), frozenset({1, 2})),
        Window(now, now + timedelta(minutes=5), frozenset({3})),
        Window(now + timedelta(minutes=5), now + timedelta(hours=1), frozenset({4})),
        Window(now - timedelta(hours=1), now, frozenset({5})),  # half-open: over at now
    ]
    assert active_maintenance(windows, now) == {1, 2, 3}


def test_last_end_of_bounded_and_unbounded_rules() -> None:
    end = SUNDAY_22 + timedelta(hours=1)
    assert last_end(SUNDAY_22, end, None, "Asia/Ho_Chi_Minh") == end
    assert last_end(SUNDAY_22, end, "FREQ=WEEKLY;BYDAY=SU", "Asia/Ho_Chi_Minh") is None
    bounded = last_end(SUNDAY_22, end, "FREQ=WEEKLY;BYDAY=SU;COUNT=3", "Asia/Ho_Chi_Minh")
    assert bounded == datetime(2026, 5, 17, 23, tzinfo=VN)


@pytest.mark.parametrize("rule", ["FREQ=SOMETIMES", "BYDAY=XX", "not a rule"])
def test_invalid_rules_are_refused(rule: str) -> None:
    with pytest.raises(ValueError):
        parse_rrule(rule, SUNDAY_22, "Asia/Ho_Chi_Minh")
