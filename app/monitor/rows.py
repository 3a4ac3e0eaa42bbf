"""The rows one probe result causes, typed: what the evaluator builds, the
pipeline buffers, the spool keeps and the batch writer hands to ``executemany``.

TypedDicts (not dataclasses) so the writer passes them to SQLAlchemy as they are.
"""

from __future__ import annotations

from datetime import datetime
from typing import (
    Any,
    NotRequired,  # pydantic validates records; needs it on 3.11
)

from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

from app.incidents.rows import IncidentCloseRow, IncidentOpenRow
from app.vocab.states import State
from probes.base import ErrorKind, Status


@with_config(ConfigDict(extra="forbid"))  # records read back are checked
class ResultRow(TypedDict):
    """One ``probe_result`` row."""

    uid: str
    check_id: int
    at: datetime
    status: Status
    latency_ms: float
    error_kind: ErrorKind | None
    message: str
    details: dict[str, Any]
    # the check's fixed slot this result fills (docs/design.md §4); absent or None
    # outside the schedule (push beats, ad hoc runs, records journaled before 0007)
    slot: NotRequired[int | None]
    # where it was observed from (docs/agents.md); absent: "central" (the column default)
    vantage: NotRequired[str]


@with_config(ConfigDict(extra="forbid"))  # records read back are checked
class FlipRow(TypedDict):
    """One ``flip`` row."""

    uid: str
    check_id: int
    at: datetime
    old_state: State
    new_state: State
    reason: str
    error_kind: ErrorKind | None


@with_config(ConfigDict(extra="forbid"))  # records read back are checked
class CheckRow(TypedDict):
    """The columns of ``check`` that mirror the evaluator's state (an UPDATE by ``id``)."""

    id: int
    state: State
    state_since: datetime | None
    streak_status: State | None  # State.DOWN or State.UP: which way the streak points
    streak_count: int
    streak_started_at: datetime | None
    last_result_at: datetime | None
    last_beat_at: datetime | None


@with_config(ConfigDict(extra="forbid"))  # records read back are checked
class VantageRow(TypedDict):
    """One ``check_vantage`` row (upserted by ``(check_id, vantage)``): the confirmed
    state of a multi-vantage check as seen from one vantage."""

    check_id: int
    vantage: str
    state: str
    since: datetime | None
    streak_status: str | None
    streak_count: int
    streak_started_at: datetime | None
    last_result_at: datetime | None


__all__ = [
    "CheckRow",
    "FlipRow",
    "IncidentCloseRow",
    "IncidentOpenRow",
    "ResultRow",
    "VantageRow",
]
