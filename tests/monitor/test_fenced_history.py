"""A takeover keeps what the old owner probed but had not written (docs/design.md §4.1).

Two lease holders on real PostgreSQL: replica A probes under its shard epoch
and journals its outcomes, but writes none (paused, or killed); its lease runs
out and replica B takes the shard under a new epoch and writes its own
results. When A's outcomes finally reach the writer — its pipeline resumed, or
its journal replayed by a restarted process — their samples are stored once as
history, while their flips, incidents and check state are refused: those
belong to B, the owner now.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import Check, Flip, Incident, ProbeResult
from app.monitor import spool
from app.monitor.checks import state_from_row
from app.monitor.evaluator import CheckState, Outcome, apply_result
from app.monitor.leases import ShardLeases, shard_of
from app.monitor.metrics import ProcessMetrics
from app.monitor.pipeline import ResultPipeline
from probes import ErrorKind
from probes import ProbeResult as Result
from tests import factories

pytestmark = pytest.mark.postgres

KEY = "12337.centre.web"
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
LEASE_S = 1.0


def _probed(cs: CheckState, leases: ShardLeases, pattern: str, first_slot: int) -> list[Outcome]:
    """Outcomes of ``pattern`` (u/d) in consecutive slots, under ``leases``' epoch."""
    res = {"u": Result.up(0.01), "d": Result.down(ErrorKind.CONNECT, "connection refused")}
    shard = shard_of(KEY)
    out = []
    for i, c in enumerate(pattern):
        slot = first_slot + i
        outcome = apply_result(cs, res[c], T0 + timedelta(seconds=30 * slot))
        outcome.result_row["slot"] = slot
        outcome.shard, outcome.epoch = shard, leases.epoch(shard)
        out.append(outcome)
    return out


async def _takeover(
    sm: async_sessionmaker[AsyncSession],
) -> tuple[int, list[Outcome], list[Outcome]]:
    """A probes slots 1-4 (a flip to down at slot 3, an incident) and writes
    nothing; B takes the shard once A's lease ran out and writes slots 4-5."""
    async with sm() as s, s.begin():
        check = await factories.http_check(s, "http://127.0.0.1:9/", key=KEY)
        check_id = check.id
        cs_a = state_from_row(check)
    a = ShardLeases(sm, owner="a", lease_s=LEASE_S)
    await a.renew()
    from_a = _probed(cs_a, a, "uddd", first_slot=1)
    assert [o.flip_row is not None for o in from_a] == [True, False, True, False]
    assert from_a[2].incident_open is not None
    await asyncio.sleep(LEASE_S + 0.3)  # A is paused: its lease runs out on now()
    b = ShardLeases(sm, owner="b", lease_s=30.0)
    report = await b.renew()
    assert shard_of(KEY) in report.gained and b.epoch(shard_of(KEY)) != a.epoch(shard_of(KEY))
    async with sm() as s:
        row = await s.get(Check, check_id)
        assert row is not None
        cs_b = state_from_row(row)  # B starts from SQL: A's down streak never got there
    from_b = _probed(cs_b, b, "uu", first_slot=4)  # slot 4: A probed it too
    b_pipe = ResultPipeline(sm)
    for outcome in from_b:
        b_pipe.put(outcome)
    await b_pipe.flush()
    return check_id, from_a, from_b


async def _assert_history_only(
    sm: async_sessionmaker[AsyncSession],
    check_id: int,
    from_a: list[Outcome],
    from_b: list[Outcome],
) -> None:
    async with sm() as s:
        rows = await s.execute(
            select(ProbeResult.slot, ProbeResult.uid)
            .where(ProbeResult.check_id == check_id)
            .order_by(ProbeResult.slot)
        )
        stored = [tuple(r) for r in rows]
        flips = (await s.execute(select(Flip.uid, Flip.new_state))).all()
        incidents = (await s.execute(select(Incident.id))).all()
        check = await s.get(Check, check_id)
    uid = [o.result_row["uid"] for o in (*from_a[:3], *from_b)]
    # A's slots 1-3 once each; slot 4 is B's sample, A's copy of it is not kept
    assert stored == [(1, uid[0]), (2, uid[1]), (3, uid[2]), (4, uid[3]), (5, uid[4])]
    assert [tuple(f) for f in flips] == [(from_b[0].flip_row["uid"], "up")]  # type: ignore[index]
    assert incidents == []
    assert check is not None and check.state == "up"
    assert check.last_result_at == from_b[-1].check_row["last_result_at"]


async def test_a_resumed_replica_stores_its_unwritten_samples_but_no_state(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    metrics = ProcessMetrics()
    a_pipe = ResultPipeline(sessionmaker, on_write=metrics.record_write)
    check_id, from_a, from_b = await _takeover(sessionmaker)
    for outcome in from_a:  # A resumes: its buffer reaches the writer
        a_pipe.put(outcome)
    await a_pipe.flush()
    await _assert_history_only(sessionmaker, check_id, from_a, from_b)
    assert (a_pipe.stats.fenced, a_pipe.stats.fenced_kept) == (4, 3)
    assert a_pipe.stats.results_written == 4  # handed to SQL; slot 4 kept once
    assert metrics.fenced._value.get() == 4
    assert metrics.fenced_kept._value.get() == 3


async def test_a_journal_replayed_after_a_takeover_stores_samples_but_no_state(
    sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    a_pipe = ResultPipeline(sessionmaker, spool_dir=tmp_path)  # A, killed before writing
    a_pipe.restore()
    check_id, from_a, from_b = await _takeover(sessionmaker)
    for outcome in from_a:
        a_pipe.put(outcome)
    await a_pipe.flush_journal()
    assert a_pipe.journal is not None
    a_pipe.journal.close()  # kill -9: the journal files stay

    restarted = ResultPipeline(sessionmaker, spool_dir=tmp_path)
    assert restarted.restore() == 4
    await restarted.flush()
    await _assert_history_only(sessionmaker, check_id, from_a, from_b)
    assert (restarted.stats.fenced, restarted.stats.fenced_kept) == (4, 3)
    assert _journaled(tmp_path) == 0  # released once written: a restart replays nothing


def _journaled(directory: Path) -> int:
    return sum(len(spool.read(f).outcomes) for f in directory.glob("journal-*.jsonl"))
