"""sync_inventory on real SQLite and PostgreSQL: add, change, retire, revive; history kept."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.inventory.flat import FlatInventory
from app.inventory.loader import flatten, load_inventory, parse_inventory
from app.inventory.repository import active_checks, checks_by_key
from app.inventory.service import sync_inventory
from app.models import Check, ProbeResult, Service, Unit

T0 = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hung-yen.yaml"

TEXT = """\
version: 1
province:
  code: "33"
  name: Hưng Yên
  defaults: {interval: 30}
  services:
    - kind: provincial_system
      name: HTTT tỉnh
      checks:
        - {name: backoffice, kind: http, options: {url: "http://127.0.0.1:8/"}}
units:
  - {code: "12337", name: Hoàng Hoa Thám, kind: commune, calendar: {saturday: ["07:30-11:30"]}}
  - {code: "12364", name: Tiên Lữ, kind: commune}
commune_template:
  services:
    - key: centre
      kind: commune_centre
      name: TTPVHCC {name}
      contacts: [{name: Trực ban, role: on_call, telegram: "@trucban_{code}"}]
      checks:
        - {name: web, kind: http, options: {url: "http://127.0.0.1:9/xa/{code}"}}
        - {name: sync, kind: http, options: {url: "http://127.0.0.1:9/xa/{code}/sync"}}
"""


def _flat(text: str = TEXT) -> FlatInventory:
    return flatten(parse_inventory(textwrap.dedent(text)))


async def _rows(session: AsyncSession) -> dict[str, Check]:
    return await checks_by_key(session)


async def test_first_sync_adds_everything(session: AsyncSession) -> None:
    report = await sync_inventory(session, _flat(), T0)
    assert (report.units.added, report.services.added, report.checks.added) == (3, 3, 5)
    assert sorted(report.checks_added) == [
        "12337.centre.sync",
        "12337.centre.web",
        "12364.centre.sync",
        "12364.centre.web",
        "33.provincial_system.backoffice",
    ]
    units = {u.code: u for u in (await session.execute(select(Unit))).scalars()}
    assert units["12337"].parent_id == units["33"].id and units["33"].parent_id is None
    assert units["12337"].settings == {"calendar": {"saturday": ["07:30-11:30"]}}
    service = (
        await session.execute(select(Service).where(Service.key == "12364.centre"))
    ).scalar_one()
    assert service.unit_id == units["12364"].id and service.kind == "commune_centre"
    assert service.contacts == [
        {"name": "Trực ban", "role": "on_call", "telegram": "@trucban_12364"}
    ]
    check = (await _rows(session))["12364.centre.web"]
    assert (check.unit_id, check.service_id, check.target) == (
        units["12364"].id,
        service.id,
        "http://127.0.0.1:9/xa/12364",
    )
    assert check.config["url"] == check.target and check.interval_s == 30
    assert len(await active_checks(session)) == 5


async def test_a_second_identical_sync_changes_nothing(session: AsyncSession) -> None:
    await sync_inventory(session, _flat(), T0)
    report = await sync_inventory(session, _flat(), T0 + timedelta(minutes=1))
    assert (report.units.unchanged, report.services.unchanged, report.checks.unchanged) == (3, 3, 5)
    assert report.checks_added == report.checks_changed == report.checks_retired == []


async def test_change_keeps_the_check_id_and_its_history(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await sync_inventory(session, _flat(), T0)
    before = (await _rows(session))["12337.centre.web"]
    before_id, before_hash = before.id, before.config_hash
    session.add(ProbeResult(uid="r1", check_id=before_id, at=T0, status="down", latency_ms=1.0))
    await session.commit()

    changed = TEXT.replace("defaults: {interval: 30}", "defaults: {interval: 45}")
    report = await sync_inventory(session, _flat(changed), T0 + timedelta(hours=1))
    await session.commit()
    assert report.checks.changed == 5 and "12337.centre.web" in report.checks_changed

    async with sessionmaker() as fresh:
        after = (await _rows(fresh))["12337.centre.web"]
        result = (await fresh.execute(select(ProbeResult))).scalar_one()
    assert after.id == before_id and after.interval_s == 45
    assert after.config_hash != before_hash
    assert result.check_id == after.id


async def test_retire_then_revive(session: AsyncSession) -> None:
    await sync_inventory(session, _flat(), T0)
    ids = {k: c.id for k, c in (await _rows(session)).items()}
    without = TEXT.replace('  - {code: "12364", name: Tiên Lữ, kind: commune}\n', "")
    t1 = T0 + timedelta(days=1)
    report = await sync_inventory(session, _flat(without), t1)
    assert sorted(report.checks_retired) == ["12364.centre.sync", "12364.centre.web"]
    assert (report.units.retired, report.services.retired, report.checks.retired) == (1, 1, 2)
    rows = await _rows(session)
    assert rows["12364.centre.web"].retired_at == t1 and rows["12364.centre.web"].enabled is False
    assert {c.key for c in await active_checks(session)} == {
        "33.provincial_system.backoffice",
        "12337.centre.web",
        "12337.centre.sync",
    }
    unit = (await session.execute(select(Unit).where(Unit.code == "12364"))).scalar_one()
    assert unit.retired_at == t1

    again = await sync_inventory(session, _flat(without), t1 + timedelta(hours=1))
    assert again.checks.retired == 0 and again.checks_retired == []  # already retired

    report = await sync_inventory(session, _flat(), t1 + timedelta(days=1))
    assert sorted(report.checks_revived) == ["12364.centre.sync", "12364.centre.web"]
    assert (report.units.revived, report.services.revived, report.checks.revived) == (1, 1, 2)
    rows = await _rows(session)
    assert {k: c.id for k, c in rows.items()} == ids
    assert rows["12364.centre.web"].retired_at is None and rows["12364.centre.web"].enabled
    assert unit.retired_at is None
    assert len(await active_checks(session)) == 5


async def test_disabled_checks_are_not_active(session: AsyncSession) -> None:
    text = TEXT.replace("{name: sync, kind: http,", "{name: sync, kind: http, enabled: false,")
    await sync_inventory(session, _flat(text), T0)
    active = [c.key for c in await active_checks(session)]
    assert active == [
        "33.provincial_system.backoffice",
        "12337.centre.web",
        "12364.centre.web",
    ]


async def test_the_hung_yen_example_syncs(session: AsyncSession) -> None:
    flat = flatten(load_inventory(EXAMPLE))
    report = await sync_inventory(session, flat, T0)
    assert report.units.added == 106 and report.checks.added == len(flat.checks)
    assert len(await active_checks(session)) == len(flat.checks)
    report = await sync_inventory(session, flat, T0)
    assert report.checks.unchanged == len(flat.checks)


async def test_depends_on_is_stored_as_full_keys(session: AsyncSession) -> None:
    text = TEXT.replace(
        '- {name: web, kind: http, options: {url: "http://127.0.0.1:9/xa/{code}"}}',
        '- {name: web, kind: http, options: {url: "http://127.0.0.1:9/xa/{code}"},\n'
        "           depends_on: [33.provincial_system.backoffice]}",
    )
    await sync_inventory(session, _flat(text), T0)
    rows = await _rows(session)
    assert rows["12337.centre.web"].depends_on == ["33.provincial_system.backoffice"]
    assert rows["12337.centre.sync"].depends_on == []


async def test_heartbeat_token_secret_is_stored_hashed(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.auth.service import hash_token

    monkeypatch.setenv("KIOSK_12337", "may-lay-so-12337")
    monkeypatch.setenv("KIOSK_12364", "may-lay-so-12364")
    monkeypatch.setenv("SHARED", "one-for-all")
    text = TEXT.replace(
        '- {name: sync, kind: http, options: {url: "http://127.0.0.1:9/xa/{code}/sync"}}',
        '- {name: kiosk, kind: heartbeat, options: {period_s: 300, token_secret: "KIOSK_{code}"}}\n'
        "        - {name: queue, kind: heartbeat, options: {period_s: 300, token_secret: SHARED}}",
    )
    await sync_inventory(session, _flat(text), T0)
    rows = await _rows(session)
    assert rows["12337.centre.kiosk"].push_token_hash == hash_token("may-lay-so-12337")
    assert rows["12364.centre.kiosk"].push_token_hash == hash_token("may-lay-so-12364")
    assert "may-lay-so" not in str(rows["12337.centre.kiosk"].config)
    # one secret for every commune is refused for all but the first, not a crash
    shared = [rows[f"{c}.centre.queue"].push_token_hash for c in ("12337", "12364")]
    assert shared == [hash_token("one-for-all"), None]
