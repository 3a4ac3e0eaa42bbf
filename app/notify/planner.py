"""The incident lifecycle, as decisions written to the outbox.

One ``plan`` call looks at incidents and flips and writes what should be sent
into the outbox, in one transaction. It holds no state of its own: each
decision has a dedupe key (incident, event, level, sequence, route), so running
it again — after a crash, or on a second replica — inserts nothing twice.

- a new incident is *held* while a parent check is failing but not yet
  confirmed, or for ``hold_s``; *suppressed* (and attached to the parent's
  incident) while a parent is down, while the check flaps, while the monitor is
  blind, or when it is a canary; otherwise *paged* at level 0;
- a paged, unacknowledged incident escalates level by level and gets a reminder
  every ``reminder_every_s``; acknowledgement stops both;
- a paged incident that recovers sends one recovery notice to everyone told;
- a check that flaps gets one flapping notice per episode.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.maintenance.service import active_check_ids
from app.models import Check, Incident
from app.notify import repository as repo
from app.notify.policy import NotifyPolicyDoc
from app.notify.routing import Facts, Recipient, level_recipients, route_recipients, unique

FLAP_LOOKBACK = timedelta(days=1)


@dataclass(slots=True)
class PlanInput:
    now: datetime
    policy: NotifyPolicyDoc
    canaries: set[int] = field(default_factory=set)
    blind: bool = False
    maintenance: set[int] | None = None  # None: read the active windows in plan()


@dataclass(slots=True)
class PlanReport:
    paged: int = 0
    suppressed: int = 0
    released: int = 0
    escalated: int = 0
    recovered: int = 0
    queued: int = 0


def dedupe_key(scope: str, event: str, level: int, seq: int, route: str) -> str:
    digest = hashlib.sha256(route.encode()).hexdigest()[:20]
    return f"{scope}:{event}:{level}:{seq}:{digest}"


def payload(facts: Facts, incident: Incident | None, state: str, now: datetime) -> dict[str, Any]:
    """The facts a message says, frozen when the decision is made."""
    started = incident.started_at if incident is not None else now
    ended = incident.ended_at if incident is not None else None
    return {
        "unit_code": facts.unit_code,
        "unit_name": facts.unit_name,
        "unit_kind": facts.unit_kind,
        "service_kind": facts.service_kind,
        "service_name": facts.service_name,
        "check_key": facts.check_key,
        "check_name": facts.check_name,
        "probe_kind": facts.probe_kind,
        "severity": facts.severity,
        "started_at": started.isoformat(),
        "error_kind": incident.error_kind if incident is not None else None,
        "message": incident.message if incident is not None else "",
        "incident_id": incident.id if incident is not None else None,
        "incident_state": state,
        "duration_s": (ended - started).total_seconds() if ended is not None else None,
    }


def outbox_rows(
    scope: str,
    event: str,
    level: int,
    seq: int,
    recipients: list[Recipient],
    body: dict[str, Any],
    lang: str,
    now: datetime,
) -> list[dict[str, Any]]:
    return [
        {
            "dedupe_key": dedupe_key(scope, event, level, seq, r.route),
            "incident_id": body.get("incident_id"),
            "event": event,
            "level": level,
            "route": r.route,
            "recipient": r.label,
            "channel_type": r.config.type,
            "channel_config": r.config_json(),
            "lang": lang,
            "payload": body,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "claimed_until": now,
            "last_error": "",
            "created_at": now,
        }
        for r in recipients
    ]


async def plan(session: AsyncSession, inp: PlanInput) -> PlanReport:
    """Decide and enqueue everything due at ``inp.now``; flush, never commit."""
    report = PlanReport()
    if inp.maintenance is None:
        inp.maintenance = await active_check_ids(session, inp.now)
    flapping = await flapping_checks(session, inp)
    report.queued += await _flapping_notices(session, inp, flapping)
    await _close_out(session)
    await _release(session, inp, flapping, report)
    report.queued += await _new_incidents(session, inp, flapping, report)
    report.queued += await _escalate(session, inp, report)
    report.queued += await _recoveries(session, inp, report)
    await session.flush()
    return report


# flapping ---------------------------------------------------------------------
async def flapping_checks(session: AsyncSession, inp: PlanInput) -> dict[int, datetime]:
    """Checks flapping now → when their episode began (the first flip of the cluster)."""
    rule = inp.policy.flapping
    window = timedelta(seconds=rule.within_s)
    candidates = await repo.busy_checks(
        session, inp.now - FLAP_LOOKBACK, inp.now - window, rule.flips
    )
    out: dict[int, datetime] = {}
    for check_id in candidates:
        times = await repo.flip_times(session, check_id, inp.now - FLAP_LOOKBACK)
        start = _cluster_start(times, window)
        cluster = [t for t in times if t >= start]
        if any(
            cluster[i + rule.flips - 1] - cluster[i] <= window
            for i in range(len(cluster) - rule.flips + 1)
        ):
            out[check_id] = start
    return out


def _cluster_start(times: list[datetime], gap: timedelta) -> datetime:
    """The first flip after the last quiet gap of at least ``gap``."""
    start = times[-1]
    for earlier in reversed(times[:-1]):
        if start - earlier >= gap:
            break
        start = earlier
    return start


async def _flapping_notices(
    session: AsyncSession, inp: PlanInput, flapping: dict[int, datetime]
) -> int:
    facts = await repo.facts_for(session, list(flapping))
    rows: list[dict[str, Any]] = []
    for check_id, start in flapping.items():
        f = facts.get(check_id)
        if f is None:
            continue
        incident_id = await repo.latest_incident_of(session, check_id)
        body = payload(f, None, "open", start) | {"incident_id": incident_id}
        recipients = unique(
            level_recipients(inp.policy, f, 0) + route_recipients(inp.policy, f, "flapping")
        )
        scope = f"c{check_id}@{int(start.timestamp())}"
        rows += outbox_rows(scope, "flapping", 0, 0, recipients, body, inp.policy.lang, inp.now)
    return await repo.enqueue(session, rows)


# new incidents ----------------------------------------------------------------------
async def _close_out(session: AsyncSession) -> None:
    """Incidents that ended before anyone was told need no notice."""
    for state in ("pending", "suppressed"):
        for incident in await repo.incidents_in_state(session, state, open_=False):
            incident.notify_state = "done"


async def _release(
    session: AsyncSession, inp: PlanInput, flapping: dict[int, datetime], report: PlanReport
) -> None:
    """Suppressed incidents whose reason is gone go back to pending."""
    suppressed = await repo.incidents_in_state(session, "suppressed", open_=True)
    parents = await repo.incidents_by_id(
        session, {i.parent_incident_id for i in suppressed if i.parent_incident_id}
    )
    release_after = timedelta(seconds=inp.policy.release_after_s)
    for incident in suppressed:
        reason = incident.suppressed_reason
        parent = parents.get(incident.parent_incident_id or 0)
        gone = (
            (
                reason == "parent"
                and (
                    parent is None
                    or (parent.ended_at is not None and parent.ended_at + release_after <= inp.now)
                )
            )
            or (reason == "flapping" and incident.check_id not in flapping)
            or (reason == "connectivity" and not inp.blind)
            or (reason == "maintenance" and incident.check_id not in (inp.maintenance or ()))
        )
        if gone:
            incident.notify_state, incident.suppressed_reason = "pending", None
            report.released += 1


async def _new_incidents(
    session: AsyncSession, inp: PlanInput, flapping: dict[int, datetime], report: PlanReport
) -> int:
    pending = await repo.incidents_in_state(session, "pending", open_=True)
    if not pending:
        return 0
    checks = await repo.checks_by_id(session, {i.check_id for i in pending})
    parent_keys = {k for c in checks.values() for k in (c.depends_on or [])}
    parents = await repo.checks_by_key(session, parent_keys)
    parent_open = await repo.open_incident_by_check(session, {c.id for c in parents.values()})
    to_page: list[Incident] = []
    for incident in pending:
        check = checks[incident.check_id]
        verdict = _verdict(inp, incident, check, parents, parent_open, flapping)
        if verdict == "page":
            to_page.append(incident)
        elif verdict != "hold":
            incident.notify_state, incident.suppressed_reason = "suppressed", verdict
            report.suppressed += 1
    return await _page(session, inp, to_page, report)


def _verdict(
    inp: PlanInput,
    incident: Incident,
    check: Check,
    parents: dict[str, Check],
    parent_open: dict[int, int],
    flapping: dict[int, datetime],
) -> str:
    """``page``, ``hold``, or the reason to suppress."""
    if check.id in inp.canaries:
        return "canary"
    if inp.blind:
        return "connectivity"
    if check.id in (inp.maintenance or ()):
        return "maintenance"  # declared windows are excluded from alerting
    mine = [parents[k] for k in (check.depends_on or []) if k in parents]
    for parent in mine:
        if parent.id in parent_open:
            incident.parent_incident_id = parent_open[parent.id]
            return "parent"
    if any(p.state == "down" or p.streak_status == "down" for p in mine):
        return "hold"  # the parent is failing but not confirmed yet: wait for it
    if check.id in flapping:
        return "flapping"
    if incident.created_at + timedelta(seconds=inp.policy.hold_s) > inp.now:
        return "hold"
    return "page"


async def _page(
    session: AsyncSession, inp: PlanInput, incidents: list[Incident], report: PlanReport
) -> int:
    facts = await repo.facts_for(session, [i.check_id for i in incidents])
    rows: list[dict[str, Any]] = []
    for incident in incidents:
        f = facts[incident.check_id]
        recipients = unique(
            level_recipients(inp.policy, f, 0) + route_recipients(inp.policy, f, "down")
        )
        body = payload(f, incident, "open", inp.now)
        rows += outbox_rows(
            f"i{incident.id}", "down", 0, 0, recipients, body, inp.policy.lang, inp.now
        )
        incident.notify_state, incident.paged_at, incident.escalation_level = "paged", inp.now, 0
        report.paged += 1
    return await repo.enqueue(session, rows)


# open, paged incidents ------------------------------------------------------------
async def _escalate(session: AsyncSession, inp: PlanInput, report: PlanReport) -> int:
    paged = [
        i
        for i in await repo.incidents_in_state(session, "paged", open_=True)
        if i.acknowledged_at is None and i.paged_at is not None
    ]
    facts = await repo.facts_for(session, [i.check_id for i in paged])
    rows: list[dict[str, Any]] = []
    for incident in paged:
        f = facts.get(incident.check_id)
        escalation = inp.policy.escalation_for(f.service_kind) if f else None
        if f is None or escalation is None or incident.paged_at is None:
            continue
        elapsed = (inp.now - incident.paged_at).total_seconds()
        target = max(
            (i for i, lv in enumerate(escalation.levels) if lv.after_s <= elapsed), default=0
        )
        body = payload(f, incident, "open", inp.now)
        scope = f"i{incident.id}"
        for level in range(incident.escalation_level + 1, target + 1):
            recipients = unique(
                level_recipients(inp.policy, f, level)
                + route_recipients(inp.policy, f, "escalation")
            )
            rows += outbox_rows(
                scope, "escalation", level, 0, recipients, body, inp.policy.lang, inp.now
            )
            report.escalated += 1
        incident.escalation_level = max(incident.escalation_level, target)
        every = escalation.reminder_every_s
        if every > 0 and elapsed >= every:
            seq = int(elapsed // every)
            recipients = level_recipients(inp.policy, f, incident.escalation_level)
            rows += outbox_rows(
                scope,
                "reminder",
                incident.escalation_level,
                seq,
                recipients,
                body,
                inp.policy.lang,
                inp.now,
            )
    return await repo.enqueue(session, rows)


async def _recoveries(session: AsyncSession, inp: PlanInput, report: PlanReport) -> int:
    """One recovery notice to every destination told about the outage."""
    closed = await repo.incidents_in_state(session, "paged", open_=False)
    rows: list[dict[str, Any]] = []
    for incident in closed:
        incident.notify_state = "done"
        if incident.closed_by not in (None, "up", "degraded"):
            continue  # unknown or maintenance: nobody knows it is back
        for told in await repo.recipients_of(session, incident.id):
            body = {**told.payload, "incident_state": "resolved"}
            if incident.ended_at is not None:
                body["duration_s"] = (incident.ended_at - incident.started_at).total_seconds()
                body["ended_at"] = incident.ended_at.isoformat()
            rows.append(
                {
                    "dedupe_key": dedupe_key(f"i{incident.id}", "up", 0, 0, told.route),
                    "incident_id": incident.id,
                    "event": "up",
                    "level": 0,
                    "route": told.route,
                    "recipient": told.recipient,
                    "channel_type": told.channel_type,
                    "channel_config": told.channel_config,
                    "lang": told.lang,
                    "payload": body,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": inp.now,
                    "claimed_until": inp.now,
                    "last_error": "",
                    "created_at": inp.now,
                }
            )
        report.recovered += 1
    return await repo.enqueue(session, rows)
