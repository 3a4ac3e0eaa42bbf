"""Retention of raw results: day partitions on PostgreSQL, DELETE on SQLite (real DBs)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import ProbeResult
from app.models.partitions import DEFAULT, LEGACY, day_name
from app.monitor import retention
from app.monitor.housekeeping import Housekeeper
from app.monitor.writer import insert_ignoring
from tests import factories


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _row(check_id: int, at: datetime, slot: int | None = None, uid: str | None = None) -> Any:
    return {
        "uid": uid or uuid.uuid4().hex,
        "check_id": check_id,
        "at": at,
        "status": "up",
        "latency_ms": 1.0,
        "error_kind": None,
        "message": "",
        "details": {},
        "vantage": "central",
        "slot": slot,
    }


async def _where(sm: async_sessionmaker[AsyncSession]) -> list[tuple[str, str]]:
    """``(uid, partition)`` of every stored result, by time."""
    async with sm() as s:
        rows = await s.execute(
            text("SELECT uid, tableoid::regclass::text FROM probe_result ORDER BY at")
        )
        return [(uid, part) for uid, part in rows.all()]


@pytest.fixture
async def check_id(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as s, s.begin():
        check = await factories.check(s, "tcp", {"host": "127.0.0.1"}, key="12337.centre.tcp")
        return check.id


@pytest.fixture
async def later_days(
    sessionmaker: async_sessionmaker[AsyncSession], backend: str
) -> AsyncIterator[datetime]:
    """A UTC midnight past the legacy partition and the migration's days; the day
    partitions a test creates from it are dropped after (the database is shared)."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    first = today + timedelta(days=30 + uuid.uuid4().int % 300)
    yield first
    if backend == "postgresql":
        async with sessionmaker() as s, s.begin():
            for offset in range(-1, 12):
                name = day_name((first + timedelta(days=offset)).date())
                await s.execute(text(f"DROP TABLE IF EXISTS {name}"))


@pytest.mark.postgres
async def test_partitions_ahead_exactly_once_and_whole_days_dropped(
    sessionmaker: async_sessionmaker[AsyncSession], check_id: int, later_days: datetime
) -> None:
    day0 = later_days
    async with sessionmaker() as s, s.begin():
        # a straggler five days ahead lands in the default partition for now
        await insert_ignoring(s, ProbeResult, [_row(check_id, day0 + timedelta(days=5), 9)])
        created = await retention.ensure_partitions(s, day0.date())
        assert created == [day_name((day0 + timedelta(days=d)).date()) for d in range(3)]
        assert await retention.ensure_partitions(s, day0.date()) == []  # idempotent
    assert [part for _, part in await _where(sessionmaker)] == [DEFAULT]

    async with sessionmaker() as s, s.begin():
        rows = [_row(check_id, day0 + timedelta(days=d, hours=1), slot=d) for d in range(3)]
        assert len(await insert_ignoring(s, ProbeResult, rows)) == 3
        # a retried batch, and the same slot from another replica: ignored, per partition
        again = [rows[0], _row(check_id, day0 + timedelta(hours=1, seconds=1), slot=0)]
        assert await insert_ignoring(s, ProbeResult, again) == set()
        # the day of the straggler gets its partition, and the straggler moves into it
        assert await retention.ensure_partitions(s, (day0 + timedelta(days=5)).date()) == [
            day_name((day0 + timedelta(days=d)).date()) for d in (5, 6, 7)
        ]
    assert [part for _, part in await _where(sessionmaker)] == [
        day_name((day0 + timedelta(days=d)).date()) for d in (0, 1, 2, 5)
    ]

    # (pruning with a future clock also drops the migration's own day partitions of
    # this shared test database: later rows fall in the default partition, as designed)
    # retention 2 days at day 3, 12:00: days 0 (wholly past) goes, day 1 is kept whole
    # though its first half is past (whole days only)
    keeper = Housekeeper(sessionmaker, retention_days=2, clock=Clock(day0 + timedelta(days=3.5)))
    await keeper.prune()
    async with sessionmaker() as s:
        names = {p.name for p in await retention.partitions(s)}
    assert day_name(day0.date()) not in names
    assert {day_name((day0 + timedelta(days=d)).date()) for d in (1, 2, 3, 4, 5)} <= names
    assert [part for _, part in await _where(sessionmaker)] == [
        day_name((day0 + timedelta(days=d)).date()) for d in (1, 2, 5)
    ]


@pytest.mark.postgres
async def test_legacy_and_default_rows_are_deleted(
    sessionmaker: async_sessionmaker[AsyncSession], check_id: int
) -> None:
    """Rows from before migration 0010 (the legacy partition) and stragglers in the
    default partition go by DELETE, row by row."""
    now = datetime.now(UTC)
    far = now + timedelta(days=3_000)  # no day partition: the default one
    rows = [_row(check_id, now - timedelta(days=d)) for d in (40, 10)]
    rows += [_row(check_id, far), _row(check_id, far + timedelta(days=1))]
    async with sessionmaker() as s, s.begin():
        await insert_ignoring(s, ProbeResult, rows)
        pruned = await retention.prune(s, now - timedelta(days=30))
        assert (pruned.deleted, pruned.dropped) == (1, [])
        # the legacy partition, now wholly past, is dropped (or was, by an earlier
        # test of this shared database: then its row went to the default one)
        await retention.prune(s, far + timedelta(hours=1))
        assert LEGACY not in {p.name for p in await retention.partitions(s)}
    assert [uid for uid, _ in await _where(sessionmaker)] == [rows[3]["uid"]]


async def test_old_rows_are_deleted(
    sessionmaker: async_sessionmaker[AsyncSession], check_id: int
) -> None:
    """SQLite: the plain table, pruned by DELETE. PostgreSQL: these days are in the
    legacy (or, once that is dropped, the default) partition, also pruned by DELETE."""
    now = datetime(2026, 5, 20, 3, tzinfo=UTC)
    async with sessionmaker() as s, s.begin():
        await insert_ignoring(
            s, ProbeResult, [_row(check_id, now - timedelta(days=d)) for d in (1, 31)]
        )
        assert (await retention.prune(s, now - timedelta(days=30))).rows == 1
    async with sessionmaker() as s:
        assert (await s.execute(select(func.count()).select_from(ProbeResult))).scalar_one() == 1
