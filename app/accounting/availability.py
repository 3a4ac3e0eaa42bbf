"""Availability arithmetic over a check's flips (docs/design.md §2). Pure: no DB, no I/O.

A timeline is ``(initial, flips)``: ``initial`` is the state before the first
flip and each flip ``(at, new_state)`` holds from ``at`` until the next one.
Flips may begin before the window asked about; flips at the same instant apply
in the order given (the last one wins). Every interval is half-open ``[a, b)``
and every ``datetime`` must be timezone-aware.

A :class:`Clock` says which time counts: :data:`ALWAYS` (24/7) or a unit's
service hours (``app.accounting.calendar``). Durations are seconds counted inside
``[start, end)`` ∩ the clock.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import itemgetter
from typing import NamedTuple, Protocol

from app.vocab.states import (
    AVAILABLE,
    BY_SEVERITY,
    EXCLUDED,
    SEVERITY,
    STATES,
    State,
    severity,
    state_word,
)

StateChange = tuple[datetime, str]
"""A flip as the arithmetic sees it: (at, the state it moved into)."""
Piece = tuple[datetime, datetime, str]

# The states, their severity order (used by :func:`worst_timeline`, higher is
# worse) and which count as available or excluded are app.vocab.states'; the
# short names stay here for the accounting code and its callers.
UP, DEGRADED, DOWN, UNKNOWN, MAINTENANCE = (
    State.UP,
    State.DEGRADED,
    State.DOWN,
    State.UNKNOWN,
    State.MAINTENANCE,
)

RULES_VI = "\n".join(
    (
        "Quy tắc tính khả dụng",
        "1. Mỗi lần thay đổi trạng thái của một phép kiểm tra được ghi lại kèm thời điểm. "
        "Thời điểm đó là kết quả đầu tiên của chuỗi kết quả xác nhận, nên việc xác nhận "
        "(chống báo động giả) không làm ngắn hay dịch thời gian gián đoạn.",
        "2. Có hai đồng hồ. Đồng hồ 24/7 tính mọi thời điểm. Đồng hồ giờ phục vụ chỉ tính giờ"
        " làm việc của đơn vị (mặc định thứ Hai đến thứ Sáu, 07:30–11:30 và 13:30–17:00, giờ "
        "Việt Nam), trừ ngày nghỉ lễ, Tết, ngày nghỉ bù và ngày nghỉ do đơn vị khai báo; ngày"
        " làm bù (kể cả thứ Bảy) tính như một ngày làm việc thường.",
        "3. Tỷ lệ khả dụng = (thời gian hoạt động + thời gian suy giảm) / (thời gian hoạt "
        "động + thời gian suy giảm + thời gian gián đoạn), chỉ tính trong kỳ báo cáo và trên "
        "đồng hồ đã chọn. Suy giảm (chậm nhưng vẫn phục vụ) được tính là khả dụng.",
        "4. Thời gian bảo trì đã khai báo và thời gian không xác định (hệ thống giám sát "
        "không chạy, mất mạng hoặc điểm đo mất liên lạc) không được tính vào tỷ lệ khả dụng; "
        "chúng được báo cáo riêng, không bị ẩn. Khi không có thời gian nào đo được, tỷ lệ khả"
        " dụng để trống.",
        "5. Trong thời gian bảo trì hoặc thời gian giám sát gián đoạn, trạng thái đó thay cho"
        " trạng thái đo được; khi hết, trạng thái đo được tiếp tục áp dụng.",
        "6. Một sự cố là một khoảng gián đoạn liên tục. Số sự cố là số khoảng gián đoạn bắt "
        "đầu trong kỳ hoặc đang diễn ra khi kỳ bắt đầu, có thời gian tính trên đồng hồ đã "
        "chọn lớn hơn 0. Sự cố chưa kết thúc khi hết kỳ được tính đến hết kỳ và ghi là chưa "
        "khắc phục.",
        "7. Số phút gián đoạn và sự cố dài nhất được tính trên đồng hồ đã chọn, chỉ phần nằm "
        "trong kỳ.",
        "8. Thời gian khắc phục trung bình (MTTR) là trung bình độ dài của các sự cố đã kết "
        "thúc trong kỳ, từ lúc sự cố thực sự bắt đầu (có thể trước kỳ) đến lúc khôi phục; "
        "được nêu theo giờ thực (24/7) và theo đồng hồ đã chọn. Sự cố không có thời gian "
        "nào trên đồng hồ đã chọn (ví dụ xảy ra ban đêm khi tính trong giờ hành chính) không "
        "được tính, như ở quy tắc 6.",
        "9. Trạng thái của dịch vụ là trạng thái xấu nhất trong các phép kiểm tra thiết yếu "
        "của nó (trong mọi phép kiểm tra của nó khi không có phép kiểm tra nào thiết yếu); "
        "trạng thái của đơn vị là trạng thái xấu nhất trong các phép kiểm tra thiết yếu của "
        "đơn vị. Thứ tự từ xấu nhất: "
        + ", ".join(state_word(s).lower() for s in BY_SEVERITY)
        + ".",
    )
)

RULES_EN = "\n".join(
    (
        "How availability is counted",
        "1. Every change of a check's state is recorded with its time. That time is the first"
        " result of the streak that confirmed the change, so confirmation (against false "
        "alarms) never shortens or shifts downtime.",
        "2. There are two clocks. The 24/7 clock counts every moment. The service-hours clock"
        " counts only the unit's office hours (by default Monday to Friday, 07:30–11:30 and "
        "13:30–17:00, Vietnam time), except public holidays, Tết, compensatory days off and "
        "days off declared for the unit; a swapped working day (a Saturday included) counts "
        "as an ordinary working day.",
        "3. Availability = (up time + degraded time) / (up time + degraded time + down time),"
        " counted only inside the report period and on the chosen clock. Degraded (slow but "
        "serving) counts as available.",
        "4. Declared maintenance and unknown time (the monitor was not running, lost its "
        "network, or a probe agent went silent) are excluded from availability and reported "
        "separately, never hidden. When no time was measured at all, availability is left "
        "empty.",
        "5. During maintenance or a monitoring gap, that state replaces the measured state; "
        "when it ends, the measured state applies again.",
        "6. An incident is one continuous down period. The incident count is the number of "
        "down periods that started inside the period or were under way when it began, and "
        "that have more than zero time on the chosen clock. An incident still open at the end"
        " of the period is counted up to that end and marked as not yet restored.",
        "7. Downtime minutes and the longest outage are counted on the chosen clock, for the "
        "part inside the period only.",
        "8. Mean time to restore (MTTR) is the mean length of the incidents that ended inside"
        " the period, from when the incident really began (possibly before the period) to its"
        " restoration; it is given in wall-clock time (24/7) and on the chosen clock. An "
        "outage with no time on the chosen clock (e.g. at night, on service hours) is left "
        "out, as in rule 6.",
        "9. A service's state is the worst state of its critical checks (of all its checks "
        "when none is critical); a unit's state is the worst state of its critical checks. "
        "From worst: " + ", ".join(state_word(s, "en").lower() for s in BY_SEVERITY) + ".",
    )
)

__all__ = [
    "ALWAYS",
    "AVAILABLE",
    "DEGRADED",
    "DOWN",
    "EXCLUDED",
    "MAINTENANCE",
    "RULES_EN",
    "RULES_VI",
    "SEVERITY",
    "STATES",
    "UNKNOWN",
    "UP",
    "Clock",
    "Outage",
    "StateChange",
    "Summary",
    "availability",
    "clock_seconds",
    "outages",
    "overlay",
    "state_durations",
    "summarise",
    "worst_timeline",
]


class Clock(Protocol):
    """Which time counts."""

    def segments(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Counted periods inside ``[start, end)``: sorted, disjoint, non-empty, clipped."""
        ...


class _Always:
    """The 24/7 clock: all of ``[start, end)`` counts."""

    def segments(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        return [(start, end)] if start < end else []

    def __repr__(self) -> str:
        return "ALWAYS"


ALWAYS: Clock = _Always()


class Outage(NamedTuple):
    """A maximal down interval clipped to the window.

    ``counted_seconds`` is its length on the clock asked for; ``open_at_start``
    means it began before the window, ``open_at_end`` that it was still down at
    the window's end.
    """

    start: datetime
    end: datetime
    counted_seconds: float
    open_at_start: bool = False
    open_at_end: bool = False


def _require_aware(*moments: datetime) -> None:
    for moment in moments:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"naive datetime {moment!r}; accounting needs aware datetimes")


def _require_state(state: str) -> None:
    if state not in SEVERITY:
        raise ValueError(f"unknown state {state!r}; expected one of {', '.join(STATES)}")


def _ordered(initial: str, flips: Sequence[StateChange]) -> list[StateChange]:
    _require_state(initial)
    for at, state in flips:
        _require_aware(at)
        _require_state(state)
    return sorted(flips, key=itemgetter(0))  # stable: same-instant flips keep their order


def _settled(initial: str, flips: Sequence[StateChange]) -> list[StateChange]:
    """Real changes only: the last of same-instant flips, and only if the state changes."""
    out: list[StateChange] = []
    state = initial
    for at, new in _ordered(initial, flips):
        if out and out[-1][0] == at:
            out.pop()
            state = out[-1][1] if out else initial
        if new != state:
            out.append((at, new))
            state = new
    return out


def _pieces(
    initial: str, flips: Sequence[StateChange], start: datetime, end: datetime
) -> list[Piece]:
    """Constant-state pieces that exactly cover ``[start, end)``, neighbours differing."""
    _require_aware(start, end)
    state, cursor, pieces = initial, start, []
    for at, new in _settled(initial, flips):
        if at >= end:
            break
        if at > start:
            pieces.append((cursor, at, state))
            cursor = at
        state = new
    if cursor < end:
        pieces.append((cursor, end, state))
    return pieces


def _on_clock(
    pieces: Sequence[Piece], segments: Sequence[tuple[datetime, datetime]]
) -> Iterator[Piece]:
    """The parts of ``pieces`` that fall inside ``segments`` (both sorted)."""
    first = 0
    for seg_start, seg_end in segments:
        while first < len(pieces) and pieces[first][1] <= seg_start:
            first += 1
        index = first
        while index < len(pieces) and pieces[index][0] < seg_end:
            piece_start, piece_end, state = pieces[index]
            lo, hi = max(piece_start, seg_start), min(piece_end, seg_end)
            if lo < hi:
                yield lo, hi, state
            index += 1


def clock_seconds(clock: Clock, start: datetime, end: datetime) -> float:
    """Length of ``[start, end)`` on ``clock``, in seconds."""
    total = sum((b - a for a, b in clock.segments(start, end)), timedelta())
    return total.total_seconds()


def state_durations(
    initial: str,
    flips: Sequence[StateChange],
    start: datetime,
    end: datetime,
    clock: Clock = ALWAYS,
) -> dict[str, float]:
    """Seconds spent in each state inside ``[start, end)`` ∩ ``clock``; every state is a key."""
    totals: dict[str, timedelta] = {state: timedelta() for state in STATES}
    pieces = _pieces(initial, flips, start, end)
    for lo, hi, state in _on_clock(pieces, clock.segments(start, end)):
        totals[state] += hi - lo
    return {state: spent.total_seconds() for state, spent in totals.items()}


def availability(durations: Mapping[str, float]) -> float | None:
    """``(up + degraded) / (up + degraded + down)``; ``None`` when nothing was measured."""
    available = durations.get(UP, 0.0) + durations.get(DEGRADED, 0.0)
    measured = available + durations.get(DOWN, 0.0)
    return None if measured <= 0 else available / measured


def _down_runs(
    initial: str, flips: Sequence[StateChange]
) -> list[tuple[datetime | None, datetime | None]]:
    """Maximal down runs over the whole history; ``None`` = beyond what the flips show."""
    runs: list[tuple[datetime | None, datetime | None]] = []
    is_down, since = initial == DOWN, None
    for at, new in _settled(initial, flips):
        if new == DOWN and not is_down:
            is_down, since = True, at
        elif new != DOWN and is_down:
            runs.append((since, at))
            is_down, since = False, None
    if is_down:
        runs.append((since, None))
    return runs


def outages(
    initial: str,
    flips: Sequence[StateChange],
    start: datetime,
    end: datetime,
    clock: Clock = ALWAYS,
) -> list[Outage]:
    """Down intervals overlapping ``[start, end)``, clipped to it, oldest first.

    Outages that fall wholly outside the clock are kept with ``counted_seconds`` 0.
    """
    _require_aware(start, end)
    found = []
    for run_start, run_end in _down_runs(initial, flips):
        lo = start if run_start is None else max(run_start, start)
        hi = end if run_end is None else min(run_end, end)
        if lo < hi:
            counted = clock_seconds(clock, lo, hi)
            before = run_start is None or run_start < start
            after = run_end is None or run_end > end
            found.append(Outage(lo, hi, counted, before, after))
    return found


def overlay(
    initial: str,
    flips: Sequence[StateChange],
    windows: Sequence[tuple[datetime, datetime]],
    state: str,
) -> tuple[str, list[StateChange]]:
    """Lay ``state`` over the timeline during ``windows`` (half-open, may overlap).

    The overlay wins while active; the underlying state resumes when it ends.
    Apply overlays in turn; the last one applied wins where they overlap.
    """
    _require_state(state)
    events: list[tuple[datetime, int, str]] = [(at, 0, new) for at, new in _ordered(initial, flips)]
    for win_start, win_end in windows:
        _require_aware(win_start, win_end)
        if win_start < win_end:
            events += [(win_start, 1, "+"), (win_end, 1, "-")]
    events.sort(key=itemgetter(0))
    return initial, _replay(initial, events, state)


def _replay(
    initial: str, events: Sequence[tuple[datetime, int, str]], state: str
) -> list[StateChange]:
    underlying, depth, shown, out = initial, 0, initial, []
    for index, (at, kind, value) in enumerate(events):
        if kind == 0:
            underlying = value
        else:
            depth += 1 if value == "+" else -1
        if index + 1 < len(events) and events[index + 1][0] == at:
            continue  # settle every event at this instant first
        effective = state if depth > 0 else underlying
        if effective != shown:
            out.append((at, effective))
            shown = effective
    return out


def worst_timeline(
    timelines: Sequence[tuple[str, Sequence[StateChange]]],
) -> tuple[str, list[StateChange]]:
    """The worst state (by :data:`SEVERITY`) of several timelines at each instant.

    With no timelines nothing is known: the result is ``("unknown", [])``.
    """
    if not timelines:
        return UNKNOWN, []
    current = [initial for initial, _ in timelines]
    events = sorted(
        (
            (at, which, new)
            for which, (init, fl) in enumerate(timelines)
            for at, new in _ordered(init, fl)
        ),
        key=itemgetter(0),
    )
    initial = shown = max(current, key=severity)
    out: list[StateChange] = []
    for index, (at, which, new) in enumerate(events):
        current[which] = new
        if index + 1 < len(events) and events[index + 1][0] == at:
            continue
        worst = max(current, key=severity)
        if worst != shown:
            out.append((at, worst))
            shown = worst
    return initial, out


@dataclass(frozen=True, slots=True)
class Summary:
    """Statistics of one timeline over one window on one clock (docs/accounting.md).

    Every ``*_seconds`` is counted on the chosen clock inside the window, except
    ``mttr_seconds``, which is wall-clock (24/7) time to restore.
    """

    start: datetime
    end: datetime
    clock_seconds: float
    up_seconds: float
    degraded_seconds: float
    down_seconds: float
    maintenance_seconds: float
    unknown_seconds: float
    availability: float | None
    downtime_minutes: float
    incidents: int
    mttr_seconds: float | None
    mttr_counted_seconds: float | None
    longest_outage_seconds: float
    longest_outage: Outage | None
    outages: tuple[Outage, ...]


def _restorations(
    initial: str, flips: Sequence[StateChange], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Full extents of the outages that ended inside ``(start, end]``."""
    return [
        (start if run_start is None else run_start, run_end)
        for run_start, run_end in _down_runs(initial, flips)
        if run_end is not None and start < run_end <= end
    ]


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarise(
    initial: str,
    flips: Sequence[StateChange],
    start: datetime,
    end: datetime,
    clock: Clock = ALWAYS,
) -> Summary:
    """Durations, availability, incidents, MTTR and the longest outage over ``[start, end)``."""
    spent = state_durations(initial, flips, start, end, clock)
    found = tuple(outages(initial, flips, start, end, clock))
    counted = [o for o in found if o.counted_seconds > 0]
    longest = max(counted, key=lambda o: o.counted_seconds, default=None)
    # an outage with no time on the clock is no incident on it (rule 6), nor in its MTTR
    restored = [
        (a, b) for a, b in _restorations(initial, flips, start, end) if clock_seconds(clock, a, b)
    ]
    return Summary(
        start=start,
        end=end,
        clock_seconds=clock_seconds(clock, start, end),
        up_seconds=spent[UP],
        degraded_seconds=spent[DEGRADED],
        down_seconds=spent[DOWN],
        maintenance_seconds=spent[MAINTENANCE],
        unknown_seconds=spent[UNKNOWN],
        availability=availability(spent),
        downtime_minutes=spent[DOWN] / 60,
        incidents=len(counted),
        mttr_seconds=_mean([(b - a).total_seconds() for a, b in restored]),
        mttr_counted_seconds=_mean([clock_seconds(clock, a, b) for a, b in restored]),
        longest_outage_seconds=0.0 if longest is None else longest.counted_seconds,
        longest_outage=longest,
        outages=found,
    )
