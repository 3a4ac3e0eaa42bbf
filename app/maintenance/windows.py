"""Occurrences of maintenance windows and which checks they cover. Pure: no DB.

A recurring window is an RFC 5545 ``RRULE`` (``dateutil.rrule``) expanded in the
window's local time zone from its first occurrence; every occurrence lasts as long
as the first one.

Cost is bounded by the time asked about, not by the rule's age: ``dateutil`` walks
every occurrence from ``dtstart``, so a rule with a fixed-length period (minutely,
hourly, daily, weekly) and no ``COUNT`` is re-anchored a whole number of periods
before the instant asked about (the occurrence set is unchanged), ``COUNT`` is
capped, and frequencies finer than a minute are refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import DAILY, HOURLY, MINUTELY, SECONDLY, WEEKLY, rrule, rrulestr

Span = tuple[datetime, datetime]
SCOPES = ("check", "service", "unit", "province")
MAX_OCCURRENCES = 10_000
_PERIOD_S = {MINUTELY: 60, HOURLY: 3_600, DAILY: 86_400, WEEKLY: 604_800}

__all__ = [
    "SCOPES",
    "MaintenanceSpec",
    "Window",
    "active_maintenance",
    "last_end",
    "parse_rrule",
    "spans_by_check",
]


@dataclass(frozen=True, slots=True)
class MaintenanceSpec:
    """A window as the inventory declares it (flattened, times in UTC)."""

    key: str  # unique among the inventory's windows
    scope: str
    target: str | None
    starts_at: datetime
    ends_at: datetime
    rrule: str | None
    timezone: str
    reason: str


@dataclass(frozen=True, slots=True)
class _Fields:
    """What an ``rrule`` was built from (dateutil keeps these only as private attributes)."""

    freq: int
    interval: int
    count: int | None
    until: datetime | None
    dtstart: datetime

    @classmethod
    def of(cls, rule: rrule) -> _Fields:
        return cls(*(getattr(rule, f"_{name}") for name in cls.__slots__))


def parse_rrule(rule: str, starts_at: datetime, timezone: str) -> rrule:
    """The rule anchored at the first occurrence's local start; ``ValueError`` if invalid."""
    local = starts_at.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)
    text = rule.strip()
    text = text[len("RRULE:") :] if text.upper().startswith("RRULE:") else text
    try:
        parsed = rrulestr(text, dtstart=local)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"invalid RRULE {rule!r}: {exc}") from None
    if not isinstance(parsed, rrule):
        raise ValueError(f"invalid RRULE {rule!r}: one RRULE only")
    fields = _Fields.of(parsed)
    if fields.freq == SECONDLY:
        raise ValueError(
            f"RRULE {rule!r}: tần suất nhỏ hơn một phút không được hỗ trợ "
            "(frequencies finer than a minute are refused)"
        )
    if fields.count is not None and fields.count > MAX_OCCURRENCES:
        raise ValueError(f"RRULE {rule!r}: COUNT tối đa {MAX_OCCURRENCES} (at most)")
    return parsed


def rule_near(rule: rrule, local: datetime) -> rrule:
    """``rule`` with the same occurrences from ``local`` on, anchored close before it.

    Only rules with a fixed-length period and no ``COUNT`` can be moved: ``COUNT``
    counts from the original start (and is capped), and months or years vary in
    length (and recur at most a dozen times a year, so walking them is cheap).
    """
    fields = _Fields.of(rule)
    period_s = _PERIOD_S.get(fields.freq)
    start = fields.dtstart
    if period_s is None or fields.count is not None or local <= start:
        return rule
    step = timedelta(seconds=period_s * fields.interval)
    whole = (local - start) // step - 1
    return rule if whole <= 0 else rule.replace(dtstart=start + whole * step)


def last_end(
    starts_at: datetime, ends_at: datetime, rule: str | None, timezone: str
) -> datetime | None:
    """End of the last occurrence; ``None`` when the rule recurs without end."""
    if rule is None:
        return ends_at
    parsed = parse_rrule(rule, starts_at, timezone)
    if "COUNT=" not in rule.upper() and "UNTIL=" not in rule.upper():
        return None
    until = _Fields.of(parsed).until
    if until is not None:
        last = rule_near(parsed, until).before(until, inc=True)
    else:  # COUNT, capped at MAX_OCCURRENCES by parse_rrule
        last = None
        for occurrence in parsed:
            last = occurrence
    if last is None:
        return ends_at
    return last.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC) + (ends_at - starts_at)


@dataclass(frozen=True, slots=True)
class Window:
    """A declared window resolved to the checks it covers."""

    starts_at: datetime
    ends_at: datetime
    check_ids: frozenset[int]
    rrule: str | None = None
    timezone: str = "Asia/Ho_Chi_Minh"

    def occurrences(self, start: datetime, end: datetime) -> list[Span]:
        """Occurrences overlapping ``[start, end)``, unclipped, oldest first."""
        length = self.ends_at - self.starts_at
        if self.rrule is None:
            overlaps = self.starts_at < end and self.ends_at > start
            return [(self.starts_at, self.ends_at)] if overlaps else []
        zone = ZoneInfo(self.timezone)
        rule = parse_rrule(self.rrule, self.starts_at, self.timezone)
        lo = (start - length).astimezone(zone).replace(tzinfo=None) - timedelta(seconds=1)
        hi = end.astimezone(zone).replace(tzinfo=None)
        found = []
        for local in rule_near(rule, lo).between(lo, hi, inc=True):
            begin = local.replace(tzinfo=zone).astimezone(UTC)
            if begin < end and begin + length > start:
                found.append((begin, begin + length))
        return found


def spans_by_check(
    windows: Iterable[Window], start: datetime, end: datetime
) -> dict[int, list[Span]]:
    """Each covered check's maintenance occurrences overlapping ``[start, end)``."""
    found: dict[int, list[Span]] = {}
    for window in windows:
        spans = window.occurrences(start, end)
        if spans:
            for check_id in window.check_ids:
                found.setdefault(check_id, []).extend(spans)
    return found


def active_maintenance(windows: Sequence[Window], now: datetime) -> set[int]:
    """Ids of the checks inside a maintenance occurrence at ``now``.

    The monitor shows these as ``maintenance`` and must not alert on them.
    """
    active: set[int] = set()
    for window in windows:
        if any(a <= now < b for a, b in window.occurrences(now, now + timedelta(microseconds=1))):
            active |= window.check_ids
    return active
