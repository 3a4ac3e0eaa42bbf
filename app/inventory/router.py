"""``/api/v1/inventory/reload``: re-read the inventory file (write token)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from app.deps import SessionDep, WriteToken
from app.errors import ConfigError, Conflict, Unprocessable

router = APIRouter(tags=["inventory"])


@router.post("/inventory/reload")
async def reload_inventory(
    request: Request,
    session: SessionDep,
    _: WriteToken,
    force: Annotated[
        bool, Query(description="sync even when the file and its secrets are unchanged")
    ] = False,
) -> dict[str, Any]:
    """Re-read the inventory and rebuild the scheduler's jobs (write token).

    An unchanged file (and unchanged push-token secrets) answers
    ``{"inventory": {"unchanged": true}, ...}`` without a sync unless ``force``.
    409 when no monitor runs in this process; 422 when the inventory is invalid.
    """
    monitor = getattr(request.app.state, "monitor", None)
    if monitor is None:
        raise Conflict("monitor not running (bộ giám sát không chạy trong tiến trình này)")
    # The reload writes through the monitor's own session: end this request's
    # transaction (the token's touch) first, or on SQLite the reload would wait on
    # this request's write lock until busy_timeout.
    await session.commit()
    try:
        summary: dict[str, Any] = await monitor.reload(force=force)
    except ConfigError as exc:
        raise Unprocessable("; ".join(exc.errors)) from exc
    return summary
