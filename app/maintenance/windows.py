"""Occurrences of maintenance windows and which checks they cover. Pure: no DB.

A recurring window is an RFC 5545 ``RRULE`` (``dateutil.rrule``) expanded in the
window's local time zone from its first occurrence; every occurrence lasts as long
as the first one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

Span = tuple[datetime, datetime]
SCOPES = ("check", "service", "unit", "province")
MAX_OCCURRENCES = 10_000

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
    return parsed


def last_end(
    starts_at: datetime, ends_at: datetime, rule: str | None, timezone: str
) -> datetime | None:
    """End of the last occurrence; ``None`` when the rule recurs without end."""
    if rule is None:
        return ends_at
    parsed = parse_rrule(rule, starts_at, timezone)
    if "COUNT=" not in rule.upper() and "UNTIL=" not in rule.upper():
        return None
    last: datetime | None = None
    for index, occurrence in enumerate(parsed):
        if index >= MAX_OCCURRENCES:
            return None
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
        for local in rule.between(lo, hi, inc=True):
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
