"""``agents:`` and ``location``/``locations``/``quorum`` in the inventory: resolution,
errors naming file:line:field, and the sync into SQL on both databases."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import ConfigError
from app.inventory.loader import flatten, load_inventory, parse_inventory
from app.inventory.service import sync_inventory
from app.models import Agent, Check
from tests.agents.inventory_text import AGENTS_TEXT
from tests.inventory.helpers import line_of, write

T0 = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)


def test_locations_inherit_and_quorum() -> None:
    flat = flatten(parse_inventory(AGENTS_TEXT))
    checks = {c.key: c for c in flat.checks}
    assert checks["12337.commune_centre.queue"].locations == ("hy-12337-lan",)
    assert checks["12337.commune_centre.web"].locations == ("central", "hy-12337-lan")
    assert checks["12337.commune_centre.web"].quorum == "all"
    assert checks["12337.commune_centre.portal"].locations == ("central",)
    assert checks["12337.commune_centre.portal"].quorum == "any"
    # a check no centre probes depends on its agent's liveness check
    assert checks["12337.commune_centre.queue"].depends_on == ["agent.hy-12337-lan"]
    assert checks["12337.commune_centre.web"].depends_on == []
    live = checks["agent.hy-12364-lan"]
    assert (live.kind, live.unit_code, live.service_key) == ("heartbeat", "12364", "12364.agents")
    assert live.config["period_s"] == 60
    assert {a.name: a.offline_after_s for a in flat.agents} == {
        "hy-12337-lan": 90,
        "hy-12364-lan": 60,
    }


def _errors(tmp_path: Path, text: str) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_inventory(path)
    return [e.removeprefix(f"{path}:") for e in info.value.errors]


@pytest.mark.parametrize(
    ("old", "new", "needle", "field", "fragment"),
    [
        (
            "location: hy-12364-lan",
            "location: hy-99999-lan",
            "location: hy-99999-lan",
            "units[1].services[0].checks[0].location",
            "unknown agent 'hy-99999-lan'",
        ),
        (
            "location: hy-12364-lan",
            "location: hy-12337-lan",
            "location: hy-12337-lan\n",
            "units[1].services[0].checks[0].location",
            "may not probe for unit 12364",
        ),
        (
            "quorum: all",
            "quorum: most",
            "quorum: most",
            "units[0].services[0].checks[1].quorum",
            "'any', 'all' or 'majority'",
        ),
        (
            'units: ["12364"]',
            'units: ["12399"]',
            'units: ["12399"]',
            "agents[1].units[0]",
            "unknown unit code '12399'",
        ),
        (
            "offline_after: 1m",
            "offline_after: soon",
            "offline_after: soon",
            "agents[1].offline_after",
            "not a duration",
        ),
    ],
)
def test_errors_name_file_line_field(
    tmp_path: Path, old: str, new: str, needle: str, field: str, fragment: str
) -> None:
    text = AGENTS_TEXT.replace(old, new)
    assert text != AGENTS_TEXT
    line = line_of(text, needle.rstrip("\n"))
    if needle.endswith("\n"):  # the second occurrence is the check's
        line = line_of(text, needle.rstrip("\n"), 2)
    errors = _errors(tmp_path, text)
    matching = [e for e in errors if e.startswith(f"{line}: {field}: ")]
    assert matching and fragment in matching[0], errors


def test_unit_default_naming_a_foreign_agent_is_an_error(tmp_path: Path) -> None:
    text = AGENTS_TEXT.replace(
        "defaults: {location: hy-12337-lan}", "defaults: {location: hy-12364-lan}"
    )
    errors = _errors(tmp_path, text)
    line = line_of(text, "defaults: {location: hy-12364-lan}")
    assert any(
        e.startswith(f"{line}: units[0].defaults.location: agent 'hy-12364-lan' may not")
        for e in errors
    ), errors


async def test_sync_stores_locations_and_agents(session: AsyncSession) -> None:
    flat = flatten(parse_inventory(AGENTS_TEXT))
    report = await sync_inventory(session, flat, T0)
    assert report.agents == {"added": 2, "changed": 0, "disabled": 0}
    checks = {c.key: c for c in (await session.execute(select(Check))).scalars()}
    assert checks["12337.commune_centre.web"].locations == ["central", "hy-12337-lan"]
    assert checks["12337.commune_centre.web"].quorum == "all"
    assert checks["agent.hy-12337-lan"].retired_at is None
    agents = {a.name: a for a in (await session.execute(select(Agent))).scalars()}
    assert agents["hy-12337-lan"].units == ["12337"] and agents["hy-12337-lan"].state == "pending"
    # again: nothing changes, and the agents' checks are not retired
    report = await sync_inventory(session, flat, T0)
    assert report.checks.changed == 0 and report.checks.retired == 0
    assert report.agents == {"added": 0, "changed": 0, "disabled": 0}
    # an agent gone from the file is disabled, and its liveness check retired
    without = (
        textwrap.dedent(AGENTS_TEXT)
        .replace('  - name: hy-12364-lan\n    units: ["12364"]\n    offline_after: 1m\n', "")
        .replace("location: hy-12364-lan", "location: central")
    )
    report = await sync_inventory(session, flatten(parse_inventory(without)), T0)
    assert report.agents["disabled"] == 1
    assert "agent.hy-12364-lan" in report.checks_retired
