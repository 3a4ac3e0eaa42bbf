"""The incident rows the monitor's batch writer hands to :mod:`app.incidents.repository`.

They live here, below ``monitor`` in the layers, so the evaluator that builds
them and the repository that writes them share one definition.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict  # pydantic validates records; needs it on 3.11

from app.vocab.states import State


@with_config(ConfigDict(extra="forbid"))  # records read back are checked
class IncidentOpenRow(TypedDict):
    """Open an incident for ``check_id`` at ``started_at`` (once: the pair is unique)."""

    check_id: int
    unit_id: int
    started_at: datetime
    error_kind: str | None
    message: str


@with_config(ConfigDict(extra="forbid"))  # records read back are checked
class IncidentCloseRow(TypedDict):
    """End the check's incidents that started at or before ``ended_at``."""

    check_id: int
    ended_at: datetime
    closed_by: State | None  # the state the closing flip went to (up, unknown, ...)
