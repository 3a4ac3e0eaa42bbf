"""The example a province can copy (issue 11.3): a working notification section with its
placeholders marked, a contacts CSV for the 104 units with clearly fake numbers, and a
check for every system dispatch 453-CV/TU names. Loaded only, never probed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.inventory.contacts import read_contacts
from app.inventory.document import Inventory
from app.inventory.flat import FlatInventory
from app.inventory.loader import flatten, load_inventory
from app.notify.routing import Facts, level_recipients

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "hung-yen.yaml"
CONTACTS = ROOT / "examples" / "hung-yen-contacts.csv"


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return load_inventory(EXAMPLE)


@pytest.fixture(scope="module")
def flat(inventory: Inventory) -> FlatInventory:
    return flatten(inventory)


def test_every_unit_has_a_head_and_an_it_contact_with_fake_addresses() -> None:
    found = read_contacts(CONTACTS)
    assert found.problems == []
    by_unit: dict[str, set[str]] = {}
    for row in found.rows:
        by_unit.setdefault(row.unit_code, set()).add(row.role)
        assert re.fullmatch(r"0900000[0-9]{3}", row.phone), row
        assert row.email.endswith("@example.invalid"), row
        assert "ĐIỀN" in row.name, row  # a placeholder, plainly
    assert len(by_unit) == 105  # the province and its 104 units
    assert all(
        {"head", "it_focal_point"} <= roles for code, roles in by_unit.items() if code != "33"
    )
    assert by_unit["33"] == {"head", "on_call"}
    assert len({r.phone for r in found.rows}) == len(found.rows)


def test_the_notification_section_reaches_people(inventory: Inventory, flat: FlatInventory) -> None:
    policy = inventory.notifications
    assert policy is not None and policy.lang == "vi"
    assert {"email", "sms", "zalo", "telegram"} == {
        k
        for k in ("email", "sms", "zalo", "telegram")
        if getattr(policy.contact_channels, k) is not None
    }
    assert policy.escalation["commune_centre"].levels[0].contacts == ["it_focal_point"]
    assert policy.escalation["commune_centre"].levels[1].contacts == ["head"]
    assert "ĐIỀN" in policy.instructions["commune_centre"]
    units = {u.code: u for u in flat.units}
    facts = Facts(
        check_id=1,
        check_key="12337.centre.gateway",
        check_name="x",
        probe_kind="http",
        critical=True,
        unit_code="12337",
        unit_name="Hoàng Hoa Thám",
        service_kind="commune_centre",
        service_name="x",
        own_contacts=units["12337"].settings["contacts"],
        province_contacts=units["33"].settings["contacts"],
    )
    first = level_recipients(policy, facts, 0)
    assert {r.config.type for r in first} == {"email", "sms"}
    assert all("Cán bộ CNTT xã Hoàng Hoa Thám" in r.label for r in first)
    third = level_recipients(policy, facts, 2)
    assert {r.label for r in third} >= {"truc-ban-tinh"}


def test_placeholders_are_marked_in_the_file() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert "# ĐIỀN: the on-call group's chat id" in text
    assert "# ĐIỀN: your SMS gateway" in text
    assert "contacts_file: hung-yen-contacts.csv" in text


def test_every_system_of_dispatch_453_is_watched(flat: FlatInventory) -> None:
    services = {s.key: s for s in flat.services}
    checks = {c.key: c for c in flat.checks}
    # accounts and permissions: a service account signs in (credentials from secrets)
    login = checks["33.accounts.login"]
    assert login.kind == "flow"
    assert login.config["secrets"] == {
        "username": "MOTCUA_PROBE_USER",
        "password": "MOTCUA_PROBE_PASSWORD",
    }
    assert "{password}" in login.config["steps"][1]["body"]
    # the provincial database: SQL freshness through a read-only role, URL from a secret
    for key in ("33.provincial_database.dossiers", "33.provincial_database.sync-backlog"):
        db = checks[key]
        assert db.kind == "freshness" and db.config["source"] == "sql"
        assert db.config["url_secret"] == "MOTCUA_DB_URL" and db.config["refuse_superuser"]
    # the national databases and the national portal, through the LGSP
    names = {k: services[k].name for k in services if services[k].kind == "national_database"}
    assert sorted(names) == ["33.csdl-dan-cu", "33.csdl-dat-dai", "33.csdl-ho-tich"]
    assert any("dân cư" in n for n in names.values())
    assert any("hộ tịch" in n for n in names.values())
    assert any("đất đai" in n for n in names.values())
    portal = checks["33.lien-thong-dvcqg.link"]
    assert "VN.national_portal.home" in portal.depends_on
    for key in ("33.csdl-dan-cu.link", "33.csdl-ho-tich.link", "33.csdl-dat-dai.link"):
        assert checks[key].depends_on == ["33.lgsp.gateway"]


def test_invented_urls_are_marked_confirm() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    for host in ("lgsp.hungyen.gov.vn/dan-cu", "motcua.hungyen.gov.vn/dang-nhap"):
        [line] = [ln for ln in text.splitlines() if host in ln]
        assert line.rstrip().endswith("# confirm"), line


def test_the_contacts_file_is_what_the_generator_writes() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_hung_yen", ROOT / "scripts/gen_hung_yen.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    data = ROOT / "tests" / "inventory" / "data" / "hung-yen-communes-2025.csv"
    assert gen.render_contacts(data).encode() == CONTACTS.read_bytes()
