"""Push beats through SQL: a beat reaches the replica owning its check's shard.

A device's beat reaches the process serving the API, which holds only its share
of the shards (docs/design.md §4.1). A beat for a check of a shard it does not
hold is written as a ``push_beat`` row (:func:`relay_beat`); the owner polls its
shards' rows every second in a short transaction of its own
(:class:`BeatRelay`) and applies each one, in order, at the beat's time and
with its uid, through the same ``record_beat`` path as a beat it took itself.
The outcome carries the row's id and the batch writer deletes the row in the
transaction that stores its effect, so a beat is consumed exactly when that
effect is written; a fenced outcome (the shard moved before the write) leaves
its row for the next owner. PostgreSQL only: SQLite runs one process.

No ``LISTEN``/``NOTIFY``: it needs a session, which PgBouncer in transaction mode
does not keep.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import SmallInteger, any_, bindparam, delete, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import Check, PushBeat
from app.monitor.evaluator import Outcome, new_uid
from app.monitor.leases import ShardLeases

log = logging.getLogger(__name__)

POLL_S = 1.0
POLL_LIMIT = 1_000
# a row whose check this replica does not know (removed, disabled, or not yet
# re-read from SQL: CHECKS_REFRESH_S) is left alone this long, then deleted
STALE_S = 600.0


class RelayedBeat(NamedTuple):
    """One ``push_beat`` row."""

    id: int
    uid: str
    shard: int
    check_id: int
    at: datetime
    status: str | None
    message: str


async def relay_beat(
    session: AsyncSession,
    *,
    check_id: int,
    shard: int,
    status: str | None,
    message: str,
    at: datetime | None = None,
) -> str:
    """Write a beat for the owner of ``shard`` (``at``: now); return the check's state
    as last written to SQL, which the device is answered with."""
    await session.execute(
        insert(PushBeat).values(
            uid=new_uid(),
            shard=shard,
            check_id=check_id,
            at=at or datetime.now(UTC),
            status=status,
            message=message,
        )
    )
    state = await session.scalar(select(Check.state).where(Check.id == check_id))
    return str(state) if state is not None else "unknown"


async def pending_beats(
    session: AsyncSession, shards: list[int], limit: int = POLL_LIMIT
) -> list[RelayedBeat]:
    """The oldest ``limit`` rows of ``shards``, in the order they were written."""
    if not shards:
        return []
    rows = await session.execute(
        select(
            PushBeat.id,
            PushBeat.uid,
            PushBeat.shard,
            PushBeat.check_id,
            PushBeat.at,
            PushBeat.status,
            PushBeat.message,
        )
        # one array parameter, one statement whatever the shards (asyncpg caches it)
        .where(PushBeat.shard == any_(bindparam("owned", shards, type_=ARRAY(SmallInteger))))
        .order_by(PushBeat.id)
        .limit(limit)
    )
    return [RelayedBeat(*row) for row in rows.all()]


class Skipped(enum.Enum):
    """Why a relayed beat was not applied."""

    UNKNOWN = "unknown"  # not a heartbeat check this replica knows (yet): kept a while
    EXPIRED = "expired"  # past the deadline it set: the silence since was judged; dropped


# applies one relayed beat through Monitor.record_beat, or says why not
ApplyBeat = Callable[[RelayedBeat], Outcome | Skipped]
# what is applied, with its age in seconds (for the metrics)
OnApplied = Callable[[RelayedBeat, float], None]


class BeatRelay:
    """The owner side: every ``poll_s``, the rows of the shards this replica holds.

    Each row is applied once under a shard's epoch: its id is remembered with the
    epoch it was applied under until the row is gone (deleted with its written
    effect). A row seen again under the same epoch waits for its write; under a
    new epoch (the shard was lost and taken back, so the earlier outcome is
    fenced) it is applied again. A shard newly held, or held under a new epoch,
    is polled from the next round on: by then the check states of a taken shard
    have been read from SQL (``Monitor._take_states``), which a beat must not
    precede.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        leases: ShardLeases,
        apply: ApplyBeat,
        *,
        on_applied: OnApplied | None = None,
        poll_s: float = POLL_S,
        limit: int = POLL_LIMIT,
        stale_s: float = STALE_S,
    ) -> None:
        self._sm = sessionmaker
        self._leases = leases
        self._apply = apply
        self._on_applied = on_applied
        self.poll_s = poll_s
        self.limit = limit
        self.stale_s = stale_s
        # push_beat id -> (shard, epoch) it was applied under, until its row is gone
        self._applied: dict[int, tuple[int, int]] = {}
        self._seen: dict[int, int] = {}  # shard -> epoch, as held at the last poll
        self._task: asyncio.Task[None] | None = None
        self.applied = 0  # beats applied by this replica (tests, benches)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="push-beat-relay")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            try:
                await self.poll()
            except Exception as exc:  # the database away: the rows wait for the next poll
                log.warning("push beat poll failed (%s): %s", type(exc).__name__, exc)

    def _settled(self) -> dict[int, int]:
        """Shard -> epoch of the shards held now under the epoch they were held under
        at the previous poll too (and only while the lease is valid)."""
        held = self._leases.epochs if self._leases.valid() else {}
        settled = {s: e for s, e in held.items() if self._seen.get(s) == e}
        self._seen = dict(held)
        return settled

    async def poll(self) -> int:
        """One round: apply the new beats of the settled shards; returns how many."""
        shards = self._settled()
        if not shards:
            return 0
        async with self._sm() as session, session.begin():
            beats = await pending_beats(session, sorted(shards), self.limit)
        self._forget_written(beats, shards)
        applied, unknown, expired = 0, [], []
        now = datetime.now(UTC)
        for beat in beats:
            epoch = shards.get(beat.shard)
            if epoch is None or self._applied.get(beat.id) == (beat.shard, epoch):
                continue  # not ours (any more), or applied and waiting for its write
            outcome = self._apply(beat)
            if outcome is Skipped.UNKNOWN:
                unknown.append(beat)
                continue
            if outcome is Skipped.EXPIRED:
                expired.append(beat.id)
                continue
            self._applied[beat.id] = (beat.shard, epoch if outcome.epoch is None else outcome.epoch)
            applied += 1
            if self._on_applied is not None:
                self._on_applied(beat, max(0.0, (now - beat.at).total_seconds()))
        self.applied += applied
        await self._drop(expired, unknown, now)
        return applied

    def _forget_written(self, beats: list[RelayedBeat], polled: dict[int, int]) -> None:
        """Forget the applied ids the poll would have returned but did not (their row
        was deleted with its written effect), and those of a shard now held under
        another epoch (they will be applied again). Ids of shards not polled this
        round are kept: a shard held again under the same epoch (its lease renewed
        after a cut) may still have their outcomes waiting to be written."""
        present = {beat.id for beat in beats}
        complete = len(beats) < self.limit
        last = beats[-1].id if beats else 0
        held = self._leases.epochs
        kept: dict[int, tuple[int, int]] = {}
        for i, (shard, epoch) in self._applied.items():
            if shard in polled:
                if i in present or (not complete and i > last):
                    kept[i] = (shard, epoch)
            elif held.get(shard, epoch) == epoch:
                kept[i] = (shard, epoch)
        self._applied = kept

    async def _drop(self, expired: list[int], unknown: list[RelayedBeat], now: datetime) -> None:
        """Delete the rows of expired beats, and those of checks this replica does not
        know once older than ``stale_s`` (the check was disabled; a removed one's rows
        go with it, by the foreign key)."""
        old = [b.id for b in unknown if now - b.at > timedelta(seconds=self.stale_s)]
        if not (expired or old):
            return
        async with self._sm() as session, session.begin():
            await session.execute(delete(PushBeat).where(PushBeat.id.in_([*expired, *old])))
        if expired:  # late past their deadline: a database away, an owner down long
            log.info("%d relayed beats past their deadline dropped", len(expired))
        if old:
            log.warning(
                "%d relayed beats of unknown checks dropped after %gs", len(old), self.stale_s
            )


__all__ = ["BeatRelay", "RelayedBeat", "Skipped", "pending_beats", "relay_beat"]
