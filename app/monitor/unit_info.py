"""The units' names for ``thongsuot_unit_info{unit, name, kind, province}`` (value 1).

The standard info-metric pattern: per-check series carry only the unit code (bounded,
stable); dashboards join the names in with ``* on(unit) group_left(name)
thongsuot_unit_info``. A name is bounded by the inventory, so it is acceptable as a
label of this one series per unit (docs/metrics.md).
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.models import Unit


class UnitLabels(NamedTuple):
    name: str
    kind: str
    province: str  # the province's code ("" for units outside a province)


async def unit_labels(session: AsyncSession) -> dict[str, UnitLabels]:
    """Unit code -> labels, for every unit of the inventory that is not retired."""
    parent = aliased(Unit)
    stmt = (
        select(Unit.code, Unit.name, Unit.kind, parent.code, parent.kind)
        .outerjoin(parent, parent.id == Unit.parent_id)
        .where(Unit.retired_at.is_(None))
    )
    found: dict[str, UnitLabels] = {}
    for code, name, kind, parent_code, parent_kind in (await session.execute(stmt)).all():
        province = code if kind == "province" else parent_code if parent_kind == "province" else ""
        found[code] = UnitLabels(name, kind, province or "")
    return found
