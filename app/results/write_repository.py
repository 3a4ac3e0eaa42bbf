"""The batch writer's SQL: idempotent, so a retried batch lands exactly once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Check, Flip, Incident, ProbeResult
from app.results.evaluator import Outcome


def _insert(session: AsyncSession, model: type[Any]) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(model)


def _close_of(outcome: Outcome) -> dict[str, Any]:
    """The close, with the state the closing flip went to (up, unknown, ...)."""
    assert outcome.incident_close is not None
    closed_by = outcome.flip_row["new_state"] if outcome.flip_row is not None else None
    return {**outcome.incident_close, "closed_by": closed_by}


async def write_batch(session: AsyncSession, batch: Sequence[Outcome]) -> dict[str, int]:
    """Write results, flips, incident changes and check states of ``batch``.

    Inserts ignore rows whose ``uid`` (or incident ``(check_id, started_at)``) is
    already there; closes and state updates set absolute values. Replaying a
    batch after an ambiguous failure therefore changes nothing twice.
    """
    results = [o.result_row for o in batch]
    flips = [o.flip_row for o in batch if o.flip_row is not None]
    opens = [o.incident_open for o in batch if o.incident_open is not None]
    closes = [_close_of(o) for o in batch if o.incident_close is not None]
    latest = {o.check_row["id"]: o.check_row for o in batch}
    if results:
        await session.execute(
            _insert(session, ProbeResult).on_conflict_do_nothing(index_elements=["uid"]), results
        )
    if flips:
        await session.execute(
            _insert(session, Flip).on_conflict_do_nothing(index_elements=["uid"]), flips
        )
    if opens:
        stmt = _insert(session, Incident).on_conflict_do_nothing(
            index_elements=["check_id", "started_at"]
        )
        await session.execute(stmt, opens)
    for close in closes:  # in order: each closes only incidents that started before it
        await session.execute(
            update(Incident)
            .where(
                Incident.check_id == close["check_id"],
                Incident.ended_at.is_(None),
                Incident.started_at <= close["ended_at"],
            )
            .values(ended_at=close["ended_at"], closed_by=close.get("closed_by"))
        )
    if latest:
        await session.execute(update(Check), list(latest.values()))
    return {"probe_result": len(results), "flip": len(flips), "incident": len(opens)}
