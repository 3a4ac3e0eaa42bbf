"""The probe timer: one event-loop timer per check, on the check's slot grid.

docs/design.md §4: every check runs at ``phase + k * interval`` (app/slots.py), the
same grid in every replica, so a shard's new owner starts at the next slot. A run
is a task of its own; a check never has two runs at once (the later one is
skipped, as APScheduler's ``max_instances=1``), runs missed together are run once
(coalesced), and a run later than ``misfire_grace_s`` is skipped.

Not APScheduler: checks already live on fixed slots, so a scheduler adds only its
own overhead. At 17,000 checks (567 runs/s) APScheduler 3's bookkeeping per run
(its job store's sorted list, timezone-aware trigger arithmetic, events, executor)
was 5.4 % of a national run's CPU; one ``call_later`` per run, on uvloop's timer
heap, is what is left (docs/design.md §4).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Coroutine
from typing import Any

from app.monitor.checks import RuntimeCheck
from app.slots import next_slot_at, phase, slot_of

log = logging.getLogger(__name__)

RunFn = Callable[[int, float, int | None], Coroutine[Any, Any, None]]
"""``run(check_id, scheduled, slot)``: the time the run was due (wall clock) and the
slot it fills (None for a retry: its result is an extra sample)."""
GRID_TOLERANCE_S = 0.001
RESCHEDULE_GAP_S = 0.1  # a run moved from inside the run: due after the run has returned


__all__ = ["CheckScheduler", "RunFn", "phase"]


class CheckScheduler:
    def __init__(self, run: RunFn, *, misfire_grace_s: float = 30, spread: bool = True) -> None:
        self._run = run
        self._spread = spread
        self._grace = misfire_grace_s
        self._loop: asyncio.AbstractEventLoop | None = None  # set by start()
        self._anchors: dict[int, tuple[float, int]] = {}
        self._phases: dict[int, float] = {}
        self._keys: dict[int, tuple[int, str]] = {}
        self._retry_at: dict[int, float] = {}  # checks whose next run is a retry, off the grid
        self._due: dict[int, float] = {}  # the wall time of each check's next run
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._running: dict[int, asyncio.Task[None]] = {}
        self.skipped = 0  # runs not started: the check's last run still going, or too late

    def start(self) -> None:
        """Arm every check's timer; call from the event loop that runs the probes."""
        self._loop = asyncio.get_running_loop()
        for check_id, due in self._due.items():
            self._arm(check_id, due)

    def pause(self) -> None:
        """Start no more runs; runs already started go on."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._loop = None

    def shutdown(self) -> None:
        self.pause()

    @property
    def job_count(self) -> int:
        return len(self._anchors)

    def sync(self, checks: dict[int, RuntimeCheck]) -> dict[str, int]:
        """Make the timers match ``checks``: add new, replace changed, remove gone."""
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
        self._anchors[rc.id] = (anchor, interval)
        self._phases[rc.id] = grid
        self._keys[rc.id] = rc.schedule_key()
        self._set(rc.id, anchor)

    def _remove(self, check_id: int) -> None:
        """Forget the check; a run already started goes on."""
        if (timer := self._timers.pop(check_id, None)) is not None:
            timer.cancel()
        for known in (self._anchors, self._phases, self._keys, self._retry_at, self._due):
            known.pop(check_id, None)

    # timers ------------------------------------------------------------------------
    def _set(self, check_id: int, due: float) -> None:
        """The check's next run is at ``due`` (wall clock), instead of any other."""
        if (timer := self._timers.pop(check_id, None)) is not None:
            timer.cancel()
        self._due[check_id] = due
        self._arm(check_id, due)

    def _arm(self, check_id: int, due: float) -> None:
        if self._loop is None:
            return  # not started (or paused): start() arms it
        delay = max(0.0, due - time.time())
        self._timers[check_id] = self._loop.call_later(delay, self._fire, check_id, due)

    def _fire(self, check_id: int, due: float) -> None:
        self._timers.pop(check_id, None)
        if check_id not in self._anchors or self._loop is None:
            return
        now = time.time()
        retry = self._retry_at.get(check_id) == due
        if not retry:
            self._retry_at.pop(check_id, None)  # a run on the grid: any retry is over
        # What this run is for. A timer may fire a little early (libuv rounds to the
        # millisecond) or late; the run still fills the slot it was set for, or, late
        # past later slots (coalesced), the latest of them. A retry fills none.
        scheduled = due if retry else self.latest_slot_time(check_id, max(now, due))
        slot = None if retry else self.slot_at(check_id, scheduled)
        # the next run is the grid's next slot, unless this run moves it (retry/resume)
        self._set(check_id, self.next_slot_time(check_id, max(now, scheduled)))
        late = now - scheduled
        if check_id in self._running:
            self._skip(check_id, "its last run is still going", late)
        elif late > self._grace:
            self._skip(check_id, "too late", late)
        else:
            run = self._run(check_id, scheduled, slot)
            task = self._loop.create_task(run, name=f"check-{check_id}")
            self._running[check_id] = task
            task.add_done_callback(lambda t: self._ended(check_id, t))

    def _skip(self, check_id: int, why: str, late: float) -> None:
        self.skipped += 1
        log.warning("run of check %s skipped: %s (%.1f s after its time)", check_id, why, late)

    def _ended(self, check_id: int, task: asyncio.Task[None]) -> None:
        if self._running.get(check_id) is task:
            del self._running[check_id]
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("run of check %s failed", check_id, exc_info=exc)

    # retries (a check's retry_interval) ----------------------------------------
    def retry(self, check_id: int, at: float, now: float) -> None:
        """Run the check next at ``at`` instead of its next slot, unless the slot comes first.

        While a streak disagrees with the confirmed state the runtime re-probes at the
        shorter retry interval; :meth:`resume` puts the check back on its grid.
        """
        if check_id not in self._anchors:
            return
        # Called from inside the run: a next run due before that run has ended would
        # be skipped (one run at a time) and the check would wait a whole interval.
        at = max(at, now + RESCHEDULE_GAP_S)
        if self.next_slot_time(check_id, now) <= at:
            self.resume(check_id, now)
            return
        self._retry_at[check_id] = at
        self._set(check_id, at)

    def resume(self, check_id: int, now: float) -> None:
        """After retries: the check's next run is its next slot after ``now``."""
        if self._retry_at.pop(check_id, None) is None or check_id not in self._anchors:
            return
        self._set(check_id, self.next_slot_time(check_id, now + RESCHEDULE_GAP_S))

    def retrying(self, check_id: int) -> bool:
        """True when the check's next (or current) run is a retry."""
        return check_id in self._retry_at

    def next_slot_time(self, check_id: int, now: float) -> float:
        """The first scheduled time of the check's grid after ``now``."""
        anchor, interval = self._anchors[check_id]
        if now < anchor:
            return anchor
        return anchor + (self._k(now - anchor, interval) + 1) * interval

    def latest_slot_time(self, check_id: int, now: float) -> float:
        """The latest scheduled time of the check's grid at or before ``now``."""
        anchor, interval = self._anchors[check_id]
        if now <= anchor:
            return anchor
        return anchor + self._k(now - anchor, interval) * interval

    @staticmethod
    def _k(since_anchor: float, interval: float) -> int:
        """Grid times passed since the anchor; a time of the grid itself (float error
        and all: ``anchor + k * interval``) counts as passed."""
        return math.floor((since_anchor + GRID_TOLERANCE_S) / interval)

    def slot_at(self, check_id: int, scheduled: float) -> int:
        """The slot ``floor((t - phase) / interval)`` the grid's time ``t`` fills."""
        return slot_of(scheduled, self._phases[check_id], self._anchors[check_id][1])
