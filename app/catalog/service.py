"""Read-side decisions: current states of units and services, the status summary,
and availability computed from flips (docs/design.md §2)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence, Set
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounting import availability as arithmetic
from app.accounting.calendar import service_hours
from app.catalog import repository
from app.catalog.repository import CheckRow
from app.catalog.schemas import (
    STATES,
    AvailabilityRead,
    CheckRead,
    RulesRead,
    ServiceRead,
    StatusRead,
    UnitDetail,
    UnitRead,
    VantageRead,
)
from app.deps import MAX_DB_INT
from app.errors import NotFound, Unprocessable
from app.maintenance.service import active_check_ids
from app.models import Unit
from app.models.base import utcnow
from app.vocab.states import State, service_worst, worst

DEFAULT_WINDOW = timedelta(hours=24)
# ``scheme://user:password@`` anywhere in a text: the userinfo part of a URL.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s?#]*@")
ClockName = Literal["24/7", "service_hours"]


StateRow = tuple[int, int, bool, str]  # unit_id, service_id, critical, state


def worst_state(states: Iterable[str]) -> State:
    """The worst by app.vocab.states.SEVERITY (the order accounting overlays
    timelines in); ``unknown`` for none."""
    return worst(states)


def _zero_counts() -> dict[State, int]:
    return dict.fromkeys(STATES, 0)


def _unit_read(unit: Unit, parent_code: str | None, rows: Sequence[StateRow]) -> UnitRead:
    counts = _zero_counts()
    counts.update(Counter(State(state) for _, _, _, state in rows))
    return UnitRead(
        id=unit.id,
        code=unit.code,
        name=unit.name,
        kind=unit.kind,
        parent_code=parent_code,
        state=worst_state(state for _, _, critical, state in rows if critical),
        checks_by_state=counts,
    )


async def _states(session: AsyncSession, unit_ids: Sequence[int] | None = None) -> list[StateRow]:
    """Live check states, with checks inside a maintenance window shown as ``maintenance``."""
    rows = await repository.check_states(session, unit_ids)
    maintained = await active_check_ids(session) if rows else set()
    return [
        (unit, service, critical, State.MAINTENANCE if check in maintained else state)
        for check, unit, service, critical, state in rows
    ]


def _by_unit(rows: Iterable[StateRow]) -> dict[int, list[StateRow]]:
    grouped: dict[int, list[StateRow]] = defaultdict(list)
    for row in rows:
        grouped[row[0]].append(row)
    return grouped


async def list_units(session: AsyncSession, limit: int, offset: int) -> list[UnitRead]:
    units = await repository.list_units(session, limit, offset)
    states = _by_unit(await _states(session, [u.id for u, _ in units]))
    return [_unit_read(u, parent, states.get(u.id, [])) for u, parent in units]


def redact_userinfo(text: str) -> str:
    """``https://user:pass@host/`` → ``https://***@host/``, wherever URLs appear in
    ``text``: credentials belong in ``auth:`` with a secret name, never in a URL."""
    return _USERINFO.sub(r"\1***@", text)


def check_read(
    row: CheckRow, maintained: Set[int] = frozenset(), *, show_target: bool = True
) -> CheckRead:
    """The API shape of a check; ``maintained`` checks show the state ``maintenance``.
    The target is shown only to token holders (``show_target``), and never with
    credentials in it."""
    check, unit_code, service_key, service_kind = row
    return CheckRead(
        id=check.id,
        key=check.key,
        name=check.name,
        unit_code=unit_code,
        service_key=service_key,
        service_kind=service_kind,
        kind=check.kind,
        target=redact_userinfo(check.target) if show_target else None,
        interval_s=check.interval_s,
        timeout_s=check.timeout_s,
        failure_threshold=check.failure_threshold,
        recovery_threshold=check.recovery_threshold,
        critical=check.critical,
        enabled=check.enabled,
        state=State.MAINTENANCE if check.id in maintained else State(check.state),
        state_since=check.state_since,
        last_result_at=check.last_result_at,
        locations=list(check.locations or ["central"]),
        quorum=check.quorum,
    )


async def get_unit(session: AsyncSession, code: str) -> tuple[Unit, str | None]:
    """The unit with ``code`` or :class:`NotFound` (404)."""
    found = await repository.get_unit(session, code)
    if found is None:
        raise NotFound(f"Không có đơn vị mã {code!r}.")
    return found


async def unit_detail(session: AsyncSession, code: str, *, show_targets: bool = True) -> UnitDetail:
    unit, parent = await get_unit(session, code)
    states = await _states(session, [unit.id])
    services = await list_services(session, unit_code=code)
    checks = await repository.list_checks(session, unit_code=code)
    base = _unit_read(unit, parent, states)
    maintained = await active_check_ids(session) if checks else set()
    return UnitDetail(
        **base.model_dump(),
        services=services,
        checks=[check_read(c, maintained, show_target=show_targets) for c in checks],
    )


async def list_services(
    session: AsyncSession,
    *,
    unit_code: str | None = None,
    kind: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[ServiceRead]:
    rows = await repository.list_services(
        session, unit_code=unit_code, kind=kind, limit=limit, offset=offset
    )
    unit_ids = sorted({s.unit_id for s, _ in rows})
    by_service: dict[int, list[tuple[bool, str]]] = defaultdict(list)
    for _, service_id, is_critical, state in await _states(session, unit_ids):
        by_service[service_id].append((is_critical, state))
    return [
        ServiceRead(
            id=s.id,
            key=s.key,
            unit_code=code,
            kind=s.kind,
            name=s.name,
            state=service_worst(by_service.get(s.id, ())),
        )
        for s, code in rows
    ]


async def list_checks(
    session: AsyncSession,
    *,
    unit_code: str | None,
    service_kind: str | None,
    probe_kind: str | None,
    state: State | None,
    limit: int,
    offset: int,
    show_targets: bool = True,
) -> list[CheckRead]:
    maintained = await active_check_ids(session)
    rows = await repository.list_checks(
        session,
        unit_code=unit_code,
        service_kind=service_kind,
        probe_kind=probe_kind,
        state=state,
        limit=limit,
        offset=offset,
        maintained=maintained,
    )
    return [check_read(row, maintained, show_target=show_targets) for row in rows]


async def check_detail(
    session: AsyncSession, key_or_id: str, *, show_target: bool = True
) -> CheckRead:
    """One check as the API shows it (``maintenance`` inside a window)."""
    row = await get_check(session, key_or_id)
    read = check_read(row, await active_check_ids(session), show_target=show_target)
    if read.locations != ["central"]:
        read.vantages = await vantage_reads(session, row[0].id, read.locations)
    return read


async def vantage_reads(
    session: AsyncSession, check_id: int, locations: list[str]
) -> list[VantageRead]:
    """The check's vantages in the order of its locations (unknown until one reports)."""
    rows = await repository.check_vantages(session, [check_id])
    seen = {v.vantage: v for v in rows.get(check_id, [])}
    out = []
    for name in locations:
        v = seen.get(name)
        out.append(
            VantageRead(
                vantage=name,
                state=State(v.state) if v is not None else State.UNKNOWN,
                since=v.since if v is not None else None,
                last_result_at=v.last_result_at if v is not None else None,
            )
        )
    return out


async def get_check(session: AsyncSession, key_or_id: str) -> CheckRow:
    """The check by key, else by numeric id; :class:`NotFound` (404) when neither."""
    row = await repository.get_check(session, key=key_or_id)
    if row is None and _is_row_id(key_or_id):
        row = await repository.get_check(session, id=int(key_or_id))
    if row is None:
        raise NotFound(f"Không có phép kiểm tra {key_or_id!r}.")
    return row


def _is_row_id(text: str) -> bool:
    """ASCII digits ("²" is a digit to str.isdigit) within the databases' 64 bits."""
    return text.isascii() and text.isdigit() and int(text) <= MAX_DB_INT


async def status(session: AsyncSession, now: datetime | None = None) -> StatusRead:
    """Units by state, enabled checks by state, and open incidents."""
    rows = await _states(session)
    grouped = _by_unit(rows)
    units = _zero_counts()
    for unit_id in await repository.live_unit_ids(session):
        units[worst_state(s for _, _, c, s in grouped.get(unit_id, []) if c)] += 1
    checks = _zero_counts()
    checks.update(Counter(State(state) for _, _, _, state in rows))
    return StatusRead(
        generated_at=now or utcnow(),
        units_by_state=units,
        checks_by_state=checks,
        open_incidents=await repository.count_open_incidents(session),
    )


async def _timeline(
    session: AsyncSession, check_id: int, start: datetime, end: datetime
) -> tuple[str, list[arithmetic.StateChange]]:
    """The check's state at ``start`` (its last earlier flip; unknown if none) and
    its flips inside ``[start, end)``."""
    initial = await repository.state_before(session, check_id, start) or arithmetic.UNKNOWN
    return initial, await repository.check_flips_between(session, check_id, start, end)


def _clock(name: ClockName, unit: Unit) -> arithmetic.Clock:
    if name == "24/7":
        return arithmetic.ALWAYS
    try:
        return service_hours(unit.settings.get("calendar"))
    except ValueError as exc:  # a calendar the inventory loader should have refused
        raise Unprocessable(f"Lịch làm việc của đơn vị {unit.code} không hợp lệ: {exc}") from exc


def _window(
    since: datetime | None, until: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    end = now if until is None else min(until, now)
    start = end - DEFAULT_WINDOW if since is None else since
    if start >= end:
        raise Unprocessable(
            "`since` phải trước `until` và trước hiện tại (since must be before until and now)."
        )
    return start, end


async def availability(
    session: AsyncSession,
    *,
    check: str | None,
    unit: str | None,
    since: datetime | None,
    until: datetime | None,
    clock: ClockName = "24/7",
    now: datetime | None = None,
) -> AvailabilityRead:
    """Availability of one check, or of a unit (the worst state of its enabled
    critical checks at each instant), from flips, on the 24/7 clock or on the
    unit's service hours (its ``calendar`` setting)."""
    if (check is None) == (unit is None):
        raise Unprocessable("Cần đúng một trong hai tham số `check` hoặc `unit`.")
    start, end = _window(since, until, now or utcnow())
    if check is not None:
        found = await get_check(session, check)
        unit_row, _ = await get_unit(session, found[1])
        initial, flips = await _timeline(session, found[0].id, start, end)
    else:
        unit_row, _ = await get_unit(session, unit or "")
        ids = await repository.critical_check_ids(session, unit_row.id)
        initial, flips = arithmetic.worst_timeline(
            [await _timeline(session, check_id, start, end) for check_id in ids]
        )
    summary = arithmetic.summarise(initial, flips, start, end, _clock(clock, unit_row))
    return AvailabilityRead(
        check=None if check is None else found[0].key,
        unit=unit_row.code,
        since=start,
        until=end,
        clock=clock,
        up_seconds=summary.up_seconds + summary.degraded_seconds,
        degraded_seconds=summary.degraded_seconds,
        down_seconds=summary.down_seconds,
        unknown_seconds=summary.unknown_seconds,
        maintenance_seconds=summary.maintenance_seconds,
        availability=summary.availability,
        downtime_minutes=summary.downtime_minutes,
        incidents=summary.incidents,
        mttr_seconds=summary.mttr_seconds,
        longest_outage_seconds=summary.longest_outage_seconds,
        rules=RulesRead(vi=arithmetic.RULES_VI, en=arithmetic.RULES_EN),
    )
