"""Declaring, listing and withdrawing maintenance windows; which checks are in one now."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounting import checks
from app.accounting.checks import CheckInfo
from app.accounting.days import local_day
from app.errors import NotFound, Unprocessable
from app.maintenance import repository
from app.maintenance.schemas import MaintenanceCreate, MaintenanceRead
from app.maintenance.scope import covered, resolve
from app.maintenance.windows import MaintenanceSpec, active_maintenance, last_end
from app.models import MaintenanceWindow
from app.models.base import utcnow

MAX_LENGTH = timedelta(days=31)


def validate(data: MaintenanceCreate, checks: Sequence[CheckInfo]) -> datetime | None:
    """The end of the last occurrence, or :class:`Unprocessable` (422) naming the problem."""
    if data.ends_at <= data.starts_at:
        raise Unprocessable("`ends_at` phải sau `starts_at` (ends_at must be after starts_at).")
    if data.ends_at - data.starts_at > MAX_LENGTH:
        raise Unprocessable("Mỗi lần bảo trì dài tối đa 31 ngày (at most 31 days per occurrence).")
    if data.scope != "province" and not data.target:
        raise Unprocessable(f"Phạm vi {data.scope!r} cần `target` (scope needs a target).")
    if data.target and not covered(data.scope, data.target, checks):
        raise Unprocessable(f"Không có {data.scope} {data.target!r} (no such {data.scope}).")
    try:
        ZoneInfo(data.timezone)
        return last_end(data.starts_at, data.ends_at, data.rrule, data.timezone)
    except (ValueError, ZoneInfoNotFoundError) as exc:
        raise Unprocessable(f"Lịch lặp không hợp lệ (invalid rrule/timezone): {exc}") from None


def invalidate(session: AsyncSession, row: MaintenanceWindow, now: datetime, why: str) -> None:
    """Past days this window touches must be recomputed by the rollup job."""
    if row.starts_at < now:
        end = now if row.last_ends_at is None else min(row.last_ends_at, now)
        checks.mark_stale(session, local_day(row.starts_at), local_day(end), why)


async def create(
    session: AsyncSession,
    data: MaintenanceCreate,
    created_by: str,
    *,
    key: str | None = None,
    source: str = "api",
    now: datetime | None = None,
) -> MaintenanceRead:
    now = now or utcnow()
    last = validate(data, await checks.live_checks(session))
    row = MaintenanceWindow(
        key=key,
        source=source,
        scope=data.scope,
        target=data.target,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        rrule=data.rrule,
        timezone=data.timezone,
        last_ends_at=last,
        reason=data.reason,
        created_by=created_by,
        created_at=now,
    )
    repository.add(session, row)
    invalidate(session, row, now, f"maintenance declared by {created_by}")
    await session.flush()
    return MaintenanceRead.model_validate(row)


async def list_windows(
    session: AsyncSession, *, current: bool, limit: int, offset: int, now: datetime | None = None
) -> list[MaintenanceRead]:
    rows = await repository.list_windows(
        session, active_after=(now or utcnow()) if current else None, limit=limit, offset=offset
    )
    return [MaintenanceRead.model_validate(r) for r in rows]


async def get(session: AsyncSession, window_id: int) -> MaintenanceWindow:
    row = await repository.get(session, window_id)
    if row is None or row.deleted_at is not None:
        raise NotFound(f"Không có lịch bảo trì số {window_id}.")
    return row


async def delete(
    session: AsyncSession, window_id: int, deleted_by: str, now: datetime | None = None
) -> None:
    """Withdraw a window (kept, stamped ``deleted_at``); past days are recomputed."""
    now = now or utcnow()
    row = await get(session, window_id)
    row.deleted_at, row.deleted_by = now, deleted_by
    invalidate(session, row, now, f"maintenance withdrawn by {deleted_by}")
    await session.flush()


async def active_check_ids(session: AsyncSession, now: datetime | None = None) -> set[int]:
    """Checks inside a maintenance occurrence now: shown as maintenance, not alerted on."""
    now = now or utcnow()
    rows = await repository.overlapping(session, now, now + timedelta(microseconds=1))
    if not rows:
        return set()
    return active_maintenance(resolve(rows, await checks.live_checks(session)), now)


def _yaml_values(spec: MaintenanceSpec) -> dict[str, object]:
    return {
        "scope": spec.scope,
        "target": spec.target,
        "starts_at": spec.starts_at,
        "ends_at": spec.ends_at,
        "rrule": spec.rrule,
        "timezone": spec.timezone,
        "reason": spec.reason,
        "last_ends_at": last_end(spec.starts_at, spec.ends_at, spec.rrule, spec.timezone),
    }


async def sync_inventory_windows(
    session: AsyncSession, specs: Sequence[MaintenanceSpec], now: datetime
) -> dict[str, int]:
    """Make the inventory's windows (``source`` yaml) match ``specs``; flush only.

    Changed or withdrawn windows that touched past days mark those days stale.
    """
    rows = await repository.by_keys(session)
    counts = {"created": 0, "changed": 0, "deleted": 0}
    for spec in specs:
        values = _yaml_values(spec)
        row = rows.get(spec.key)
        if row is None:
            row = MaintenanceWindow(key=spec.key, source="yaml", created_by="inventory", **values)
            repository.add(session, row)
            counts["created"] += 1
        elif row.deleted_at is not None or any(getattr(row, k) != v for k, v in values.items()):
            invalidate(session, row, now, f"maintenance {spec.key} changed in the inventory")
            for name, value in values.items():
                setattr(row, name, value)
            row.deleted_at = row.deleted_by = None
            counts["changed"] += 1
        else:
            continue
        invalidate(session, row, now, f"maintenance {spec.key} declared in the inventory")
    wanted = {spec.key for spec in specs}
    for key, row in rows.items():
        if row.source == "yaml" and key not in wanted and row.deleted_at is None:
            row.deleted_at, row.deleted_by = now, "inventory"
            invalidate(session, row, now, f"maintenance {key} removed from the inventory")
            counts["deleted"] += 1
    await session.flush()
    return counts
