"""Results the database refused for their data, set aside by the batch writer.

``thongsuot dead-letters list`` shows them; ``thongsuot dead-letters replay``
writes them again once the cause is fixed (docs/dead-letters.md). A replay
writes history only, the result and its flip: the check's state and incidents
have moved on since the outcome was refused, so its old snapshot is not applied.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.models import DeadLetter
from app.monitor.evaluator import Outcome
from app.monitor.records import MalformedRecord, outcome_from_record
from app.monitor.writer import describe_error, write_batch
from probes.text import MESSAGE_LIMIT, clean_details, clean_text


async def pending(
    session: AsyncSession, *, ids: Sequence[int] = (), replayed: bool = False, limit: int = 100
) -> list[DeadLetter]:
    """Dead letters oldest first: not yet replayed (or all, with ``replayed``)."""
    stmt = select(DeadLetter).order_by(DeadLetter.id).limit(limit)
    if ids:
        stmt = stmt.where(DeadLetter.id.in_(list(ids)))
    if not replayed:
        stmt = stmt.where(DeadLetter.replayed_at.is_(None))
    return list((await session.execute(stmt)).scalars())


def cleaned(outcome: Outcome) -> Outcome:
    """``outcome`` with its text cleaned as the evaluator cleans it today (a record
    refused for a NUL or a lone surrogate is storable after this)."""
    outcome.result_row["message"] = clean_text(outcome.result_row["message"], MESSAGE_LIMIT)
    outcome.result_row["details"] = clean_details(outcome.result_row["details"])
    if outcome.flip_row is not None:
        outcome.flip_row["reason"] = clean_text(outcome.flip_row["reason"], MESSAGE_LIMIT)
    return outcome


@dataclass(frozen=True)
class Replayed:
    id: int
    ok: bool
    detail: str


async def replay(
    sm: async_sessionmaker[AsyncSession], ids: Sequence[int] = (), *, clean: bool = False
) -> list[Replayed]:
    """Write each pending dead letter's result and flip again, one transaction
    each; a success sets ``replayed_at`` in the same transaction."""
    async with sm() as session:
        letters = await pending(session, ids=ids, limit=10_000)
    done: list[Replayed] = []
    for letter in letters:
        try:
            outcome = outcome_from_record(json.loads(letter.record))
        except (ValueError, MalformedRecord) as exc:
            done.append(Replayed(letter.id, False, describe_error(exc)))
            continue
        if clean:
            outcome = cleaned(outcome)
        try:
            async with sm() as session, session.begin():
                await write_batch(session, [outcome], current=False)
                row = await session.get(DeadLetter, letter.id)
                assert row is not None
                row.replayed_at = datetime.now(UTC)
        except Exception as exc:  # refused again: it stays, with the new reason shown
            done.append(Replayed(letter.id, False, describe_error(exc)))
            continue
        done.append(Replayed(letter.id, True, "ok"))
    return done


# the command ---------------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["list", "replay"])
    p.add_argument("ids", nargs="*", type=int, help="dead letter ids (default: all pending)")
    p.add_argument("--db", dest="database_url", help="database URL (THONGSUOT_DATABASE_URL)")
    p.add_argument("--all", action="store_true", help="list: also those already replayed")
    p.add_argument("--limit", type=int, default=100, help="list: at most this many")
    p.add_argument("--json", action="store_true", help="list: one JSON object per line")
    p.add_argument(
        "--clean", action="store_true", help="replay: clean the text first (NUL, controls)"
    )


def cmd_dead_letters(args: argparse.Namespace, settings: Settings) -> int:
    """0: done (list, or every replay succeeded); 1: some replay was refused again."""
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from app.db import make_engine, make_sessionmaker

    engine = make_engine(settings.database_url)
    try:
        sm = make_sessionmaker(engine)
        if args.action == "replay":
            results = await replay(sm, args.ids, clean=args.clean)
            for r in results:
                word = "đã ghi / written" if r.ok else f"vẫn bị từ chối / refused: {r.detail}"
                print(f"{r.id}: {word}")
            if not results:
                print("không có bản ghi nào chờ / nothing pending")
            return 0 if all(r.ok for r in results) else 1
        async with sm() as session:
            letters = await pending(session, ids=args.ids, replayed=args.all, limit=args.limit)
        _print(letters, as_json=args.json)
        return 0
    finally:
        await engine.dispose()


def _print(letters: Sequence[DeadLetter], *, as_json: bool) -> None:
    if as_json:
        for d in letters:
            print(json.dumps(_as_dict(d)))  # ASCII: a record may hold a lone surrogate
        return
    if not letters:
        print("không có kết quả nào bị từ chối / no dead letters")
        return
    print("id\tlúc / at\tkiểm tra / check\tlỗi / error")
    for d in letters:
        replayed = f"\t(đã ghi lại / replayed {d.replayed_at.isoformat()})" if d.replayed_at else ""
        print(f"{d.id}\t{d.created_at.isoformat()}\t{d.check_id}\t{d.error[:200]}{replayed}")


def _as_dict(d: DeadLetter) -> dict[str, Any]:
    return {
        "id": d.id,
        "uid": d.uid,
        "check_id": d.check_id,
        "created_at": d.created_at.isoformat(),
        "replayed_at": d.replayed_at.isoformat() if d.replayed_at else None,
        "error_type": d.error_type,
        "error": d.error,
        "record": json.loads(d.record),
    }
