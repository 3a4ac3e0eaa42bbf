"""The documented ``notifications:`` section validates; routing and flapping decisions."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from ruamel.yaml import YAML
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import Flip
from app.notify.planner import PlanInput, flapping_checks
from app.notify.policy import parse_policy
from app.notify.routing import Facts, level_recipients
from tests import factories

DOCS = Path(__file__).parents[2] / "docs" / "notifications.md"


def _documented() -> dict[str, object]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    [block] = [b for b in blocks if b.startswith("notifications:")]
    data: dict[str, object] = YAML(typ="safe").load(io.StringIO(block))["notifications"]
    return data


def test_documented_policy_validates_and_routes_by_level() -> None:
    policy = parse_policy(_documented())
    facts = Facts(
        check_id=1,
        check_key="12337.commune_centre.dvc",
        check_name="dvc",
        probe_kind="http",
        critical=True,
        unit_code="12337",
        unit_name="Xã A",
        service_kind="commune_centre",
        service_name="TTPVHCC",
        own_contacts=[
            {"name": "Tâm", "role": "it_focal_point", "telegram": "-1", "email": "a@b.vn"},
            {"name": "Hoa", "role": "head", "phone": "0912345678"},
        ],
        province_contacts=[{"name": "Trực ban", "role": "on_call", "zalo": "99"}],
    )
    kinds = [[r.config.type for r in level_recipients(policy, facts, i)] for i in range(4)]
    assert kinds == [["email", "telegram"], ["sms"], ["zalo", "telegram"], []]


def test_unknown_channel_name_is_an_error() -> None:
    with pytest.raises(ValidationError, match="unknown channel names: nope"):
        parse_policy({"escalation": {"default": {"levels": [{"channels": ["nope"]}]}}})


async def test_flapping_episode_starts_at_the_first_flip_of_the_cluster(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
    async with sessionmaker() as s, s.begin():
        calm = await factories.http_check(s, "http://127.0.0.1:9/a", key="1.a")
        busy = await factories.http_check(s, "http://127.0.0.1:9/b", key="1.b")
        times = {calm.id: [-3000, -2000], busy.id: [-3000, -500, -400, -300, -200, -100]}
        for check_id, offsets in times.items():
            for n, off in enumerate(offsets):
                s.add(
                    Flip(
                        uid=f"{check_id}-{n}",
                        check_id=check_id,
                        at=now + timedelta(seconds=off),
                        old_state="up",
                        new_state="down",
                    )
                )
    policy = parse_policy({"flapping": {"flips": 4, "within_s": 600}})
    async with sessionmaker() as s:
        found = await flapping_checks(s, PlanInput(now=now, policy=policy))
        later = await flapping_checks(s, PlanInput(now=now + timedelta(seconds=601), policy=policy))
    assert found == {busy.id: now - timedelta(seconds=500)}  # -3000 is before a quiet gap
    assert later == {}  # settled: no flip within the last 600 s
