"""Which checks a maintenance window's scope covers."""

from __future__ import annotations

from collections.abc import Sequence

from app.accounting.checks import CheckInfo
from app.maintenance.windows import Window
from app.models import MaintenanceWindow


def covered(scope: str, target: str | None, checks: Sequence[CheckInfo]) -> frozenset[int]:
    """Ids of ``checks`` inside the scope; the province scope with no target is everything."""
    if scope == "check":
        return frozenset(c.id for c in checks if c.key == target)
    if scope == "service":
        return frozenset(c.id for c in checks if c.service_key == target)
    if scope == "unit":
        return frozenset(c.id for c in checks if c.unit_code == target)
    if target is None:
        return frozenset(c.id for c in checks)
    return frozenset(c.id for c in checks if target in (c.province_code, c.unit_code))


def resolve(rows: Sequence[MaintenanceWindow], checks: Sequence[CheckInfo]) -> list[Window]:
    return [
        Window(
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            check_ids=covered(row.scope, row.target, checks),
            rrule=row.rrule,
            timezone=row.timezone,
        )
        for row in rows
    ]
