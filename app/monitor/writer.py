"""The batch writer's SQL: idempotent, so a retried batch lands exactly once."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import upsert_insert
from app.incidents import repository as incidents
from app.models import Check, Flip, ProbeResult
from app.monitor.evaluator import Outcome


async def write_batch(session: AsyncSession, batch: Sequence[Outcome]) -> dict[str, int]:
    """Write results, flips, incident changes and check states of ``batch``.

    Inserts ignore rows whose ``uid`` (or incident ``(check_id, started_at)``) is
    already there; closes and state updates set absolute values. Replaying a
    batch after an ambiguous failure therefore changes nothing twice.
    """
    results = [o.result_row for o in batch]
    flips = [o.flip_row for o in batch if o.flip_row is not None]
    opens = [o.incident_open for o in batch if o.incident_open is not None]
    closes = [o.incident_close for o in batch if o.incident_close is not None]
    latest = {o.check_row["id"]: o.check_row for o in batch}
    if results:
        await session.execute(
            upsert_insert(session, ProbeResult).on_conflict_do_nothing(index_elements=["uid"]),
            results,
        )
    if flips:
        await session.execute(
            upsert_insert(session, Flip).on_conflict_do_nothing(index_elements=["uid"]), flips
        )
    await incidents.open_incidents(session, opens)
    await incidents.close_incidents(session, closes)
    if latest:
        await session.execute(update(Check), list(latest.values()))
    return {"probe_result": len(results), "flip": len(flips), "incident": len(opens)}
