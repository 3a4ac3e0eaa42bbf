"""Who is told about an incident, at which escalation level, through what.

A *recipient* is one channel to one person or group; its ``route`` string
names why it was chosen (level, role, contact, address kind) and is part of the
outbox dedupe key, so the same decision never sends twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from app.incidents.recipients import contact_label
from app.notify.channels.config import ChannelConfig
from app.notify.policy import CONTACT_FIELDS, Level, NotifyPolicyDoc, Role, contact_channel


@dataclass(frozen=True, slots=True)
class Facts:
    """An incident (or a check) as messages and routes need it."""

    check_id: int
    check_key: str
    check_name: str
    probe_kind: str
    critical: bool
    unit_code: str
    unit_name: str
    service_kind: str
    service_name: str
    own_contacts: list[dict[str, Any]] = field(default_factory=list)
    parent_contacts: list[dict[str, Any]] = field(default_factory=list)
    province_contacts: list[dict[str, Any]] = field(default_factory=list)
    unit_kind: str = ""

    @property
    def severity(self) -> str:
        return "critical" if self.critical else "warning"


@dataclass(frozen=True, slots=True)
class Recipient:
    route: str
    label: str
    config: ChannelConfig

    def config_json(self) -> dict[str, Any]:
        data: dict[str, Any] = self.config.model_dump(mode="json")
        return data


def _contacts_of(facts: Facts, level: Level) -> list[dict[str, Any]]:
    if level.scope == "province":
        return facts.province_contacts
    if level.scope == "parent":
        return facts.parent_contacts
    return facts.own_contacts


def contact_recipients(
    policy: NotifyPolicyDoc, contacts: list[dict[str, Any]], roles: list[Role], prefix: str
) -> list[Recipient]:
    """Every configured address of every contact whose role is in ``roles``."""
    out: list[Recipient] = []
    bases = policy.contact_channels
    for contact in contacts:
        role = contact.get("role", "it_focal_point")
        if role not in roles:
            continue
        for kind, (_, attr, _) in CONTACT_FIELDS.items():
            base, address = getattr(bases, kind), contact.get(attr)
            if base is None or not address:
                continue
            name = str(contact.get("name", ""))
            out.append(
                Recipient(
                    route=f"{prefix}:{role}:{name}:{kind}"[:200],
                    label=contact_label(name, role, kind),
                    config=contact_channel(base, kind, str(address)),
                )
            )
    return out


def level_recipients(policy: NotifyPolicyDoc, facts: Facts, index: int) -> list[Recipient]:
    """Recipients of escalation level ``index`` (the first level is 0)."""
    escalation = policy.escalation_for(facts.service_kind)
    if escalation is None or index >= len(escalation.levels):
        return []
    level = escalation.levels[index]
    prefix = f"L{index}"
    out = contact_recipients(policy, _contacts_of(facts, level), level.contacts, prefix)
    for name in level.channels:
        out.append(Recipient(f"{prefix}:channel:{name}", name, policy.channels[name]))
    return unique(out)


def route_recipients(policy: NotifyPolicyDoc, facts: Facts, event: str) -> list[Recipient]:
    """Extra destinations of ``routes`` matching the unit, service kind, severity and event."""
    out: list[Recipient] = []
    for route in policy.routes:
        events = route.events or ["down", "up", "escalation"]
        if (
            event in events
            and (not route.units or facts.unit_code in route.units)
            and (not route.service_kinds or facts.service_kind in route.service_kinds)
            and (not route.severities or facts.severity in route.severities)
        ):
            for name in route.channels:
                out.append(Recipient(f"route:{route.name}:{name}", name, policy.channels[name]))
    return out


def unique(recipients: list[Recipient]) -> list[Recipient]:
    """One recipient per destination: the same chat listed twice is told once."""
    seen: set[str] = set()
    out = []
    for r in recipients:
        key = json.dumps(r.config_json(), sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out
