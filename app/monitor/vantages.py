"""Checks observed from several vantages (docs/agents.md): each vantage has its own
confirmed state (the same thresholds), and the check's state is the quorum over the
vantages whose state is known. Pure and in-memory, like the evaluator; used only for
checks with more than one location or a location other than ``central``, so the
single-vantage hot path (``apply_result``) is untouched."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime

from app.monitor.evaluator import (
    CheckState,
    Outcome,
    _flip,
    _flip_row,
    _incident_ops,
    _result_row,
    apply_result,
)
from app.monitor.rows import VantageRow
from app.vocab.states import State
from probes.base import ErrorKind, ProbeResult

CENTRAL = "central"


def combine(states: list[State], quorum: str) -> State:
    """The check's state from its vantages' states (``unknown`` ones are ignored
    unless all are): ``any`` down if one is down, ``all`` only if every known one
    is, ``majority`` if more than half are; degraded (or worse) by the same rule."""
    known = [s for s in states if s is not State.UNKNOWN and s is not State.MAINTENANCE]
    if not known:
        return State.UNKNOWN
    n = len(known)
    down = sum(1 for s in known if s is State.DOWN)
    worse = down + sum(1 for s in known if s is State.DEGRADED)

    def holds(count: int) -> bool:
        if quorum == "all":
            return count == n
        if quorum == "majority":
            return count * 2 > n
        return count >= 1

    if holds(down):
        return State.DOWN
    if holds(worse):
        return State.DEGRADED
    return State.UP


@dataclass(slots=True)
class Parked:
    """A vantage's (and the check's) state just before its agent went silent, so that
    replayed results can take the unknown time's place (docs/agents.md)."""

    vantage: CheckState
    check: CheckState | None  # None: the check did not flip to unknown then
    flip_uid: str | None  # the check's unknown flip, retracted on replay


@dataclass(slots=True)
class VantageSet:
    """The per-vantage states of one multi-vantage check."""

    check_id: int
    unit_id: int
    locations: tuple[str, ...]
    quorum: str
    states: dict[str, CheckState] = field(default_factory=dict)
    parked: dict[str, Parked] = field(default_factory=dict)

    def state_of(self, vantage: str) -> CheckState:
        cs = self.states.get(vantage)
        if cs is None:
            cs = self.states[vantage] = CheckState(self.check_id, self.unit_id)
        return cs

    def combined(self) -> State:
        return combine([self.state_of(v).state for v in self.locations], self.quorum)


def vantage_row(check_id: int, vantage: str, vs: CheckState) -> VantageRow:
    """The ``check_vantage`` row mirroring ``vs`` (upserted by the writer)."""
    return {
        "check_id": check_id,
        "vantage": vantage,
        "state": vs.state.value,
        "since": vs.state_since,
        "streak_status": vs.streak_status.value if vs.streak_status else None,
        "streak_count": vs.streak_count,
        "streak_started_at": vs.streak_started_at,
        "last_result_at": vs.last_result_at,
    }


def apply_vantage_result(
    cs: CheckState, vset: VantageSet, vantage: str, result: ProbeResult, at: datetime
) -> Outcome:
    """Advance the vantage's state by ``result``, then the check's by the quorum.

    The check flips when the combined state changes, dated at the vantage flip that
    caused it; incidents open and close with the check's flips as usual."""
    vs = vset.state_of(vantage)
    vantage_outcome = apply_result(vs, result, at)
    row = vantage_outcome.result_row
    row["vantage"] = vantage
    cs.last_result, cs.last_result_at = result, at
    outcome = Outcome(result_row=row, check_row=cs.snapshot())
    outcome.vantage_row = vantage_row(vset.check_id, vantage, vs)
    _to_combined(cs, vset, outcome, vs.state_since or at, result)
    return outcome


def _to_combined(
    cs: CheckState, vset: VantageSet, outcome: Outcome, at: datetime, result: ProbeResult
) -> None:
    new = vset.combined()
    if new is cs.state:
        outcome.check_row = cs.snapshot()
        return
    # the check follows its vantages: no streak of its own
    cs.streak_status, cs.streak_count, cs.streak_started_at = None, 0, None
    flip_at = max(at, cs.state_since) if cs.state_since is not None else at
    old, new, flip_at = _flip(cs, new, flip_at)
    reason = result.message if new is not State.UNKNOWN else "no vantage reports"
    outcome.check_row = cs.snapshot()
    kind = result.error_kind if new is State.DOWN else None
    outcome.flip_row = _flip_row(cs.check_id, old, new, flip_at, reason, kind)
    _incident_ops(cs, outcome, old, new, flip_at, result)


def apply_vantage_unknown(
    cs: CheckState, vset: VantageSet, vantage: str, at: datetime, reason: str
) -> Outcome | None:
    """The vantage's agent went silent: its state becomes unknown at ``at`` (parked
    first, for a replay to take back); the check follows by the quorum. None when the
    vantage was unknown already."""
    vs = vset.state_of(vantage)
    if vs.state is State.UNKNOWN:
        return None
    before_vantage, before_check = copy.copy(vs), copy.copy(cs)
    vs.state, vs.state_since = State.UNKNOWN, at
    vs.streak_status, vs.streak_count, vs.streak_started_at = None, 0, None
    marker = ProbeResult.down(ErrorKind.INTERNAL, reason)
    row = _result_row(vset.check_id, marker, at, unknown=reason)
    row["vantage"] = vantage
    outcome = Outcome(result_row=row, check_row=cs.snapshot())
    outcome.vantage_row = vantage_row(vset.check_id, vantage, vs)
    _to_combined(cs, vset, outcome, at, marker)
    flipped = outcome.flip_row is not None
    vset.parked[vantage] = Parked(
        before_vantage,
        before_check if flipped else None,
        outcome.flip_row["uid"] if outcome.flip_row is not None else None,
    )
    return outcome


def unpark(cs: CheckState, vset: VantageSet, vantage: str) -> str | None:
    """A replayed result arrived for a vantage parked as unknown: restore the vantage
    (and the check, if it flipped to unknown then and has not moved since) so the
    replay takes the unknown time's place. Returns the check's unknown flip uid to
    retract, if any."""
    parked = vset.parked.pop(vantage, None)
    if parked is None:
        return None
    vset.states[vantage] = parked.vantage
    if parked.check is None or parked.flip_uid is None or cs.state is not State.UNKNOWN:
        return None
    if parked.check.state is State.DOWN:
        return None  # its incident was closed by the unknown flip: keep history as it is
    for name in ("state", "state_since", "last_result", "last_result_at"):
        setattr(cs, name, getattr(parked.check, name))
    return parked.flip_uid
