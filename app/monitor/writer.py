"""The batch writer's SQL: idempotent, so a retried batch lands exactly once."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import exc as orm_exc

from app.db import upsert_insert
from app.incidents import repository as incidents
from app.models import Check, CheckVantage, DeadLetter, Flip, ProbeResult, PushBeat, ShardLease
from app.models.base import Base
from app.monitor.evaluator import Outcome
from app.monitor.records import outcome_to_record
from app.monitor.rows import CheckRow
from probes.text import clean_text

ERROR_LIMIT = 2_000

# SQLSTATE classes that describe the data of a statement, never the connection:
# 22 data exception (NUL in text, a value too long, invalid JSON, an unencodable
# character), 23 integrity constraint violation (a foreign key to a check that
# is gone, NOT NULL).
_DATA_SQLSTATE_CLASSES = frozenset({"22", "23"})


async def write_batch(
    session: AsyncSession,
    batch: Sequence[Outcome],
    *,
    current: bool = True,
    lock_first: bool = False,
) -> dict[str, int]:
    """Write results, flips, incident changes and check states of ``batch``.

    Inserts ignore rows whose ``uid`` (or incident ``(check_id, started_at)``) is
    already there; closes and state updates set absolute values. Replaying a
    batch after an ambiguous failure therefore changes nothing twice.

    ``current=False`` writes history only (results and flips), for outcomes from
    the past such as a replayed dead letter: the check's state and its incidents
    have moved on since, and an old snapshot must not overwrite them.

    Fencing is optimistic: a batch whose outcomes carry one epoch per shard is
    written as current, then the epochs are read ``FOR KEY SHARE`` just before the
    commit; a shard moved on raises :class:`EpochMoved` (the caller rolls back and
    writes again with ``lock_first``, :func:`write_fenced`). The lease rows are thus
    locked for a commit, not for a whole write: locked first, under ``FOR SHARE``, a
    renew (an UPDATE of the same rows) waited behind slow batch writes until a live
    replica fenced itself (3,839 probes in a national bench run); ``FOR KEY SHARE``
    no longer holds a renew at all (:func:`_epochs`). ``lock_first`` (and a batch
    with two epochs for one shard) reads them ``FOR KEY SHARE`` first and splits.
    """
    if not (current and any(o.epoch is not None for o in batch)):  # history replays pass
        return await _write(session, batch, [], current)
    probed = _probed_epochs(batch)
    if lock_first or probed is None:
        kept, fenced = _split(batch, await _epochs(session, batch, lock=True))
        return await _write(session, kept, fenced, current)
    counts = await _write(session, batch, [], current)
    if await _epochs(session, batch, lock=True) != probed:
        raise EpochMoved
    return counts


async def write_fenced(
    sm: async_sessionmaker[AsyncSession], batch: Sequence[Outcome]
) -> dict[str, int]:
    """:func:`write_batch` in a transaction of its own, written again with the lease
    rows locked first when a shard moved on while it was written."""
    try:
        async with sm() as session, session.begin():
            return await write_batch(session, batch)
    except EpochMoved:
        async with sm() as session, session.begin():
            return await write_batch(session, batch, lock_first=True)


def _probed_epochs(batch: Sequence[Outcome]) -> dict[int, int] | None:
    """The one epoch each shard of ``batch`` was probed under; None if a shard has
    two (it changed hands between two of the batch's probes)."""
    epochs: dict[int, int] = {}
    for o in batch:
        if o.epoch is None or o.shard is None:
            continue
        if epochs.setdefault(o.shard, o.epoch) != o.epoch:
            return None
    return epochs


async def _write(
    session: AsyncSession, batch: Sequence[Outcome], fenced: Sequence[Outcome], current: bool
) -> dict[str, int]:
    results = [o.result_row for o in batch]
    # A fenced outcome was probed under a lease another replica holds now: its
    # sample is still a fact, stored as history (a slot the new owner filled is
    # kept once); its flip, incident and check state belong to the new owner.
    history = [o.result_row for o in fenced]
    for row in (*results, *history):  # journaled before migration 0007
        row.setdefault("slot", None)
    flips = [o.flip_row for o in batch if o.flip_row is not None]
    current_batch = batch if current else ()
    opens = [o.incident_open for o in current_batch if o.incident_open is not None]
    closes = [o.incident_close for o in current_batch if o.incident_close is not None]
    latest = {o.check_row["id"]: o.check_row for o in current_batch}
    # a uid already written (a retried batch) or a slot already filled (by
    # another replica across a takeover): ignored, never stored twice
    stored = await insert_ignoring(session, ProbeResult, [*results, *history])
    # a beat the old owner took in memory: relayed to the new owner, once (the first
    # time its sample is stored; a retried batch or a replayed journal finds it there)
    relayed = [
        _relayed_beat(o) for o in fenced if _in_memory_beat(o) and o.result_row["uid"] in stored
    ]
    if relayed:
        await session.execute(insert(PushBeat), relayed)
    await insert_ignoring(session, Flip, flips)
    retract = [o.retract_flip_uid for o in current_batch if o.retract_flip_uid is not None]
    if retract:  # a silent agent's unknown flip, replaced by its replayed results
        await session.execute(delete(Flip).where(Flip.uid.in_(retract)))
    await incidents.open_incidents(session, opens)
    await incidents.close_incidents(session, closes)
    if latest:
        await update_check_states(session, list(latest.values()))
    vantages = {
        (v["check_id"], v["vantage"]): v for o in current_batch if (v := o.vantage_row) is not None
    }
    if vantages:  # multi-vantage checks only (docs/agents.md)
        await upsert_vantages(session, list(vantages.values()))
    # relayed beats are consumed with their effect; a fenced one's row stays for the
    # shard's next owner, which applies it (its sample above is then ignored by uid)
    consumed = [o.push_beat_id for o in current_batch if o.push_beat_id is not None]
    if consumed:
        await session.execute(delete(PushBeat).where(PushBeat.id.in_(consumed)))
    counts = {
        "probe_result": len(results) + len(history),
        "flip": len(flips),
        "incident": len(opens),
    }
    if consumed:
        counts["push_beat"] = len(consumed)
    if fenced:
        counts["fenced"] = len(fenced)
        counts["fenced_kept"] = sum(1 for row in history if row["uid"] in stored)
    return counts


def _in_memory_beat(outcome: Outcome) -> bool:
    """A push beat's outcome recorded by the process holding its shard (not relayed)."""
    details = outcome.result_row.get("details") or {}
    return outcome.push_beat_id is None and details.get("source") == "push"


def _relayed_beat(outcome: Outcome) -> dict[str, Any]:
    """The ``push_beat`` row that hands a fenced beat to its shard's new owner: the
    same uid, time and status (``up``/``down``); its result's message stands for the
    device's (a heartbeat result says the device's message, or a word for its status)."""
    row = outcome.result_row
    return {
        "uid": row["uid"],
        "shard": outcome.shard,
        "check_id": row["check_id"],
        "at": row["at"],
        "status": "down" if row["status"] == "down" else "up",
        "message": row["message"],
    }


_CHECK_TABLE: Any = Check.__table__
_CHECK_STATE = update(_CHECK_TABLE).where(_CHECK_TABLE.c.id == bindparam("check_id_"))


async def update_check_states(session: AsyncSession, rows: Sequence[CheckRow]) -> None:
    """``UPDATE check`` of each row's state columns by ``id``, as Core executemany.

    Not the ORM's bulk UPDATE (``update(Check)`` with a list): it builds ORM state for
    every row, 2.2 % of a national run. A row that matches no check (the check is
    gone) is refused where the driver counts rows (SQLite), as the ORM did; asyncpg's
    executemany counts none."""
    params = [
        {**{k: v for k, v in row.items() if k != "id"}, "check_id_": row["id"]} for row in rows
    ]
    result: Any = await session.execute(_CHECK_STATE, params)
    if session.get_bind().dialect.supports_sane_multi_rowcount and result.rowcount != len(rows):
        raise orm_exc.StaleDataError(
            f"UPDATE check expected {len(rows)} rows, matched {result.rowcount}"
        )


async def upsert_vantages(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """``check_vantage`` rows by ``(check_id, vantage)``: inserted or set whole."""
    stmt = upsert_insert(session, CheckVantage)
    columns = ("state", "since", "streak_status", "streak_count", "streak_started_at")
    stmt = stmt.on_conflict_do_update(
        index_elements=["check_id", "vantage"],
        set_={c: stmt.excluded[c] for c in (*columns, "last_result_at")},
    )
    await session.execute(stmt, list(rows))


async def insert_ignoring(
    session: AsyncSession, model: type[Base], rows: Sequence[Mapping[str, Any]]
) -> set[str]:
    """``INSERT … ON CONFLICT DO NOTHING`` of ``rows`` into ``model``'s table, as
    Core executemany: one statement for rows with the same keys (usually all).

    Not the ORM's bulk insert (``insert(Model)`` with a list): that leaves out
    the None values of each row, so rows with and without an ``error_kind``
    have different keys and a batch of 1,000 became ~100 statements, and it
    builds per-row ORM state on the way (``bench/writer_cost.py``). No
    conflict target: any unique index (``uid``, the slot key, or their
    partitioned forms, which must include ``at``) ignores the row. Returns the
    ``uid`` of the rows stored (``RETURNING`` also lets SQLAlchemy send the rows
    as multi-row ``VALUES`` pages rather than one execution each)."""
    stored: set[str] = set()
    groups: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row), []).append(row)
    table: Any = model.__table__  # upsert_insert takes a Table as well as a class
    for group in groups.values():
        stmt = upsert_insert(session, table).on_conflict_do_nothing().returning(table.c.uid)
        stored.update((await session.execute(stmt, group)).scalars())
    return stored


class EpochMoved(Exception):
    """A shard of the batch changed hands while it was written: roll back, write again
    with ``lock_first``."""


async def _epochs(
    session: AsyncSession, batch: Sequence[Outcome], *, lock: bool = False
) -> dict[int, int]:
    """The current epoch of each shard of ``batch``; with ``lock``, ``FOR KEY SHARE``
    holds the lease rows until the transaction ends, so no replica can take one
    (bump its epoch) before the commit: a takeover selects its shards ``FOR UPDATE
    SKIP LOCKED``. A renew or a release updates no key, so it never waits on a
    write (with ``FOR SHARE`` it waited behind a commit, or behind a whole write
    locked first, and a live but busy replica could fence itself)."""
    shards = sorted({o.shard for o in batch if o.epoch is not None and o.shard is not None})
    query = select(ShardLease.shard, ShardLease.epoch).where(ShardLease.shard.in_(shards))
    if lock:
        query = query.with_for_update(read=True, key_share=True)
    rows = await session.execute(query)
    return {shard: epoch for shard, epoch in rows.all()}


def _split(
    batch: Sequence[Outcome], current: Mapping[int, int]
) -> tuple[list[Outcome], list[Outcome]]:
    """The outcomes whose shard is still at the epoch they were probed under, and
    the fenced ones (their shard moved on since)."""
    kept: list[Outcome] = []
    fenced: list[Outcome] = []
    for o in batch:
        current_epoch = o.epoch is None or current.get(o.shard or 0) == o.epoch
        (kept if current_epoch else fenced).append(o)
    return kept, fenced


def is_data_error(exc: BaseException) -> bool:
    """True when ``exc`` is about a batch's data, so retrying the same rows would
    fail forever; False for anything that may pass on retry (a lost or cut
    connection, a server shutting down, a lock timeout, an unknown error).

    - a DBAPI error that invalidated its connection: never data;
    - PostgreSQL (asyncpg): SQLSTATE class 22 or 23; anything else (08 connection,
      57P01 admin shutdown, 40001 serialization, 53 resources, ...) is retried;
    - SQLite: ``IntegrityError`` / ``DataError`` (``OperationalError``, e.g.
      ``database is locked``, is retried);
    - a ``StatementError`` that is not a DBAPI error: a value failed to bind
      (a naive datetime, details that are not JSON); ``StaleDataError``: the
      state UPDATE matched no check;
    - ``UnicodeError`` / ``TypeError`` / ``ValueError`` raised by a driver while
      binding (SQLite cannot encode a lone surrogate).
    """
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return False
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        if isinstance(code, str) and len(code) == 5:
            return code[:2] in _DATA_SQLSTATE_CLASSES
        return isinstance(exc, sa_exc.IntegrityError | sa_exc.DataError)
    if isinstance(exc, sa_exc.StatementError | orm_exc.StaleDataError):
        return True  # StaleDataError: the state UPDATE of a check that is gone
    return isinstance(exc, UnicodeError | TypeError | ValueError)


def describe_error(exc: BaseException) -> str:
    """``Type: message``, cleaned and bounded: it is stored and shown."""
    return clean_text(f"{type(exc).__name__}: {exc}", ERROR_LIMIT)


def dead_letter_row(outcome: Outcome, exc: BaseException) -> dict[str, object]:
    """The ``dead_letter`` row for ``outcome``: its record as ASCII-only JSON text,
    so NULs and lone surrogates are escapes (``\\u0000``) and the row is storable."""
    record = outcome_to_record(outcome)
    return {
        "uid": outcome.result_row["uid"],
        "check_id": outcome.result_row["check_id"],
        "error_type": clean_text(type(exc).__name__, 100),
        "error": describe_error(exc),
        "record": json.dumps(record, ensure_ascii=True, default=str),
    }


async def write_dead_letter(session: AsyncSession, outcome: Outcome, exc: BaseException) -> None:
    """Set ``outcome`` aside with the error that refused it (once per result uid); a
    relayed beat's ``push_beat`` row goes with it (no other owner retries it)."""
    stmt = upsert_insert(session, DeadLetter).on_conflict_do_nothing(index_elements=["uid"])
    await session.execute(stmt, [dead_letter_row(outcome, exc)])
    if outcome.push_beat_id is not None:
        await session.execute(delete(PushBeat).where(PushBeat.id == outcome.push_beat_id))
