from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import pytest
import uvloop

from app.monitor.checks import RuntimeCheck
from app.monitor.scheduler import CheckScheduler, phase
from probes.http import HttpConfig


def _rc(i: int, interval: int = 30, h: str = "a") -> RuntimeCheck:
    return RuntimeCheck(
        id=i,
        key=f"u{i}.centre.http",
        unit_id=1,
        unit_code="12337",
        service_kind="commune_centre",
        kind="http",
        config=HttpConfig(url="http://127.0.0.1:9/"),
        interval_s=interval,
        timeout_s=5,
        failure_threshold=2,
        recovery_threshold=1,
        config_hash=h,
        created_at=datetime(2026, 11, 1, tzinfo=UTC),
    )


def test_phases_spread_evenly_over_the_interval() -> None:
    phases = [phase(f"{code}.centre.http", 30) for code in range(10_000, 12_000)]
    assert all(0 <= p < 30 for p in phases)
    buckets = [0] * 10
    for p in phases:
        buckets[int(p / 3)] += 1
    assert min(buckets) > 150  # 200 expected per 3-second bucket
    assert abs(statistics.mean(phases) - 15) < 1


def test_phase_is_stable_for_a_key() -> None:
    assert phase("12337.centre.http", 60) == phase("12337.centre.http", 60)


async def test_sync_adds_replaces_and_removes_jobs() -> None:
    async def run(*_: object) -> None:
        return None

    sched = CheckScheduler(run)
    assert sched.sync({i: _rc(i) for i in range(5)}) == {"added": 5, "replaced": 0, "removed": 0}
    changed = {i: _rc(i) for i in range(1, 5)} | {2: _rc(2, interval=60), 3: _rc(3, h="b")}
    assert sched.sync(changed) == {"added": 0, "replaced": 2, "removed": 1}
    assert sched.job_count == 4
    assert sched.sync(changed) == {"added": 0, "replaced": 0, "removed": 0}


async def test_a_late_run_fills_the_latest_slot_due() -> None:
    async def run(*_: object) -> None:
        return None

    sched = CheckScheduler(run, spread=False)
    sched.sync({1: _rc(1, interval=10)})
    anchor, _ = sched._anchors[1]
    assert sched.latest_slot_time(1, anchor + 30.25) == pytest.approx(anchor + 30)
    assert sched.latest_slot_time(1, anchor - 1) == anchor
    # a time of the grid is its own slot, float error and all
    at = anchor + 3 * 10
    assert sched.latest_slot_time(1, at - 1e-9) == pytest.approx(at)
    assert sched.next_slot_time(1, at - 1e-9) == pytest.approx(at + 10)
    assert sched.slot_at(1, at) == sched.slot_at(1, anchor) + 3


OnLoop = Callable[[Coroutine[Any, Any, None]], None]


@pytest.fixture(params=["asyncio", "uvloop"])
def on_loop(request: pytest.FixtureRequest) -> OnLoop:
    """Runs a test's body on asyncio's loop and on uvloop (``serve``'s, whose timers
    are kept to the millisecond and may fire up to one early)."""
    factory = asyncio.new_event_loop if request.param == "asyncio" else uvloop.new_event_loop

    def run(body: Coroutine[Any, Any, None]) -> None:
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(body)

    return run


class Runs:
    """A run function that records (check, wall time, slot) of every run it gets."""

    def __init__(self, hold_s: float = 0.0) -> None:
        self.seen: list[tuple[int, float, int | None]] = []
        self.scheduled: list[float] = []
        self.hold_s = hold_s

    async def __call__(self, check_id: int, scheduled: float, slot: int | None) -> None:
        self.seen.append((check_id, time.time(), slot))
        self.scheduled.append(scheduled)
        await asyncio.sleep(self.hold_s)

    def of(self, check_id: int) -> list[tuple[float, int | None]]:
        return [(t, slot) for c, t, slot in self.seen if c == check_id]


def _scheduler(hold_s: float = 0.0, **kwargs: Any) -> tuple[CheckScheduler, Runs]:
    runs = Runs(hold_s)
    return CheckScheduler(runs, **kwargs), runs


def test_runs_fall_on_each_checks_grid_one_slot_after_another(on_loop: OnLoop) -> None:
    on_loop(_runs_fall_on_each_checks_grid_one_slot_after_another())


async def _runs_fall_on_each_checks_grid_one_slot_after_another() -> None:
    sched, runs = _scheduler()
    sched.sync({i: _rc(i, interval=1) for i in range(3)})
    sched.start()
    try:
        await asyncio.sleep(3.2)
    finally:
        sched.shutdown()
    for i in range(3):
        seen = runs.of(i)
        assert len(seen) >= 3
        grid = phase(f"u{i}.centre.http", 1)
        for t, slot in seen:
            assert slot is not None
            assert -0.002 <= t - (grid + slot) < 0.1  # on its slot's time (timers: to the ms)
        slots = [slot for _, slot in seen]
        assert slots == list(range(slots[0], slots[0] + len(slots)))  # none missed, none twice


def test_a_check_never_runs_twice_at_once(on_loop: OnLoop) -> None:
    on_loop(_a_check_never_runs_twice_at_once())


async def _a_check_never_runs_twice_at_once() -> None:
    sched, runs = _scheduler(hold_s=1.6, spread=False)
    sched.sync({1: _rc(1, interval=1)})
    sched.start()
    try:
        await asyncio.sleep(2.3)
    finally:
        sched.shutdown()
    # t=0 runs until 1.6; the slot at t=1 is skipped; t=2 runs again
    assert len(runs.of(1)) == 2
    assert sched.skipped == 1


def test_a_retry_moves_the_next_run_and_resume_puts_it_back_on_the_grid(on_loop: OnLoop) -> None:
    on_loop(_a_retry_moves_the_next_run_and_resume_puts_it_back_on_the_grid())


async def _a_retry_moves_the_next_run_and_resume_puts_it_back_on_the_grid() -> None:
    sched, runs = _scheduler(spread=False)
    sched.sync({1: _rc(1, interval=10)})
    sched.start()
    try:
        await asyncio.sleep(0.05)
        ((t0, slot0),) = runs.of(1)
        sched.retry(1, t0 + 0.3, time.time())
        assert sched.retrying(1)
        await asyncio.sleep(0.5)
        (_, _), (t1, slot1) = runs.of(1)
        assert 0.3 <= t1 - t0 < 0.4 and slot1 is None  # a retry fills no slot
        sched.resume(1, time.time())
        assert not sched.retrying(1)
        assert sched.next_slot_time(1, time.time()) == pytest.approx(t0 + 10, abs=0.05)
        await asyncio.sleep(0.3)
        assert len(runs.of(1)) == 2  # back on the grid: nothing before the next slot
        assert slot0 is not None
    finally:
        sched.shutdown()


def test_pause_and_removal_stop_the_runs(on_loop: OnLoop) -> None:
    on_loop(_pause_and_removal_stop_the_runs())


async def _pause_and_removal_stop_the_runs() -> None:
    sched, runs = _scheduler(spread=False)
    sched.sync({1: _rc(1, interval=1), 2: _rc(2, interval=1)})
    sched.start()
    try:
        await asyncio.sleep(0.1)
        assert len(runs.of(1)) == len(runs.of(2)) == 1
        sched.sync({1: _rc(1, interval=1)})
        await asyncio.sleep(1.1)
        assert len(runs.of(1)) == 2 and len(runs.of(2)) == 1
        sched.pause()
        await asyncio.sleep(1.1)
        assert len(runs.of(1)) == 2
    finally:
        sched.shutdown()


def test_a_run_later_than_the_grace_is_skipped(on_loop: OnLoop) -> None:
    on_loop(_a_run_later_than_the_grace_is_skipped())


async def _a_run_later_than_the_grace_is_skipped() -> None:
    sched, runs = _scheduler(spread=False, misfire_grace_s=0.2)
    sched.sync({1: _rc(1, interval=1)})  # due now; started 0.5 s late
    await asyncio.sleep(0.5)
    sched.start()
    try:
        await asyncio.sleep(0.2)
        assert runs.of(1) == [] and sched.skipped == 1
        await asyncio.sleep(0.5)
        assert len(runs.of(1)) == 1  # the next slot runs
    finally:
        sched.shutdown()
