"""Properties of the accounting that must hold for any history, window and clock."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.accounting.availability import (
    ALWAYS,
    SEVERITY,
    STATES,
    Clock,
    StateChange,
    availability,
    clock_seconds,
    outages,
    overlay,
    state_durations,
    summarise,
    worst_timeline,
)
from app.accounting.calendar import service_hours

# Around Tết 2026, around the swapped Saturday of August 2026, and an ordinary week.
BASES = [datetime(2026, 2, 12, tzinfo=UTC), datetime(2026, 8, 20, tzinfo=UTC),
         datetime(2026, 5, 4, tzinfo=UTC)]  # fmt: skip
CLOCKS: dict[str, Clock] = {
    "24/7": ALWAYS,
    "office": service_hours(),
    "unit": service_hours(
        {
            "saturday": ["07:30-11:30"],
            "sunday": ["00:00-24:00"],
            "days_off": ["2026-05-05", "2026-08-24"],
            "working_days": ["2026-02-21"],
        }
    ),
    "tokyo": service_hours({"timezone": "Asia/Tokyo", "wednesday": ["22:00-24:00"]}),
}

states = st.sampled_from(STATES)
# Coarse offsets too, so that flips often share an instant or meet a window's edge.
seconds = st.one_of(
    st.integers(min_value=-3 * 86400, max_value=6 * 86400),
    st.integers(min_value=-3 * 144, max_value=6 * 144).map(lambda k: k * 600),
)
flip_offsets = st.lists(st.tuples(seconds, states), max_size=25)
clocks = st.sampled_from(sorted(CLOCKS))


def at(base: datetime, offset: int) -> datetime:
    return base + timedelta(seconds=offset)


def state_at(initial: str, flips: Sequence[StateChange], moment: datetime) -> str:
    """Reference: the state given by the last flip at or before ``moment``."""
    ordered = sorted(flips, key=lambda f: f[0])
    index = bisect.bisect_right([f[0] for f in ordered], moment)
    return ordered[index - 1][1] if index else initial


@given(
    base=st.sampled_from(BASES),
    initial=states,
    raw=flip_offsets,
    start=seconds,
    length=st.integers(min_value=0, max_value=5 * 86400),
    name=clocks,
)
@settings(deadline=None)
def test_states_add_up_to_the_clock(
    base: datetime, initial: str, raw: list[tuple[int, str]], start: int, length: int, name: str
) -> None:
    clock, flips = CLOCKS[name], [(at(base, o), s) for o, s in raw]
    lo, hi = at(base, start), at(base, start + length)
    spent = state_durations(initial, flips, lo, hi, clock)
    assert set(spent) == set(STATES)
    assert all(v >= 0 for v in spent.values())
    assert sum(spent.values()) == pytest.approx(clock_seconds(clock, lo, hi), abs=1e-6)
    ratio = availability(spent)
    assert ratio is None or 0 <= ratio <= 1
    assert (ratio is None) == (spent["up"] + spent["degraded"] + spent["down"] == 0)


@given(
    base=st.sampled_from(BASES),
    start=seconds,
    length=st.integers(min_value=-86400, max_value=8 * 86400),
    name=clocks,
)
@settings(deadline=None)
def test_segments_are_sorted_disjoint_and_inside(
    base: datetime, start: int, length: int, name: str
) -> None:
    lo, hi = at(base, start), at(base, start + length)
    got = CLOCKS[name].segments(lo, hi)
    assert all(lo <= a < b <= hi for a, b in got)
    assert all(b1 < a2 for (_, b1), (a2, _) in itertools.pairwise(got))


@given(
    base=st.sampled_from(BASES),
    initial=states,
    raw=flip_offsets,
    start=seconds,
    length=st.integers(min_value=0, max_value=5 * 86400),
    name=clocks,
)
@settings(deadline=None)
def test_outages_and_summary_agree_with_the_durations(
    base: datetime, initial: str, raw: list[tuple[int, str]], start: int, length: int, name: str
) -> None:
    clock, flips = CLOCKS[name], [(at(base, o), s) for o, s in raw]
    lo, hi = at(base, start), at(base, start + length)
    found = outages(initial, flips, lo, hi, clock)
    summary = summarise(initial, flips, lo, hi, clock)
    assert sum(o.counted_seconds for o in found) == pytest.approx(summary.down_seconds, abs=1e-6)
    assert all(lo <= o.start < o.end <= hi for o in found)
    assert all(a.end < b.start for a, b in itertools.pairwise(found))
    assert all(state_at(initial, flips, o.start) == "down" for o in found)
    assert summary.incidents == sum(1 for o in found if o.counted_seconds > 0)
    assert summary.longest_outage_seconds <= summary.down_seconds + 1e-6
    assert summary.downtime_minutes * 60 == pytest.approx(summary.down_seconds)
    if summary.mttr_seconds is not None and summary.mttr_counted_seconds is not None:
        assert summary.mttr_counted_seconds <= summary.mttr_seconds + 1e-6


@given(
    base=st.sampled_from(BASES),
    initial=states,
    raw=st.lists(st.tuples(st.integers(-600, 3000), states), max_size=20),
    start=st.integers(-600, 2000),
    length=st.integers(0, 1500),
    name=clocks,
)
@settings(deadline=None, max_examples=60)
def test_matches_minute_by_minute_counting(
    base: datetime, initial: str, raw: list[tuple[int, str]], start: int, length: int, name: str
) -> None:
    clock = CLOCKS[name]
    flips = [(base + timedelta(minutes=o), s) for o, s in raw]
    lo = base + timedelta(minutes=start)
    hi = lo + timedelta(minutes=length)
    counted = {s: 0.0 for s in STATES}
    segments = clock.segments(lo, hi)
    starts = [a for a, _ in segments]
    for minute in range(length):
        moment = lo + timedelta(minutes=minute)
        index = bisect.bisect_right(starts, moment) - 1
        if index >= 0 and moment < segments[index][1]:
            counted[state_at(initial, flips, moment)] += 60
    assert state_durations(initial, flips, lo, hi, clock) == counted


@given(
    base=st.sampled_from(BASES),
    initial=states,
    raw=flip_offsets,
    windows=st.lists(st.tuples(seconds, st.integers(0, 86400)), max_size=4),
    layer=st.sampled_from(["maintenance", "unknown"]),
    probes=st.lists(seconds, min_size=1, max_size=20),
)
@settings(deadline=None)
def test_overlay_wins_while_active_and_the_state_resumes(
    base: datetime,
    initial: str,
    raw: list[tuple[int, str]],
    windows: list[tuple[int, int]],
    layer: str,
    probes: list[int],
) -> None:
    flips = [(at(base, o), s) for o, s in raw]
    spans = [(at(base, s), at(base, s + n)) for s, n in windows]
    new_initial, laid = overlay(initial, flips, spans, layer)
    for offset in probes:
        moment = at(base, offset)
        inside = any(a <= moment < b for a, b in spans)
        expected = layer if inside else state_at(initial, flips, moment)
        assert state_at(new_initial, laid, moment) == expected
    assert all(a[1] != b[1] for a, b in itertools.pairwise(laid))


@given(
    base=st.sampled_from(BASES),
    timelines=st.lists(st.tuples(states, flip_offsets), max_size=4),
    probes=st.lists(seconds, min_size=1, max_size=20),
)
@settings(deadline=None)
def test_worst_timeline_is_the_worst_state_at_every_instant(
    base: datetime, timelines: list[tuple[str, list[tuple[int, str]]]], probes: list[int]
) -> None:
    real = [(init, [(at(base, o), s) for o, s in raw]) for init, raw in timelines]
    initial, merged = worst_timeline(real)
    for offset in probes:
        moment = at(base, offset)
        seen = [state_at(init, fl, moment) for init, fl in real] or ["unknown"]
        assert state_at(initial, merged, moment) == max(seen, key=SEVERITY.__getitem__)


@pytest.mark.slow
@given(
    base=st.sampled_from(BASES),
    initial=states,
    raw=flip_offsets,
    cuts=st.lists(seconds, min_size=3, max_size=3),
    name=clocks,
)
@settings(deadline=None)
def test_durations_add_over_adjacent_windows(
    base: datetime, initial: str, raw: list[tuple[int, str]], cuts: list[int], name: str
) -> None:
    clock, flips = CLOCKS[name], [(at(base, o), s) for o, s in raw]
    a, b, c = (at(base, x) for x in sorted(cuts))
    whole = state_durations(initial, flips, a, c, clock)
    left = state_durations(initial, flips, a, b, clock)
    right = state_durations(initial, flips, b, c, clock)
    for state in STATES:
        assert left[state] + right[state] == pytest.approx(whole[state], abs=1e-6)
