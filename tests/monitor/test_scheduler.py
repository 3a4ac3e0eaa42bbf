from __future__ import annotations

import statistics
from datetime import UTC, datetime

import pytest

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
    async def run(_: int) -> None:
        return None

    sched = CheckScheduler(run)
    assert sched.sync({i: _rc(i) for i in range(5)}) == {"added": 5, "replaced": 0, "removed": 0}
    changed = {i: _rc(i) for i in range(1, 5)} | {2: _rc(2, interval=60), 3: _rc(3, h="b")}
    assert sched.sync(changed) == {"added": 0, "replaced": 2, "removed": 1}
    assert sched.job_count == 4
    assert sched.sync(changed) == {"added": 0, "replaced": 0, "removed": 0}


async def test_lateness_is_measured_against_the_latest_scheduled_time() -> None:
    async def run(_: int) -> None:
        return None

    sched = CheckScheduler(run, spread=False)
    sched.sync({1: _rc(1, interval=10)})
    anchor, _ = sched._anchors[1]
    assert sched.lateness(1, anchor + 30.25) == pytest.approx(0.25)
    assert sched.lateness(1, anchor - 1) == 0.0
