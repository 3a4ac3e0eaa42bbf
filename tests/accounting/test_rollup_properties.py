"""The rollup path agrees with replaying flips: for any history, the daily totals of
:func:`split` add up to :func:`state_durations` over the same days on both clocks, and
the outage pieces give the same incidents, longest outage and restorations as
:func:`summarise` for any whole-day period inside (the SQL aggregates the same flags)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.accounting.availability import (
    ALWAYS,
    DOWN,
    STATES,
    StateChange,
    _restorations,
    clock_seconds,
    state_durations,
    summarise,
)
from app.accounting.calendar import service_hours
from app.accounting.days import Carry, OutagePiece, day_start, split

FIRST = date(2026, 2, 12)  # Tết 2026 is inside
DAYS = 10
START = day_start(FIRST)
END = day_start(FIRST + timedelta(days=DAYS)) - timedelta(hours=5)  # "now" inside the last day
CLOCK = service_hours({"working_days": ["2026-02-21"], "saturday": ["07:30-11:30"]})

flips = st.lists(
    st.tuples(
        st.integers(min_value=-86_400, max_value=DAYS * 86_400).map(
            lambda s: START + timedelta(seconds=s - s % 600)
        ),
        st.sampled_from(STATES),
    ),
    max_size=25,
).map(lambda found: sorted(found, key=lambda f: f[0]))


def _before(history: list[StateChange]) -> tuple[str, list[StateChange]]:
    """The state at START and the flips from START on (as the job reads them)."""
    earlier = [state for at, state in history if at < START]
    return (earlier[-1] if earlier else "unknown"), [f for f in history if f[0] >= START]


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(history=flips)
def test_daily_totals_add_up_to_the_replay(history: list[StateChange]) -> None:
    initial, later = _before(history)
    result = split(initial, later, FIRST, END, CLOCK)
    for key, clock in (("always", ALWAYS), ("service", CLOCK)):
        replay = state_durations(initial, later, START, END, clock)
        for state in STATES:
            summed = sum(getattr(day, key)[state] for day in result.totals.values())
            assert summed == pytest.approx(replay[state], abs=1e-6)


def _aggregate(
    pieces: list[OutagePiece], first: date, end: date, sh: bool
) -> tuple[int, float, int]:
    """What report_repository.outage_stats computes in SQL, over the pieces in memory."""
    ps, pe = day_start(first), day_start(end)
    inside = [p for p in pieces if first <= p.day < end]

    def value(piece: OutagePiece) -> float:
        return piece.sh_s if sh else piece.s

    new = sum(1 for p in inside if p.run_started_at >= ps and (p.sh_first if sh else p.first))
    under_way = int(any(p.run_started_at < ps and value(p) > 0 for p in inside))
    whole = [
        (p.run_sh_s if sh else p.run_s)
        for p in inside
        if p.run_started_at >= ps and p.run_ended_at is not None and p.run_ended_at <= pe
    ]
    before = sum(value(p) for p in inside if p.run_started_at < ps)
    crossing = sum(
        value(p)
        for p in inside
        if p.run_started_at >= ps and (p.run_ended_at is None or p.run_ended_at > pe)
    )
    restored = sum(
        1
        for p in inside
        if p.last
        and p.run_ended_at
        and ps < p.run_ended_at <= pe
        and (p.run_sh_s if sh else p.run_s) > 0  # counted on the clock (rule 6)
    )
    return new + under_way, max([0.0, before, crossing, *whole]), restored


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(history=flips, first=st.integers(0, DAYS - 1), length=st.integers(1, DAYS))
def test_outage_pieces_agree_with_summarise(
    history: list[StateChange], first: int, length: int
) -> None:
    result = split(*_full(history), FIRST - timedelta(days=2), END, CLOCK)
    period_first = FIRST + timedelta(days=first)
    period_end = min(period_first + timedelta(days=length), FIRST + timedelta(days=DAYS))
    lo, hi = day_start(period_first), min(day_start(period_end), END)
    for sh, clock in ((False, ALWAYS), (True, CLOCK)):
        expected = summarise(*_full(history), lo, hi, clock)
        incidents, longest, restored = _aggregate(result.pieces, period_first, period_end, sh)
        assert incidents == expected.incidents
        assert longest == pytest.approx(expected.longest_outage_seconds, abs=1e-6)
        if hi == day_start(period_end):  # a period ending at now counts runs ended before it
            ended = _restorations(*_full(history), lo, hi)
            assert restored == sum(1 for a, b in ended if clock_seconds(clock, a, b) > 0)


def _full(history: list[StateChange]) -> tuple[str, list[StateChange]]:
    return "unknown", [f for f in history if f[0] >= START - timedelta(days=2)] or []


@settings(max_examples=150, deadline=None)
@given(history=flips, boundary=st.integers(1, DAYS - 1))
def test_recomputing_from_a_day_with_a_carry_matches_one_pass(
    history: list[StateChange], boundary: int
) -> None:
    """What the job does: keep the pieces before day B, recompute from B with the carry."""
    initial, later = _before(history)
    whole = split(initial, later, FIRST, END, CLOCK)
    day_b = FIRST + timedelta(days=boundary)
    start_b = day_start(day_b)
    old = [p for p in whole.pieces if p.day < day_b]
    open_runs = {
        p.run_started_at
        for p in old
        if p.run_started_at < start_b and (p.run_ended_at is None or p.run_ended_at > start_b)
    }
    carry = None
    if open_runs:
        (run,) = open_runs
        mine = [p for p in old if p.run_started_at == run]
        carry = Carry(
            run,
            sum(p.s for p in mine),
            sum(p.sh_s for p in mine),
            any(p.first for p in mine),
            any(p.sh_first for p in mine),
        )
    state_b = ([st for at, st in history if at < start_b] or ["unknown"])[-1]
    again = split(state_b, [f for f in history if f[0] >= start_b], day_b, END, CLOCK, carry)
    assert again.pieces == [p for p in whole.pieces if p.day >= day_b]
    assert again.totals == {d: t for d, t in whole.totals.items() if d >= day_b}
    assert again.continued == (
        carry is not None
        and bool(again.pieces)
        and again.pieces[0].run_started_at == carry.run_started_at
    )


def test_a_run_down_at_the_end_is_open() -> None:
    later = [(START + timedelta(hours=30), DOWN)]
    result = split("up", later, FIRST, END, CLOCK)
    assert [p.run_ended_at for p in result.pieces] == [None] * len(result.pieces)
    assert sum(p.first for p in result.pieces) == 1
    assert not any(p.last for p in result.pieces)
