"""One read of everything the status pages show now, so counts, lists and reasons
always agree: units, services, checks with their shown state (``maintenance``
inside a window), open incidents (suppressed ones too: a unit that counts as
down is always listed with its reason) and the maintenance of the next days."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounting.checks import CheckInfo
from app.maintenance import repository as maintenance_sql
from app.maintenance.scope import covered
from app.maintenance.windows import Window
from app.models import Check, CheckVantage, Incident, MaintenanceWindow, Service, Unit
from app.vocab.states import SEVERITY, State, service_worst, worst
from app.vocab.words import agent_of_check

STREAM_ROWS = 2_000
AHEAD = timedelta(days=7)  # maintenance announced this far ahead
SHARED_UNIT_KINDS = frozenset({"province", "national"})
SHARED_SERVICE_KINDS = frozenset({"national_portal", "provincial_system"})


@dataclass(frozen=True, slots=True)
class UnitRow:
    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    settings: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ServiceRow:
    id: int
    unit_id: int
    key: str
    kind: str
    name: str


@dataclass(frozen=True, slots=True)
class CheckRow:
    id: int
    key: str
    name: str
    unit_id: int
    service_id: int
    critical: bool
    state: State  # as shown: maintenance inside a window
    state_since: datetime | None


@dataclass(frozen=True, slots=True)
class IncidentRow:
    id: int
    check_id: int
    unit_id: int
    started_at: datetime
    ended_at: datetime | None
    error_kind: str | None
    parent_incident_id: int | None
    suppressed_reason: str | None
    acknowledged: bool


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One maintenance occurrence overlapping [now, now + AHEAD)."""

    window_id: int
    starts_at: datetime
    ends_at: datetime
    reason: str
    scope: str
    target: str | None
    check_ids: frozenset[int]


@dataclass
class Snapshot:
    now: datetime
    units: dict[int, UnitRow]
    services: dict[int, ServiceRow]
    checks: dict[int, CheckRow]
    open_incidents: dict[int, IncidentRow]  # by id, oldest first
    parents: dict[int, IncidentRow]  # parent incidents of suppressed ones (open or not)
    maintenance: list[Occurrence]
    by_code: dict[str, int] = field(default_factory=dict)
    unit_state: dict[int, State] = field(default_factory=dict)
    service_state: dict[int, State] = field(default_factory=dict)
    checks_of_unit: dict[int, list[CheckRow]] = field(default_factory=dict)
    services_of_unit: dict[int, list[ServiceRow]] = field(default_factory=dict)
    incident_of_check: dict[int, IncidentRow] = field(default_factory=dict)
    # multi-vantage checks: (vantage, state) in the order of their locations (docs/agents.md)
    vantages: dict[int, list[tuple[str, State]]] = field(default_factory=dict)
    silent_agents: set[str] = field(default_factory=set)  # their liveness check is down
    critical_services: set[int] = field(default_factory=set)  # with a critical check

    def __post_init__(self) -> None:
        self.by_code = {u.code: u.id for u in self.units.values()}
        for s in self.services.values():
            self.services_of_unit.setdefault(s.unit_id, []).append(s)
        critical: dict[int, list[State]] = {}
        by_service: dict[int, list[tuple[bool, State]]] = {}
        for c in self.checks.values():
            self.checks_of_unit.setdefault(c.unit_id, []).append(c)
            agent = agent_of_check(c.key)
            if agent is not None and c.state is State.DOWN:
                self.silent_agents.add(agent)
            if c.critical:
                critical.setdefault(c.unit_id, []).append(c.state)
                self.critical_services.add(c.service_id)
            by_service.setdefault(c.service_id, []).append((c.critical, c.state))
        self.unit_state = {i: _worst(critical.get(i)) for i in self.units}
        self.service_state = {i: service_worst(by_service.get(i, ())) for i in self.services}
        for incident in self.open_incidents.values():  # the newest open one per check
            self.incident_of_check[incident.check_id] = incident

    def is_shared(self, service: ServiceRow) -> bool:
        """National and provincial services: their outage touches every unit. Not a
        service without a critical check (a province's agent liveness service): it
        says how the monitor sees, not what citizens can use."""
        if service.id not in self.critical_services:
            return False
        unit = self.units.get(service.unit_id)
        return service.kind in SHARED_SERVICE_KINDS or (
            unit is not None and unit.kind in SHARED_UNIT_KINDS
        )

    def active_maintenance(self, check_id: int) -> Occurrence | None:
        for o in self.maintenance:
            if check_id in o.check_ids and o.starts_at <= self.now < o.ends_at:
                return o
        return None


def _worst(states: list[State] | None) -> State:
    """app.vocab.states.worst for states that are State already (17,000 at national scale)."""
    return max(states, key=SEVERITY.__getitem__) if states else worst(())


def _incident(i: Incident) -> IncidentRow:
    return IncidentRow(
        id=i.id,
        check_id=i.check_id,
        unit_id=i.unit_id,
        started_at=i.started_at,
        ended_at=i.ended_at,
        error_kind=i.error_kind,
        parent_incident_id=i.parent_incident_id,
        suppressed_reason=i.suppressed_reason if i.notify_state == "suppressed" else None,
        acknowledged=i.acknowledged_at is not None,
    )


def incident_row(i: Incident) -> IncidentRow:
    return _incident(i)


async def load(session: AsyncSession, now: datetime) -> Snapshot:
    columns = (Unit.id, Unit.code, Unit.name, Unit.kind, Unit.parent_id, Unit.settings)
    live_units = select(*columns).where(Unit.retired_at.is_(None))
    units = {
        u.id: UnitRow(u.id, u.code, u.name, u.kind, u.parent_id, dict(u.settings or {}))
        for u in (await session.execute(live_units)).all()
    }
    services = {
        s.id: ServiceRow(s.id, s.unit_id, s.key, s.kind, s.name)
        for s in (
            await session.execute(
                select(Service.id, Service.unit_id, Service.key, Service.kind, Service.name).where(
                    Service.retired_at.is_(None)
                )
            )
        ).all()
    }
    stmt = select(
        Check.id,
        Check.key,
        Check.name,
        Check.unit_id,
        Check.service_id,
        Check.critical,
        Check.state,
        Check.state_since,
    ).where(Check.is_live())
    raw: list[Any] = []
    # streamed in slices: between two, the loop serves cached pages (17,000 rows at
    # national scale would otherwise be converted in one go)
    result = await session.stream(stmt.execution_options(yield_per=STREAM_ROWS))
    async for rows in result.partitions():
        raw.extend(r for r in rows if r.unit_id in units)
    occurrences = await _maintenance(session, now, raw, units, services)
    active = {c for o in occurrences if o.starts_at <= now < o.ends_at for c in o.check_ids}
    checks = await asyncio.to_thread(_check_rows, raw, active)  # keep the loop answering
    found = (
        await session.execute(
            select(Incident)
            .where(Incident.ended_at.is_(None))
            .order_by(Incident.started_at, Incident.id)
        )
    ).scalars()
    open_incidents = {i.id: _incident(i) for i in found}
    wanted = {
        i.parent_incident_id
        for i in open_incidents.values()
        if i.parent_incident_id is not None and i.parent_incident_id not in open_incidents
    }
    parents = {i: open_incidents[i] for i in open_incidents}
    if wanted:
        extra = await session.execute(select(Incident).where(Incident.id.in_(sorted(wanted))))
        parents.update({i.id: _incident(i) for i in extra.scalars()})
    snapshot = await asyncio.to_thread(
        Snapshot, now, units, services, checks, open_incidents, parents, occurrences
    )
    snapshot.vantages = await _vantages(session, checks)
    return snapshot


async def _vantages(
    session: AsyncSession, checks: dict[int, CheckRow]
) -> dict[int, list[tuple[str, State]]]:
    """Per-vantage states of the live multi-vantage checks (rows exist for those only)."""
    rows = (
        await session.execute(
            select(CheckVantage.check_id, CheckVantage.vantage, CheckVantage.state, Check.locations)
            .join(Check, Check.id == CheckVantage.check_id)
            .where(Check.is_live())
        )
    ).all()
    found: dict[int, dict[str, State]] = {}
    order: dict[int, list[str]] = {}
    for check_id, vantage, state, locations in rows:
        if check_id in checks:
            found.setdefault(check_id, {})[vantage] = State(state)
            order[check_id] = list(locations or [])
    return {
        i: [(v, found[i].get(v, State.UNKNOWN)) for v in order[i]]
        for i in found
        if len(order[i]) > 1 or order[i] != ["central"]
    }


def _check_rows(raw: list[Any], active: set[int]) -> dict[int, CheckRow]:
    states = {s.value: s for s in State}
    return {
        r.id: CheckRow(
            r.id,
            r.key,
            r.name,
            r.unit_id,
            r.service_id,
            r.critical,
            State.MAINTENANCE if r.id in active else states[r.state],
            r.state_since,
        )
        for r in raw
    }


async def _maintenance(
    session: AsyncSession,
    now: datetime,
    raw: list[Any],
    units: dict[int, UnitRow],
    services: dict[int, ServiceRow],
) -> list[Occurrence]:
    rows = await maintenance_sql.overlapping(session, now, now + AHEAD)
    if not rows:
        return []
    return await asyncio.to_thread(_occurrences, now, rows, raw, units, services)


def _occurrences(
    now: datetime,
    rows: list[MaintenanceWindow],
    raw: list[Any],
    units: dict[int, UnitRow],
    services: dict[int, ServiceRow],
) -> list[Occurrence]:
    """The windows' occurrences in [now, now + AHEAD) and the checks each covers
    (a worker thread: 17,000 checks per window at national scale)."""

    def parent_code(unit_id: int) -> str:
        parent = units.get(units[unit_id].parent_id or -1)
        return parent.code if parent is not None else ""

    infos = [
        CheckInfo(
            r.id,
            r.key,
            r.unit_id,
            r.service_id,
            r.critical,
            services[r.service_id].key if r.service_id in services else "",
            units[r.unit_id].code,
            parent_code(r.unit_id),
            None,
        )
        for r in raw
    ]
    found: list[Occurrence] = []
    for row in rows:
        ids = covered(row.scope, row.target, infos)
        window = Window(row.starts_at, row.ends_at, ids, row.rrule, row.timezone)
        for start, end in window.occurrences(now, now + AHEAD):
            found.append(Occurrence(row.id, start, end, row.reason, row.scope, row.target, ids))
    return sorted(found, key=lambda o: (o.starts_at, o.window_id))
