"""The inventory's ``notifications:`` section, stored for the notifier (with canaries merged in)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.inventory.document import Inventory
from app.notify import repository as repo
from app.notify.policy import NotifyPolicyDoc


def canary_keys(inv: Inventory) -> list[str]:
    """Check keys marked ``canary: true`` in the inventory's own (non-template) services."""
    layers: list[Any] = [inv.province, *inv.units]
    if inv.national is not None:
        layers.insert(0, inv.national)
    return [
        f"{layer.code}.{service.local_key}.{check.name}"
        for layer in layers
        for service in layer.services
        for check in service.checks
        if check.canary
    ]


async def sync_policy(session: AsyncSession, inv: Inventory) -> bool:
    """Store the inventory's ``notifications:`` section (canaries merged in); flush only."""
    doc = inv.notifications or NotifyPolicyDoc()
    canaries = sorted(set(doc.canaries) | set(canary_keys(inv)))
    document = doc.model_dump(mode="json") | {"canaries": canaries}
    return await repo.save_policy(session, document)
