"""Shard leases on the database clock: many monitor replicas share the checks
through PostgreSQL, with no leader and no session state (docs/design.md §4).

- ``check → shard`` is ``crc32(key) % 256``: the same in every process.
- Each replica renews its leases every ``renew_s`` on the database's ``now()``
  (``lease_s`` long), takes free or expired shards with ``FOR UPDATE SKIP
  LOCKED`` up to its fair share ``ceil(256 / live replicas)``, and releases what
  is above it, so a replica joining gets shards within a renew or two.
- Taking a shard from another owner bumps its ``epoch``; results carry the epoch
  they were probed under and the batch writer refuses them once it has moved.
- A replica fences itself: a monotonic deadline, taken *before* each renew
  statement (``lease_s - margin_s`` after it), past which it starts no probe
  until a renew succeeds again. The lease in SQL ends later than that deadline,
  since the database's ``now()`` is read after it was taken.
- The renews run in a thread of their own (app/monitor/lease_thread.py) while the
  main event loop reads the state: ``renew`` publishes the shards held and the
  deadline as one new pair (a tuple, whose dict is never mutated afterwards),
  assigned whole, so a reader on another thread sees the old pair or the new one
  (an assignment is atomic under the GIL), never a half-renewed state. One renew
  at a time.

Only transaction-scoped statements: this works behind PgBouncer in transaction
mode (session advisory locks would not).
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import socket
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import upsert_insert
from app.models import ShardLease, ShardReplica
from app.models.base import utcnow

log = logging.getLogger(__name__)

SHARDS = 256
HOUSEKEEPING = -1  # the job lease of rollups and pruning
NOTIFY_PLAN = -2  # the job lease of notification planning (one planner at a time)
JOBS = (HOUSEKEEPING, NOTIFY_PLAN)


def shard_of(key: str) -> int:
    """The shard of the check ``key``: stable across processes and restarts."""
    return zlib.crc32(key.encode()) % SHARDS


def fair_share(live: int) -> int:
    return math.ceil(SHARDS / max(live, 1))


def new_owner() -> str:
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass
class RenewReport:
    gained: set[int] = field(default_factory=set)
    lost: set[int] = field(default_factory=set)
    live: int = 1
    unowned: int = 0
    clock_offset_s: float = 0.0


class _Held(NamedTuple):
    """What the last renew gave: shard → epoch (never mutated once published), and
    the monotonic instant past which no probe starts."""

    epochs: dict[int, int]
    deadline: float


class ShardLeases:
    """This replica's leases: which shards it owns, under which epoch, until when.

    Written by one renewer at a time (the lease thread), read from any thread: the
    held shards and the deadline are replaced together, as a new ``_Held``; the
    other attributes are each assigned whole."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        owner: str | None = None,
        lease_s: float = 15.0,
        margin_s: float = 2.0,
        clock: Any = time.monotonic,
    ) -> None:
        self._sm = sessionmaker
        self.owner = owner or new_owner()
        self.lease_s = lease_s
        self.margin_s = min(margin_s, lease_s / 3)
        self._clock = clock
        self._held = _Held({}, float("-inf"))
        self.unowned = SHARDS
        self.clock_offset_s = 0.0
        self.renewals = 0
        # after our own lease ran out unrenewed (a database cut, a pause), other
        # owners' expired shards are left to them until this monotonic time: when
        # the cut hit everyone, each retakes its own under the same epoch and
        # writes what it buffered, instead of the first one back taking them all
        self._rejoin_until = float("-inf")

    @property
    def epochs(self) -> dict[int, int]:
        """Shard → epoch, as last renewed (a snapshot: do not mutate it)."""
        return self._held.epochs

    @property
    def deadline(self) -> float:
        """Monotonic: no probe starts past it."""
        return self._held.deadline

    def valid(self, now: float | None = None) -> bool:
        """True while the last successful renew still covers us."""
        return (self._clock() if now is None else now) < self.deadline

    def may_probe(self, shard: int) -> bool:
        held = self._held  # one read: the shards and the deadline of the same renew
        return shard in held.epochs and self._clock() < held.deadline

    def epoch(self, shard: int) -> int | None:
        return self.epochs.get(shard)

    @property
    def owned(self) -> int:
        held = self._held
        return len(held.epochs) if self._clock() < held.deadline else 0

    async def renew(
        self, sessionmaker: async_sessionmaker[AsyncSession] | None = None
    ) -> RenewReport:
        """Renew, rebalance, report what changed. Raises if the database is away:
        the shards are then kept in memory but fenced once the deadline passes.

        ``sessionmaker`` (default: the one given at construction) must belong to the
        running event loop: the lease thread passes its own."""
        started = self._clock()
        if self.renewals and not self.valid(started) and started >= self._rejoin_until:
            self._rejoin_until = started + self.lease_s
        take_others = started >= self._rejoin_until
        before = self.epochs
        async with (sessionmaker or self._sm)() as session, session.begin():
            report, epochs = await _renew(
                session, self.owner, self.lease_s, set(before), take_others
            )
        self._held = _Held(epochs, started + self.lease_s - self.margin_s)
        self.unowned, self.clock_offset_s = report.unowned, report.clock_offset_s
        self.renewals += 1
        # gained: new to us, or retaken under another epoch (someone held it between,
        # so the state in memory is stale); the same epoch means nobody else wrote
        report.gained = {s for s, e in epochs.items() if before.get(s) != e}
        report.lost = set(before) - set(epochs)
        return report

    async def release(self) -> None:
        """Give every shard back (a clean stop): another replica takes them at once.
        The epoch is kept, so what this replica still writes is not refused."""
        self._held = _Held({}, float("-inf"))
        async with self._sm() as session, session.begin():
            await session.execute(
                update(ShardLease)
                .where(ShardLease.owner == self.owner)
                .values(owner=None, expires_at=None)
            )
            await session.execute(delete(ShardReplica).where(ShardReplica.owner == self.owner))


async def ensure_rows(session: AsyncSession) -> None:
    """The fixed rows (created by migration 0007; put back after a TRUNCATE)."""
    if await session.scalar(select(func.count()).select_from(ShardLease)) == SHARDS + len(JOBS):
        return
    rows = [{"shard": s, "epoch": 0} for s in (*JOBS, *range(SHARDS))]
    await session.execute(upsert_insert(session, ShardLease).on_conflict_do_nothing(), rows)


async def _renew(
    session: AsyncSession, owner: str, lease_s: float, held: set[int], take_others: bool = True
) -> tuple[RenewReport, dict[int, int]]:
    await ensure_rows(session)
    db_now: datetime = (await session.execute(select(func.now()))).scalar_one()
    offset = (db_now - utcnow()).total_seconds()
    until = func.now() + _seconds(lease_s)
    await session.execute(
        upsert_insert(session, ShardReplica)
        .values(owner=owner, expires_at=until)
        .on_conflict_do_update(index_elements=["owner"], set_={"expires_at": until})
    )
    live = await session.scalar(
        select(func.count()).select_from(ShardReplica).where(ShardReplica.expires_at > func.now())
    )
    share = fair_share(int(live or 1))
    mine = ShardLease.owner == owner
    kept = dict(
        (
            await session.execute(
                update(ShardLease)
                .where(mine, ShardLease.shard >= 0, ShardLease.expires_at > func.now())
                .values(expires_at=until)
                .returning(ShardLease.shard, ShardLease.epoch)
            )
        ).all()
    )
    if len(kept) > share:  # above the fair share: give the surplus back, newest taken first
        surplus = sorted(kept, key=lambda s: (s not in held, s))[share:]
        await session.execute(
            update(ShardLease)
            .where(mine, ShardLease.shard.in_(surplus))
            .values(owner=None, expires_at=None)
        )
        for s in surplus:
            del kept[s]
    elif len(kept) < share:
        kept |= await _acquire(session, owner, share - len(kept), until, take_others)
    unowned = await session.scalar(
        select(func.count())
        .select_from(ShardLease)
        .where(
            ShardLease.shard >= 0,
            or_(ShardLease.owner.is_(None), ShardLease.expires_at <= func.now()),
        )
    )
    await session.execute(
        delete(ShardReplica).where(ShardReplica.expires_at < func.now() - _seconds(3_600))
    )
    report = RenewReport(live=int(live or 1), unowned=int(unowned or 0), clock_offset_s=offset)
    return report, kept


async def _acquire(
    session: AsyncSession, owner: str, n: int, until: Any, take_others: bool = True
) -> dict[int, int]:
    """Take up to ``n`` free or expired shards; taking one from another owner bumps its
    epoch (its late writes are refused), taking back one's own keeps it. Without
    ``take_others``, only free shards and one's own expired ones."""
    expired = ShardLease.expires_at <= func.now()
    if not take_others:
        expired = expired & (ShardLease.owner == owner)
    free = (
        select(ShardLease.shard)
        .where(ShardLease.shard >= 0, or_(ShardLease.owner.is_(None), expired))
        .order_by(ShardLease.shard)
        .limit(n)
        .with_for_update(skip_locked=True)
    )
    shards = list((await session.execute(free)).scalars())
    if not shards:
        return {}
    rows = await session.execute(
        update(ShardLease)
        .where(ShardLease.shard.in_(shards))
        .values(
            owner=owner,
            expires_at=until,
            epoch=case((ShardLease.owner == owner, ShardLease.epoch), else_=ShardLease.epoch + 1),
        )
        .returning(ShardLease.shard, ShardLease.epoch)
    )
    return dict(rows.all())


async def claim_job(session: AsyncSession, job: int, owner: str, seconds: float) -> bool:
    """Hold the job lease ``job`` (a negative shard) for ``seconds``, if it is free,
    expired or already ours: the job then runs in one replica at a time."""
    await ensure_rows(session)
    taken = await session.execute(
        update(ShardLease)
        .where(
            ShardLease.shard == job,
            or_(
                ShardLease.owner.is_(None),
                ShardLease.owner == owner,
                ShardLease.expires_at <= func.now(),
            ),
        )
        .values(owner=owner, expires_at=func.now() + _seconds(seconds))
        .returning(ShardLease.shard)
    )
    return taken.first() is not None


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)
