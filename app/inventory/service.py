"""Sync a flat inventory into SQL: upsert by natural key, retire what is gone.

Rows are never deleted: results, flips and incidents reference ``check.id``,
which a sync never changes. A changed check is updated in place; a check
gone from the file is retired (``retired_at``, ``enabled=False``) and revived
if it comes back. Units and services are retired and revived likewise.
The caller commits; this module only flushes (docs/design.md §6.3).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounting.calendar import stale_from
from app.accounting.checks import mark_stale
from app.accounting.days import local_day
from app.auth.service import hash_token
from app.inventory import repository
from app.inventory.flat import AgentSpec, CheckSpec, FlatInventory, ServiceSpec, UnitSpec
from app.maintenance.service import sync_inventory_windows
from app.models import Agent, Check, Service, Unit
from probes.secrets import env_secret

log = logging.getLogger(__name__)

Outcome = Literal["added", "changed", "revived", "unchanged"]
T = TypeVar("T")


@dataclass(slots=True)
class TableCounts:
    """Rows of one table touched by a sync; ``retired`` counts newly retired rows only."""

    added: int = 0
    changed: int = 0
    revived: int = 0
    retired: int = 0
    unchanged: int = 0

    def tally(self, outcome: Outcome) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


@dataclass(slots=True)
class SyncReport:
    units: TableCounts = field(default_factory=TableCounts)
    services: TableCounts = field(default_factory=TableCounts)
    checks: TableCounts = field(default_factory=TableCounts)
    checks_added: list[str] = field(default_factory=list)
    checks_changed: list[str] = field(default_factory=list)
    checks_revived: list[str] = field(default_factory=list)
    checks_retired: list[str] = field(default_factory=list)
    maintenance: dict[str, int] = field(default_factory=dict)
    agents: dict[str, int] = field(default_factory=dict)


async def _sync_agents(
    session: AsyncSession, specs: list[AgentSpec], now: datetime
) -> dict[str, int]:
    """Declared agents get a row (``pending`` until first heard from); units and
    ``offline_after`` follow the file; an agent gone from it is disabled (its
    tokens stop working) and enabled again if it comes back."""
    rows = await repository.agents_by_name(session)
    counts = {"added": 0, "changed": 0, "disabled": 0}
    for spec in specs:
        values = {"units": list(spec.units), "offline_after_s": spec.offline_after_s}
        row = rows.get(spec.name)
        if row is None:
            session.add(Agent(name=spec.name, state="pending", state_since=now, **values))
            counts["added"] += 1
        elif _apply(row, {**values, "disabled_at": None}):
            counts["changed"] += 1
    declared = {spec.name for spec in specs}
    for name, row in rows.items():
        if name not in declared and row.disabled_at is None:
            row.disabled_at = now
            counts["disabled"] += 1
    await session.flush()
    return counts


async def sync_inventory(session: AsyncSession, flat: FlatInventory, now: datetime) -> SyncReport:
    """Make the unit, service and check tables match ``flat``; flush, never commit."""
    report = SyncReport()
    calendars = {
        c: (u.settings or {}).get("calendar")
        for c, u in (await repository.units_by_code(session)).items()
    }
    units = await _sync_units(session, flat.units, now, report.units)
    services = await _sync_services(session, flat.services, units, now, report.services)
    await _sync_checks(session, flat.checks, units, services, now, report)
    report.maintenance = await sync_inventory_windows(session, flat.maintenance, now)
    report.agents = await _sync_agents(session, flat.agents, now)
    _calendars_changed(session, calendars, units, now)
    return report


def _calendars_changed(
    session: AsyncSession, before: dict[str, Any], units: dict[str, Unit], now: datetime
) -> None:
    """Past days whose service hours changed are recomputed by the rollup job."""
    today = local_day(now)
    for code, unit in units.items():
        first = stale_from(before.get(code), (unit.settings or {}).get("calendar"), today)
        if first is not None and first <= today:
            mark_stale(session, first, today, f"calendar of unit {code} changed")


async def _sync_units(
    session: AsyncSession, specs: list[UnitSpec], now: datetime, counts: TableCounts
) -> dict[str, Unit]:
    rows = await repository.units_by_code(session)
    outcomes: dict[str, Outcome] = {}
    for spec in specs:
        values = {"name": spec.name, "kind": spec.kind, "settings": spec.settings}
        outcomes[spec.code] = _upsert(session, rows, spec.code, Unit, {"code": spec.code}, values)
    await session.flush()  # new units need ids before parents can point at them
    for spec in specs:
        parent = rows[spec.parent_code].id if spec.parent_code is not None else None
        if _apply(rows[spec.code], {"parent_id": parent}) and outcomes[spec.code] == "unchanged":
            outcomes[spec.code] = "changed"
        counts.tally(outcomes[spec.code])
    _retire(rows, {s.code for s in specs}, now, counts)
    await session.flush()
    return rows


async def _sync_services(
    session: AsyncSession,
    specs: list[ServiceSpec],
    units: dict[str, Unit],
    now: datetime,
    counts: TableCounts,
) -> dict[str, Service]:
    rows = await repository.services_by_key(session)
    for spec in specs:
        values = {
            "unit_id": units[spec.unit_code].id,
            "kind": spec.kind,
            "name": spec.name,
            "contacts": spec.contacts,
        }
        counts.tally(_upsert(session, rows, spec.key, Service, {"key": spec.key}, values))
    _retire(rows, {s.key for s in specs}, now, counts)
    await session.flush()
    return rows


async def _sync_checks(
    session: AsyncSession,
    specs: list[CheckSpec],
    units: dict[str, Unit],
    services: dict[str, Service],
    now: datetime,
    report: SyncReport,
) -> None:
    """Diff the checks off the event loop, then write only what changed, in batches.

    At national scale (17,000 checks) hydrating ORM objects and comparing them in
    the loop stalled probes for seconds; plain rows and a thread keep it responsive.
    """
    existing = await repository.check_rows(session)
    unit_ids = {code: unit.id for code, unit in units.items()}
    service_ids = {key: service.id for key, service in services.items()}
    plan = await asyncio.to_thread(plan_checks, specs, existing, unit_ids, service_ids)
    await _write_checks(session, plan, now)
    for outcome, keys in plan.keys.items():
        for _ in keys:
            report.checks.tally(outcome)
    report.checks_added.extend(plan.keys["added"])
    report.checks_changed.extend(plan.keys["changed"])
    report.checks_revived.extend(plan.keys["revived"])
    report.checks_retired.extend(plan.retire_keys)
    report.checks.retired += len(plan.retire_ids)


@dataclass(slots=True)
class CheckPlan:
    """What a sync writes to the check table."""

    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    retire_ids: list[int] = field(default_factory=list)
    retire_keys: list[str] = field(default_factory=list)
    keys: dict[Outcome, list[str]] = field(
        default_factory=lambda: {"added": [], "changed": [], "revived": [], "unchanged": []}
    )


def plan_checks(
    specs: list[CheckSpec],
    existing: Mapping[str, Mapping[Any, Any]],
    unit_ids: Mapping[str, int],
    service_ids: Mapping[str, int],
) -> CheckPlan:
    """Pure: classify every spec against the stored rows (by key) and what to retire."""
    plan = CheckPlan()
    tokens: set[str] = set()
    for spec in specs:
        values = _check_values(spec, unit_ids[spec.unit_code], service_ids[spec.service_key])
        _one_check_per_token(spec, values, tokens)
        row = existing.get(spec.key)
        if row is None:
            plan.inserts.append({"key": spec.key, **values})
            plan.keys["added"].append(spec.key)
        elif row["retired_at"] is not None:
            plan.updates.append({"id": row["id"], "retired_at": None, **values})
            plan.keys["revived"].append(spec.key)
        elif any(row[name] != value for name, value in values.items()):
            plan.updates.append({"id": row["id"], **values})
            plan.keys["changed"].append(spec.key)
        else:
            plan.keys["unchanged"].append(spec.key)
    keep = {spec.key for spec in specs}
    for key, row in existing.items():
        if key not in keep and row["retired_at"] is None:
            plan.retire_ids.append(row["id"])
            plan.retire_keys.append(key)
    return plan


WRITE_BATCH = 1_000


async def _write_checks(session: AsyncSession, plan: CheckPlan, now: datetime) -> None:
    for batch in _batches(plan.inserts):
        await session.execute(insert(Check), batch)
        await asyncio.sleep(0)
    for batch in _batches(plan.updates):
        for same_keys in _by_keys(batch):  # executemany needs one set of columns
            await session.execute(update(Check), same_keys)
        await asyncio.sleep(0)
    for ids in _batches(plan.retire_ids):
        await session.execute(
            update(Check).where(Check.id.in_(ids)).values(retired_at=now, enabled=False)
        )


def _batches(items: list[T]) -> list[list[T]]:
    return [items[i : i + WRITE_BATCH] for i in range(0, len(items), WRITE_BATCH)]


def _by_keys(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    return list(groups.values())


def _check_values(spec: CheckSpec, unit_id: int, service_id: int) -> dict[str, Any]:
    return {
        "unit_id": unit_id,
        "service_id": service_id,
        "name": spec.name,
        "kind": spec.kind,
        "target": spec.target,
        "config": spec.config,
        "config_hash": spec.config_hash,
        "interval_s": spec.interval_s,
        "retry_interval_s": spec.retry_interval_s,
        "timeout_s": spec.timeout_s,
        "failure_threshold": spec.failure_threshold,
        "recovery_threshold": spec.recovery_threshold,
        "critical": spec.critical,
        "enabled": spec.enabled,
        "depends_on": list(spec.depends_on),
        "locations": list(spec.locations),
        "quorum": spec.quorum,
        **_push_token(spec),
    }


def _one_check_per_token(spec: CheckSpec, values: dict[str, Any], seen: set[str]) -> None:
    token_hash = values.get("push_token_hash")
    if token_hash is None:
        return
    if token_hash in seen:  # e.g. a template naming one secret for every commune
        log.error(
            "check %s: its push token is already another check's; use {code} in "
            "token_secret so each device has its own",
            spec.key,
        )
        del values["push_token_hash"]
        return
    seen.add(token_hash)


def _push_token(spec: CheckSpec) -> dict[str, Any]:
    """A heartbeat's ``token_secret`` names the env var holding its push token;
    only the token's SHA-256 is stored. Without one, a token made with
    ``thongsuot push-token`` (or the API) is kept as it is."""
    name = spec.config.get("token_secret") if spec.kind == "heartbeat" else None
    if not name:
        return {}
    try:
        return {"push_token_hash": hash_token(env_secret(str(name)))}
    except LookupError as exc:
        log.error("check %s: %s; its pushes will be refused", spec.key, exc)
        return {}


def _upsert(
    session: AsyncSession,
    rows: dict[str, Any],
    key: str,
    model: type[Unit] | type[Service] | type[Check],
    identity: dict[str, str],
    values: dict[str, Any],
) -> Outcome:
    row = rows.get(key)
    if row is None:
        row = model(**identity, **values)
        session.add(row)
        rows[key] = row
        return "added"
    if row.retired_at is not None:
        row.retired_at = None
        _apply(row, values)
        return "revived"
    return "changed" if _apply(row, values) else "unchanged"


def _apply(row: Any, values: dict[str, Any]) -> bool:
    """Set the attributes that differ; tell whether any did."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _retire(rows: dict[str, Any], keep: set[str], now: datetime, counts: TableCounts) -> list[str]:
    retired = []
    for key, row in rows.items():
        if key not in keep and row.retired_at is None:
            row.retired_at = now
            if isinstance(row, Check):
                row.enabled = False
            counts.retired += 1
            retired.append(key)
    return retired
