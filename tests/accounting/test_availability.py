"""Hand-computed accounting on the 24/7 clock and on service hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.accounting.availability import (
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
from app.accounting.calendar import service_hours

T0 = datetime(2026, 5, 4, 0, 0, tzinfo=UTC)
HOUR = 3600.0
HCM = ZoneInfo("Asia/Ho_Chi_Minh")
OFFICE = service_hours()


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def vn(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=HCM).astimezone(UTC)


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

    def test_same_instant_flips_do_not_split_an_outage(self) -> None:
        flips = [(h(1), "down"), (h(2), "up"), (h(2), "down"), (h(3), "up"), (h(3), "up")]
        got = outages("up", flips, h(0), h(5))
        assert got == [Outage(h(1), h(3), 2 * HOUR, False, False)]
        assert summarise("up", flips, h(0), h(5)).incidents == 1

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


class TestServiceHoursScenarios:
    """Hand-computed: default office hours 07:30–11:30 and 13:30–17:00, Vietnam time."""

    def test_outage_across_the_lunch_break(self) -> None:
        flips = [(vn(2026, 5, 5, 11), "down"), (vn(2026, 5, 5, 14), "up")]  # a Tuesday
        day = (vn(2026, 5, 5), vn(2026, 5, 6))
        office = summarise("up", flips, *day, OFFICE)
        always = summarise("up", flips, *day)
        assert office.downtime_minutes == 30 + 30
        assert always.downtime_minutes == 180
        assert office.availability == pytest.approx((7.5 * 60 - 60) / (7.5 * 60))
        assert (office.incidents, always.incidents) == (1, 1)
        assert office.mttr_seconds == always.mttr_seconds == 3 * HOUR
        assert office.mttr_counted_seconds == HOUR
        assert office.longest_outage_seconds == HOUR

    def test_night_outage_is_neither_an_incident_nor_in_the_mttr_on_service_hours(
        self,
    ) -> None:
        """Issue 12: "Số sự cố 0" next to an MTTR from night incidents; count and MTTR
        follow the same clock."""
        flips = [
            (vn(2026, 5, 5, 2), "down"),  # Tuesday 02:00–03:00: night
            (vn(2026, 5, 5, 3), "up"),
            (vn(2026, 5, 5, 9), "down"),  # 09:00–09:30: office hours
            (vn(2026, 5, 5, 9, 30), "up"),
        ]
        day = (vn(2026, 5, 5), vn(2026, 5, 6))
        office = summarise("up", flips, *day, OFFICE)
        always = summarise("up", flips, *day)
        assert (office.incidents, always.incidents) == (1, 2)
        assert office.mttr_seconds == office.mttr_counted_seconds == 0.5 * HOUR
        assert always.mttr_seconds == 0.75 * HOUR
        night = summarise("up", flips[:2], *day, OFFICE)
        assert (night.incidents, night.mttr_seconds, night.mttr_counted_seconds) == (0, None, None)

    def test_outage_on_tet_costs_no_service_hours(self) -> None:
        flips = [(vn(2026, 2, 17, 8), "down"), (vn(2026, 2, 17, 16), "up")]
        window = (vn(2026, 2, 16), vn(2026, 2, 21))
        office = summarise("up", flips, *window, OFFICE)
        assert (office.down_seconds, office.incidents, office.clock_seconds) == (0, 0, 0)
        assert office.availability is None
        assert len(office.outages) == 1
        assert office.outages[0].counted_seconds == 0
        assert summarise("up", flips, *window).downtime_minutes == 8 * 60

    def test_outage_inside_a_maintenance_window(self) -> None:
        flips = [(vn(2026, 5, 5, 9), "down"), (vn(2026, 5, 5, 10), "up")]
        init, laid = overlay(
            "up", flips, [(vn(2026, 5, 5, 8, 30), vn(2026, 5, 5, 10, 30))], "maintenance"
        )
        s = summarise(init, laid, vn(2026, 5, 5), vn(2026, 5, 6), OFFICE)
        assert (s.down_seconds, s.incidents, s.maintenance_seconds) == (0, 0, 2 * HOUR)
        assert s.up_seconds == 5.5 * HOUR
        assert s.availability == 1.0

    def test_outage_running_out_of_a_maintenance_window_counts_the_rest(self) -> None:
        flips = [(vn(2026, 5, 5, 10), "down"), (vn(2026, 5, 5, 12), "up")]
        init, laid = overlay("up", flips, [(vn(2026, 5, 5, 9), vn(2026, 5, 5, 11))], "maintenance")
        office = summarise(init, laid, vn(2026, 5, 5), vn(2026, 5, 6), OFFICE)
        assert office.downtime_minutes == 30  # 11:00–11:30; lunch is not counted
        assert summarise(init, laid, vn(2026, 5, 5), vn(2026, 5, 6)).downtime_minutes == 60

    def test_outage_still_open_at_the_end_of_the_report(self) -> None:
        flips = [(vn(2026, 5, 8, 15), "down")]  # Friday 15:00, never restored
        week = (vn(2026, 5, 4), vn(2026, 5, 9))
        office = summarise("up", flips, *week, OFFICE)
        assert office.down_seconds == 2 * HOUR
        assert office.incidents == 1
        assert office.outages[0].open_at_end
        assert office.mttr_seconds is None
        assert office.availability == pytest.approx(35.5 / 37.5)
        assert summarise("up", flips, *week).down_seconds == 9 * HOUR

    def test_outage_across_a_month_boundary(self) -> None:
        flips = [(vn(2026, 6, 30, 16), "down"), (vn(2026, 7, 1, 9), "up")]  # Tue → Wed
        june = summarise("up", flips, vn(2026, 6, 1), vn(2026, 7, 1), OFFICE)
        july = summarise("up", flips, vn(2026, 7, 1), vn(2026, 8, 1), OFFICE)
        assert (june.down_seconds, july.down_seconds) == (1 * HOUR, 1.5 * HOUR)
        assert (june.incidents, july.incidents) == (1, 1)
        assert june.outages[0].open_at_end and july.outages[0].open_at_start
        assert june.mttr_seconds is None
        assert july.mttr_seconds == 17 * HOUR  # from its real start on 30/6
        assert july.mttr_counted_seconds == 2.5 * HOUR
        june247 = summarise("up", flips, vn(2026, 6, 1), vn(2026, 7, 1))
        assert june247.down_seconds == 8 * HOUR

    def test_swapped_working_saturday(self) -> None:
        flips = [(vn(2026, 5, 9, 8), "down"), (vn(2026, 5, 9, 9), "up")]
        day = (vn(2026, 5, 9), vn(2026, 5, 10))
        swapped = service_hours({"working_days": ["2026-05-09"]})
        assert summarise("up", flips, *day, swapped).downtime_minutes == 60
        assert summarise("up", flips, *day, swapped).clock_seconds == 7.5 * HOUR
        assert summarise("up", flips, *day, OFFICE).downtime_minutes == 0

    def test_monitor_down_for_an_hour(self) -> None:
        gap = [(vn(2026, 5, 5, 9), vn(2026, 5, 5, 10))]
        day = (vn(2026, 5, 5), vn(2026, 5, 6))
        init, laid = overlay("up", [], gap, "unknown")
        s = summarise(init, laid, *day, OFFICE)
        assert (s.unknown_seconds, s.up_seconds, s.availability) == (HOUR, 6.5 * HOUR, 1.0)
        # Down 08:00–12:00 with the monitor blind 09:00–10:00: two known outages.
        flips = [(vn(2026, 5, 5, 8), "down"), (vn(2026, 5, 5, 12), "up")]
        init, laid = overlay("up", flips, gap, "unknown")
        s = summarise(init, laid, *day, OFFICE)
        assert (s.down_seconds, s.unknown_seconds) == (2.5 * HOUR, HOUR)
        assert s.incidents == 2
        assert s.availability == pytest.approx(4 / 6.5)

    def test_service_state_is_the_worst_of_its_checks_on_service_hours(self) -> None:
        web = ("up", [(vn(2026, 5, 5, 11), "down"), (vn(2026, 5, 5, 11, 15), "up")])
        kiosk = ("up", [(vn(2026, 5, 5, 11, 10), "down"), (vn(2026, 5, 5, 14), "up")])
        init, merged = worst_timeline([web, kiosk])
        s = summarise(init, merged, vn(2026, 5, 5), vn(2026, 5, 6), OFFICE)
        assert s.downtime_minutes == 30 + 30
        assert s.incidents == 1


def test_docs_carry_the_rules_verbatim() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "accounting.md").read_text(encoding="utf-8")
    assert RULES_VI in doc
    assert RULES_EN in doc
