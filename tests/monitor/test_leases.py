"""Shard leases on PostgreSQL (app/monitor/leases.py): fair shares, takeover on
expiry with a new epoch, fencing at write, one slot stored once, the job lease.

Real PostgreSQL; lease lengths are short and time passes for real (no clock fakes
in SQL: the leases live on the database's ``now()``)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import Check, Flip, Incident, ShardLease
from app.models import ProbeResult as ResultRow
from app.monitor.checks import state_from_row
from app.monitor.evaluator import Outcome, apply_result
from app.monitor.leases import (
    HOUSEKEEPING,
    SHARDS,
    ShardLeases,
    claim_job,
    fair_share,
    shard_of,
)
from app.monitor.writer import write_batch
from probes import ErrorKind, ProbeResult
from tests import factories

pytestmark = pytest.mark.postgres


def test_shard_of_is_stable_and_spread() -> None:
    keys = [f"{code}.centre.web" for code in range(10_000, 13_000)]
    shards = [shard_of(k) for k in keys]
    assert shards == [shard_of(k) for k in keys]  # not Python's salted hash()
    assert all(0 <= s < SHARDS for s in shards)
    assert len(set(shards)) == SHARDS
    assert shard_of("12337.centre.web") == 1_116_357_667 % SHARDS  # crc32, pinned


def test_fair_share() -> None:
    assert [fair_share(n) for n in (0, 1, 2, 3, 256, 300)] == [256, 256, 128, 86, 1, 1]


async def _owners(sm: async_sessionmaker[AsyncSession]) -> dict[int, str | None]:
    async with sm() as s:
        rows = await s.execute(select(ShardLease.shard, ShardLease.owner))
        return {shard: owner for shard, owner in rows.all() if shard >= 0}


async def test_two_replicas_split_the_shards(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    a = ShardLeases(sessionmaker, owner="a")
    b = ShardLeases(sessionmaker, owner="b")
    first = await a.renew()
    assert len(a.epochs) == SHARDS and first.gained == set(range(SHARDS))
    await b.renew()  # b is live now, but every shard is held: it waits
    assert b.epochs == {}
    lost = (await a.renew()).lost  # a sees two replicas: gives back its surplus
    assert len(lost) == SHARDS // 2
    gained = (await b.renew()).gained
    assert gained == lost
    assert set(a.epochs).isdisjoint(b.epochs)
    assert set(a.epochs) | set(b.epochs) == set(range(SHARDS))
    owners = await _owners(sessionmaker)
    assert {s for s, o in owners.items() if o == "b"} == set(b.epochs)
    assert (await a.renew()).gained == set() and (await b.renew()).lost == set()  # stable


async def test_an_expired_replica_loses_its_shards_under_a_new_epoch(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    a = ShardLeases(sessionmaker, owner="a", lease_s=1.0, margin_s=0.2)
    b = ShardLeases(sessionmaker, owner="b", lease_s=1.0, margin_s=0.2)
    await a.renew()
    old = dict(a.epochs)
    assert a.may_probe(0)
    await asyncio.sleep(1.2)  # a is "paused" past its lease
    assert not a.may_probe(0)  # fenced by its own deadline before anyone took over
    await b.renew()
    assert set(b.epochs) == set(range(SHARDS))
    assert all(b.epochs[s] == old[s] + 1 for s in old)
    report = await a.renew()  # a comes back: it has lost everything, and asks again
    assert report.lost == set(range(SHARDS)) and a.epochs == {}


async def test_a_replica_retaking_its_own_expired_shards_keeps_the_epoch(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    a = ShardLeases(sessionmaker, owner="a", lease_s=1.0, margin_s=0.2)
    await a.renew()
    before = dict(a.epochs)
    await asyncio.sleep(1.2)  # a database cut as long as the lease, nobody else about
    report = await a.renew()
    assert a.epochs == before  # what it buffered during the cut is still accepted
    assert report.gained == set() and report.lost == set()


def _outcome(
    check_id: int,
    unit_id: int,
    shard: int,
    epoch: int,
    slot: int,
    result: ProbeResult | None = None,
) -> Outcome:
    from app.monitor.evaluator import CheckState

    cs = CheckState(check_id=check_id, unit_id=unit_id, failure_threshold=1)
    outcome = apply_result(cs, result or ProbeResult.up(0.01), datetime.now(UTC))
    outcome.result_row["slot"] = slot
    outcome.shard, outcome.epoch = shard, epoch
    return outcome


async def _results(sm: async_sessionmaker[AsyncSession]) -> int:
    async with sm() as s:
        return int((await s.execute(select(func.count()).select_from(ResultRow))).scalar_one())


async def test_the_writer_keeps_only_the_samples_of_a_moved_epoch_and_a_slot_once(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as s, s.begin():
        check = await factories.http_check(s, "http://127.0.0.1:9/", key="12337.centre.web")
        state = state_from_row(check)
    shard = shard_of("12337.centre.web")
    a = ShardLeases(sessionmaker, owner="a")
    await a.renew()
    epoch = a.epochs[shard]
    ids = (state.check_id, state.unit_id, shard)
    down = ProbeResult.down(ErrorKind.CONNECT, "connection refused")
    stale = _outcome(*ids, epoch - 1, slot=1, result=down)  # a flip to down, an incident
    stale_twice = _outcome(*ids, epoch - 1, slot=2, result=down)  # a slot filled below
    fresh = _outcome(*ids, epoch, slot=2)
    again = _outcome(*ids, epoch, slot=2)  # another uid
    assert stale.flip_row is not None and stale.incident_open is not None
    async with sessionmaker() as s, s.begin():
        counts = await write_batch(s, [stale, stale_twice, fresh, again])
    # both stale outcomes lost their state effects; slot 1 is kept as history
    assert counts["fenced"] == 2 and counts["fenced_kept"] == 1
    async with sessionmaker() as s:
        rows = await s.execute(select(ResultRow.slot, ResultRow.uid).order_by(ResultRow.slot))
        assert [tuple(r) for r in rows] == [
            (1, stale.result_row["uid"]),
            (2, fresh.result_row["uid"]),  # the owner's sample, once
        ]
        flips = (await s.execute(select(Flip.new_state))).scalars().all()
        assert flips and "down" not in flips  # the owner's; none from the stale ones
        assert (await s.execute(select(func.count()).select_from(Incident))).scalar_one() == 0
        assert (await s.get(Check, state.check_id)).state == "up"  # type: ignore[union-attr]
    async with sessionmaker() as s, s.begin():  # a retried batch changes nothing
        again_counts = await write_batch(s, [stale, stale_twice, fresh, again])
    assert again_counts["fenced"] == 2 and again_counts["fenced_kept"] == 0
    assert await _results(sessionmaker) == 2


async def test_the_job_lease_is_held_by_one_replica_at_a_time(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as s, s.begin():
        assert await claim_job(s, HOUSEKEEPING, "a", 1.0)
    async with sessionmaker() as s, s.begin():
        assert not await claim_job(s, HOUSEKEEPING, "b", 1.0)
        assert await claim_job(s, HOUSEKEEPING, "a", 1.0)  # renewed by its holder
    await asyncio.sleep(1.2)
    async with sessionmaker() as s, s.begin():
        assert await claim_job(s, HOUSEKEEPING, "b", 1.0)


async def test_after_a_cut_that_hit_everyone_each_replica_retakes_its_own(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    a = ShardLeases(sessionmaker, owner="a", lease_s=1.0, margin_s=0.2)
    b = ShardLeases(sessionmaker, owner="b", lease_s=1.0, margin_s=0.2)
    await a.renew()
    await b.renew()
    await a.renew()  # a gives half back
    await b.renew()  # b takes it
    before_a, before_b = dict(a.epochs), dict(b.epochs)
    assert len(before_a) == len(before_b) == SHARDS // 2
    await asyncio.sleep(1.2)  # the database was away longer than the lease, for both
    await a.renew()  # a is back first: it does not take b's expired shards
    assert a.epochs == before_a
    await b.renew()  # b retakes its own under the same epoch: its buffer stays valid
    assert b.epochs == before_b
    for _ in range(8):  # b really is gone now: once its lease and a's grace are over
        await a.renew()  # a takes its shards, under new epochs
        await asyncio.sleep(0.3)
    assert set(a.epochs) == set(range(SHARDS))
    assert all(a.epochs[s] == before_b[s] + 1 for s in before_b)


def test_push_checks_no_longer_hold_workers_but_agents_do() -> None:
    """Push beats are relayed through SQL (push_beat): heartbeat checks of devices allow
    several workers; agents' liveness checks (their results reach only the API process)
    keep one, and so does a heartbeat count that may include them (agents not counted)."""
    from app.config import Settings
    from app.monitor.workers import SingleReplicaError, worker_count

    pg = Settings(database_url="postgresql://postgres@127.0.0.1:5432/test")
    assert worker_count(pg, 2, push_checks=3, agent_checks=0) == 2
    assert worker_count(pg, None, push_checks=3, agent_checks=0) >= 1
    assert worker_count(pg, None, push_checks=3, agent_checks=1) == 1
    with pytest.raises(SingleReplicaError, match="1 agent liveness checks"):
        worker_count(pg, 2, push_checks=3, agent_checks=1)
    # not counted apart: the heartbeat checks may be agents', one process as before
    assert worker_count(pg, None, push_checks=3) == 1
    assert worker_count(pg, None, push_checks=None) == 1
    assert worker_count(pg, None, push_checks=None, agent_checks=0) == 1
    assert worker_count(pg, None, push_checks=0) >= 1
    assert worker_count(pg, 1, push_checks=3) == 1
    with pytest.raises(SingleReplicaError, match="3 heartbeat checks"):
        worker_count(pg, 2, push_checks=3)
    assert worker_count(pg, 2, push_checks=0) == 2
    sqlite = Settings(database_url="sqlite+aiosqlite:///x.db")
    assert worker_count(sqlite, None, push_checks=3, agent_checks=0) == 1
    with pytest.raises(SingleReplicaError):
        worker_count(sqlite, 2, push_checks=0, agent_checks=0)
