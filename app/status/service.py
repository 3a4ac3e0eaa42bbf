"""The public status pages, built from one :class:`~app.status.snapshot.Snapshot`
so that the header, the counts and the list of affected units always agree.

Every cause is said in words (app.vocab): no check keys, no probe messages, no
English on the Vietnamese page. The technical detail stays in the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound
from app.incidents.updates import updates_of
from app.models import Incident, IncidentUpdate
from app.status import history as hist
from app.status.collate import fold, matches, sort_key
from app.status.snapshot import (
    CheckRow,
    IncidentRow,
    Occurrence,
    ServiceRow,
    Snapshot,
    UnitRow,
    incident_row,
)
from app.vocab.fmt import format_duration, format_local_time
from app.vocab.lang import Lang
from app.vocab.states import BY_SEVERITY, ICONS, SEVERITY, State, state_word
from app.vocab.words import (
    agent_offline_words,
    error_kind_words,
    incident_state_words,
    unit_kind_words,
    vantage_words,
)

PAST_ON_HOME = 20  # closed incidents listed on the home page
PAST_ON_UNIT = 50
SEARCH_LIMIT = 200

STAGES: dict[str, tuple[str, str]] = {
    "investigating": ("Đang tìm hiểu nguyên nhân", "Investigating"),
    "identified": ("Đã xác định nguyên nhân", "Identified"),
    "monitoring": ("Đã khắc phục, đang theo dõi", "Monitoring"),
    "resolved": ("Đã giải quyết", "Resolved"),
}


def t_(lang: Lang, vi: str, en: str) -> str:
    return vi if lang == "vi" else en


def stage_words(stage: str, lang: Lang) -> str:
    vi, en = STAGES.get(stage, (stage, stage))
    return vi if lang == "vi" else en


def full_name(unit: UnitRow, lang: Lang) -> str:
    """ "Xã Hoàng Hoa Thám", "Phường Thái Bình", "Tỉnh Hưng Yên"; a name that already
    starts with its kind, or the national services, stay as they are."""
    return _full_name(unit.name, unit.kind, lang)


@lru_cache(maxsize=100_000)
def _full_name(name: str, kind: str, lang: Lang) -> str:
    if kind == "national":
        return name
    vi = unit_kind_words(kind, "vi")
    if fold(name).startswith((fold(vi) + " ", "thanh pho ")):
        return name
    word = unit_kind_words(kind, lang)
    return f"{word[:1].upper()}{word[1:]} {name}"


@dataclass(frozen=True, slots=True)
class Badge:
    state: State
    icon: str
    word: str


@dataclass
class UpdateLine:
    at: str
    stage: str
    message: str


@dataclass
class Reason:
    """Why one check of a unit is not up, in words."""

    check: str  # the check's title
    service: str
    state: State
    icon: str
    word: str
    text: str
    since: str
    incident_id: int | None = None
    updates: list[UpdateLine] = field(default_factory=list)


@dataclass
class UnitLine:
    code: str
    name: str  # full name with its kind
    state: State
    icon: str
    word: str
    reasons: list[Reason] = field(default_factory=list)


@dataclass
class MaintenanceLine:
    what: str
    reason: str
    starts: str
    ends: str
    ongoing: bool
    starts_at: datetime
    ends_at: datetime


@dataclass
class PastIncident:
    id: int
    unit: str
    unit_code: str
    check: str
    started: str
    ended: str
    lasted: str
    cause: str
    updates: list[UpdateLine] = field(default_factory=list)


@dataclass
class ServiceHistory:
    name: str
    unit: str
    state: State
    icon: str
    word: str
    history: hist.History
    checks: list[tuple[str, State, str, str]] = field(
        default_factory=list
    )  # title, state, icon, word


@dataclass
class Header:
    level: str  # css class: down (red) only for a shared service down; degraded (amber); up
    icon: str
    title: str
    summary: str


@dataclass
class HomePage:
    lang: Lang
    generated: str
    header: Header
    total: int
    counts: list[tuple[State, str, str, int]]  # state, icon, word, units
    affected: list[UnitLine]
    shared: list[ServiceHistory]
    maintenance: list[MaintenanceLine]
    past: list[PastIncident]
    units: list[UnitLine]  # all units (or the search results), in Vietnamese order
    query: str = ""


@dataclass
class UnitPage:
    lang: Lang
    generated: str
    code: str
    name: str
    kind: str
    parent: tuple[str, str] | None  # code, full name
    address: str | None
    opening_hours: str | None
    hotline: str | None
    line: UnitLine
    history: hist.History
    services: list[ServiceHistory]
    open: list[PastIncident]
    past: list[PastIncident]
    maintenance: list[MaintenanceLine]


def badge(snap: Snapshot, code: str, lang: Lang) -> tuple[str, Badge]:
    unit_id = snap.by_code.get(code)
    if unit_id is None:
        raise NotFound(f"Không có đơn vị mã {code!r}.")
    state = snap.unit_state[unit_id]
    return full_name(snap.units[unit_id], lang), Badge(state, ICONS[state], state_word(state, lang))


def _updates(rows: Sequence[IncidentUpdate], lang: Lang) -> list[UpdateLine]:
    return [
        UpdateLine(format_local_time(r.created_at), stage_words(r.stage, lang), r.message)
        for r in rows
    ]


def _parent_text(snap: Snapshot, incident: IncidentRow, lang: Lang) -> str:
    parent = snap.parents.get(incident.parent_incident_id or -1)
    if parent is not None and parent.check_id in snap.checks:
        check = snap.checks[parent.check_id]
        service = snap.services.get(check.service_id)
        name = service.name if service is not None else check.name
        unit = snap.units.get(parent.unit_id)
        where = (
            f" ({full_name(unit, lang)})" if unit is not None and unit.kind != "national" else ""
        )
        return t_(lang, f"do sự cố {name}{where}", f"caused by an incident of {name}{where}")
    return incident_state_words("suppressed", lang)


def _reason(snap: Snapshot, check: CheckRow, lang: Lang) -> Reason:
    service = snap.services.get(check.service_id)
    incident = snap.incident_of_check.get(check.id)
    since = check.state_since
    text: str
    # the check's agents that went silent (docs/agents.md): why it is unknown
    silent = [v for v, _ in snap.vantages.get(check.id, []) if v in snap.silent_agents]
    if check.state == State.MAINTENANCE:
        occurrence = snap.active_maintenance(check.id)
        if occurrence is not None:
            until = format_local_time(occurrence.ends_at)
            text = occurrence.reason or state_word(State.MAINTENANCE, lang)
            text = t_(lang, f"{text}, đến {until}", f"{text}, until {until}")
            since = occurrence.starts_at
        else:
            text = state_word(State.MAINTENANCE, lang)
    elif incident is not None and check.state == State.DOWN:
        since = incident.started_at
        if incident.suppressed_reason == "parent":
            text = _parent_text(snap, incident, lang)
        else:
            text = error_kind_words(incident.error_kind, lang, check_key=check.key)
            text = text[:1].upper() + text[1:]
    elif check.state == State.UNKNOWN and silent:
        text = agent_offline_words(silent[0], lang)
        text = text[:1].upper() + text[1:]
    elif check.state == State.UNKNOWN:
        text = t_(lang, "Chưa có kết quả kiểm tra gần đây", "No recent check result")
    elif check.state == State.DEGRADED:
        text = t_(lang, "Phản hồi chậm hoặc chưa đầy đủ", "Slow or partial responses")
    else:
        text = error_kind_words(None, lang)
        text = text[:1].upper() + text[1:]
    seen_from = snap.vantages.get(check.id)
    if seen_from:  # "from the centre: down; from agent hy-12337-lan: up"
        views = "; ".join(
            f"{vantage_words(v, lang)}: {state_word(st, lang).lower()}" for v, st in seen_from
        )
        text = f"{text} ({views})"
    return Reason(
        check=check.name,
        service=service.name if service is not None else "",
        state=check.state,
        icon=ICONS[check.state],
        word=state_word(check.state, lang),
        text=text,
        since=format_local_time(since) if since is not None else "",
        incident_id=incident.id if incident is not None else None,
    )


def _line(snap: Snapshot, unit: UnitRow, lang: Lang, *, reasons: bool) -> UnitLine:
    state = snap.unit_state[unit.id]
    line = UnitLine(unit.code, full_name(unit, lang), state, ICONS[state], state_word(state, lang))
    if reasons:
        checks = sorted(
            (c for c in snap.checks_of_unit.get(unit.id, []) if c.state != State.UP and c.critical),
            key=lambda c: (-SEVERITY[c.state], sort_key(c.name)),
        )
        line.reasons = [_reason(snap, c, lang) for c in checks]
    return line


def _maintenance_line(snap: Snapshot, o: Occurrence, lang: Lang) -> MaintenanceLine:
    what: str
    if o.scope == "unit" and o.target in snap.by_code:
        what = full_name(snap.units[snap.by_code[o.target]], lang)
    elif o.scope == "province" and (o.target is None or o.target not in snap.by_code):
        what = t_(lang, "Toàn tỉnh", "The whole province")
    elif o.scope == "province" and o.target is not None:
        what = full_name(snap.units[snap.by_code[o.target]], lang)
    else:
        names = sorted({_check_or_service(snap, c) for c in o.check_ids}, key=sort_key)
        what = ", ".join(names[:3]) + (f" (+{len(names) - 3})" if len(names) > 3 else "")
    return MaintenanceLine(
        what=what or (o.target or ""),
        reason=o.reason,
        starts=format_local_time(o.starts_at),
        ends=format_local_time(o.ends_at),
        ongoing=o.starts_at <= snap.now < o.ends_at,
        starts_at=o.starts_at,
        ends_at=o.ends_at,
    )


def _check_or_service(snap: Snapshot, check_id: int) -> str:
    check = snap.checks.get(check_id)
    if check is None:
        return ""
    service = snap.services.get(check.service_id)
    unit = snap.units.get(check.unit_id)
    name = service.name if service is not None else check.name
    return (
        f"{name} ({full_name(unit, 'vi')})"
        if unit is not None and unit.kind != "national" and unit.name not in name
        else name
    )


def maintenance_lines(
    snap: Snapshot, lang: Lang, check_ids: frozenset[int] | None = None
) -> list[MaintenanceLine]:
    return [
        _maintenance_line(snap, o, lang)
        for o in snap.maintenance
        if o.check_ids and (check_ids is None or o.check_ids & check_ids)
    ]


def _counts(snap: Snapshot, lang: Lang) -> list[tuple[State, str, str, int]]:
    counts = dict.fromkeys(BY_SEVERITY, 0)
    for state in snap.unit_state.values():
        counts[state] += 1
    return [(s, ICONS[s], state_word(s, lang), counts[s]) for s in BY_SEVERITY]


def _header(snap: Snapshot, lang: Lang) -> Header:
    total = len(snap.units)
    down = sum(1 for s in snap.unit_state.values() if s == State.DOWN)
    not_up = sum(1 for s in snap.unit_state.values() if s != State.UP)
    shared_down = sorted(
        {
            s.name
            for s in snap.services.values()
            if snap.is_shared(s) and snap.service_state.get(s.id) == State.DOWN
        },
        key=sort_key,
    )
    down_word = state_word(State.DOWN, lang).lower()
    summary = t_(lang, f"{down}/{total} đơn vị đang {down_word}", f"{down}/{total} units down")
    if shared_down:
        names = ", ".join(shared_down)
        title = t_(
            lang, f"Hệ thống dùng chung {down_word}: {names}", f"Shared system down: {names}"
        )
        return Header("down", ICONS[State.DOWN], title, summary)
    if not_up:
        others = not_up - down
        if others:
            summary += t_(
                lang, f", {others} đơn vị khác cần chú ý", f", {others} other units need attention"
            )
        title = t_(
            lang,
            "Một số đơn vị đang gặp sự cố, hệ thống dùng chung hoạt động bình thường",
            "Some units have problems; the shared systems are up",
        )
        return Header("degraded", ICONS[State.DEGRADED], title, summary)
    title = t_(lang, "Tất cả đơn vị hoạt động bình thường", "All units are up")
    return Header("up", ICONS[State.UP], title, summary)


async def _past(
    session: AsyncSession,
    snap: Snapshot,
    lang: Lang,
    *,
    unit_id: int | None,
    open_: bool,
    limit: int,
) -> list[PastIncident]:
    stmt = select(Incident).order_by(Incident.started_at.desc(), Incident.id.desc()).limit(limit)
    if open_:
        stmt = stmt.where(Incident.ended_at.is_(None))
    else:
        since = snap.now - timedelta(days=hist.DAYS)
        stmt = stmt.where(Incident.ended_at.is_not(None), Incident.ended_at > since)
    if unit_id is not None:
        stmt = stmt.where(Incident.unit_id == unit_id)
    rows = list((await session.execute(stmt)).scalars())
    updates = await updates_of(session, [r.id for r in rows])
    found: list[PastIncident] = []
    for r in rows:
        check = snap.checks.get(r.check_id)
        unit = snap.units.get(r.unit_id)
        end = r.ended_at or snap.now
        if r.notify_state == "suppressed" and r.suppressed_reason == "parent":
            cause = _parent_text(snap, incident_row(r), lang)
        else:
            cause = error_kind_words(r.error_kind, lang, check_key=check.key if check else None)
            cause = cause[:1].upper() + cause[1:]
        found.append(
            PastIncident(
                id=r.id,
                unit=full_name(unit, lang) if unit is not None else "",
                unit_code=unit.code if unit is not None else "",
                check=check.name if check is not None else t_(lang, "(đã gỡ)", "(retired)"),
                started=format_local_time(r.started_at),
                ended=format_local_time(r.ended_at) if r.ended_at is not None else "",
                lasted=format_duration(end - r.started_at, lang),
                cause=cause,
                updates=_updates(updates.get(r.id, []), lang),
            )
        )
    return found


async def _service_histories(
    session: AsyncSession,
    snap: Snapshot,
    services: Sequence[ServiceRow],
    lang: Lang,
    histories: hist.HistoryCache,
) -> list[ServiceHistory]:
    found = await histories.get(session, "service", [s.id for s in services], snap.now, lang)
    shown: list[ServiceHistory] = []
    for s in services:
        state = snap.service_state.get(s.id, State.UNKNOWN)
        unit = snap.units.get(s.unit_id)
        checks = sorted(
            (c for c in snap.checks_of_unit.get(s.unit_id, []) if c.service_id == s.id),
            key=lambda c: sort_key(c.name),
        )
        shown.append(
            ServiceHistory(
                name=s.name,
                unit=full_name(unit, lang) if unit is not None else "",
                state=state,
                icon=ICONS[state],
                word=state_word(state, lang),
                history=found[s.id],
                checks=[
                    (c.name, c.state, ICONS[c.state], state_word(c.state, lang)) for c in checks
                ],
            )
        )
    return shown


async def _attach_updates(session: AsyncSession, lines: Sequence[UnitLine], lang: Lang) -> None:
    reasons = [r for line in lines for r in line.reasons if r.incident_id is not None]
    updates = await updates_of(session, sorted({r.incident_id for r in reasons if r.incident_id}))
    for r in reasons:
        r.updates = _updates(updates.get(r.incident_id or -1, []), lang)


async def home(
    session: AsyncSession,
    snap: Snapshot,
    lang: Lang,
    query: str = "",
    histories: hist.HistoryCache | None = None,
) -> HomePage:
    """The home page: header, units that are not up with their reasons, shared
    services with their history, maintenance ahead, past incidents, every unit."""
    histories = histories or hist.HistoryCache(ttl_s=0)
    units = sorted(snap.units.values(), key=lambda u: sort_key(u.name))
    affected = sorted(
        (_line(snap, u, lang, reasons=True) for u in units if snap.unit_state[u.id] != State.UP),
        key=lambda line: -SEVERITY[line.state],  # stable: Vietnamese order within a state
    )
    await _attach_updates(session, affected, lang)
    shared = sorted(
        (s for s in snap.services.values() if snap.is_shared(s)),
        key=lambda s: (0 if snap.units[s.unit_id].kind == "national" else 1, sort_key(s.name)),
    )
    query = query.strip()[:100]
    listed = (
        [u for u in units if matches(query, full_name(u, "vi"), u.name, u.code)] if query else units
    )
    return HomePage(
        lang=lang,
        generated=format_local_time(snap.now),
        header=_header(snap, lang),
        total=len(snap.units),
        counts=_counts(snap, lang),
        affected=affected,
        shared=await _service_histories(session, snap, shared, lang, histories),
        maintenance=maintenance_lines(snap, lang),
        past=await _past(session, snap, lang, unit_id=None, open_=False, limit=PAST_ON_HOME),
        units=[
            _line(snap, u, lang, reasons=False) for u in listed[: SEARCH_LIMIT if query else None]
        ],
        query=query,
    )


async def unit_page(
    session: AsyncSession,
    snap: Snapshot,
    code: str,
    lang: Lang,
    histories: hist.HistoryCache | None = None,
) -> UnitPage:
    histories = histories or hist.HistoryCache(ttl_s=0)
    unit_id = snap.by_code.get(code)
    if unit_id is None:
        raise NotFound(f"Không có đơn vị mã {code!r}.")
    unit = snap.units[unit_id]
    line = _line(snap, unit, lang, reasons=True)
    await _attach_updates(session, [line], lang)
    own = await histories.get(session, "unit", [unit.id], snap.now, lang)
    services = sorted(snap.services_of_unit.get(unit.id, []), key=lambda s: sort_key(s.name))
    parent = snap.units.get(unit.parent_id or -1)
    own_checks = frozenset(c.id for c in snap.checks_of_unit.get(unit.id, []))
    settings = unit.settings
    return UnitPage(
        lang=lang,
        generated=format_local_time(snap.now),
        code=unit.code,
        name=full_name(unit, lang),
        kind=unit_kind_words(unit.kind, lang),
        parent=(parent.code, full_name(parent, lang)) if parent is not None else None,
        address=settings.get("address"),
        opening_hours=settings.get("opening_hours"),
        hotline=settings.get("hotline"),
        line=line,
        history=own[unit.id],
        services=await _service_histories(session, snap, services, lang, histories),
        open=await _past(session, snap, lang, unit_id=unit.id, open_=True, limit=PAST_ON_UNIT),
        past=await _past(session, snap, lang, unit_id=unit.id, open_=False, limit=PAST_ON_UNIT),
        maintenance=maintenance_lines(snap, lang, own_checks),
    )
