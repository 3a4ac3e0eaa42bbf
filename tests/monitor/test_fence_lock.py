"""The batch writer locks the shard lease rows for its commit only (docs/design.md §4.1).

It fences optimistically: the batch written as probed, the epochs read ``FOR
KEY SHARE`` just before the commit (moved on: rolled back and written again with the
rows locked first). A renew, which updates
the same lease rows, therefore never waits behind a slow batch write — it did
when the writer locked them first, and a replica whose writes were slow fenced
itself although it was alive. Real PostgreSQL; the slow write is a real lock
wait: another transaction holds an uncommitted row with the same key.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.models import Check, Flip, ProbeResult
from app.monitor import writer
from app.monitor.checks import state_from_row
from app.monitor.evaluator import Outcome, apply_result
from app.monitor.leases import ShardLeases, shard_of
from probes import ProbeResult as Result
from tests import factories

pytestmark = pytest.mark.postgres

KEY = "12337.centre.web"
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)


async def _first_result(sm: async_sessionmaker[AsyncSession], leases: ShardLeases) -> Outcome:
    """The check's first result (up: a flip from unknown), probed under ``leases``."""
    async with sm() as s, s.begin():
        check = await factories.http_check(s, "http://127.0.0.1:9/", key=KEY)
        cs = state_from_row(check)
    outcome = apply_result(cs, Result.up(0.01), T0)
    outcome.result_row["slot"] = 1
    outcome.shard, outcome.epoch = shard_of(KEY), leases.epoch(shard_of(KEY))
    assert outcome.flip_row is not None
    return outcome


async def _leased_result(sm: async_sessionmaker[AsyncSession]) -> tuple[ShardLeases, Outcome]:
    """Replica A holding every shard (a 30 s lease) and its check's first result."""
    leases = ShardLeases(sm, owner="a", lease_s=30.0)
    await leases.renew()
    return leases, await _first_result(sm, leases)


@asynccontextmanager
async def _held(engine: AsyncEngine, outcome: Outcome) -> AsyncIterator[None]:
    """Another transaction inserts ``outcome``'s result row and keeps it uncommitted:
    the writer's insert of the same row waits until it is rolled back."""
    async with engine.connect() as conn:
        trans = await conn.begin()
        await conn.execute(insert(ProbeResult.__table__), [outcome.result_row])
        try:
            yield
        finally:
            await trans.rollback()


async def _write(sm: async_sessionmaker[AsyncSession], batch: list[Outcome]) -> dict[str, int]:
    return await writer.write_fenced(sm, batch)


async def _write_locking_first(
    sm: async_sessionmaker[AsyncSession], batch: list[Outcome]
) -> dict[str, int]:
    async with sm() as s, s.begin():
        return await writer.write_batch(s, batch, lock_first=True)


async def _blocked(task: asyncio.Task[dict[str, int]]) -> None:
    await asyncio.sleep(0.5)
    assert not task.done(), "the write was meant to wait on the held row"


async def test_a_renew_does_not_wait_behind_a_slow_batch_write(
    sessionmaker: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    leases, outcome = await _leased_result(sessionmaker)
    async with _held(engine, outcome):
        task = asyncio.create_task(_write(sessionmaker, [outcome]))
        await _blocked(task)
        await asyncio.wait_for(leases.renew(), 5)  # the write holds no lease row yet
        assert not task.done()
    counts = await asyncio.wait_for(task, 10)
    assert counts["probe_result"] == 1 and "fenced" not in counts
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Flip)) == 1


async def test_locked_lease_rows_let_a_renew_through_but_not_a_takeover(
    sessionmaker: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    """The lease rows a write holds (``FOR KEY SHARE``) conflict only with a takeover
    (its ``SELECT … FOR UPDATE``, which bumps the epoch), never with a renew, which
    updates no key. Even locked first for a whole slow write (the retry after a
    move), A renews; B cannot take the shard until A has committed. (``FOR SHARE``
    made the renew wait, and the lease thread's test flaked when a write was
    paused between its lock and its commit.)"""
    a = ShardLeases(sessionmaker, owner="a", lease_s=1.0)
    await a.renew()
    outcome = await _first_result(sessionmaker, a)
    async with _held(engine, outcome):
        task = asyncio.create_task(_write_locking_first(sessionmaker, [outcome]))
        await _blocked(task)
        await asyncio.wait_for(a.renew(), 2)  # the locked rows hold no renew back
        await asyncio.sleep(1.2)  # A's lease runs out on now()
        b = ShardLeases(sessionmaker, owner="b", lease_s=30.0)
        report = await asyncio.wait_for(b.renew(), 5)
        assert shard_of(KEY) not in report.gained  # locked until A's commit: skipped
        assert not task.done()
    counts = await asyncio.wait_for(task, 10)
    assert counts["probe_result"] == 1 and "fenced" not in counts  # under its epoch
    report = await asyncio.wait_for(b.renew(), 5)
    assert shard_of(KEY) in report.gained  # committed: now B takes it


async def test_a_shard_taken_during_the_write_fences_the_batch(
    sessionmaker: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    """Replica A's write waits; meanwhile its lease runs out and B takes the shard
    (a new epoch). A's write then sees the epoch moved before its commit, rolls
    back and writes the batch again as fenced: the sample is
    stored once, as history; the flip and the check's state are B's to decide."""
    a = ShardLeases(sessionmaker, owner="a", lease_s=1.0)
    await a.renew()
    outcome = await _first_result(sessionmaker, a)
    async with _held(engine, outcome):
        task = asyncio.create_task(_write(sessionmaker, [outcome]))
        await _blocked(task)
        await asyncio.sleep(1.0)  # A's lease runs out on now()
        b = ShardLeases(sessionmaker, owner="b", lease_s=30.0)
        report = await asyncio.wait_for(b.renew(), 5)
        assert shard_of(KEY) in report.gained
        assert b.epoch(shard_of(KEY)) != outcome.epoch
    counts = await asyncio.wait_for(task, 10)
    assert counts == {"probe_result": 1, "flip": 0, "incident": 0, "fenced": 1, "fenced_kept": 1}
    async with sessionmaker() as s:
        uids = (await s.execute(select(ProbeResult.uid))).scalars().all()
        flips = await s.scalar(select(func.count()).select_from(Flip))
        check = (await s.execute(select(Check).where(Check.key == KEY))).scalar_one()
    assert uids == [outcome.result_row["uid"]]
    assert flips == 0
    assert check.state == "unknown" and check.last_result_at is None
