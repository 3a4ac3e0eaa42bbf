from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import Check, Flip, Incident, ProbeResult
from app.monitor import spool
from app.monitor.evaluator import CheckState, apply_result
from app.monitor.pipeline import ResultPipeline
from app.monitor.writer import write_batch
from probes import ErrorKind
from probes import ProbeResult as Result
from tests import factories

T0 = datetime(2026, 5, 4, 1, 0, tzinfo=UTC)


async def _check(sm: async_sessionmaker[AsyncSession]) -> Check:
    async with sm() as s, s.begin():
        return await factories.http_check(s, "http://127.0.0.1:9/", key="12337.centre.http")


def _outcomes(check: Check, pattern: str) -> list[Any]:
    cs = CheckState(check.id, check.unit_id)
    res = {"u": Result.up(0.01), "d": Result.down(ErrorKind.CONNECT, "refused")}
    return [apply_result(cs, res[c], T0 + timedelta(seconds=30 * i)) for i, c in enumerate(pattern)]


async def _count(sm: async_sessionmaker[AsyncSession], model: Any) -> int:
    async with sm() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


async def test_batch_writes_results_flips_incidents_and_state(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    check = await _check(sessionmaker)
    outs = _outcomes(check, "uudddduu")
    async with sessionmaker() as s, s.begin():
        await write_batch(s, outs)
    assert await _count(sessionmaker, ProbeResult) == 8
    async with sessionmaker() as s:
        flips = (await s.execute(select(Flip).order_by(Flip.at))).scalars().all()
        inc = (await s.execute(select(Incident))).scalar_one()
        row = await s.get(Check, check.id)
    assert [(f.old_state, f.new_state, f.at) for f in flips] == [
        ("unknown", "up", T0),
        ("up", "down", T0 + timedelta(seconds=60)),
        ("down", "up", T0 + timedelta(seconds=180)),
    ]
    assert (inc.started_at, inc.ended_at) == (
        T0 + timedelta(seconds=60),
        T0 + timedelta(seconds=180),
    )
    assert row is not None and row.state == "up" and row.state_since == T0 + timedelta(seconds=180)


async def test_replaying_a_batch_changes_nothing(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    check = await _check(sessionmaker)
    outs = _outcomes(check, "udddu")
    for _ in range(2):
        async with sessionmaker() as s, s.begin():
            await write_batch(s, outs)
    assert await _count(sessionmaker, ProbeResult) == 5
    assert await _count(sessionmaker, Flip) == 3
    assert await _count(sessionmaker, Incident) == 1


async def test_incidents_split_across_batches_close_correctly(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    check = await _check(sessionmaker)
    outs = _outcomes(check, "uddudduddu")
    for i in range(0, len(outs), 3):
        async with sessionmaker() as s, s.begin():
            await write_batch(s, outs[i : i + 3])
    async with sessionmaker() as s:
        incs = (await s.execute(select(Incident).order_by(Incident.started_at))).scalars().all()
    assert len(incs) == 3
    assert all(i.ended_at is not None and i.ended_at > i.started_at for i in incs)


class FlakySessions:
    """A real sessionmaker whose first ``failures`` sessions fail on use."""

    def __init__(self, sm: async_sessionmaker[AsyncSession], failures: int) -> None:
        self._sm, self.failures = sm, failures

    def __call__(self) -> Any:
        return self._session()

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[AsyncSession]:
        async with self._sm() as s:
            if self.failures > 0:
                self.failures -= 1
                raise ConnectionError("database went away")
            yield s


async def test_pipeline_keeps_results_while_database_is_away(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    check = await _check(sessionmaker)
    flaky = FlakySessions(sessionmaker, failures=3)
    pipe = ResultPipeline(flaky, batch_size=4, flush_interval=0.05, max_backoff=0.1)  # type: ignore[arg-type]
    pipe.start()
    for out in _outcomes(check, "udd" * 10):
        pipe.put(out)
        await asyncio.sleep(0.005)
    await pipe.stop()
    assert pipe.stats.write_errors == 3
    assert pipe.depth == 0
    assert await _count(sessionmaker, ProbeResult) == 30


async def test_full_buffer_drops_samples_never_flips(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    check = await _check(sessionmaker)
    pipe = ResultPipeline(sessionmaker, capacity=100, batch_size=1000)
    outs = _outcomes(check, "u" + "dd" + "u" * 200 + "dd" + "u")
    for out in outs:
        pipe.put(out)
    assert pipe.depth == 100
    assert pipe.stats.dropped == len(outs) - 100
    await pipe.flush()
    assert await _count(sessionmaker, Flip) == 5  # unknown→up, down, up, down, up


async def test_flush_while_the_writer_runs_writes_each_result_once(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    check = await _check(sessionmaker)
    pipe = ResultPipeline(sessionmaker, batch_size=5, flush_interval=0.01)
    pipe.start()
    for out in _outcomes(check, "ud" * 40):
        pipe.put(out)
    await asyncio.gather(pipe.flush(), pipe.flush())
    await pipe.stop()
    assert pipe.depth == 0
    assert await _count(sessionmaker, ProbeResult) == 80


def _segments(directory: Path) -> list[Path]:
    return sorted(directory.glob("journal-*.jsonl"))


async def test_unwritten_outcomes_are_spooled_at_stop_and_replayed(
    sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    check = await _check(sessionmaker)
    away = FlakySessions(sessionmaker, failures=10**9)  # the database never comes back
    pipe = ResultPipeline(
        away,
        batch_size=4,
        flush_interval=0.05,
        max_backoff=0.05,  # type: ignore[arg-type]
        spool_dir=tmp_path,
    )
    pipe.start()
    for out in _outcomes(check, "uddu" * 5):
        pipe.put(out)
    await pipe.stop(grace=0.3)
    assert pipe.depth == 0
    (segment,) = _segments(tmp_path)
    assert len(spool.read(segment).outcomes) == 20
    with segment.open("a", encoding="utf-8") as fh:
        fh.write('{"result_row": {"uid": "torn')  # a crash mid-write leaves half a line
    again = ResultPipeline(sessionmaker, spool_dir=tmp_path)
    assert again.restore() == 20
    assert "torn" in segment.with_name(segment.name + ".rejected").read_text(encoding="utf-8")
    await again.flush()
    assert not segment.exists()  # written: the journal lets go of it
    assert await _count(sessionmaker, ProbeResult) == 20
    assert await _count(sessionmaker, Flip) == 11  # unknown→up, then 5 × (down, up)
    async with sessionmaker() as s:
        row = await s.get(Check, check.id)
    assert row is not None and row.state == "up"
