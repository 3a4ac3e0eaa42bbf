"""The monitor's own connectivity: is it blind right now?

The monitor is *blind* when every canary check is failing (its gateway, a
reference host), or when at least ``storm.share`` of all checks (and at least
``storm.min_checks`` of them) fail within ``storm.window_s`` without a failing
parent to explain them. While blind, failing results are recorded as observed
but the checks go to ``unknown`` instead of down, so no commune is paged and
availability excludes the period (docs/design.md §2).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.notify.policy import Storm

ChangeHook = Callable[[bool, datetime, str], None]


@dataclass(slots=True)
class GuardTopology:
    """What the guard needs to know about the checks (rebuilt on every reload)."""

    checks: set[int] = field(default_factory=set)
    canaries: set[int] = field(default_factory=set)
    parents: dict[int, list[int]] = field(default_factory=dict)
    labels: dict[int, str] = field(default_factory=dict)  # check id → key, for reasons


class ConnectivityGuard:
    def __init__(
        self,
        storm: Storm | None = None,
        on_change: ChangeHook | None = None,
        *,
        min_eval_interval_s: float = 0.2,
    ) -> None:
        self.storm = storm or Storm()
        self.topology = GuardTopology()
        self.on_change = on_change
        self.blind = False
        self.reason = ""
        self.since: datetime | None = None
        self._failing: dict[int, datetime] = {}  # check → its latest failure
        self._failing_since: dict[int, datetime] = {}  # check → first failure of the streak
        self._ok_at: dict[int, datetime] = {}  # check → its latest success
        self._min_eval = min_eval_interval_s
        self._last_eval = 0.0

    def configure(self, storm: Storm, topology: GuardTopology) -> None:
        self.storm = storm
        self.topology = topology
        self._failing = {c: at for c, at in self._failing.items() if c in topology.checks}

    def is_canary(self, check_id: int) -> bool:
        return check_id in self.topology.canaries

    def observe(self, check_id: int, failed: bool, at: datetime) -> bool:
        """Note one result; return whether the monitor is blind now."""
        if failed:
            self._failing[check_id] = at
            self._failing_since.setdefault(check_id, at)
        else:
            self._failing.pop(check_id, None)
            self._failing_since.pop(check_id, None)
            self._ok_at[check_id] = at
        canary = check_id in self.topology.canaries
        if canary or time.monotonic() - self._last_eval >= self._min_eval:
            self.evaluate(at)
        return self.blind

    def evaluate(self, now: datetime) -> bool:
        """Recompute from the latest results; fire ``on_change`` on a transition."""
        self._last_eval = time.monotonic()
        horizon = now - timedelta(seconds=self.storm.window_s)
        for check_id in [c for c, at in self._failing.items() if at < horizon]:
            del self._failing[check_id]
            self._failing_since.pop(check_id, None)
        reason = self._canary_reason() or self._share_reason()
        blind = bool(reason)
        if blind != self.blind:
            self.blind, self.reason = blind, reason
            self.since = now if blind else None
            if self.on_change is not None:
                self.on_change(blind, now, reason)
        return self.blind

    def _canary_reason(self) -> str:
        canaries = self.topology.canaries
        if not canaries or not all(c in self._failing for c in canaries):
            return ""
        names = ", ".join(sorted(self.topology.labels.get(c, str(c)) for c in canaries))
        return f"canary checks failing: {names}"

    def _share_reason(self) -> str:
        total = len(self.topology.checks - self.topology.canaries)
        if total < self.storm.min_checks:
            return ""
        unexplained = [
            c for c in self._failing if c not in self.topology.canaries and not self._explained(c)
        ]
        if len(unexplained) / total < self.storm.share:
            return ""
        return f"{len(unexplained)} of {total} checks failing at once"

    def _explained(self, check_id: int) -> bool:
        """A parent is failing, or has not been seen up since this check began failing."""
        since = self._failing_since.get(check_id)
        for parent in self.topology.parents.get(check_id, ()):
            ok_at = self._ok_at.get(parent)
            if parent in self._failing or ok_at is None or (since and ok_at < since):
                return True
        return False
