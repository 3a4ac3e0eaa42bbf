"""One APScheduler 3 job per check, first runs spread evenly over the interval.

docs/design.md §4: 20,000 jobs starting at the same instant are each ~1 s late, so
every check gets a stable phase in ``[0, interval)`` derived from its key.
MemoryJobStore only: 3.x cannot share a job store between processes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from app.monitor.checks import RuntimeCheck
from app.slots import next_slot_at, phase, slot_of

RunFn = Callable[[int], Awaitable[None]]
RESCHEDULE_GAP_S = 0.1  # a run moved from inside the job: due after the job has returned


__all__ = ["CheckScheduler", "RunFn", "phase"]


class CheckScheduler:
    def __init__(self, run: RunFn, *, misfire_grace_s: int = 30, spread: bool = True) -> None:
        self._run = run
        self._spread = spread
        self._sched = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": misfire_grace_s,
            },
        )
        self._anchors: dict[int, tuple[float, int]] = {}
        self._phases: dict[int, float] = {}
        self._keys: dict[int, tuple[int, str]] = {}
        self._retry_at: dict[int, float] = {}  # checks whose next run is a retry, off the grid

    def start(self) -> None:
        self._sched.start()

    def pause(self) -> None:
        """Submit no more runs; runs already started go on."""
        if self._sched.running:
            self._sched.pause()

    def shutdown(self) -> None:
        if self._sched.running:
            self._sched.shutdown(wait=False)

    @property
    def job_count(self) -> int:
        return len(self._anchors)

    def sync(self, checks: dict[int, RuntimeCheck]) -> dict[str, int]:
        """Make the jobs match ``checks``: add new, replace changed, remove gone."""
        counts = {"added": 0, "replaced": 0, "removed": 0}
        for check_id in list(self._anchors):
            if check_id not in checks:
                self._remove(check_id)
                counts["removed"] += 1
        now = time.time()
        for rc in checks.values():
            known = self._keys.get(rc.id)
            if known == rc.schedule_key():
                continue
            if known is not None:
                self._remove(rc.id)
                counts["replaced"] += 1
            else:
                counts["added"] += 1
            self._add(rc, now)
        return counts

    def _add(self, rc: RuntimeCheck, now: float) -> None:
        # Spread: on the check's fixed grid (phase + k * interval), the same in every
        # replica, so a shard's new owner starts at the next slot (docs/design.md §4).
        # Not spread (tests, benches): at once.
        interval = rc.interval_s
        if self._spread:
            grid = phase(rc.key, interval)
            anchor = next_slot_at(now, grid, interval)
        else:
            grid, anchor = 0.0, now
        trigger = IntervalTrigger(
            seconds=rc.interval_s, start_date=datetime.fromtimestamp(anchor, UTC), timezone=UTC
        )
        self._sched.add_job(
            self._run, trigger, args=[rc.id], id=str(rc.id), name=rc.key, replace_existing=True
        )
        self._anchors[rc.id] = (anchor, rc.interval_s)
        self._phases[rc.id] = grid
        self._keys[rc.id] = rc.schedule_key()

    def _remove(self, check_id: int) -> None:
        if self._sched.get_job(str(check_id)) is not None:
            self._sched.remove_job(str(check_id))
        self._anchors.pop(check_id, None)
        self._phases.pop(check_id, None)
        self._keys.pop(check_id, None)
        self._retry_at.pop(check_id, None)

    # retries (a check's retry_interval) ----------------------------------------
    def retry(self, check_id: int, at: float, now: float) -> None:
        """Run the check next at ``at`` instead of its next slot, unless the slot comes first.

        While a streak disagrees with the confirmed state the runtime re-probes at the
        shorter retry interval; :meth:`resume` puts the job back on its grid.
        """
        if check_id not in self._anchors:
            return
        # Called from inside the job's run: a next run due before that run has ended would
        # be skipped (max_instances=1) and the job would wait a whole interval instead.
        at = max(at, now + RESCHEDULE_GAP_S)
        if self.next_slot_time(check_id, now) <= at:
            self.resume(check_id, now)
            return
        self._retry_at[check_id] = at
        self._sched.modify_job(str(check_id), next_run_time=datetime.fromtimestamp(at, UTC))

    def resume(self, check_id: int, now: float) -> None:
        """After retries: the job's next run is its next slot after ``now``."""
        if self._retry_at.pop(check_id, None) is None or check_id not in self._anchors:
            return
        nxt = self.next_slot_time(check_id, now + RESCHEDULE_GAP_S)
        self._sched.modify_job(str(check_id), next_run_time=datetime.fromtimestamp(nxt, UTC))

    def retrying(self, check_id: int) -> bool:
        """True when the check's next (or current) run is a retry."""
        return check_id in self._retry_at

    def next_slot_time(self, check_id: int, now: float) -> float:
        """The first scheduled time of the check's grid after ``now``."""
        anchor, interval = self._anchors[check_id]
        if now < anchor:
            return anchor
        return anchor + (math.floor((now - anchor) / interval) + 1) * interval

    def lateness(self, check_id: int, now: float) -> float:
        """How late a run starting at ``now`` is against its latest scheduled time."""
        if (retry_at := self._retry_at.get(check_id)) is not None:
            return max(0.0, now - retry_at)
        anchor, interval = self._anchors.get(check_id, (now, 1))
        if now <= anchor:
            return 0.0
        k = math.floor((now - anchor) / interval)
        return now - (anchor + k * interval)

    def slot(self, check_id: int, now: float) -> int | None:
        """The slot a run starting at ``now`` fills: ``floor((t - phase) / interval)``
        of its scheduled time ``t``, so a late run still fills its own slot."""
        if check_id not in self._anchors or check_id in self._retry_at:
            return None  # a retry run fills no slot: its result is an extra sample
        interval = self._anchors[check_id][1]
        scheduled = now - self.lateness(check_id, now)
        return slot_of(scheduled, self._phases[check_id], interval)
