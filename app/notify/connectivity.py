"""The monitor's own connectivity notices: "lost" once per episode, "restored" once after it.

Both are ``monitor_connectivity`` outbox rows to the operators. An episode is
keyed by the moment the monitor went blind (``monitor@<unix seconds>``); the
lost notice has sequence 0 and the restored notice sequence 1 with
``incident_state: resolved``, so the dedupe keys keep each to one per episode
and destination. The restored notice goes to exactly the destinations the lost
notice was queued for, whatever the policy says by then.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import OutboxNotification, Unit
from app.notify import repository as repo
from app.notify.planner import dedupe_key, outbox_rows
from app.notify.policy import NotifyPolicyDoc
from app.notify.routing import Recipient, contact_recipients, unique

EVENT = "monitor_connectivity"
LOST_SEQ, RESTORED_SEQ = 0, 1
MONITOR_WORDS = {"vi": ("Hệ thống giám sát", "kiểm tra"), "en": ("The monitor", "checks")}


def episode_scope(lost_at: datetime) -> str:
    return f"monitor@{int(lost_at.timestamp())}"


def operator_recipients(policy: NotifyPolicyDoc, province: Unit | None) -> list[Recipient]:
    """The operators: the province's contacts in ``operators.contacts`` and the named channels."""
    roles = policy.operators.contacts
    out = contact_recipients(policy, repo._contacts(province), roles, "ops")
    out += [
        Recipient(f"ops:channel:{name}", name, policy.channels[name])
        for name in policy.operators.channels
    ]
    return unique(out)


def lost_payload(
    policy: NotifyPolicyDoc, province: Unit | None, checks: int, at: datetime, reason: str
) -> dict[str, Any]:
    monitor, noun = MONITOR_WORDS[policy.lang]
    return {
        "unit_code": province.code if province is not None else "-",
        "unit_name": province.name if province is not None else "-",
        "service_kind": "monitor",
        "service_name": f"{checks} {noun}",
        "check_key": "monitor",
        "check_name": monitor,
        "probe_kind": "canary",
        "severity": "critical",
        "started_at": at.isoformat(),
        "error_kind": "connect",
        "message": reason,
        "incident_id": None,
        "incident_state": "open",
        "duration_s": None,
    }


async def queue_lost(
    session: AsyncSession,
    policy: NotifyPolicyDoc,
    checks: int,
    at: datetime,
    reason: str,
    now: datetime,
) -> int:
    """Queue the "monitor connectivity lost" notice of the episode that began at ``at``."""
    province = await repo.province_unit(session)
    body = lost_payload(policy, province, checks, at, reason)
    recipients = operator_recipients(policy, province)
    rows = outbox_rows(episode_scope(at), EVENT, 0, LOST_SEQ, recipients, body, policy.lang, now)
    return await repo.enqueue(session, rows)


async def queue_restored(session: AsyncSession, at: datetime, now: datetime) -> int:
    """Queue one "restored" notice to everyone told of the latest lost episode.

    Nothing is queued when no lost notice was ever queued, or when the latest
    episode was already restored (a second call, or a second replica)."""
    lost = await repo.latest_connectivity_episode(session)
    if not lost:
        return 0
    rows = [_restored_row(row, at, now) for row in lost]
    return await repo.enqueue(session, rows)


def _restored_row(lost: OutboxNotification, at: datetime, now: datetime) -> dict[str, Any]:
    scope = lost.dedupe_key.split(":", 1)[0]
    started = datetime.fromisoformat(lost.payload["started_at"])
    body = lost.payload | {
        "incident_state": "resolved",
        "severity": "info",
        "ended_at": at.isoformat(),
        "duration_s": max((at - started).total_seconds(), 0.0),
    }
    return {
        "dedupe_key": dedupe_key(scope, EVENT, 0, RESTORED_SEQ, lost.route),
        "incident_id": None,
        "event": EVENT,
        "level": 0,
        "route": lost.route,
        "recipient": lost.recipient,
        "channel_type": lost.channel_type,
        "channel_config": lost.channel_config,
        "lang": lost.lang,
        "payload": body,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "claimed_until": now,
        "last_error": "",
        "created_at": now,
    }
