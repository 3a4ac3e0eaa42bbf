"""The state evaluator: confirmation thresholds → flips → incident operations.

Pure and in-memory (docs/design.md §2). A flip is dated at the *first* result of the
streak that confirmed it, so confirmation never shortens or shifts downtime.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from app.incidents.rows import IncidentCloseRow, IncidentOpenRow
from app.monitor.rows import CheckRow, FlipRow, ResultRow, VantageRow
from app.vocab.states import AVAILABLE, State
from probes.base import ErrorKind, ProbeResult, Status
from probes.text import MESSAGE_LIMIT, clean_details, clean_text


@dataclass(slots=True)
class CheckState:
    """What the evaluator remembers about one check between results."""

    check_id: int
    unit_id: int
    failure_threshold: int = 2
    recovery_threshold: int = 1
    state: State = State.UNKNOWN
    state_since: datetime | None = None
    streak_status: State | None = None  # DOWN or UP: which way the streak points
    streak_count: int = 0
    streak_started_at: datetime | None = None
    last_result: ProbeResult | None = None
    last_result_at: datetime | None = None
    last_beat_at: datetime | None = None
    last_beat_status: str | None = None
    last_beat_message: str = ""

    def snapshot(self) -> CheckRow:
        """The columns of ``check`` that mirror this state."""
        return {
            "id": self.check_id,
            "state": self.state,
            "state_since": self.state_since,
            "streak_status": self.streak_status,
            "streak_count": self.streak_count,
            "streak_started_at": self.streak_started_at,
            "last_result_at": self.last_result_at,
            "last_beat_at": self.last_beat_at,
        }


@dataclass(slots=True)
class Outcome:
    """Everything one result causes in SQL; written in one transaction with its batch."""

    result_row: ResultRow
    check_row: CheckRow
    flip_row: FlipRow | None = None
    incident_open: IncidentOpenRow | None = None
    incident_close: IncidentCloseRow | None = None
    # the shard lease it was probed under (docs/design.md §4): the batch writer
    # refuses it once the shard's epoch has moved; None: not fenced (one replica)
    shard: int | None = None
    epoch: int | None = None
    # a multi-vantage check: the observing vantage's state (app/monitor/vantages.py)
    vantage_row: VantageRow | None = None
    # a replayed result that takes the place of a silent agent's unknown time: the
    # check's unknown flip to delete (in order, after it was written)
    retract_flip_uid: str | None = None
    # a beat relayed through SQL (``push_beat.id``): the batch writer deletes that row
    # in the transaction that stores this outcome's effect (docs/design.md §4.1)
    push_beat_id: int | None = None

    @property
    def durable(self) -> bool:
        """True when dropping it would lose history (a flip), not just a sample, or
        leave a relayed beat's row behind for another owner to apply again."""
        return self.flip_row is not None or self.push_beat_id is not None


def new_uid() -> str:
    return uuid.uuid4().hex


def apply_result(cs: CheckState, result: ProbeResult, at: datetime) -> Outcome:
    """Advance ``cs`` by one result observed at ``at``; return what to write."""
    flip = _advance(cs, result, at)
    cs.last_result, cs.last_result_at = result, at
    outcome = Outcome(result_row=_result_row(cs.check_id, result, at), check_row=cs.snapshot())
    if flip is not None:
        old, new, flip_at = flip
        outcome.flip_row = _flip_row(
            cs.check_id, old, new, flip_at, result.message, result.error_kind
        )
        _incident_ops(cs, outcome, old, new, flip_at, result)
    return outcome


def _flip_row(
    check_id: int,
    old: State,
    new: State,
    at: datetime,
    reason: str,
    error_kind: ErrorKind | None = None,
) -> FlipRow:
    return {
        "uid": new_uid(),
        "check_id": check_id,
        "at": at,
        "old_state": old,
        "new_state": new,
        "reason": clean_text(reason, MESSAGE_LIMIT),
        "error_kind": error_kind,
    }


Flipped = tuple[State, State, datetime]


def _advance(cs: CheckState, result: ProbeResult, at: datetime) -> Flipped | None:
    if result.status is Status.DOWN:
        return _on_down(cs, at)
    return _on_available(cs, State(result.status.value), at)


def _on_down(cs: CheckState, at: datetime) -> Flipped | None:
    if cs.state is State.DOWN:
        _reset_streak(cs)
        return None
    _extend_streak(cs, State.DOWN, at)
    if cs.streak_count < cs.failure_threshold:
        return None
    return _flip(cs, State.DOWN, cs.streak_started_at or at)


def _on_available(cs: CheckState, status: State, at: datetime) -> Flipped | None:
    if cs.state in AVAILABLE:
        _reset_streak(cs)
        return None if cs.state is status else _flip(cs, status, at)
    _extend_streak(cs, State.UP, at)
    if cs.streak_count < cs.recovery_threshold:
        return None
    return _flip(cs, status, cs.streak_started_at or at)


def _extend_streak(cs: CheckState, direction: State, at: datetime) -> None:
    if cs.streak_status != direction:
        cs.streak_status, cs.streak_count, cs.streak_started_at = direction, 0, at
    cs.streak_count += 1


def _reset_streak(cs: CheckState) -> None:
    cs.streak_status, cs.streak_count, cs.streak_started_at = None, 0, None


def _flip(cs: CheckState, new: State, at: datetime) -> Flipped:
    old = cs.state
    cs.state, cs.state_since = new, at
    _reset_streak(cs)
    return old, new, at


def _incident_ops(
    cs: CheckState, outcome: Outcome, old: State, new: State, at: datetime, result: ProbeResult
) -> None:
    if new is State.DOWN:
        outcome.incident_open = {
            "check_id": cs.check_id,
            "unit_id": cs.unit_id,
            "started_at": at,
            "error_kind": result.error_kind.value if result.error_kind else None,
            "message": clean_text(result.message, MESSAGE_LIMIT),
        }
    elif old is State.DOWN:
        outcome.incident_close = {"check_id": cs.check_id, "ended_at": at, "closed_by": new}


def apply_unknown(cs: CheckState, result: ProbeResult, at: datetime, reason: str) -> Outcome:
    """Record ``result`` as observed but move the state to ``unknown`` at ``at``.

    Used while the monitor cannot trust its own view (its canaries fail, or too
    many checks fail at once): the raw result is kept for drill-down, the check
    is neither down nor up, and availability excludes the time (docs/design.md §2).
    """
    _reset_streak(cs)
    cs.last_result, cs.last_result_at = result, at
    row = _result_row(cs.check_id, result, at, unknown=reason)
    outcome = Outcome(result_row=row, check_row=cs.snapshot())
    if cs.state is State.UNKNOWN:
        return outcome
    old, new, flip_at = _flip(cs, State.UNKNOWN, at)
    outcome.check_row = cs.snapshot()
    outcome.flip_row = _flip_row(cs.check_id, old, new, flip_at, reason)
    _incident_ops(cs, outcome, old, new, flip_at, result)
    return outcome


def _result_row(
    check_id: int, result: ProbeResult, at: datetime, unknown: str | None = None
) -> ResultRow:
    """Text from outside (messages, details) is cleaned here once more: a probe or
    the runtime may have added to ``details`` after the result was built."""
    details = result.details if unknown is None else {**result.details, "unknown": unknown}
    return {
        "uid": new_uid(),
        "check_id": check_id,
        "at": at,
        "status": result.status,
        "latency_ms": round(result.latency * 1000, 3),
        "error_kind": result.error_kind,
        "message": clean_text(result.message, MESSAGE_LIMIT),
        "details": clean_details(details),
        "slot": None,
    }
