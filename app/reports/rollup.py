"""Maintaining the rollups: recompute every entity's days from a given day to now.

An entity is a check, a service (worst of its critical checks) or a unit (worst of
its critical checks). Each check's timeline is its flips, overlaid by monitor gaps
(``unknown``) and then by maintenance (docs/reports.md). The job recomputes
yesterday and today on every tick, and from the earliest day a late declaration
invalidated (``rollup_stale``).

A full pass (:func:`plan`, :func:`recompute` per chunk, :func:`finish`) commits per
chunk of whole units of about :data:`CHUNK_CHECKS` checks: at 17,000 checks one
transaction held the rollups for ~28 s. Each chunk rewrites its entities' rows whole,
so a pass that stops between chunks leaves every entity as of this pass or the last
one, and the stale days it took stay queued until :func:`finish`: the next pass
recomputes them again.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounting import availability as arithmetic
from app.accounting.availability import Clock, StateChange
from app.accounting.calendar import service_hours
from app.accounting.checks import CheckInfo, live_checks
from app.accounting.days import (
    Carry,
    Split,
    day_start,
    effective_timeline,
    local_day,
    split,
    uncovered,
)
from app.maintenance import repository as maintenance_repository
from app.maintenance.scope import resolve
from app.maintenance.windows import spans_by_check
from app.reports import rollup_repository as repo

CHUNK_CHECKS = 1_000
"""A full pass commits after about this many checks (whole units, with their services)."""
HEARTBEAT_GRACE = timedelta(seconds=60)
"""A live run's coverage reaches now if it was seen this recently (3 heartbeats)."""

Span = tuple[datetime, datetime]
Timeline = tuple[str, list[StateChange]]


def monitor_gaps(
    runs: Sequence[tuple[datetime, datetime, datetime | None]], start: datetime, now: datetime
) -> list[Span]:
    """Time in ``[start, now)`` after the first run ever that no monitor run covered.

    A stopped run covers up to ``stopped_at``; a run that vanished covers up to its
    last heartbeat; a live one (seen within :data:`HEARTBEAT_GRACE`) up to now.
    """
    if not runs:
        return []
    covered = []
    for started_at, last_seen_at, stopped_at in runs:
        if stopped_at is not None:
            covered.append((started_at, stopped_at))
        else:
            covered.append(
                (started_at, now if now - last_seen_at <= HEARTBEAT_GRACE else last_seen_at)
            )
    first = min(a for a, _ in covered)
    return uncovered(covered, max(start, first), now) if max(start, first) < now else []


@dataclass(frozen=True, slots=True)
class Entity:
    level: str
    id: int
    timeline: Timeline
    clock: Clock


class _Clocks:
    """One service-hours clock per distinct calendar (their day caches are shared)."""

    def __init__(self) -> None:
        self._by_json: dict[str, Clock] = {}

    def of(self, calendar: dict[str, Any] | None) -> Clock:
        key = json.dumps(calendar, sort_keys=True, default=str)
        found = self._by_json.get(key)
        if found is None:
            found = self._by_json[key] = service_hours(calendar)
        return found


def entities(checks: Sequence[CheckInfo], timelines: dict[int, Timeline]) -> list[Entity]:
    """Checks, then services and units as the worst of their critical checks."""
    clocks = _Clocks()
    out = [Entity("check", c.id, timelines[c.id], clocks.of(c.calendar)) for c in checks]
    for level, attribute in (("service", "service_id"), ("unit", "unit_id")):
        members: dict[int, list[CheckInfo]] = defaultdict(list)
        for check in checks:
            members[getattr(check, attribute)].append(check)
        for entity_id, group in members.items():
            chosen = [c for c in group if c.critical] or group
            worst = arithmetic.worst_timeline([timelines[c.id] for c in chosen])
            out.append(
                Entity(level, entity_id, (worst[0], list(worst[1])), clocks.of(chosen[0].calendar))
            )
    return out


async def timelines(
    session: AsyncSession,
    checks: Sequence[CheckInfo],
    start: datetime,
    now: datetime,
    *,
    partial: bool = False,
) -> dict[int, Timeline]:
    """Every check's accounted timeline over ``[start, now)``; ``partial``: ``checks``
    are a few of them, so the reads are limited to theirs."""
    ids = {c.id for c in checks} if partial else None
    before = await repo.states_before(session, start, ids)
    flips = await repo.flips_by_check(session, start, now, ids)
    gaps = monitor_gaps(await repo.monitor_runs(session, now), start, now)
    rows = await maintenance_repository.overlapping(session, start, now)
    spans = spans_by_check(resolve(rows, checks), start, now)
    return {
        c.id: effective_timeline(
            before.get(c.id, arithmetic.UNKNOWN), flips.get(c.id, []), gaps, spans.get(c.id, [])
        )
        for c in checks
    }


def day_rows(level: str, entity_id: int, result: Split, now: datetime) -> list[dict[str, Any]]:
    rows = []
    for day, totals in result.totals.items():
        row: dict[str, Any] = {
            "level": level,
            "entity_id": entity_id,
            "day": day,
            "computed_at": now,
        }
        for state in arithmetic.STATES:
            row[f"{state}_s"] = totals.always[state]
            row[f"sh_{state}_s"] = totals.service[state]
        rows.append(row)
    return rows


def piece_rows(level: str, entity_id: int, result: Split) -> list[dict[str, Any]]:
    return [
        {
            "level": level,
            "entity_id": entity_id,
            "run_started_at": p.run_started_at,
            "day": p.day,
            "run_ended_at": p.run_ended_at,
            "run_s": p.run_s,
            "run_sh_s": p.run_sh_s,
            "s": p.s,
            "sh_s": p.sh_s,
            "first": p.first,
            "sh_first": p.sh_first,
            "last": p.last,
        }
        for p in result.pieces
    ]


@dataclass(slots=True)
class RecomputeReport:
    first_day: date
    entities: int
    day_rows: int
    outage_pieces: int
    changed: int | None = None  # a partial pass: the checks that changed (None: all)

    def add(self, other: RecomputeReport) -> None:
        """Count ``other``, a chunk of the same full pass, in."""
        self.entities += other.entities
        self.day_rows += other.day_rows
        self.outage_pieces += other.outage_pieces


async def recompute(
    session: AsyncSession,
    first_day: date,
    now: datetime,
    only: Collection[int] | None = None,
    *,
    live: Sequence[CheckInfo] | None = None,
) -> RecomputeReport:
    """Rewrite rollups and outage pieces from local ``first_day`` to ``now`` (flushes only).

    ``only``: just the entities the checks ``only`` are part of — those checks' units,
    the units' services and all their checks (a service or unit is the worst of its
    critical checks, so it needs every member's timeline). ``live``: the live checks
    as a pass already read them (default: read them now)."""
    if only is not None and not only:
        return RecomputeReport(first_day, 0, 0, 0, changed=0)
    start = day_start(first_day)
    checks = list(live) if live is not None else await live_checks(session)
    keys = None
    if only is not None:
        wanted = set(only)  # a list: `in` on it made a full pass's chunks quadratic
        units = {c.unit_id for c in checks if c.id in wanted}
        checks = [c for c in checks if c.unit_id in units]
    found = entities(checks, await timelines(session, checks, start, now, partial=only is not None))
    if only is not None:
        keys = {(e.level, e.id) for e in found}
    carried = await repo.carries(session, first_day, start, keys)
    await repo.clear_from(session, first_day, keys)
    days: list[dict[str, Any]] = []
    pieces: list[dict[str, Any]] = []
    for entity in found:
        carry = carried.get((entity.level, entity.id))
        result = split(*entity.timeline, first_day, now, entity.clock, carry)
        days += day_rows(entity.level, entity.id, result, now)
        pieces += piece_rows(entity.level, entity.id, result)
        if carry is not None:
            await _close(session, entity, carry, result, first_day, start)
    await repo.insert_rows(session, days, pieces)
    await repo.rebuild_months(session, first_day.replace(day=1), now, keys)
    changed = None if only is None else len(set(only))
    return RecomputeReport(first_day, len(found), len(days), len(pieces), changed)


async def _close(
    session: AsyncSession,
    entity: Entity,
    carry: Carry,
    result: Split,
    first_day: date,
    start: datetime,
) -> None:
    if not result.continued:
        await repo.close_carry(
            session,
            entity.level,
            entity.id,
            carry,
            first_day,
            start,
            carry.prior_s,
            carry.prior_sh_s,
        )
        return
    head = next(p for p in result.pieces if p.run_started_at == carry.run_started_at)
    await repo.close_carry(
        session,
        entity.level,
        entity.id,
        carry,
        first_day,
        head.run_ended_at,
        head.run_s,
        head.run_sh_s,
        mark_last=False,
    )


@dataclass(frozen=True, slots=True)
class Pass:
    """A rollup pass as :func:`plan` decided it."""

    first_day: date
    chunks: list[list[int]]
    """Full: the live checks' ids, in chunks of whole units. Partial: one chunk, the
    checks with a new flip (none: nothing to do)."""
    full: bool
    live: list[CheckInfo]
    """A full pass's live checks, read once for all its chunks."""
    stale: list[int]
    """The ``rollup_stale`` rows this pass recomputes; :func:`finish` deletes them."""


async def plan(
    session: AsyncSession,
    now: datetime,
    changed_since: datetime | None = None,
    chunk_checks: int | None = None,
) -> Pass:
    """From yesterday, or from the earliest invalidated day (then a full pass).

    With ``changed_since``, and no day invalidated, only the entities of the checks
    with a flip recorded since then (:func:`recompute` ``only``); the others keep
    their rows as last computed (``computed_at``) until a full pass. ``chunk_checks``:
    the size of a full pass's chunks (``None``: one chunk)."""
    first = local_day(now) - timedelta(days=1)
    stale_ids, stale_day = await repo.stale(session)
    if stale_day is not None:
        first, changed_since = min(first, stale_day), None
    if changed_since is not None:
        changed = await repo.changed_checks(session, changed_since, day_start(first))
        return Pass(first, [sorted(changed)], full=False, live=[], stale=[])
    checks = await live_checks(session)
    chunks = unit_chunks(checks, chunk_checks or len(checks))
    return Pass(first, chunks, full=True, live=checks, stale=stale_ids)


def unit_chunks(checks: Sequence[CheckInfo], size: int) -> list[list[int]]:
    """The checks' ids in chunks of whole units (a service is part of one unit), each
    of at most ``size`` checks unless one unit alone has more."""
    by_unit: dict[int, list[int]] = defaultdict(list)
    for check in checks:
        by_unit[check.unit_id].append(check.id)
    chunks: list[list[int]] = [[]]
    for unit_id in sorted(by_unit):
        ids = by_unit[unit_id]
        if chunks[-1] and len(chunks[-1]) + len(ids) > size:
            chunks.append([])
        chunks[-1].extend(ids)
    return [chunk for chunk in chunks if chunk]


async def finish(session: AsyncSession, done: Pass, now: datetime) -> None:
    """End a full pass: the rows of entities no longer live go from its first day, as
    an unchunked pass clears them, and the stale days it recomputed leave the queue."""
    if done.full:
        live: set[tuple[str, int]] = set()
        for c in await live_checks(session):
            live |= {("check", c.id), ("service", c.service_id), ("unit", c.unit_id)}
        first_month = done.first_day.replace(day=1)
        gone = sorted(await repo.stored_keys(session, done.first_day, first_month) - live)
        for offset in range(0, len(gone), CHUNK_CHECKS):
            keys = gone[offset : offset + CHUNK_CHECKS]
            await repo.clear_from(session, done.first_day, keys)
            await repo.rebuild_months(session, first_month, now, keys)
    await repo.clear_stale(session, done.stale)


async def tick(
    session: AsyncSession, now: datetime, changed_since: datetime | None = None
) -> RecomputeReport:
    """A whole pass (:func:`plan`) in ``session``'s one transaction."""
    todo = await plan(session, now, changed_since)
    if not todo.full:
        return await recompute(session, todo.first_day, now, only=todo.chunks[0])
    report = await recompute(session, todo.first_day, now, live=todo.live)
    await repo.clear_stale(session, todo.stale)
    return report
