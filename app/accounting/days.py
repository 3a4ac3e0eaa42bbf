"""Splitting accounted timelines into daily rollups and outage pieces. Pure: no DB.

Days are local dates in :data:`ZONE` (Asia/Ho_Chi_Minh, UTC+7 without DST), so a
day's rollup is exactly the time a Vietnamese reader calls that day. A timeline is
accounted from ``start`` up to ``end`` (usually now); time after ``end`` is in no
state yet.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.accounting import availability as arithmetic
from app.accounting.availability import DOWN, STATES, Clock, Piece, StateChange

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
Span = tuple[datetime, datetime]

__all__ = [
    "ZONE",
    "Carry",
    "DayTotals",
    "OutagePiece",
    "Split",
    "day_start",
    "days",
    "effective_timeline",
    "local_day",
    "split",
    "uncovered",
]


def day_start(day: date) -> datetime:
    """The UTC instant local ``day`` begins."""
    return datetime.combine(day, time(), tzinfo=ZONE).astimezone(UTC)


def local_day(at: datetime) -> date:
    return at.astimezone(ZONE).date()


def days(first: date, end: date) -> Iterator[date]:
    """``first`` up to, not including, ``end``."""
    on = first
    while on < end:
        yield on
        on += timedelta(days=1)


def uncovered(covered: Sequence[Span], start: datetime, end: datetime) -> list[Span]:
    """Parts of ``[start, end)`` that no span in ``covered`` (any order, may overlap) covers."""
    gaps, cursor = [], start
    for lo, hi in sorted(covered):
        if hi <= cursor:
            continue
        if lo >= end:
            break
        if lo > cursor:
            gaps.append((cursor, lo))
        cursor = max(cursor, hi)
        if cursor >= end:
            break
    if cursor < end:
        gaps.append((cursor, end))
    return gaps


def effective_timeline(
    initial: str, flips: Sequence[StateChange], unknown: Sequence[Span], maintenance: Sequence[Span]
) -> tuple[str, list[StateChange]]:
    """Measured state, overlaid by monitor gaps (``unknown``) and then by maintenance.

    Maintenance is laid last, so a declared window stays maintenance even while the
    monitor was down: the declaration is known without measuring anything.
    """
    timeline = (
        arithmetic.overlay(initial, flips, unknown, arithmetic.UNKNOWN)
        if unknown
        else (initial, flips)
    )
    if maintenance:
        timeline = arithmetic.overlay(*timeline, maintenance, arithmetic.MAINTENANCE)
    return timeline[0], list(timeline[1])


@dataclass(slots=True)
class DayTotals:
    """Seconds per state on the 24/7 clock (``always``) and on service hours (``service``)."""

    always: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STATES, 0.0))
    service: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STATES, 0.0))


@dataclass(slots=True)
class OutagePiece:
    """The part of one down run on one local day (see ``app.models.rollup.OutageDay``)."""

    run_started_at: datetime
    day: date
    run_ended_at: datetime | None
    s: float
    sh_s: float
    run_s: float = 0.0
    run_sh_s: float = 0.0
    first: bool = False
    sh_first: bool = False
    last: bool = False


@dataclass(frozen=True, slots=True)
class Carry:
    """A down run under way when the split starts, as already stored for earlier days."""

    run_started_at: datetime
    prior_s: float
    prior_sh_s: float
    had_first: bool
    had_sh_first: bool


@dataclass(slots=True)
class Split:
    totals: dict[date, DayTotals]
    pieces: list[OutagePiece]
    continued: bool  # whether the carried run (if any) is still down at the start


def _seconds(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds()


def _day_pieces(
    pieces: Sequence[Piece], first: int, lo: datetime, hi: datetime
) -> Iterator[tuple[int, Piece]]:
    for index in range(first, len(pieces)):
        a, b, state = pieces[index]
        if a >= hi:
            return
        if b > lo:
            yield index, (max(a, lo), min(b, hi), state)


def split(
    initial: str,
    flips: Sequence[StateChange],
    start_day: date,
    end: datetime,
    service: Clock,
    carry: Carry | None = None,
) -> Split:
    """Daily totals and outage pieces of a timeline from local ``start_day`` to ``end``.

    ``carry`` is the stored run that was down at the end of the previous day; when
    the timeline is still down at the start, the run continues it.
    """
    start = day_start(start_day)
    pieces = arithmetic._pieces(initial, flips, start, end) if start < end else []
    carried = carry is not None and bool(pieces) and pieces[0][2] == DOWN
    totals: dict[date, DayTotals] = {}
    runs: dict[int, list[OutagePiece]] = {}
    first = 0
    for day in days(start_day, local_day(end) + timedelta(days=1)):
        lo, hi = day_start(day), min(day_start(day + timedelta(days=1)), end)
        if lo >= hi:
            break
        while first < len(pieces) and pieces[first][1] <= lo:
            first += 1
        inside = list(_day_pieces(pieces, first, lo, hi))
        totals[day] = _day_totals([p for _, p in inside], lo, hi, service)
        for index, (a, b, state) in inside:
            if state == DOWN:
                sh = sum(_seconds(x, y) for x, y in service.segments(a, b))
                run_start = (
                    carry.run_started_at if carried and index == 0 and carry else pieces[index][0]
                )
                runs.setdefault(index, []).append(
                    OutagePiece(run_start, day, None, _seconds(a, b), sh)
                )
    out: list[OutagePiece] = []
    for index, found in runs.items():
        ended = None if pieces[index][1] >= end else pieces[index][1]
        out += _finish(found, ended, carry if carried and index == 0 else None)
    return Split(totals, out, carried)


def _day_totals(inside: Sequence[Piece], lo: datetime, hi: datetime, service: Clock) -> DayTotals:
    out = DayTotals()
    for a, b, state in inside:
        out.always[state] += _seconds(a, b)
    segments = service.segments(lo, hi)
    if segments:
        for a, b, state in arithmetic._on_clock(inside, segments):
            out.service[state] += _seconds(a, b)
    return out


def _finish(
    found: list[OutagePiece], ended: datetime | None, carry: Carry | None
) -> list[OutagePiece]:
    run_s = sum(p.s for p in found) + (carry.prior_s if carry else 0.0)
    run_sh = sum(p.sh_s for p in found) + (carry.prior_sh_s if carry else 0.0)
    seen_first = bool(carry and carry.had_first)
    seen_sh = bool(carry and carry.had_sh_first)
    for piece in found:
        piece.run_ended_at, piece.run_s, piece.run_sh_s = ended, run_s, run_sh
        if not seen_first and piece.s > 0:
            piece.first = seen_first = True
        if not seen_sh and piece.sh_s > 0:
            piece.sh_first = seen_sh = True
    found[-1].last = ended is not None
    return found
