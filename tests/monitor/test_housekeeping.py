"""The monitor's heartbeat row, the rollup tick and result retention, on a real DB."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounting.checks import mark_stale
from app.accounting.days import local_day
from app.db import make_engine, make_sessionmaker
from app.models import Check, Flip, MonitorRun, OutageDay, ProbeResult, RollupDay, RollupMonth
from app.monitor.housekeeping import Housekeeper
from app.reports import rollup
from app.reports.rollup import monitor_gaps
from app.reports.rollup_repository import SECONDS
from tests import factories
from tests.conftest import count_rows

T0 = datetime(2026, 5, 20, 3, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_run_row_heartbeat_and_stop(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    clock = Clock(T0)
    keeper = Housekeeper(sessionmaker, heartbeat_s=3_600, clock=clock)
    await keeper.start()
    clock.now = T0 + timedelta(seconds=15)
    await keeper.beat()
    clock.now = T0 + timedelta(seconds=20)
    await keeper.stop()
    async with sessionmaker() as s:
        run = (await s.execute(select(MonitorRun))).scalar_one()
    assert (run.started_at, run.last_seen_at, run.stopped_at) == (
        T0,
        T0 + timedelta(seconds=20),
        T0 + timedelta(seconds=20),
    )


async def test_the_duties_run_apart_so_a_slow_rollup_holds_no_heartbeat(
    sessionmaker: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the real clock: each duty on its own interval (APScheduler), one run of it
    at a time; a failing one goes on being run and stops no other."""
    keeper = Housekeeper(sessionmaker, heartbeat_s=0.2, rollup_s=0.3, prune_s=0.3)
    runs = {"rollup": 0, "prune": 0}

    async def slow_rollup() -> None:
        runs["rollup"] += 1
        await asyncio.sleep(2.0)

    async def failing_prune() -> None:
        runs["prune"] += 1
        raise RuntimeError("the disk is away")

    monkeypatch.setattr(keeper, "rollup", slow_rollup)
    monkeypatch.setattr(keeper, "prune", failing_prune)

    async def last_seen() -> datetime:
        async with sessionmaker() as s:
            run = (await s.execute(select(MonitorRun))).scalar_one()
        return run.last_seen_at

    await keeper.start()
    try:
        await asyncio.sleep(0.5)  # every duty's first run is one heartbeat after the start
        assert runs["rollup"] == 1
        seen = await last_seen()
        await asyncio.sleep(0.8)  # the rollup is still running ...
        assert await last_seen() > seen  # ... and the heartbeat went on
        assert runs["rollup"] == 1  # one run at a time
        assert runs["prune"] >= 3  # failing, and run again on its interval
    finally:
        await keeper.stop()


def test_gaps_between_runs() -> None:
    hour = timedelta(hours=1)
    runs = [
        (T0, T0 + 2 * hour, T0 + 2 * hour),  # stopped cleanly
        (T0 + 3 * hour, T0 + 4 * hour, None),  # vanished: covered up to its last beat
        (T0 + 5 * hour, T0 + 6 * hour - timedelta(seconds=30), None),  # alive
    ]
    gaps = monitor_gaps(runs, T0 - hour, T0 + 6 * hour)
    assert gaps == [(T0 + 2 * hour, T0 + 3 * hour), (T0 + 4 * hour, T0 + 5 * hour)]
    assert monitor_gaps([], T0, T0 + hour) == []


async def test_rollup_tick_and_retention(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as s, s.begin():
        check = await factories.check(s, "tcp", {"host": "127.0.0.1"}, key="12337.centre.tcp")
        s.add_all(
            ProbeResult(
                uid=uuid.uuid4().hex,
                check_id=check.id,
                at=T0 - timedelta(days=days),
                status="up",
                latency_ms=1.0,
            )
            for days in (1, 29, 31, 45)
        )
    keeper = Housekeeper(sessionmaker, retention_days=30, clock=Clock(T0))
    report = await keeper.rollup()
    assert report is not None
    assert report.entities == 3  # the check, its service, its unit
    assert await keeper.prune() == 2
    async with sessionmaker() as s:
        assert (await s.execute(select(func.count()).select_from(ProbeResult))).scalar_one() == 2
        days = (await s.execute(select(RollupDay).order_by(RollupDay.day))).scalars().all()
        month = (await s.execute(select(RollupMonth))).scalars().all()
        assert (await s.execute(select(Check.id))).scalar_one() == check.id
    # yesterday and today (local), each check/service/unit; no flips: all unknown
    assert len(days) == 6
    assert {d.day.isoformat() for d in days} == {"2026-05-19", "2026-05-20"}
    today = [d for d in days if d.day.isoformat() == "2026-05-20"]
    assert all(d.unknown_s == 3 * 3600 + 7 * 3600 for d in today)  # local midnight to 10:00
    assert len(month) == 3 and all(m.unknown_s == 34 * 3600 for m in month)


def _flip(check_id: int, at: datetime, old: str, new: str, created_at: datetime) -> Flip:
    return Flip(
        uid=uuid.uuid4().hex,
        check_id=check_id,
        at=at,
        old_state=old,
        new_state=new,
        created_at=created_at,
    )


async def _days(sm: async_sessionmaker[AsyncSession]) -> dict[tuple[str, int, Any], RollupDay]:
    async with sm() as s:
        rows = (await s.execute(select(RollupDay))).scalars().all()
    return {(r.level, r.entity_id, r.day): r for r in rows}


def _seconds(row: RollupDay) -> tuple[float, ...]:
    return tuple(getattr(row, name) for name in SECONDS)


async def test_rollup_passes_touch_only_changed_checks(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Between full passes, a pass rewrites only the entities of checks with a new flip,
    and their rows equal what a full recomputation gives."""
    async with sessionmaker() as s, s.begin():
        a = await factories.check(s, "tcp", {"host": "127.0.0.1"}, key="12337.centre.tcp")
        b = await factories.check(
            s, "tcp", {"host": "127.0.0.1"}, key="12338.centre.tcp", unit_code="12338"
        )
        s.add_all(
            _flip(c.id, T0 - timedelta(hours=5), "unknown", "up", T0 - timedelta(minutes=5))
            for c in (a, b)
        )
    clock = Clock(T0)
    keeper = Housekeeper(sessionmaker, clock=clock, full_rollup_s=600)
    first = await keeper.rollup()
    assert first is not None and first.changed is None and first.entities == 6

    clock.now = T0 + timedelta(seconds=60)
    async with sessionmaker() as s, s.begin():
        s.add(_flip(a.id, T0 + timedelta(seconds=30), "up", "down", T0 + timedelta(seconds=50)))
    partial = await keeper.rollup()
    assert partial is not None and (partial.changed, partial.entities) == (1, 3)
    days = await _days(sessionmaker)
    assert {k[:2] for k, r in days.items() if r.computed_at == clock.now} == {
        ("check", a.id),
        ("service", a.service_id),
        ("unit", a.unit_id),
    }
    assert days[("check", b.id, local_day(T0))].computed_at == T0  # untouched
    # exactly what a full recomputation at the same time writes for those entities
    async with sessionmaker() as s, s.begin():
        await rollup.recompute(s, local_day(T0) - timedelta(days=1), clock.now)
    full = await _days(sessionmaker)
    for key, row in days.items():
        if key[:2] in {("check", a.id), ("service", a.service_id), ("unit", a.unit_id)}:
            assert _seconds(row) == _seconds(full[key])
    assert days[("check", a.id, local_day(T0))].down_s == 30

    clock.now += timedelta(seconds=60)  # the next pass overlaps the previous interval
    overlap = await keeper.rollup()
    assert overlap is not None and (overlap.changed, overlap.entities) == (1, 3)
    clock.now += timedelta(seconds=60)  # nothing new since: nothing rewritten
    idle = await keeper.rollup()
    assert idle is not None and (idle.changed, idle.entities) == (0, 0)
    clock.now = T0 + timedelta(seconds=600)  # the full pass is due again
    again = await keeper.rollup()
    assert again is not None and again.changed is None and again.entities == 6


async def _rollup_rows(sm: async_sessionmaker[AsyncSession]) -> dict[str, set[tuple[Any, ...]]]:
    """Every rollup table's rows as plain values (``id`` aside), from a fresh session."""
    found: dict[str, set[tuple[Any, ...]]] = {}
    async with sm() as s:
        for model in (RollupDay, OutageDay, RollupMonth):
            columns = [c for c in model.__table__.columns if c.name != "id"]
            found[model.__tablename__] = {tuple(r) for r in await s.execute(select(*columns))}
    return found


@pytest.mark.postgres
async def test_a_full_pass_commits_per_chunk_and_resumes_whole(
    sessionmaker: async_sessionmaker[AsyncSession], db_url: str
) -> None:
    """A full pass commits per chunk of whole units: when a later chunk fails (its rows
    locked by another transaction past the lock timeout), the earlier chunks' rows stay
    committed, the rest keep the previous pass's, and the stale day stays queued; the
    next pass finishes, and writes exactly what one unchunked transaction writes."""
    async with sessionmaker() as s, s.begin():
        checks = [
            await factories.check(
                s, "tcp", {"host": "127.0.0.1"}, key=f"{code}.centre.tcp{n}", unit_code=code
            )
            for code in ("12337", "12338", "12339")
            for n in (1, 2)
        ]
        s.add_all(
            _flip(c.id, T0 - timedelta(hours=5), "unknown", "up", T0 - timedelta(hours=5))
            for c in checks
        )
    first_unit, last_unit = checks[0].unit_id, checks[-1].unit_id
    # the housekeeper's own connections give up on a lock after 1 s
    engine = make_engine(db_url, connect_args={"server_settings": {"lock_timeout": "1000"}})
    clock = Clock(T0)
    keeper = Housekeeper(make_sessionmaker(engine), clock=clock, rollup_chunk=2)
    try:
        assert (await keeper.rollup()) is not None
        async with sessionmaker() as s:
            todo = await rollup.plan(s, T0, chunk_checks=2)
        assert [len(chunk) for chunk in todo.chunks] == [2, 2, 2]  # one unit each

        async with sessionmaker() as s, s.begin():
            s.add(_flip(checks[-1].id, T0 + timedelta(minutes=1), "up", "down", T0))
            s.add(_flip(checks[0].id, T0 + timedelta(minutes=2), "up", "down", T0))
            mark_stale(s, local_day(T0) - timedelta(days=3), local_day(T0), "late result")
        clock.now = T0 + timedelta(seconds=700)  # the next full pass is due
        async with sessionmaker() as holder, holder.begin():
            await holder.execute(
                select(RollupDay.day)
                .where(RollupDay.level == "unit", RollupDay.entity_id == last_unit)
                .with_for_update()
            )
            with pytest.raises(DBAPIError, match="lock"):
                await keeper.rollup()
        days = await _days(sessionmaker)  # seen from another connection
        stamps = {k[1]: r.computed_at for k, r in days.items() if k[0] == "unit"}
        assert stamps[first_unit] == clock.now  # the first chunk is committed
        assert stamps[last_unit] == T0  # the failed chunk's rows are the last pass's, whole
        assert days[("check", checks[-1].id, local_day(T0))].down_s == 0
        assert await count_rows(sessionmaker, "rollup_stale") == 1  # still queued

        async with sessionmaker() as s, s.begin():  # a check leaves: its rows must go
            gone = await s.get(Check, checks[2].id)
            assert gone is not None
            gone.enabled = False
        clock.now += timedelta(seconds=60)
        report = await keeper.rollup()
        assert report is not None and report.changed is None
        assert await count_rows(sessionmaker, "rollup_stale") == 0
        chunked = await _rollup_rows(sessionmaker)
        days = await _days(sessionmaker)
        assert {r.computed_at for r in days.values()} == {clock.now}
        assert all(k[1] != checks[2].id for k in days if k[0] == "check")
        assert days[("check", checks[-1].id, local_day(T0))].down_s > 0
    finally:
        await engine.dispose()

    async with sessionmaker() as s, s.begin():  # the same, unchunked, in one transaction
        whole = await rollup.recompute(s, report.first_day, clock.now)
    assert report.first_day == local_day(T0) - timedelta(days=3)  # from the stale day
    assert (whole.entities, whole.day_rows, whole.outage_pieces) == (
        report.entities,
        report.day_rows,
        report.outage_pieces,
    )
    assert await _rollup_rows(sessionmaker) == chunked
