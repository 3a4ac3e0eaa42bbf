"""Retention of raw results: day partitions ahead, whole days dropped behind.

On PostgreSQL ``probe_result`` is partitioned by UTC day (app/models/partitions.py):
the housekeeping job keeps today and the next :data:`AHEAD_DAYS` days' partitions
ready, and prunes by dropping every day partition wholly older than the retention —
a catalogue change, not a DELETE of 49 M rows and the VACUUM after it. Only the
legacy and default partitions (rows from before the migration, stragglers) are
pruned by DELETE. Retention is kept in whole UTC days: a day goes when all of it is
past the retention, so up to one day more than the retention is kept. SQLite keeps
the plain table and DELETE.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ProbeResult
from app.models.partitions import (
    DEFAULT,
    PARENT,
    create_day_partitions,
    day_bounds,
    day_name,
    is_partition,
)

log = logging.getLogger(__name__)
AHEAD_DAYS = 2
_BOUND = re.compile(r"FROM \((?:MINVALUE|'([^']+)')\) TO \((?:MAXVALUE|'([^']+)')\)")


@dataclass(frozen=True, slots=True)
class Partition:
    name: str
    lower: datetime | None  # None: MINVALUE (or the default partition)
    upper: datetime | None  # None: MAXVALUE (or the default partition)


@dataclass(slots=True)
class Pruned:
    deleted: int = 0  # rows removed by DELETE (exact)
    dropped: list[str] = field(default_factory=list)  # day partitions dropped
    dropped_rows: int = 0  # their rows, from the planner's statistics (an estimate)

    @property
    def rows(self) -> int:
        return self.deleted + self.dropped_rows


async def partitioned(session: AsyncSession) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return False
    found = await session.execute(
        text("SELECT relkind::text FROM pg_class WHERE oid = to_regclass(:name)"), {"name": PARENT}
    )
    return found.scalar_one_or_none() == "p"


def _when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


async def partitions(session: AsyncSession) -> list[Partition]:
    """``probe_result``'s partitions with their bounds (PostgreSQL, partitioned only)."""
    await session.execute(text("SET LOCAL timezone = 'UTC'"))  # bounds rendered in UTC
    rows = await session.execute(
        text(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = CAST(:p AS regclass) "
            "ORDER BY c.relname"
        ),
        {"p": PARENT},
    )
    found = []
    for name, bound in rows.all():
        match = _BOUND.search(bound or "")
        if match is None:  # DEFAULT
            found.append(Partition(name, None, None))
        else:
            found.append(Partition(name, _when(match.group(1)), _when(match.group(2))))
    return found


async def ensure_partitions(
    session: AsyncSession, today: date, ahead: int = AHEAD_DAYS
) -> list[str]:
    """Create the missing day partitions from ``today`` to ``today + ahead``.

    A day another partition already covers (the legacy range) is skipped; rows the
    default partition took for a new day move into it. Returns the names created.
    """
    if not await partitioned(session):
        return []
    # creating a partition locks the parent: never queue the writers for long
    await session.execute(text("SET LOCAL lock_timeout = '5s'"))
    ranges = [p for p in await partitions(session) if p.name != DEFAULT]
    created = []
    for offset in range(ahead + 1):
        day = today + timedelta(days=offset)
        start, end = day_bounds(day)
        if any(
            (p.lower is None or p.lower < end) and (p.upper is None or start < p.upper)
            for p in ranges
        ):
            continue
        await session.execute(
            text(f"CREATE TEMP TABLE probe_result_moving (LIKE {PARENT}) ON COMMIT DROP")
        )
        moving = await session.execute(
            text(
                f"WITH moved AS (DELETE FROM {DEFAULT} WHERE at >= :start AND at < :end "
                "RETURNING *) INSERT INTO probe_result_moving SELECT * FROM moved"
            ),
            {"start": start, "end": end},
        )
        moved = int(getattr(moving, "rowcount", 0) or 0)
        for statement in create_day_partitions(day, 1):
            await session.execute(text(statement))
        await session.execute(text(f"INSERT INTO {PARENT} SELECT * FROM probe_result_moving"))
        await session.execute(text("DROP TABLE probe_result_moving"))
        if moved:
            log.info("moved %s results from %s into %s", moved, DEFAULT, day_name(day))
        created.append(day_name(day))
    return created


async def prune(session: AsyncSession, before: datetime) -> Pruned:
    """Remove raw results older than ``before`` (see the module doc for PostgreSQL)."""
    if not await partitioned(session):
        result = await session.execute(delete(ProbeResult).where(ProbeResult.at < before))
        return Pruned(deleted=int(getattr(result, "rowcount", 0) or 0))
    pruned = Pruned()
    # dropping a partition locks the parent: never queue the writers for long
    await session.execute(text("SET LOCAL lock_timeout = '5s'"))
    for part in await partitions(session):
        if part.name == DEFAULT or not is_partition(part.name):
            continue
        if part.upper is not None and part.upper <= before:
            estimate = await session.execute(
                text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:n)"),
                {"n": part.name},
            )
            pruned.dropped_rows += max(0, int(estimate.scalar_one() or 0))
            await session.execute(text(f"DROP TABLE {part.name}"))
            pruned.dropped.append(part.name)
        elif part.lower is None and (part.upper is None or part.upper > before):
            pruned.deleted += await _delete(session, part.name, before)
    pruned.deleted += await _delete(session, DEFAULT, before)
    if pruned.dropped:
        log.info("dropped result partitions %s", ", ".join(pruned.dropped))
    return pruned


async def _delete(session: AsyncSession, table: str, before: datetime) -> int:
    result = await session.execute(
        text(f"DELETE FROM {table} WHERE at < :before"), {"before": before}
    )
    return int(getattr(result, "rowcount", 0) or 0)


__all__ = ["AHEAD_DAYS", "Partition", "Pruned", "ensure_partitions", "partitions", "prune"]
