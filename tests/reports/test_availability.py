"""Hand-computed accounting on the 24/7 clock and on service hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.reports.availability import (
    ALWAYS,
    RULES_EN,
    RULES_VI,
    SEVERITY,
    Outage,
    availability,
    clock_seconds,
    outages,
    overlay,
    state_durations,
    summarise,
    worst_timeline,
)

T0 = datetime(2026, 5, 4, 0, 0, tzinfo=UTC)
HOUR = 3600.0


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


class TestStateDurations:
    def test_no_flips_counts_the_initial_state(self) -> None:
        got = state_durations("up", [], h(0), h(10))
        assert got == {"up": 36000.0, "degraded": 0, "down": 0, "maintenance": 0, "unknown": 0}

    def test_flips_inside_the_window(self) -> None:
        flips = [(h(1), "down"), (h(3), "degraded"), (h(4), "up")]
        got = state_durations("up", flips, h(0), h(10))
        assert got["up"] == 7 * HOUR
        assert got["down"] == 2 * HOUR
        assert got["degraded"] == 1 * HOUR

    def test_flips_before_the_window_set_the_starting_state(self) -> None:
        flips = [(h(-5), "down"), (h(-1), "unknown"), (h(2), "up")]
        got = state_durations("up", flips, h(0), h(4))
        assert got["unknown"] == 2 * HOUR
        assert got["up"] == 2 * HOUR
        assert got["down"] == 0

    def test_flips_after_the_window_are_ignored(self) -> None:
        got = state_durations("up", [(h(5), "down")], h(0), h(4))
        assert got["up"] == 4 * HOUR
        assert got["down"] == 0

    def test_flip_exactly_at_start_applies_and_at_end_does_not(self) -> None:
        got = state_durations("up", [(h(0), "down"), (h(4), "up")], h(0), h(4))
        assert got["down"] == 4 * HOUR
        assert got["up"] == 0

    def test_unsorted_flips_are_ordered_and_same_instant_last_wins(self) -> None:
        flips = [(h(3), "up"), (h(1), "degraded"), (h(1), "down")]
        got = state_durations("up", flips, h(0), h(4))
        assert got["down"] == 2 * HOUR
        assert got["degraded"] == 0

    def test_empty_or_inverted_window_is_zero(self) -> None:
        assert sum(state_durations("down", [], h(2), h(2)).values()) == 0
        assert sum(state_durations("down", [], h(3), h(2)).values()) == 0

    def test_other_time_zones_are_the_same_instant(self) -> None:
        hcm = ZoneInfo("Asia/Ho_Chi_Minh")
        flips = [(h(1).astimezone(hcm), "down"), (h(2), "up")]
        got = state_durations("up", flips, h(0).astimezone(hcm), h(3))
        assert got["down"] == HOUR

    def test_bad_input_is_refused(self) -> None:
        with pytest.raises(ValueError, match="unknown state"):
            state_durations("sideways", [], h(0), h(1))
        with pytest.raises(ValueError, match="unknown state"):
            state_durations("up", [(h(0), "offline")], h(0), h(1))
        with pytest.raises(ValueError, match="naive"):
            state_durations("up", [], datetime(2026, 1, 1), h(1))


class TestAvailability:
    def test_ratio_counts_degraded_as_available(self) -> None:
        got = availability({"up": 60.0, "degraded": 30.0, "down": 10.0, "unknown": 500.0})
        assert got == pytest.approx(0.9)

    def test_none_when_nothing_measured(self) -> None:
        assert availability({"up": 0.0, "down": 0.0, "maintenance": 100.0}) is None
        assert availability({}) is None

    def test_all_down_is_zero(self) -> None:
        assert availability({"down": 5.0}) == 0.0


class TestOutages:
    def test_maximal_intervals_merge_repeated_down_flips(self) -> None:
        flips = [(h(1), "down"), (h(2), "down"), (h(3), "up"), (h(5), "down"), (h(6), "up")]
        got = outages("up", flips, h(0), h(10))
        assert got == [
            Outage(h(1), h(3), 2 * HOUR, False, False),
            Outage(h(5), h(6), HOUR, False, False),
        ]

    def test_clipped_to_the_window_and_flags_open_ends(self) -> None:
        flips = [(h(-2), "down"), (h(1), "up"), (h(3), "down"), (h(9), "up")]
        got = outages("up", flips, h(0), h(5))
        assert got == [
            Outage(h(0), h(1), HOUR, True, False),
            Outage(h(3), h(5), 2 * HOUR, False, True),
        ]

    def test_down_to_unknown_ends_the_outage(self) -> None:
        flips = [(h(1), "down"), (h(2), "unknown"), (h(3), "down"), (h(4), "up")]
        got = outages("up", flips, h(0), h(5))
        assert [(o.start, o.end) for o in got] == [(h(1), h(2)), (h(3), h(4))]

    def test_outages_outside_the_window_are_left_out(self) -> None:
        flips = [(h(1), "down"), (h(2), "up"), (h(8), "down")]
        assert outages("up", flips, h(3), h(8)) == []


class TestOverlay:
    def test_overlay_wins_and_underlying_resumes(self) -> None:
        flips = [(h(1), "down"), (h(5), "up")]
        initial, got = overlay("up", flips, [(h(2), h(3))], "maintenance")
        assert initial == "up"
        assert got == [(h(1), "down"), (h(2), "maintenance"), (h(3), "down"), (h(5), "up")]

    def test_underlying_change_during_overlay_shows_after_it(self) -> None:
        flips = [(h(1), "down"), (h(2), "up")]
        _, got = overlay("up", flips, [(h(0.5), h(3))], "unknown")
        assert got == [(h(0.5), "unknown"), (h(3), "up")]

    def test_overlapping_and_touching_windows_merge(self) -> None:
        windows = [(h(1), h(3)), (h(2), h(4)), (h(4), h(5)), (h(7), h(7))]
        _, got = overlay("up", [], windows, "maintenance")
        assert got == [(h(1), "maintenance"), (h(5), "up")]

    def test_overlay_that_started_before_the_history(self) -> None:
        initial, got = overlay("down", [(h(2), "up")], [(h(-1), h(1))], "maintenance")
        assert (initial, got) == ("down", [(h(-1), "maintenance"), (h(1), "down"), (h(2), "up")])

    def test_state_durations_after_overlay(self) -> None:
        init, flips = overlay("up", [(h(1), "down"), (h(5), "up")], [(h(2), h(4))], "maintenance")
        got = state_durations(init, flips, h(0), h(6))
        assert (got["down"], got["maintenance"], got["up"]) == (2 * HOUR, 2 * HOUR, 2 * HOUR)


class TestWorstTimeline:
    def test_severity_order_is_documented_order(self) -> None:
        ranked = sorted(SEVERITY, key=SEVERITY.__getitem__, reverse=True)
        assert ranked == ["down", "unknown", "maintenance", "degraded", "up"]

    def test_worst_at_each_instant(self) -> None:
        a = ("up", [(h(1), "down"), (h(3), "up")])
        b = ("up", [(h(2), "degraded"), (h(4), "up")])
        c = ("maintenance", [(h(0.5), "up")])
        initial, got = worst_timeline([a, b, c])
        assert initial == "maintenance"
        assert got == [(h(0.5), "up"), (h(1), "down"), (h(3), "degraded"), (h(4), "up")]

    def test_simultaneous_changes_give_one_flip(self) -> None:
        a = ("up", [(h(1), "down"), (h(2), "up")])
        b = ("down", [(h(1), "up"), (h(2), "down")])
        assert worst_timeline([a, b]) == ("down", [])

    def test_no_timelines_is_unknown(self) -> None:
        assert worst_timeline([]) == ("unknown", [])


class TestSummary247:
    def test_incidents_mttr_and_longest(self) -> None:
        flips = [
            (h(-3), "down"),
            (h(1), "up"),  # began before: 4 h wall-clock to restore, 1 h in the window
            (h(2), "down"),
            (h(2.5), "up"),  # 30 min
            (h(5), "down"),  # still open at the end of the window
        ]
        s = summarise("up", flips, h(0), h(8))
        assert s.clock_seconds == 8 * HOUR
        assert s.down_seconds == 1.5 * HOUR + 3 * HOUR
        assert s.up_seconds == 3.5 * HOUR
        assert s.downtime_minutes == 270
        assert s.incidents == 3
        assert s.mttr_seconds == (4 * HOUR + 0.5 * HOUR) / 2
        assert s.mttr_counted_seconds == s.mttr_seconds
        assert s.longest_outage == Outage(h(5), h(8), 3 * HOUR, False, True)
        assert s.longest_outage_seconds == 3 * HOUR
        assert s.availability == pytest.approx(3.5 / 8)

    def test_nothing_happened(self) -> None:
        s = summarise("up", [], h(0), h(1))
        assert (s.incidents, s.mttr_seconds, s.longest_outage, s.availability) == (0, None, None, 1)

    def test_open_outage_with_unknown_beginning_is_measured_from_the_window(self) -> None:
        s = summarise("down", [(h(2), "up")], h(0), h(4))
        assert s.mttr_seconds == 2 * HOUR
        assert s.outages[0].open_at_start


def test_clock_seconds_on_always() -> None:
    assert clock_seconds(ALWAYS, h(0), h(2)) == 7200
    assert clock_seconds(ALWAYS, h(2), h(0)) == 0


def test_rules_are_written_in_both_languages() -> None:
    assert "Tỷ lệ khả dụng" in RULES_VI
    assert "bảo trì" in RULES_VI
    assert "Availability =" in RULES_EN
    assert RULES_VI.count("\n") == RULES_EN.count("\n")
