"""The monitor's own record and upkeep: a ``monitor_run`` heartbeat, the rollup job
and the retention of raw results. The monitor starts and stops one per process."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounting.days import local_day
from app.models import MonitorRun
from app.models.base import utcnow
from app.monitor import retention
from app.monitor.leases import HOUSEKEEPING, claim_job
from app.reports import rollup
from app.reports.rollup import RecomputeReport

log = logging.getLogger(__name__)
ROLLUP_LOCK = 0x7468_6F6E_6731  # PostgreSQL advisory lock: one rollup job at a time


class _JobLost(Exception):
    """Another process holds the rollup job (its lease or its lock)."""


class Housekeeper:
    """Heartbeat every ``heartbeat_s``, rollups every ``rollup_s``, pruning every ``prune_s``.

    A rollup pass recomputes every entity every ``full_rollup_s`` (and on a new local
    day, an invalidated day, the first pass of this process); in between, only the
    entities of checks with a flip recorded since the previous pass (docs/reports.md).
    A full pass commits per chunk of about ``rollup_chunk`` checks (whole units).
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        retention_days: int = 30,
        heartbeat_s: float = 15.0,
        rollup_s: float = 60.0,
        prune_s: float = 3_600.0,
        full_rollup_s: float = 600.0,
        clock: Callable[[], datetime] = utcnow,
        job_owner: str | None = None,
        rollup_chunk: int = rollup.CHUNK_CHECKS,
    ) -> None:
        self._sm = sessionmaker
        self.retention = timedelta(days=retention_days)
        self.heartbeat_s, self.rollup_s, self.prune_s = heartbeat_s, rollup_s, prune_s
        self.full_rollup = timedelta(seconds=full_rollup_s)
        self.rollup_chunk = rollup_chunk
        # this process's last full and last rollup pass (clock time); a replica that
        # takes the job over starts with a full pass
        self._full_at: datetime | None = None
        self._pass_at: datetime | None = None
        self._clock = clock
        # with shard leases (several replicas): rollups and pruning run in the replica
        # holding the housekeeping job lease only (app/monitor/leases.py)
        self.job_owner = job_owner
        self.uid = uuid.uuid4().hex
        self._sched: AsyncIOScheduler | None = None

    async def start(self) -> None:
        now = self._clock()
        async with self._sm() as session, session.begin():
            session.add(
                MonitorRun(
                    uid=self.uid,
                    host=socket.gethostname()[:200],
                    pid=os.getpid(),
                    started_at=now,
                    last_seen_at=now,
                )
            )
        self._sched = self._schedule()
        self._sched.start()

    def _schedule(self) -> AsyncIOScheduler:
        """APScheduler runs the three duties, each on its own interval: one run of a
        duty at a time, runs missed while one was slow coalesced into one, never
        skipped. Each duty apart: the heartbeat no longer waits behind a full rollup
        pass (11–13 s at 17,000 checks). Rollups and pruning first run one heartbeat
        after the start, as a restarted process catches up."""
        sched = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        # the wall clock: self._clock stamps the records (tests set it in the past)
        first = datetime.now(UTC) + timedelta(seconds=self.heartbeat_s)
        for step, every in (
            (self.beat, self.heartbeat_s),
            (self.rollup, self.rollup_s),
            (self.prune, self.prune_s),
        ):
            sched.add_job(
                _logged(step),
                IntervalTrigger(seconds=every, timezone=UTC),
                name=f"housekeeping {step.__name__}",
                next_run_time=first,
            )
        return sched

    async def stop(self) -> None:
        if self._sched is not None:
            self._sched.shutdown(wait=False)  # cancels a step still running
            self._sched = None
        await self._stamp(stopped=True)

    async def beat(self) -> None:
        await self._stamp(stopped=False)

    async def _stamp(self, *, stopped: bool) -> None:
        now = self._clock()
        values = {"last_seen_at": now, **({"stopped_at": now} if stopped else {})}
        async with self._sm() as session, session.begin():
            await session.execute(
                update(MonitorRun).where(MonitorRun.uid == self.uid).values(**values)
            )

    async def rollup(self) -> RecomputeReport | None:
        """One rollup pass: a partial one in one transaction, a full one in a
        transaction per chunk; ``None`` if another process holds the job."""
        now = self._clock()
        since = None
        if (
            self._full_at is not None
            and self._pass_at is not None
            and now - self._full_at < self.full_rollup
            and local_day(now) == local_day(self._full_at)
        ):
            # overlap one interval: a flip stamped just before the last pass may
            # have committed after it read
            since = self._pass_at - timedelta(seconds=max(60.0, self.rollup_s))
        try:
            report = await self._pass(now, since)
        except _JobLost:
            self._full_at = None  # another process may have run: start over
            return None
        self._pass_at = now
        if report.changed is None:
            self._full_at = now
        return report

    async def _pass(self, now: datetime, since: datetime | None) -> RecomputeReport:
        async with self._job() as session:
            todo = await rollup.plan(session, now, since, self.rollup_chunk)
            if not todo.full:
                return await rollup.recompute(session, todo.first_day, now, todo.chunks[0])
        report = RecomputeReport(todo.first_day, 0, 0, 0)
        for chunk in todo.chunks:
            async with self._job() as session:
                done = await rollup.recompute(session, todo.first_day, now, chunk, live=todo.live)
                report.add(done)
        async with self._job() as session:
            await rollup.finish(session, todo, now)
        return report

    @contextlib.asynccontextmanager
    async def _job(self) -> AsyncIterator[AsyncSession]:
        """A transaction holding the rollup job (its lease and lock); :class:`_JobLost`
        if another process holds it."""
        async with self._sm() as session, session.begin():
            if not await self._ours(session) or not await _lock(session):
                raise _JobLost
            yield session

    async def prune(self) -> int:
        """Partitions ahead, then raw results past the retention; rows removed (PostgreSQL:
        dropped day partitions counted from the planner's statistics, app/monitor/retention.py).
        """
        async with self._sm() as session, session.begin():
            if not await self._ours(session):
                return 0
            now = self._clock()
            await retention.ensure_partitions(session, now.astimezone(UTC).date())
            return (await retention.prune(session, now - self.retention)).rows

    async def _ours(self, session: AsyncSession) -> bool:
        """True when this replica runs the jobs: it holds (or now takes) the job lease."""
        if self.job_owner is None:
            return True
        hold = 2 * max(self.rollup_s, self.heartbeat_s) + self.heartbeat_s
        return await claim_job(session, HOUSEKEEPING, self.job_owner, hold)


def _logged(step: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
    """``step``, its failure logged: a failed step must not stop the others."""

    async def run() -> None:
        try:
            await step()
        except Exception:
            log.exception("housekeeping step %s failed", step.__name__)

    return run


async def _lock(session: AsyncSession) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return True
    found = await session.execute(select(func.pg_try_advisory_xact_lock(ROLLUP_LOCK)))
    return bool(found.scalar_one())


__all__ = ["Housekeeper"]
