"""The check states: the one definition of their names, severity order and words.

Every surface derives from this module: the evaluator and the writer, the API,
the status page, reports and exports, notifications, CLI output, the metrics,
and the generated Grafana SQL and Prometheus recording rules (a test compares
each generated artefact with this table).

Severity (higher is worse) is the order accounting overlays timelines in and the
order a unit's state is the worst of its checks' (docs/accounting.md), and a
service's (:func:`service_worst`):
``down > unknown > maintenance > degraded > up``. ``unknown`` ranks above
``maintenance`` and ``degraded`` because not knowing must never look better
than a known, planned or partial state.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping

from app.vocab.lang import Lang


class State(enum.StrEnum):
    """The state of a check (and, as the worst of its checks, of a unit or service)."""

    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"
    MAINTENANCE = "maintenance"
    UNKNOWN = "unknown"


STATES: tuple[State, ...] = tuple(State)
"""Every state, in the order the API and tables list them."""

SEVERITY: Mapping[State, int] = {
    State.UP: 0,
    State.DEGRADED: 1,
    State.MAINTENANCE: 2,
    State.UNKNOWN: 3,
    State.DOWN: 4,
}
"""Higher is worse."""

BY_SEVERITY: tuple[State, ...] = tuple(sorted(State, key=SEVERITY.__getitem__, reverse=True))
"""Worst first: down, unknown, maintenance, degraded, up."""

AVAILABLE: frozenset[State] = frozenset({State.UP, State.DEGRADED})
"""States that count as available time."""

EXCLUDED: frozenset[State] = frozenset({State.MAINTENANCE, State.UNKNOWN})
"""States excluded from availability (neither up nor down)."""

WORDS: Mapping[State, tuple[str, str]] = {
    State.UP: ("Hoạt động", "Up"),
    State.DEGRADED: ("Suy giảm", "Degraded"),
    State.DOWN: ("Gián đoạn", "Down"),
    State.MAINTENANCE: ("Bảo trì", "Maintenance"),
    State.UNKNOWN: ("Không xác định", "Unknown"),
}
"""(Vietnamese, English) word for each state, capitalised as a label."""

ICONS: Mapping[State, str] = {
    State.UP: "✓",
    State.DEGRADED: "!",
    State.DOWN: "✕",
    State.MAINTENANCE: "⚙",
    State.UNKNOWN: "?",
}
"""A symbol per state, so a state is never shown by colour alone."""


def state_word(state: str, lang: Lang = "vi") -> str:
    """``"degraded"`` → "Suy giảm" (vi) / "Degraded" (en)."""
    vi, en = WORDS[State(state)]
    return vi if lang == "vi" else en


def state_minutes(state: str, lang: Lang = "vi") -> str:
    """A column heading for minutes spent in ``state``: "Bảo trì (phút)" / "Maintenance (min)"."""
    return f"{state_word(state, lang)} ({'phút' if lang == 'vi' else 'min'})"


def severity(state: str) -> int:
    return SEVERITY[State(state)]


def worst(states: Iterable[str], default: State = State.UNKNOWN) -> State:
    """The worst of ``states`` by :data:`SEVERITY`; ``default`` when there are none."""
    return max((State(s) for s in states), key=SEVERITY.__getitem__, default=default)


def service_worst(checks: Iterable[tuple[bool, str]]) -> State:
    """A service's state from its enabled checks' ``(critical, state)``: the worst of
    its critical checks; with no critical check (an agent's liveness checks), the
    worst of all of them; ``unknown`` when it has no checks. The one rule of the API
    and the status page (a unit's state stays the worst of its critical checks)."""
    pairs = list(checks)
    critical = [state for is_critical, state in pairs if is_critical]
    return worst(critical if critical else (state for _, state in pairs))


__all__ = [
    "AVAILABLE",
    "BY_SEVERITY",
    "EXCLUDED",
    "ICONS",
    "SEVERITY",
    "STATES",
    "WORDS",
    "State",
    "service_worst",
    "severity",
    "state_minutes",
    "state_word",
    "worst",
]
