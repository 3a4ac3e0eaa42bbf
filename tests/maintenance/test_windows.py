"""Occurrences of one-off and recurring windows, and which checks are in one now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.maintenance.windows import (
    Window,
    _Fields,
    active_maintenance,
    last_end,
    parse_rrule,
    rule_near,
)

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


# --- cost bounded by the time asked about, not by the rule's age -------------------

_FREQS = ["MINUTELY", "HOURLY", "DAILY", "WEEKLY"]


def test_frequencies_finer_than_a_minute_are_refused() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="finer than a minute"):
        parse_rrule("FREQ=SECONDLY", start, "Asia/Ho_Chi_Minh")
    with pytest.raises(ValueError, match="COUNT"):
        parse_rrule("FREQ=MINUTELY;COUNT=10001", start, "Asia/Ho_Chi_Minh")


def test_an_old_rule_is_reanchored_next_to_the_instant_asked_about() -> None:
    """A minutely rule started 50 years ago is not walked from its start.

    Without re-anchoring, ``dateutil`` walks ~26 million occurrences per question
    (the reported freeze of /healthz); the anchor must land within two periods.
    """
    start = datetime(1976, 1, 1, 8, tzinfo=UTC)  # +07:00 since 1975 (the grid is local time)
    rule = parse_rrule("FREQ=MINUTELY;INTERVAL=7", start, "Asia/Ho_Chi_Minh")
    asked = datetime(2026, 12, 3, 9, 41, 13)
    moved = _Fields.of(rule_near(rule, asked))
    assert asked - timedelta(minutes=14) <= moved.dtstart <= asked
    assert (moved.dtstart - _Fields.of(rule).dtstart) % timedelta(minutes=7) == timedelta(0)
    window = Window(start, start + timedelta(minutes=2), frozenset({1}), "FREQ=MINUTELY;INTERVAL=7")
    now = datetime(2026, 12, 3, 2, 40, tzinfo=UTC)
    spans = window.occurrences(now, now + timedelta(minutes=30))
    assert len(spans) in (4, 5)
    assert all((a - start) % timedelta(minutes=7) == timedelta(0) for a, _ in spans)


def test_until_rules_find_their_last_occurrence_without_walking_from_the_start() -> None:
    start = datetime(1970, 1, 1, 1, tzinfo=UTC)
    end = last_end(
        start, start + timedelta(minutes=5), "FREQ=MINUTELY;UNTIL=20261203T080000", "UTC"
    )
    assert end == datetime(2026, 12, 3, 8, 5, tzinfo=UTC)


@settings(max_examples=150, deadline=None)
@given(
    freq=st.sampled_from(_FREQS),
    interval=st.integers(1, 5),
    by_hour=st.sampled_from(["", ";BYHOUR=8,13", ";BYDAY=MO,WE;BYHOUR=9"]),
    age=st.timedeltas(timedelta(0), timedelta(days=40)),
    asked=st.timedeltas(timedelta(0), timedelta(days=3)),
    length=st.timedeltas(timedelta(minutes=1), timedelta(hours=3)),
)
def test_reanchoring_keeps_every_occurrence(
    freq: str, interval: int, by_hour: str, age: timedelta, asked: timedelta, length: timedelta
) -> None:
    """Re-anchored answers equal dateutil's walk from the original start."""
    if freq == "MINUTELY" and by_hour:
        by_hour = ""
    text = f"FREQ={freq};INTERVAL={interval}{by_hour}"
    start = datetime(2026, 1, 1, 1, 30, tzinfo=UTC) - age
    window = Window(start, start + length, frozenset({1}), text, "Asia/Ho_Chi_Minh")
    lo = datetime(2026, 1, 1, tzinfo=UTC) + asked
    hi = lo + timedelta(hours=30)
    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    try:
        rule = parse_rrule(text, start, "Asia/Ho_Chi_Minh")
    except ValueError:  # dateutil refuses BYxxx that can never match (e.g. 2-hourly at 9)
        assume(False)
    naive_lo = (lo - length).astimezone(zone).replace(tzinfo=None) - timedelta(seconds=1)
    naive_hi = hi.astimezone(zone).replace(tzinfo=None)
    walked = [
        (b, b + length)
        for b in (
            x.replace(tzinfo=zone).astimezone(UTC)
            for x in rule.between(naive_lo, naive_hi, inc=True)
        )
        if b < hi and b + length > lo
    ]
    assert window.occurrences(lo, hi) == walked
